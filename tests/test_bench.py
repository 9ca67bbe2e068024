"""The benchmark runner: a quick run really measures both sides and writes its block; re-running one benchmark
keeps the others' results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run as bench_run  # noqa: E402


def test_readme_blocks_are_replaced_one_benchmark_at_a_time(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nintro\n\n<!-- results:start -->\n<!-- results:end -->\n\n## push\nprose\n",
                      encoding="utf-8")
    monkeypatch.setattr(bench_run, "README", readme)
    bench_run.update_readme("push", "push v1")
    bench_run.update_readme("score", "score v1")
    bench_run.update_readme("push", "push v2")
    text = readme.read_text(encoding="utf-8")
    assert "push v1" not in text and text.count("push v2") == 1 and text.count("score v1") == 1
    assert text.index("push v2") < text.index("score v1") < text.index("<!-- results:end -->")
    assert text.endswith("## push\nprose\n")


def test_a_quick_score_benchmark_runs_both_sides_and_prints_its_table():
    res = subprocess.run([sys.executable, "bench/run.py", "--only", "score", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode in (0, 1), res.stderr[-2000:]  # 1 = a target missed: a quick run may miss one
    assert "| score | entity report" in res.stdout
    assert "identical numbers: True" in res.stdout
