"""A leaderboard of several `annotate score --json` reports made against the same gold set.

Reports are comparable only when they scored the same gold content (same fingerprint) on the same documents;
anything else is refused, naming each file's fingerprint. For each headline metric the best system is found,
and every other system gets a paired bootstrap over documents against it (`scorer.paired_bootstrap`, fed with
the reports' `per_document` counts), so "worse than the best" is stated only when the whole 95% interval of
the difference lies below zero.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..core.jsonl import JsonFileError, read_json_file
from .gate import per_document_problem
from .mdtext import md_escape
from .report import lookup
from .scorer import HEADLINES, paired_bootstrap

METRIC_NAMES = {"entities.strict.micro.f1": "entities F1 (strict)", "triggers.classification.f1": "triggers F1",
                "arguments.classification.f1": "arguments F1"}


class CompareError(ValueError):
    """Reports that cannot be compared; the message names the files."""


@dataclass
class System:
    name: str
    path: str
    report: dict = field(repr=False)

    @property
    def source(self) -> str:
        return str(self.report.get("predictions", {}).get("source", ""))

    def value(self, key: str) -> float | None:
        try:
            v = lookup(self.report, key)
        except KeyError:
            return None
        return v if isinstance(v, (int, float)) else None


def read_system(path: str | Path) -> System:
    path = Path(path)
    try:
        data = read_json_file(path)
    except JsonFileError as exc:
        raise CompareError(str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), dict) or "gold" not in data:
        raise CompareError(f"{path}: not a report of `annotate score --json` (no 'entities' and 'gold')")
    if not isinstance(data["gold"], dict):
        raise CompareError(f"{path}: gold is {type(data['gold']).__name__}, not an object with a fingerprint")
    if not isinstance(data["gold"].get("fingerprint", ""), str):
        raise CompareError(f"{path}: gold.fingerprint is {data['gold']['fingerprint']!r}, not a string")
    if not data["gold"].get("fingerprint"):
        raise CompareError(f"{path}: made from CoNLL input, so it names no gold fingerprint; only reports scored "
                           "with --gold can be compared")
    if not isinstance(data.get("per_document"), dict) or not data["per_document"]:
        raise CompareError(f"{path}: holds no per_document counts, which the paired bootstrap needs; score again "
                           "with this version of annotate")
    problem = per_document_problem(data["per_document"])
    if problem:
        raise CompareError(f"{path}: {problem}")
    _check_headlines(data, path)
    return System(path.stem, str(path), data)


def _check_headlines(data: dict, path: Path) -> None:
    """Each headline value a number (or null: not applicable), at least one of them there, and each interval
    two numbers: a string F1 would otherwise be ranked as 0 and a string interval crash the chart."""
    present = 0
    for key in HEADLINES:
        try:
            v = lookup(data, key)
        except KeyError:
            continue
        if v is not None and not _is_number(v):
            raise CompareError(f"{path}: {key} is {v!r}, not a number")
        present += v is not None
    if not present:
        raise CompareError(f"{path}: no headline metric ({', '.join(HEADLINES)}) holds a number")
    confidence = data.get("confidence", {})
    if not isinstance(confidence, dict):
        raise CompareError(f"{path}: confidence is {type(confidence).__name__}, not an object")
    for key in HEADLINES:
        ci = confidence.get(key)
        if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(_is_number(x) for x in ci)):
            raise CompareError(f"{path}: confidence.{key} is {ci!r}, not two numbers [low, high]")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def check_comparable(systems: list[System]) -> None:
    by_fp: dict[str, list[str]] = {}
    for s in systems:
        by_fp.setdefault(s.report["gold"]["fingerprint"], []).append(s.path)
    if len(by_fp) > 1:
        listing = "; ".join(f"gold {fp}: {', '.join(paths)}" for fp, paths in by_fp.items())
        raise CompareError(f"the reports were made against different gold sets ({listing}); score every system "
                           "against the same gold set to compare them")
    first = systems[0]
    for s in systems[1:]:
        if set(s.report["per_document"]) != set(first.report["per_document"]):
            raise CompareError(f"{s.path} scored {len(s.report['per_document'])} document(s) and {first.path} "
                               f"{len(first.report['per_document'])}, not the same ones (another --split?); compare "
                               "reports of the same documents")


def unique_names(systems: list[System]) -> None:
    """File stems name the systems; two reports with the same stem are named by their paths instead."""
    stems = [s.name for s in systems]
    for s in systems:
        if stems.count(s.name) > 1:
            s.name = s.path


def leaderboard(systems: list[System], resamples: int = 1000) -> dict:
    """The comparison as JSON: per metric the best system, and per system its value, its difference from the
    best, the 95% interval of that difference and whether it is significantly worse."""
    check_comparable(systems)
    unique_names(systems)
    metrics = [k for k in HEADLINES if any(s.value(k) is not None for s in systems)]
    best: dict[str, str] = {}
    for key in metrics:
        scored = [s for s in systems if s.value(key) is not None]
        best[key] = max(scored, key=lambda s: s.value(key)).name  # first of equals wins: the order given
    boot: dict[tuple[str, str], dict] = {}
    rows = []
    for s in systems:
        cells = {}
        for key in metrics:
            v = s.value(key)
            cell: dict = {"value": v, "best": s.name == best[key]}
            if v is not None and s.name != best[key]:
                b = next(x for x in systems if x.name == best[key])
                pair = (s.name, b.name)
                if pair not in boot:
                    boot[pair] = paired_bootstrap(s.report["per_document"], b.report["per_document"], resamples)
                d = boot[pair].get(key)
                if d:
                    cell.update({"delta": d["delta"], "ci95": d["ci95"], "p_not_worse": d["p_not_worse"],
                                 "significantly_worse": d["significant_regression"]})
            cells[key] = cell
        rows.append({"name": s.name, "path": s.path, "source": s.source,
                     "confidence": {k: s.report.get("confidence", {}).get(k) for k in metrics}, "metrics": cells})
    primary = metrics[0]
    rows.sort(key=lambda r: tuple(-(r["metrics"][k]["value"] or 0.0) for k in metrics))
    gold = systems[0].report["gold"]
    return {"gold": {"fingerprint": gold["fingerprint"], "path": gold.get("path", ""),
                     "schema_fingerprint": gold.get("schema_fingerprint", "")},
            "documents": len(systems[0].report["per_document"]), "resamples": resamples, "ranked_by": primary,
            "metrics": metrics, "best": best, "systems": rows}


def _cell(c: dict) -> str:
    if c["value"] is None:
        return "n/a"
    text = f"{c['value']:.3f}"
    if c["best"]:
        return f"**{text}** (best)"
    if "delta" in c:
        lo, hi = c["ci95"]
        text += f" ({c['delta']:+.3f}, 95% CI {lo:+.3f}…{hi:+.3f})"
        if c["significantly_worse"]:
            text += " ▼"
    return text


def markdown(board: dict) -> str:
    head = ["rank", "system", *(METRIC_NAMES.get(k, k) for k in board["metrics"])]
    lines = [f"## Leaderboard: {len(board['systems'])} system(s) on gold {md_escape(board['gold']['fingerprint'])} "
             f"({board['documents']} document(s))", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, r in enumerate(board["systems"], 1):  # the name is data (a file name): escaped; the cells are ours
        lines.append("| " + " | ".join([str(n), md_escape(r["name"]), *(_cell(r["metrics"][k]) for k in
                                                                          board["metrics"])]) + " |")
    lines += ["", "In brackets: the difference from the best system on that metric and its 95% interval (paired "
              f"bootstrap over documents, {board['resamples']} resamples); ▼ marks a system significantly worse "
              "than the best (the whole interval below 0)."]
    return "\n".join(lines) + "\n"


def text_table(board: dict) -> str:
    width = max(len(r["name"]) for r in board["systems"])
    head = f"{'#':>2} {'system':<{width}} " + " ".join(f"{METRIC_NAMES.get(k, k):>32}" for k in board["metrics"])
    lines = [head]
    for n, r in enumerate(board["systems"], 1):
        cells = []
        for k in board["metrics"]:
            c = r["metrics"][k]
            if c["value"] is None:
                cells.append(f"{'n/a':>32}")
            elif c["best"]:
                cells.append(f"{c['value']:.3f} best".rjust(32))
            elif "delta" in c:
                mark = " worse" if c["significantly_worse"] else " n.s."
                cells.append(f"{c['value']:.3f} {c['delta']:+.3f} [{c['ci95'][0]:+.3f},{c['ci95'][1]:+.3f}]{mark}"
                             .rjust(32))
            else:
                cells.append(f"{c['value']:.3f}".rjust(32))
        lines.append(f"{n:>2} {r['name']:<{width}} " + " ".join(cells))
    return "\n".join(lines)


def _chart(board: dict) -> str:
    """Grouped bars: one group per metric, one bar per system, whiskers at each system's own 95% interval.

    A group is at least as wide as its metric's name (so the axis labels never run together), and a bar's
    value is written above both the bar and the top of its whisker (so the two never cross)."""
    colours = ("#2a9d8f", "#e76f51", "#457b9d", "#e9c46a", "#8338ec", "#6d597a", "#f4a261", "#588157")
    systems, metrics = board["systems"], board["metrics"]
    bar, gap, height, top, left = 30, 40, 220, 30, 60
    names = [METRIC_NAMES.get(k, k) for k in metrics]
    label_width = max((len(n) for n in names), default=0) * 7.5  # 13px sans-serif: about 7.5px a character
    group = max(bar * len(systems), label_width) + gap
    width = max(left + group * len(metrics) + 20, left + 180 * min(4, len(systems)))
    legend_rows = (len(systems) + 3) // 4
    total_height = top + height + 44 + 16 * legend_rows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{total_height}" role="img" '
           'aria-label="F1 per system and metric" font-family="sans-serif">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + height * (1 - tick)
        out.append(f'<line x1="50" x2="{width - 10:.0f}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                   f'<text x="44" y="{y + 4}" font-size="11" text-anchor="end">{tick:.2f}</text>')
    for m, (key, name) in enumerate(zip(metrics, names)):
        x0 = left + m * group
        bars_x0 = x0 + (group - gap - bar * len(systems)) / 2  # the bars centred under the label
        out.append(f'<text class="axis-label" x="{x0 + (group - gap) / 2:.1f}" y="{top + height + 18}" '
                   f'font-size="13" text-anchor="middle">{html.escape(name)}</text>')
        for i, r in enumerate(systems):
            c = r["metrics"][key]
            if c["value"] is None:
                continue
            x, h = bars_x0 + i * bar, height * c["value"]
            label_y = top + height - h - 4
            out.append(f'<rect x="{x + 3:.1f}" y="{top + height - h:.1f}" width="{bar - 6}" height="{h:.1f}" '
                       f'fill="{colours[i % len(colours)]}"><title>{html.escape(r["name"])}: '
                       f'{c["value"]:.3f}</title></rect>')
            ci = r["confidence"].get(key)
            if ci:
                y1, y2 = top + height * (1 - ci[0]), top + height * (1 - ci[1])
                xm = x + bar / 2
                out.append(f'<line class="whisker" x1="{xm:.1f}" x2="{xm:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" '
                           f'stroke="#222"/><line class="whisker" x1="{xm - 4:.1f}" x2="{xm + 4:.1f}" '
                           f'y1="{y2:.1f}" y2="{y2:.1f}" stroke="#222"/>')
                label_y = min(label_y, y2 - 4)
            out.append(f'<text class="value-label" x="{x + bar / 2:.1f}" y="{label_y:.1f}" font-size="10" '
                       f'text-anchor="middle">{c["value"]:.2f}</text>')
    for i, r in enumerate(systems):
        x = left + (i % 4) * 180
        y = top + height + 40 + (i // 4) * 16
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colours[i % len(colours)]}"/>'
                   f'<text class="legend" x="{x + 16}" y="{y}" font-size="12">{html.escape(r["name"])}</text>')
    out.append("</svg>")
    return "".join(out)


def html_page(board: dict) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   ["rank", "system", "source", *(METRIC_NAMES.get(k, k) for k in board["metrics"])])
    rows = []
    for n, r in enumerate(board["systems"], 1):
        cells = [str(n), html.escape(r["name"]), html.escape(r["source"])]
        cells += [html.escape(_cell(r["metrics"][k]).replace("**", "")) for k in board["metrics"]]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>annotate leaderboard</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;margin:0.5em 0}} td,th{{border:1px solid #ccc;padding:3px 8px}}</style></head>
<body><h1>Leaderboard</h1>
<p>{len(board['systems'])} system(s) scored against gold {html.escape(board['gold']['fingerprint'])}
({board['documents']} document(s)). Bars: F1; whiskers: each system's own 95% bootstrap interval.</p>
{_chart(board)}
<table><tr>{head}</tr>{''.join(rows)}</table>
<p>In brackets: the difference from the best system on that metric and its 95% interval (paired bootstrap over
documents, {board['resamples']} resamples); ▼ marks a system significantly worse than the best.</p>
</body></html>
"""
