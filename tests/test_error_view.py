"""Errors in context: the report of the real `annotate score` on the committed gold set, opened in headless
Chromium from a file. The Arabic renders right-to-left, the filters hide and show marks, an error example links
to its place in the text, and the page fetches nothing. With ANNOTATE_ERROR_VIEW_SCREENSHOT=path the screenshot
is kept there (docs/error-view.png in the README comes from this test)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter

import pytest
from click.testing import CliRunner

from annotate.cli import main


@pytest.fixture(scope="module")
def report_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(main, ["score", "--gold", "gold/dataset", "--extractor", "annotate.baseline:extract",
                                       "--json", str(out / "r.json"), "--html", str(out / "r.html"),
                                       "--resamples", "200"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "r.json").read_text(encoding="utf-8")), out / "r.html"


def test_report_json_carries_every_span_with_the_breakdowns_kind(report_files):
    report, _ = report_files
    view = report["in_context"]
    assert [d["id"] for d in view["documents"]] == sorted(report["per_document"])
    assert view["colours"]["PER"] == "#f4a261"  # the schema's colour
    counts: dict[str, Counter] = {}
    for d in view["documents"]:
        for m in d["marks"]:
            assert d["text"][m["start"]:m["end"]]
            if m["what"] == "entity":
                side_type = counts.setdefault(m["type"], Counter())
                side_type[(m["side"], m["kind"])] += 1
    # the marks are the error breakdown's categories, mention for mention
    for t, e in report["errors"].items():
        c = counts.get(t, Counter())
        assert c[("gold", "correct")] == e["correct"]
        assert c[("gold", "missed")] == e["missed"]
        assert c[("gold", "wrong_type")] == e["wrong_type"]
        assert c[("gold", "wrong_boundary")] == e["wrong_boundary"]
        assert c[("pred", "spurious")] == e["spurious"]
        assert c[("pred", "wrong_type")] == e["wrong_type_predicted"]
    # arguments: correct links are the true positives of arguments.classification_with_trigger
    links = Counter(lk["kind"] for d in view["documents"] for lk in d["links"])
    with_trigger = report["arguments"]["classification_with_trigger"]
    assert (links["correct"], links["spurious"], links["missed"]) == (with_trigger["tp"], with_trigger["fp"],
                                                                      with_trigger["fn"])
    # nested gold spans sit on deeper layers
    assert any(m["layer"] > 0 for d in view["documents"] for m in d["marks"] if m["side"] == "gold")


def _state(page, selector: str) -> list[bool]:
    """Whether each element is drawn (not filtered out): its class and its computed line colour agree."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map(el => {
        const cs = getComputedStyle(el);
        const line = el.classList.contains('g') ? cs.borderBottomColor : cs.borderTopColor;
        return !el.classList.contains('off') && line !== 'rgba(0, 0, 0, 0)'; })""", selector)


@pytest.mark.browser
def test_error_view_renders_rtl_and_filters_work(report_files, chromium, tmp_path):
    report, page_file = report_files
    page = chromium.new_page(viewport={"width": 1300, "height": 1050})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    assert requests == [page_file.as_uri()]  # one self-contained file: nothing else is fetched

    sections = page.locator("#errors-in-context section.doc")
    assert sections.count() == len(report["in_context"]["documents"]) == 5
    first = page.locator("#errors-in-context p.sent").first
    assert (first.get_attribute("dir"), first.get_attribute("lang")) == ("rtl", "ar")
    assert first.evaluate("el => getComputedStyle(el).direction") == "rtl"
    doc0 = report["in_context"]["documents"][0]
    s0, e0 = doc0["sentences"][0]
    assert first.inner_text().strip() == doc0["text"][s0:e0]  # the article's own text, marks and all
    # right-to-left layout: the sentence's first word starts at the right edge of its block
    first_right, block_right, block_left = page.evaluate("""() => {
        const p = document.querySelector('#errors-in-context p.sent');
        const w = document.createTreeWalker(p, NodeFilter.SHOW_TEXT); let n = w.nextNode();
        while (n && !n.textContent.trim()) n = w.nextNode();
        const r = document.createRange(); r.selectNodeContents(n);
        const b = p.getBoundingClientRect(); return [r.getBoundingClientRect().right, b.right, b.left]; }""")
    assert abs(first_right - block_right) < 3 and first_right - block_left > 200

    missed, spurious = "#errors-in-context .m.k-missed", "#errors-in-context .m.k-spurious"
    assert _state(page, missed) and all(_state(page, missed))
    page.locator("#ev-filters input[value='k:missed']").uncheck()
    assert not any(_state(page, missed))  # every missed mark hidden
    assert all(_state(page, spurious))  # other kinds untouched
    page.locator("#ev-filters input[value='k:missed']").check()
    assert all(_state(page, missed))

    per = "#errors-in-context .m[data-t='PER']"
    page.locator("#ev-filters input[value='t:PER']").uncheck()
    assert _state(page, per) and not any(_state(page, per))
    assert any(_state(page, "#errors-in-context .m[data-t='ORG']"))
    links = page.locator("#errors-in-context .links li[data-k='spurious']")
    page.locator("#ev-filters input[value='k:spurious']").uncheck()
    assert links.count() and not any(links.nth(k).is_visible() for k in range(links.count()))
    page.locator("#ev-filters input[value='k:spurious']").check()
    page.locator("#ev-filters input[value='t:PER']").check()
    assert all(_state(page, per))

    # hovering a trigger lights up its arguments
    trigger = page.locator("#errors-in-context .m[data-a]").first
    trigger.hover()
    argument_ids = trigger.get_attribute("data-a").split()
    assert page.locator(f"#errors-in-context [data-m='{argument_ids[0]}'].hl").count() >= 1

    # an error example in the tables links to its place in the text
    link = page.locator("a[href^='#d']").first
    target = link.get_attribute("href")[1:]
    link.click()
    assert page.evaluate("() => location.hash.slice(1)") == target
    assert page.locator(f"[id='{target}']").count() == 1
    assert page.evaluate("() => document.querySelector(':target') !== null")

    page.locator("#errors-in-context").scroll_into_view_if_needed()
    page.evaluate("() => document.getElementById('errors-in-context').scrollIntoView()")
    shot = tmp_path / "error-view.png"
    page.screenshot(path=str(shot))
    page.close()
    assert shot.stat().st_size > 50_000
    if os.environ.get("ANNOTATE_ERROR_VIEW_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["ANNOTATE_ERROR_VIEW_SCREENSHOT"])


def test_a_large_gold_set_draws_the_documents_with_most_errors(report_files):
    from annotate.score import errorview

    report, _ = report_files
    docs = report["in_context"]["documents"]
    errors = [sum(m["kind"] != "correct" for m in d["marks"]) for d in docs]
    page = errorview.section(report, limit=2)
    assert page.count('<section class="doc"') == 2 and "2 of 5 documents are drawn here" in page
    worst = sorted(range(5), key=lambda k: (-errors[k], k))[:2]
    assert all(f'id="doc-{k}"' in page for k in worst)
    table = errorview.examples_table(report, limit=2)
    linked = {int(href.split("-")[0][1:]) for href in re.findall(r'href="#(d\d+-[^"]+)"', table)}
    assert linked and linked <= set(worst)  # examples of documents not drawn get no dead link
