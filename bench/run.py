"""Run the benchmarks: each one generates its corpus, runs both sides as whole processes in this run, checks that
their outputs agree, and reports the ratio against its target.

    python bench/run.py                     # every benchmark, full size
    python bench/run.py --only push,score   # some of them
    python bench/run.py --quick             # small corpora: checks the harness, measures nothing worth quoting
    python bench/run.py --readme            # also replace these benchmarks' results in bench/README.md

A benchmark is a module `bench/bench_<name>.py` with `run(quick: bool, workdir: Path) -> list[Row]`.
Exit status 1 if a target is not met (so CI could gate on it), 2 if a benchmark could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `annotate` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Row, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | measure | ours | reference | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(f"| {r.benchmark} | {r.measure} | {r.ours} | {r.reference} | {ratio} | {r.target} | "
                     f"{'yes' if r.met else '**no**'} |")
    return "\n".join(lines)


def update_readme(name: str, text: str) -> None:
    """Replace benchmark `name`'s block of the results in bench/README.md, keeping the other benchmarks' blocks
    (each says when and how it was measured), so that one benchmark can be re-run on its own."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}"
    old = README.read_text(encoding="utf-8") if README.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in old or END not in old:
        old += f"\n{START}\n{END}\n"
    head, rest = old.split(START, 1)
    results, tail = rest.split(END, 1)
    if start in results and end in results:
        before, after = results.split(start, 1)
        results = before + block + after.split(end, 1)[1]
    else:
        results = results.rstrip("\n") + f"\n\n{block}\n" if results.strip() else f"\n{block}\n"
    README.write_text(f"{head}{START}{results}{END}{tail}", encoding="utf-8")


def block(name: str, rows: list[Row], quick: bool) -> str:
    """One benchmark's results: when, where and with which command, its table, and its notes."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = f"python bench/run.py --only {name}{' --quick' if quick else ''}"
    text = f"**{name}**: measured {stamp} on {machine()}; `{command}`" \
           f"{' (quick: small corpora, not a measurement to quote)' if quick else ''}.\n\n{table(rows)}"
    notes = [f"- {r.measure}: {n}" for r in rows for n in r.notes]
    return text + ("\n\n" + "\n".join(notes) if notes else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(available())}")
    parser.add_argument("--quick", action="store_true", help="small corpora (a smoke run of the harness)")
    parser.add_argument("--readme", action="store_true",
                        help="replace the blocks of the benchmarks run in bench/README.md (the others stay)")
    args = parser.parse_args(argv)
    names = available() if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}")
    rows: list[Row] = []
    started = time.perf_counter()
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            try:
                got = module.run(args.quick, Path(tmp))
            except SystemExit as exc:  # a side failed or outputs disagreed: say which
                print(f"{name}: could not run: {exc}", file=sys.stderr)
                return 2
        for r in got:
            print(f"   {r.measure}: ours {r.ours}, reference {r.reference}, ratio "
                  f"{'' if r.ratio is None else f'{r.ratio:.2f}'} (target {r.target}) "
                  f"{'met' if r.met else 'NOT MET'}", file=sys.stderr, flush=True)
            for note in r.notes:
                print(f"     {note}", file=sys.stderr)
        text = block(name, got, args.quick)
        print(text)
        if args.readme:
            update_readme(name, text)
        rows += got
    missed = [r for r in rows if not r.met]
    print(f"\n{len(rows)} measures, {len(rows) - len(missed)} met, {len(missed)} not met "
          f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
