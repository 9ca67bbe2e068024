"""Score reports: JSON with stable keys, a Markdown summary for CI, an HTML page; thresholds and baselines.

Exit codes of `annotate score` (stable, for CI):
  0  scored, every --fail-under threshold met, no significant regression against --baseline
  1  bad input (gold set, predictions, extractor failure)
  2  usage error
  3  a --fail-under threshold was not met
  4  a significant regression against --baseline (paired bootstrap over documents)
"""

from __future__ import annotations

import html
import json
from typing import Any

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


def parse_threshold(spec: str) -> tuple[str, float]:
    key, sep, value = spec.partition("=")
    if not sep:
        raise ValueError(f"--fail-under {spec!r}: expected KEY=VALUE, e.g. entities.strict.micro.f1=0.80")
    try:
        return key.strip(), float(value)
    except ValueError:
        raise ValueError(f"--fail-under {spec!r}: {value!r} is not a number") from None


def check_thresholds(report: dict, thresholds: list[tuple[str, float]]) -> list[str]:
    failures = []
    for key, minimum in thresholds:
        try:
            value = lookup(report, key)
        except KeyError:
            failures.append(f"{key}: no such metric in the report")
            continue
        if not isinstance(value, (int, float)):
            failures.append(f"{key}: is not a number")
        elif value < minimum:
            failures.append(f"{key} = {value:.4f} < {minimum:.4f}")
    return failures


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def markdown(report: dict) -> str:
    ent = report["entities"]
    lines = [f"## Extraction scores: {report['predictions']['source']}", "",
             f"Gold `{report['gold']['path']}` (fingerprint `{report['gold']['fingerprint']}`, schema "
             f"`{report['gold']['schema']}` `{report['gold']['schema_fingerprint']}`), annotate "
             f"{report['toolkit_version']}; {report['documents']['gold']} document(s), "
             f"{report['documents']['with_predictions']} with predictions.", "",
             "| metric | P | R | F1 | 95% CI | tp | fp | fn |", "|---|---|---|---|---|---|---|---|"]
    rows = [("entities (strict IOB2)", ent["strict"]["micro"], "entities.strict.micro.f1"),
            ("entities (default, conlleval)", ent["default"]["micro"], "entities.default.micro.f1"),
            ("triggers identification", report["triggers"]["identification"], None),
            ("triggers classification", report["triggers"]["classification"], "triggers.classification.f1"),
            ("arguments identification", report["arguments"]["identification"], None),
            ("arguments classification", report["arguments"]["classification"], "arguments.classification.f1"),
            ("arguments classification + trigger", report["arguments"]["classification_with_trigger"], None)]
    for name, row, ci_key in rows:
        ci = report.get("confidence", {}).get(ci_key) if ci_key else None
        ci_text = f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else ""
        lines.append(f"| {name} | {_f(row['precision'])} | {_f(row['recall'])} | **{_f(row['f1'])}** | {ci_text} | "
                     f"{row['tp']} | {row['fp']} | {row['fn']} |")
    ceiling = report.get("human_ceiling")
    if ceiling:
        lines += ["", f"Human ceiling (inter-annotator agreement over {ceiling.get('tasks', '?')} task(s)): "
                      f"entities {_f(ceiling.get('entities_exact_f1'))}, triggers "
                      f"{_f(ceiling.get('triggers_classification_f1'))}, arguments "
                      f"{_f(ceiling.get('arguments_classification_f1'))}."]
    lines += ["", "| type | P | R | F1 | support | correct | wrong type | wrong boundary | missed | spurious |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    errors = report.get("errors", {})
    for t, row in ent["strict"]["per_type"].items():
        e = errors.get(t, {})
        lines.append(f"| {t} | {_f(row['precision'])} | {_f(row['recall'])} | {_f(row['f1'])} | {row['support']} | "
                     f"{e.get('correct', 0)} | {e.get('wrong_type', 0)} | {e.get('wrong_boundary', 0)} | "
                     f"{e.get('missed', 0)} | {e.get('spurious', 0)} |")
    base = report.get("baseline")
    if base:
        lines += ["", f"Against baseline `{base['path']}`:", "",
                  "| metric | baseline | now | delta | 95% CI | verdict |", "|---|---|---|---|---|---|"]
        for key, d in base["metrics"].items():
            verdict = "significant regression" if d.get("significant_regression") else "ok"
            ci = d.get("ci95")
            lines.append(f"| {key} | {_f(d['baseline'])} | {_f(d['now'])} | {d['delta']:+.3f} | "
                         f"{f'{ci[0]:+.3f}…{ci[1]:+.3f}' if ci else ''} | {verdict} |")
    lines += ["", f"Entity modes: default = {ent['default']['mode']}; strict = {ent['strict']['mode']}."]
    return "\n".join(lines) + "\n"


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
    md_rows = []
    for t, e in report.get("errors", {}).items():
        for kind, examples in e.get("examples", {}).items():
            for ex in examples:
                cells = [t, kind, ex["doc"], ex["text"], ex.get("note", "")]
                tds = "".join(f"<td{' dir=rtl' if i == 3 else ''}>{html.escape(c)}</td>" for i, c in enumerate(cells))
                md_rows.append(f"<tr>{tds}</tr>")
    summary = html.escape(markdown(report))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>annotate score report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}} pre{{white-space:pre-wrap}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:3px 6px}}</style></head>
<body><h1>Extraction scores</h1>
<p>Gold fingerprint <code>{html.escape(report['gold']['fingerprint'])}</code>, schema
<code>{html.escape(report['gold']['schema_fingerprint'])}</code>, annotate {html.escape(report['toolkit_version'])}.</p>
<h2>F1 per entity type (strict IOB2)</h2>
{''.join(svg)}
<h2>Summary</h2><pre>{summary}</pre>
<h2>Error examples</h2>
<table><tr><th>type</th><th>kind</th><th>document</th><th>text</th><th>note</th></tr>{''.join(md_rows)}</table>
</body></html>
"""


def dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
