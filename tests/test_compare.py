"""`annotate compare` on real reports of the real `annotate score` on the committed gold set (issue 12 item 3):
the gold itself (perfect), the baseline extractor, and an extractor that writes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.gold.reader import gold_documents
from annotate.gold.writer import write_gold

GOLD = "gold/dataset"


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert _run("export", GOLD, "--format", "jsonl", "-o", out / "gold.jsonl").exit_code == 0
    runs = {
        "perfect": ["--predictions", out / "gold.jsonl"],
        "baseline": ["--extractor", "annotate.baseline:extract"],
        "silent": ["--extractor", f"{sys.executable} -c 'import sys; sys.stdin.read()'", "--allow-empty-predictions"],
    }
    paths = {}
    for name, args in runs.items():
        result = _run("score", "--gold", GOLD, *args, "--json", out / f"{name}.json", "--resamples", "300")
        assert result.exit_code == 0, result.output
        paths[name] = out / f"{name}.json"
    return paths


def test_leaderboard_ranks_and_bootstraps_against_the_best(reports, tmp_path):
    # given in the "wrong" order on purpose: the ranking comes from the scores
    result = _run("compare", reports["silent"], reports["baseline"], reports["perfect"], "--markdown",
                  tmp_path / "lb.md", "--html", tmp_path / "lb.html", "--json", tmp_path / "lb.json",
                  "--resamples", "500")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("Compared 3 report(s) on gold dd8627591ef749bb")
    board = json.loads((tmp_path / "lb.json").read_text())
    assert [r["name"] for r in board["systems"]] == ["perfect", "baseline", "silent"]
    assert board["metrics"] == ["entities.strict.micro.f1", "triggers.classification.f1",
                                "arguments.classification.f1"]
    baseline = json.loads(reports["baseline"].read_text())
    for key in board["metrics"]:
        assert board["best"][key] == "perfect"
        best, base, silent = (r["metrics"][key] for r in board["systems"])
        assert best == {"value": 1.0, "best": True}
        section, metric = key.split(".")[0], key.split(".")[1]
        value = baseline[section][metric]["micro"]["f1"] if section == "entities" else baseline[section][metric]["f1"]
        assert base["value"] == pytest.approx(value)
        assert base["delta"] == pytest.approx(value - 1.0)
        lo, hi = base["ci95"]
        assert lo <= base["delta"] <= hi < 0 and base["significantly_worse"]
        assert silent["value"] == 0.0 and silent["delta"] == -1.0 and silent["significantly_worse"]
    md = (tmp_path / "lb.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[1] for r in rows] == ["perfect", "baseline", "silent"]
    assert "**1.000** (best)" in rows[0] and "▼" in rows[1]
    page = (tmp_path / "lb.html").read_text()
    assert "<svg" in page and page.count("<rect") >= 9 + 3  # 3 systems x 3 metrics (silent bars are 0 high)
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # one file, nothing fetched


def test_reports_of_another_gold_set_are_refused(reports, tmp_path):
    docs, info = gold_documents(GOLD)
    write_gold(docs[:4], info.schema, tmp_path / "gold4")
    result = _run("score", "--gold", tmp_path / "gold4", "--extractor", "annotate.baseline:extract", "--json",
                  tmp_path / "other.json", "--resamples", "0")
    assert result.exit_code == 0, result.output
    other_fp = json.loads((tmp_path / "other.json").read_text())["gold"]["fingerprint"]
    result = _run("compare", reports["baseline"], tmp_path / "other.json")
    assert result.exit_code == 1
    assert "different gold sets" in result.output and "dd8627591ef749bb" in result.output
    assert other_fp in result.output and "Traceback" not in result.output


def test_inputs_that_are_not_comparable_reports(reports, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"entities": {}, \n oops}')
    result = _run("compare", reports["baseline"], bad)
    assert result.exit_code == 1 and f"{bad}: not valid JSON (line 2" in result.output
    conll = tmp_path / "c.conll"
    conll.write_text("a B-PER B-PER\nb O O\n")
    assert _run("score", "--conll", conll, "--json", tmp_path / "conll.json").exit_code == 0
    result = _run("compare", reports["baseline"], tmp_path / "conll.json")
    assert result.exit_code == 1 and "made from CoNLL input" in result.output
    result = _run("compare", reports["baseline"])
    assert result.exit_code == 2 and "two or more" in result.output


def _boxes(page, selector):
    return [b for b in page.eval_on_selector_all(selector, "els => els.map(e => {const r = e.getBoundingClientRect();"
                                                           " return [r.left, r.top, r.right, r.bottom];})")]


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_leaderboard_chart_labels_do_not_overlap(reports, chromium, tmp_path):
    """The chart in a real browser: the metric names under the axis and the value labels over the bars never
    overlap each other, and no value label crosses a whisker. With ANNOTATE_LEADERBOARD_SCREENSHOT=path the
    screenshot is kept (the README's docs/leaderboard.png)."""
    page_file = tmp_path / "lb.html"
    res = _run("compare", reports["baseline"], reports["perfect"], reports["silent"], "--html", page_file,
               "--resamples", "300")
    assert res.exit_code == 0, res.output
    page = chromium.new_page(viewport={"width": 1000, "height": 700})
    page.goto(page_file.as_uri())
    axis = _boxes(page, "svg text.axis-label")
    values = _boxes(page, "svg text.value-label")
    whiskers = _boxes(page, "svg line.whisker")
    assert len(axis) == 3 and len(values) == 9 and whiskers
    for group in (axis, values):
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                assert not _overlap(a, b), (a, b)
    for v in values:
        for w in whiskers:
            assert not _overlap(v, w), (v, w)
    shot = tmp_path / "leaderboard.png"
    page.locator("svg").screenshot(path=str(shot))
    page.close()
    assert shot.stat().st_size > 5000
    if os.environ.get("ANNOTATE_LEADERBOARD_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["ANNOTATE_LEADERBOARD_SCREENSHOT"])
