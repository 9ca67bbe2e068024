"""The Python API (issue 18): the README's example runs as written, `import annotate` stays cheap, and the report
is the one `annotate score --json` writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import annotate
from annotate.cli import main

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- api-example -->\s*```python\n(.*?)```\s*<!-- /api-example -->", text, re.S)
    assert block, "README.md has no <!-- api-example --> block"
    return block.group(1)


def test_the_readme_example_runs_and_prints_what_it_says():
    code = readme_example()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    printed = out.stdout.split()
    promised = re.findall(r"# (\d\.\d{3})", code)  # each print's comment says what it prints
    assert printed == promised and len(printed) == 2


def test_score_predictions_gives_the_json_report_of_the_command(tmp_path):
    preds = tmp_path / "baseline.jsonl"
    assert CliRunner().invoke(main, ["baseline", "gold/articles", "-o", str(preds)]).exit_code == 0
    result = CliRunner().invoke(main, ["score", "--gold", "gold/dataset", "--predictions", str(preds),
                                       "--json", str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    command = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(annotate.score_predictions("gold/dataset", preds))) == command
    # the same predictions as records in memory: only where they came from differs
    records = [json.loads(x) for x in preds.read_text(encoding="utf-8").splitlines()]
    in_memory = json.loads(json.dumps(annotate.score_predictions("gold/dataset", records)))
    assert in_memory["predictions"]["source"] == "<python>"
    assert {**in_memory, "predictions": command["predictions"]} == command


def test_documents_in_memory_and_malformed_records():
    gold = annotate.load_gold("gold/dataset")
    assert len(gold) == 5 and all(isinstance(d, annotate.Document) for d in gold)
    report = annotate.score_predictions(gold, gold, resamples=0)
    assert report["entities"]["strict"]["micro"]["f1"] == 1.0
    assert report["arguments"]["classification"]["f1"] == 1.0
    bad = [{"id": gold[0].id, "entities": [{"start": 0, "end": 10 ** 6, "type": "PER"}]}]
    report = annotate.score_predictions(gold, bad, resamples=0)
    assert report["predictions"]["rejected"] == 1 and "predictions[0]" in report["predictions"]["rejected_reasons"][0][
        "source"]
    with pytest.raises(ValueError, match="no such split"):
        annotate.score_predictions("gold/dataset", [], split="train")


def test_import_annotate_loads_no_library_module():
    code = "import sys, annotate; print(sorted(m for m in sys.modules if m.startswith(('annotate.', 'datasets'))))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "['annotate.core', 'annotate.core.version']", out.stdout + out.stderr
