"""Score reports: JSON with stable keys, a Markdown summary for CI, an HTML page; thresholds and baselines.

Exit codes of `annotate score` (stable, for CI):
  0  scored, every --fail-under threshold met, no significant regression against --baseline
  1  bad input (gold set, predictions, extractor failure), or prediction records rejected as malformed
     (unless --allow-rejected)
  2  usage error
  3  a --fail-under threshold was not met
  4  a significant regression against --baseline (paired bootstrap over documents)
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_write_pieces
from . import errorview
from .mdtext import md_escape

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_THRESHOLD, EXIT_REGRESSION = 0, 1, 2, 3, 4


def lookup(report: dict, key: str) -> Any:
    """Dotted key lookup that tolerates dots inside names (`...per_type.Conflict.Attack.f1`)."""
    node: Any = report
    parts = key.split(".")
    i = 0
    while i < len(parts):
        if not isinstance(node, dict):
            raise KeyError(key)
        for j in range(len(parts), i, -1):
            candidate = ".".join(parts[i:j])
            if candidate in node:
                node = node[candidate]
                i = j
                break
        else:
            raise KeyError(key)
    return node


def not_applicable(report: dict, key: str) -> str:
    """The note of the section holding `key` when that section does not apply (no event types), else ''."""
    parts = key.split(".")
    for n in range(1, len(parts)):
        try:
            section = lookup(report, ".".join(parts[:n]))
        except KeyError:
            return ""
        if isinstance(section, dict) and section.get("applicable") is False:
            return section.get("note", "not applicable")
    return ""


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def headline_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the headline table; sections a report lacks (CoNLL input has no events) are left out."""
    ent = report["entities"]
    rows = [(f"entities (strict {_scheme(report)})", ent["strict"]["micro"], "entities.strict.micro.f1"),
            ("entities (default, conlleval)", ent["default"]["micro"], "entities.default.micro.f1")]
    if "triggers" in report:
        rows += [("triggers identification", report["triggers"]["identification"], None),
                 ("triggers classification", report["triggers"]["classification"], "triggers.classification.f1"),
                 ("arguments identification", report["arguments"]["identification"], None),
                 ("arguments classification", report["arguments"]["classification"], "arguments.classification.f1"),
                 ("arguments classification + trigger", report["arguments"]["classification_with_trigger"], None)]
    out = []
    for name, row, ci_key in rows:
        ci = report.get("confidence", {}).get(ci_key) if ci_key else None
        out.append([name, _f(row["precision"]), _f(row["recall"]), _f(row["f1"]),
                    f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "", str(row["tp"]), str(row["fp"]), str(row["fn"])])
    return ["metric", "P", "R", "F1", "95% CI", "tp", "fp", "fn"], out


def _scheme(report: dict) -> str:
    return report["entities"]["strict"].get("scheme", "IOB2")


ERROR_COLUMNS = {"correct": "correct", "wrong_type": "wrong type", "wrong_boundary": "wrong boundary",
                 "missed": "missed", "spurious": "spurious", "wrong_type_predicted": "predicted for another type"}


def type_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Per type; the error columns add up: correct = tp, wrong type + wrong boundary + missed = fn,
    predicted for another type + wrong boundary + spurious = fp."""
    errors = report.get("errors", {})
    out = []
    for t, row in report["entities"]["strict"]["per_type"].items():
        e = errors.get(t, {})
        out.append([t, _f(row["precision"]), _f(row["recall"]), _f(row["f1"]), str(row["support"])]
                   + [str(e.get(k, "")) for k in ERROR_COLUMNS])
    return ["type", "P", "R", "F1", "support", *ERROR_COLUMNS.values()], out


def baseline_table(report: dict) -> tuple[list[str], list[list[str]]]:
    out = []
    for key, d in (report.get("baseline") or {}).get("metrics", {}).items():
        ci = d.get("ci95")
        if d["delta"] is None:  # a macro average over no type on one side: seqeval's NaN, no delta
            out.append([key, _dash(d["baseline"]), _dash(d["now"]), "—", "—", "no value"])
            continue
        if ci:
            word = "significant regression" if d.get("significant_regression") else "ok"
        else:  # no paired bootstrap for this metric (or --resamples 0): a drop is shown as one, never as "ok"
            word = "drop, no interval" if d["delta"] < 0 else "no drop"
        out.append([key, _f(d["baseline"]), _f(d["now"]), f"{d['delta']:+.3f}",
                    f"{ci[0]:+.3f}…{ci[1]:+.3f}" if ci else "no interval", word])
    return ["metric", "baseline", "now", "delta", "95% CI", "verdict"], out


def _dash(x) -> str:
    """A rate that has no value (null: an average over no type, seqeval's NaN) is "—" in tables."""
    return "—" if x is None else f"{x:.3f}"


def _guidelines_note(gold: dict) -> str:
    """", guidelines v1.1 (hash)" for a gold set that names its guidelines; "" for older sets and CoNLL input."""
    g = gold.get("guidelines") or {}
    return f", guidelines v{g.get('version') or '?'} {g['fingerprint']}" if g.get("fingerprint") else ""


def _provenance(report: dict) -> str:
    g = report["gold"]
    return (f"Gold {g['path']} (fingerprint {g['fingerprint'] or 'n/a'}, schema {g['schema'] or 'n/a'} "
            f"{g['schema_fingerprint'] or ''}{_guidelines_note(g)}), annotate {report['toolkit_version']}; "
            f"{report['documents']['gold']} document(s), {report['documents']['with_predictions']} with predictions.")


def notes(report: dict) -> list[str]:
    """What a reader must not miss: sections that do not apply, schema violations, warnings."""
    out = []
    if report.get("triggers", {}).get("applicable") is False:
        out.append(f"Triggers and arguments are {report['triggers']['note']}.")
    preds = report["predictions"]
    if preds.get("rejected"):
        out.append(f"{preds['rejected']} prediction record(s) rejected as malformed.")
    if preds.get("schema_violations"):
        out.append(f"{preds['schema_violations']} schema violation(s) in the predictions, scored as errors.")
    out += [f"Warning: {w}." for w in preds.get("warnings", [])]
    tagging = report.get("tagging")
    if tagging:
        out.append(f"Tag scheme {tagging['scheme']} ({tagging['scheme_source']})"
                   + (", suffix-style tags." if tagging["suffix"] else "."))
        if tagging["scheme"] == "BILOU":
            out.append("seqeval's default mode does not know the U- and L- prefixes of BILOU: read the strict "
                       "numbers.")
    return out


def _ceiling(report: dict) -> str:
    """The agreement between annotators on each headline metric, measured by the same scorer under the same
    key (`agreement.CEILING_METRICS`); a gold set whose agreement predates that shows no ceiling rather than
    a figure of another metric."""
    c = report.get("human_ceiling") or {}
    metrics = c.get("metrics") or {}
    shown = [(name, metrics[key]) for name, key in (("entities strict", "entities.strict.micro.f1"),
                                                     ("triggers classification", "triggers.classification.f1"),
                                                     ("arguments classification", "arguments.classification.f1"))
             if metrics.get(key) is not None]
    if not shown:
        return ""
    # "annotator", not "human": the gold set's card says who its annotators were and how independent their
    # passes were; a ceiling from passes of one model is not a human ceiling
    return (f"Annotator ceiling (the gold set's annotators scored against each other with this scorer, over "
            f"{c.get('tasks', '?')} task(s); the gold set's card says who they were): "
            + ", ".join(f"{name} F1 {_f(v)}" for name, v in shown) + ".")


def md_table(header: list[str], rows: list[list[str]], bold: int | None = None) -> list[str]:
    """A Markdown table whose every cell is escaped (`md_escape`): type and file names are data."""
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [f"**{md_escape(c)}**" if i == bold else md_escape(c) for i, c in enumerate(r)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(report: dict, first_line: str = "") -> str:
    """The summary for `$GITHUB_STEP_SUMMARY`; `first_line` is the gate's verdict (`gate.verdict_line`)."""
    ent = report["entities"]
    lines = [first_line, ""] if first_line else []
    lines += [f"## Extraction scores: {md_escape(report['predictions']['source'])}", "",
              md_escape(_provenance(report)), ""]
    lines += md_table(*headline_table(report), bold=3)
    if notes(report):
        lines += [""] + [f"- {md_escape(n)}" for n in notes(report)]
    if _ceiling(report):
        lines += ["", _ceiling(report)]
    lines += [""] + md_table(*type_table(report))
    if report.get("baseline"):
        lines += ["", f"Against baseline {md_escape(report['baseline']['path'])}:", ""]
        lines += md_table(*baseline_table(report))
    lines += ["", md_escape(f"Entity modes: default = {ent['default']['mode']}; strict = {ent['strict']['mode']}.")]
    return "\n".join(lines) + "\n"


def _html_table(header: list[str], rows: list[list[str]], rtl_column: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' dir=rtl' if i == rtl_column else ''}>{html.escape(c)}</td>"
                                     for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(report: dict) -> str:
    per_type = report["entities"]["strict"]["per_type"]
    bar_h, width = 22, 360
    height = bar_h * max(1, len(per_type)) + 30
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 160}" height="{height}"'
           ' role="img" aria-label="F1 per entity type">']
    for i, (t, row) in enumerate(per_type.items()):
        y = 10 + i * bar_h
        w = int(row["f1"] * width)
        svg.append(f'<text x="0" y="{y + 15}" font-size="13">{html.escape(t)}</text>'
                   f'<rect x="110" y="{y}" width="{w}" height="{bar_h - 6}" fill="#2a9d8f"/>'
                   f'<text x="{115 + w}" y="{y + 14}" font-size="12">{row["f1"]:.3f}</text>')
    svg.append("</svg>")
    examples = [[t, kind, ex["doc"], ex["text"], ex.get("note", "")]
                for t, e in report.get("errors", {}).items()
                for kind, items in e.get("examples", {}).items() for ex in items]
    sections = [f"<h2>Headline metrics</h2>{_html_table(*headline_table(report))}"]
    if notes(report):
        sections.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes(report)) + "</ul>")
    if _ceiling(report):
        sections.append(f"<p>{html.escape(_ceiling(report))}</p>")
    sections.append(f"<h2>F1 per entity type (strict {html.escape(_scheme(report))})</h2>{''.join(svg)}")
    sections.append(f"<h2>Error breakdown per type</h2>{_html_table(*type_table(report))}")
    if report.get("baseline"):
        sections.append(f"<h2>Against baseline {html.escape(report['baseline']['path'])}</h2>"
                        f"{_html_table(*baseline_table(report))}")
    if examples and report.get("in_context"):
        sections.append(errorview.examples_table(report))  # each example links to its place in the text
    elif examples:
        sections.append("<h2>Error examples</h2>"
                        + _html_table(["type", "kind", "document", "text", "note"], examples, rtl_column=3))
    sections.append(errorview.section(report))
    ent = report["entities"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>annotate score report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;margin:0.5em 0}} td,th{{border:1px solid #ccc;padding:3px 8px}}</style></head>
<body><h1>Extraction scores: {html.escape(report['predictions']['source'])}</h1>
<p>{html.escape(_provenance(report))}</p>
{''.join(sections)}
<p>Entity modes: default = {html.escape(ent['default']['mode'])}; strict = {html.escape(ent['strict']['mode'])}.</p>
</body></html>
"""


def dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def chunks(report: dict) -> Iterator[str]:
    """`dumps(report)` piece by piece. With an indent, `json.dumps` joins a list of every piece (tens of
    millions of small strings for the `per_document` counts of 100,000 documents); written as they come,
    the report costs only its own dict."""
    yield from json.JSONEncoder(ensure_ascii=False, indent=2).iterencode(report)
    yield "\n"


def write_json(report: dict, path: str | Path) -> None:
    """`dumps(report)` into `path`, streamed, whole or not at all (a temporary file renamed at the end)."""

    atomic_write_pieces(path, chunks(report))
