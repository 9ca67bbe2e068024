"""`annotate push` of 10,000 tasks against one raw bulk POST of the same tasks file, on one local Label Studio.

Reference: a small Python process that reads the tasks file written by `annotate tasks` and sends its bytes, as
they are, in ONE `POST /api/projects/{id}/import` with `requests` (what a user would do with curl). Ours:
`python -m annotate.cli push TASKS --project-id ID` (reads the file, checks the project and its config, asks
which documents are there, imports in chunks). Both are timed as whole processes by the harness (interpreter
start included), each into its own fresh, empty project with the schema's labeling config (made beforehand and
not timed), alternating which side goes first. Both projects must then hold exactly the tasks file's doc ids,
each once. A re-push of the same file must import nothing. Without --quick, a sweep times our push at several
chunk sizes, each round with a reference run, to show where the default comes from.

The server URL and key reach both sides through the environment, never argv.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import uuid
from pathlib import Path

from annotate.core.schema import load_schema
from annotate.studio.client import CHUNK_BYTES, CHUNK_SIZE, ensure_project, rest
from annotate.studio.connection import load_connection
from annotate.studio.server import LocalStudio

from .corpus import write_articles_jsonl
from .harness import PYTHON, Measured, Row, annotate_cli, run_measured

REPEATS = 9
SWEEP = [500, 2000, 5000, 10_000]  # 10,000 is the whole file in one request
SWEEP_ROUNDS = 2

# The reference side, as a whole process: one POST of the file's bytes, checked for 201 and the task count.
REFERENCE = """
import os, sys, requests
url, key = os.environ["LABEL_STUDIO_URL"], os.environ["LABEL_STUDIO_API_KEY"]
with open(sys.argv[2], "rb") as f:
    body = f.read()
r = requests.post(f"{url}/api/projects/{sys.argv[1]}/import", data=body,
                  headers={"Authorization": f"Token {key}", "Content-Type": "application/json"}, timeout=600)
if r.status_code != 201:
    sys.exit(f"import answered HTTP {r.status_code}: {r.text[:300]}")
print(r.json()["task_count"])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seconds(runs: list[Measured]) -> str:
    return ", ".join(f"{m.seconds:.2f}" for m in runs)


def run(quick: bool, workdir: Path) -> list[Row]:
    n = 500 if quick else 10_000
    repeats = 1 if quick else REPEATS
    articles = write_articles_jsonl(workdir / "articles.jsonl", n)
    tasks_file = workdir / "tasks.json"
    run_measured(annotate_cli() + ["tasks", str(articles), "-o", str(tasks_file)], cwd=workdir).check()
    expected = sorted(t["data"]["doc_id"] for t in json.loads(tasks_file.read_text(encoding="utf-8")))
    if len(expected) != n or len(set(expected)) != n:
        raise SystemExit(f"push: the tasks file holds {len(expected)} tasks, {len(set(expected))} distinct; "
                         f"expected {n}")
    schema = load_schema()
    server = LocalStudio(workdir / "studio", _free_port())
    print(f"   starting Label Studio on {server.url} (~1 min) ...", file=sys.stderr, flush=True)
    try:
        server.up(timeout=300)
        conn = load_connection(server.connection_file)
        env = {"LABEL_STUDIO_URL": conn.url, "LABEL_STUDIO_API_KEY": conn.api_key}
        client = rest(conn)

        def fresh_project() -> int:
            return ensure_project(client, conn, schema, f"bench-push-{uuid.uuid4().hex[:8]}")[0].id

        def check(project_id: int, side: str) -> None:
            ids = client.doc_ids(project_id, page_size=5000)
            if sorted(ids) != expected:
                raise SystemExit(f"push: {side} left {len(ids)} task(s), {len(set(ids))} distinct doc ids, in project "
                                 f"{project_id}; expected the {n} of the tasks file, each once")

        # Both sides run without the harness's memory sampler (a scan of /proc every 20 ms): only time is compared
        # here, and on a busy machine the sampler's own work would add noise to both.
        def reference() -> Measured:
            project = fresh_project()
            m = run_measured([PYTHON, "-c", REFERENCE, str(project), str(tasks_file)], env=env, cwd=workdir,
                             sample_tree=False).check()
            check(project, "the reference")
            return m

        def ours(*extra: str) -> tuple[Measured, int]:
            project = fresh_project()
            m = run_measured(annotate_cli() + ["push", str(tasks_file), "--project-id", str(project), *extra],
                             env=env, cwd=workdir, sample_tree=False).check()
            check(project, "our push")
            return m, project

        ref_runs: list[Measured] = []
        our_runs: list[Measured] = []
        project = 0
        for k in range(repeats):  # alternate which side goes first, so neither always meets a warmer server
            if k % 2 == 0:
                ref_runs.append(reference())
            m, project = ours()
            our_runs.append(m)
            if k % 2 == 1:
                ref_runs.append(reference())
            print(f"   round {k + 1}: reference {ref_runs[-1].seconds:.2f} s, ours {our_runs[-1].seconds:.2f} s",
                  file=sys.stderr, flush=True)
        # idempotence: pushing the same file again into the last full project imports nothing and adds nothing
        repush = run_measured(annotate_cli() + ["push", str(tasks_file), "--project-id", str(project)],
                              env=env, cwd=workdir).check()
        if f": 0 imported (0 with predictions), {n} already present" not in repush.stdout:
            raise SystemExit(f"push: a repeated push imported something: {repush.stdout.strip()}")
        check(project, "a repeated push")
        sweep_notes = []
        if not quick:
            # Each round times the reference and every chunk size, the second round in reverse order, so that
            # neither the server's growing database nor the machine's load favours one size.
            sweep: dict[int, list[Measured]] = {size: [] for size in SWEEP}
            sweep_ref: list[Measured] = []
            for k in range(SWEEP_ROUNDS):
                order = [0, *SWEEP] if k % 2 == 0 else [*reversed(SWEEP), 0]
                for size in order:
                    if size == 0:
                        sweep_ref.append(reference())
                    else:
                        sweep[size].append(ours("--chunk-size", str(size))[0])
                print(f"   sweep round {k + 1}: reference {sweep_ref[-1].seconds:.2f} s, "
                      + ", ".join(f"{size}: {sweep[size][-1].seconds:.2f} s" for size in SWEEP),
                      file=sys.stderr, flush=True)
            best_sweep_ref = min(m.seconds for m in sweep_ref)
            for size in SWEEP:
                best = min(m.seconds for m in sweep[size])
                sweep_notes.append(f"{size:,}: {n / best:,.0f} tasks/s ({best:.2f} s, {best_sweep_ref / best:.2f}×)")
            sweep_notes.append(f"reference {n / best_sweep_ref:,.0f} tasks/s ({best_sweep_ref:.2f} s)")
    finally:
        server.down()
    best_ref = min(m.seconds for m in ref_runs)
    best_ours = min(m.seconds for m in our_runs)
    ratio = best_ref / best_ours  # throughput ours / reference = reference time / our time
    median_ref = statistics.median(m.seconds for m in ref_runs)
    median_ours = statistics.median(m.seconds for m in our_runs)
    size_mb = tasks_file.stat().st_size / 1e6
    notes = [
        f"reference: one `POST /api/projects/ID/import` of the whole tasks file ({size_mb:.1f} MB) with requests; "
        f"ours: `annotate push tasks.json --project-id ID` (chunks of up to {CHUNK_SIZE:,} tasks / "
        f"{CHUNK_BYTES // (1 << 20)} MiB: here the file's own bytes in one request); each a whole process into "
        f"a fresh empty project, best of "
        f"{len(ref_runs)} reference and {len(our_runs)} of ours, alternating; both projects then hold the "
        f"{n:,} doc ids once each",
        f"runs (s): reference {_seconds(ref_runs)} (median {median_ref:.2f}); ours {_seconds(our_runs)} (median "
        f"{median_ours:.2f}); ratio of the medians {median_ref / median_ours:.2f}",
        f"re-push of the same file into the full project: 0 imported, {repush.seconds:.2f} s",
    ]
    if sweep_notes:
        notes.append(f"chunk-size sweep (ours with --chunk-size N, best of {SWEEP_ROUNDS}, and the ratio to the best "
                     f"reference of the same rounds): " + "; ".join(sweep_notes))
    return [Row("push", f"throughput, {n:,} tasks", f"{n / best_ours:,.0f} tasks/s ({best_ours:.2f} s)",
                f"{n / best_ref:,.0f} tasks/s ({best_ref:.2f} s)", ratio, "≥ 0.90× one raw bulk POST",
                ratio >= 0.9, notes)]
