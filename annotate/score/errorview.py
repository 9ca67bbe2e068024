"""The errors-in-context section of the HTML report: one right-to-left block per document.

The text is cut into pieces at every mark and sentence boundary; each piece is wrapped in one element per mark
covering it, outermost layer first. Gold marks draw lines under the text and predicted marks lines over it,
each layer at its own distance, so nested spans (and a prediction that crosses a gold span) stay visible.
Colour = type, line style = error kind. Filters and hover are a few lines of inline script: the page is
one file and fetches nothing.
"""

from __future__ import annotations

import html
from collections import Counter

KIND_LABELS = {"correct": "correct", "wrong_type": "wrong type", "wrong_boundary": "wrong boundary",
               "missed": "missed", "spurious": "spurious"}
# line style per kind: the colour already says the type, so the kind needs a second channel
KIND_STYLE = {"correct": "solid", "wrong_type": "double", "wrong_boundary": "dashed", "missed": "dotted",
              "spurious": "dotted"}
STEP = 5  # px between the lines of two nesting layers
# A page of every document of a large gold set would weigh tens of MiB (about 3 MiB per 100,000 tokens): beyond
# this many documents the view shows those with the most errors. The scorer keeps only these in the JSON report
# too (`context.ContextKeeper`), so that scoring a large set holds a bounded number of documents.
MAX_DOCUMENTS = 100

CSS = """
#errors-in-context .doc{border:1px solid #ddd;border-radius:6px;padding:0.5em 1em;margin:1em 0}
#errors-in-context .sent{font-size:20px;margin:0.3em 0;font-family:"Noto Naskh Arabic","Amiri","DejaVu Sans",serif}
#errors-in-context .m{border-color:var(--c);border-width:0}
#errors-in-context .m.g{border-bottom-width:2px;padding-bottom:var(--p);border-bottom-style:var(--s)}
#errors-in-context .m.p{border-top-width:2px;padding-top:var(--p);border-top-style:var(--s)}
#errors-in-context .m.k-wrong_type{border-bottom-width:4px}
#errors-in-context .m.p.k-wrong_type{border-top-width:4px}
#errors-in-context .m.k-missed.g{background:rgba(230,57,70,0.13)}
#errors-in-context .m.k-spurious.p{background:rgba(255,183,3,0.22)}
#errors-in-context .m.hl{background:rgba(0,119,182,0.22)}
#errors-in-context .m.off{border-color:transparent;background:none}
#errors-in-context .links{direction:ltr;font-size:13px;margin:0.1em 0 0.8em 0;color:#333}
#errors-in-context .links li.off{display:none}
#errors-in-context .links .k-missed{color:#b00020} #errors-in-context .links .k-spurious{color:#9a6700}
#errors-in-context .sw{display:inline-block;width:0.9em;height:0.9em;border-radius:2px;vertical-align:middle}
#errors-in-context .ln{display:inline-block;width:2.2em;border-bottom:3px solid #333;vertical-align:middle}
#errors-in-context .ln.k-wrong_type{border-bottom-width:5px}
#ev-filters label{margin-right:0.9em;white-space:nowrap}
:target{outline:2px solid #0077b6;outline-offset:3px;scroll-margin-top:35vh}
"""

SCRIPT = """
(function(){
  var root = document.getElementById('errors-in-context');
  function apply(){
    var off = {};
    root.querySelectorAll('#ev-filters input').forEach(function(i){ if(!i.checked) off[i.value] = true; });
    root.querySelectorAll('[data-t]').forEach(function(el){
      el.classList.toggle('off', !!(off['t:' + el.dataset.t] || off['k:' + el.dataset.k]));
    });
  }
  root.querySelectorAll('#ev-filters input').forEach(function(i){ i.addEventListener('change', apply); });
  function mark(id, on){
    root.querySelectorAll('[data-m="' + id + '"]').forEach(function(el){ el.classList.toggle('hl', on); });
  }
  root.addEventListener('mouseover', function(e){
    var el = e.target.closest('[data-m]'); if(!el) return;
    mark(el.dataset.m, true); (el.dataset.a || '').split(' ').forEach(function(a){ if(a) mark(a, true); });
  });
  root.addEventListener('mouseout', function(e){
    var el = e.target.closest('[data-m]'); if(!el) return;
    mark(el.dataset.m, false); (el.dataset.a || '').split(' ').forEach(function(a){ if(a) mark(a, false); });
  });
  apply();
})();
"""


def anchor(doc_index: int, side: str, start: int, end: int, type_: str) -> str:
    """The id of the first piece of a mark: what an error example in the tables links to."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in type_)
    return f"d{doc_index}-{side[0]}-{start}-{end}-{safe}"


def _mark_title(m: dict) -> str:
    side = "gold" if m["side"] == "gold" else "predicted"
    return f"{side} {m['what']} {m['type']}: {KIND_LABELS[m['kind']]}" + (f" ({m['note']})" if m["note"] else "")


def _arguments_of(marks: list[dict], links: list[dict]) -> dict[int, list[int]]:
    """Mark index of each trigger -> mark indexes of the entities its links point at (same side)."""
    where = {(m["side"], m["what"], m["start"], m["end"]): i for i, m in enumerate(marks)}
    out: dict[int, list[int]] = {}
    for lk in links:
        for side in (("gold", "pred") if lk["side"] == "both" else (lk["side"],)):
            t = next((i for (s, w, a, b), i in where.items() if s == side and w == "trigger"
                      and (a, b) == tuple(lk["trigger"])), None)
            e = where.get((side, "entity", *lk["argument"]))
            if t is not None and e is not None:
                out.setdefault(t, []).append(e)
    return out


def _sentence_html(k: int, doc: dict, start: int, end: int, colours: dict[str, str], depth: dict[str, int],
                   args: dict[int, list[int]]) -> str:
    text, marks = doc["text"], doc["marks"]
    inside = [(i, m) for i, m in enumerate(marks) if m["start"] < end and start < m["end"]]
    cuts = sorted({start, end} | {x for _, m in inside for x in (m["start"], m["end"]) if start < x < end})
    first_piece: set[int] = set()
    out = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [(i, m) for i, m in inside if m["start"] <= a and b <= m["end"]]
        # outermost first: predicted then gold, each by layer, so every line keeps its own distance
        covering.sort(key=lambda im: (im[1]["side"] != "pred", im[1]["layer"]))
        opened = []
        for i, m in covering:
            side = "g" if m["side"] == "gold" else "p"
            pad = 2 + STEP * (depth[m["side"]] - 1 - m["layer"])
            ident = ""
            if i not in first_piece:
                first_piece.add(i)
                ident = f' id="{anchor(k, m["side"], m["start"], m["end"], m["type"])}"'
            a_attr = f' data-a="{" ".join(f"d{k}m{j}" for j in args[i])}"' if i in args else ""
            opened.append(f'<span{ident} class="m {side} k-{m["kind"]}" data-m="d{k}m{i}"{a_attr} '
                          f'data-t="{html.escape(m["type"])}" data-k="{m["kind"]}" '
                          f'style="--c:{colours.get(m["type"], "#888")};--p:{pad}px;--s:{KIND_STYLE[m["kind"]]}" '
                          f'title="{html.escape(_mark_title(m))}">')
        out.append("".join(opened) + html.escape(text[a:b]) + "</span>" * len(opened))
    return "".join(out)


def _links_html(doc: dict, start: int, end: int) -> str:
    text = doc["text"]
    items = []
    for lk in doc["links"]:
        if not start <= lk["trigger"][0] < end:
            continue
        t0, t1 = lk["trigger"]
        a0, a1 = lk["argument"]
        side = {"both": "gold and predicted", "gold": "gold only", "pred": "predicted only"}[lk["side"]]
        items.append(f'<li class="k-{lk["kind"]}" data-t="{html.escape(lk["event_type"])}" data-k="{lk["kind"]}">'
                     f'<bdi dir="rtl" lang="ar">{html.escape(text[t0:t1])}</bdi> ({html.escape(lk["event_type"])}) '
                     f'&rarr; {html.escape(lk["role"])}: <bdi dir="rtl" lang="ar">{html.escape(text[a0:a1])}</bdi> '
                     f'&middot; {KIND_LABELS[lk["kind"]]} ({side})</li>')
    return f'<ul class="links">{"".join(items)}</ul>' if items else ""


def _document_html(k: int, doc: dict, colours: dict[str, str]) -> str:
    marks = doc["marks"]
    depth = {side: 1 + max((m["layer"] for m in marks if m["side"] == side), default=0) for side in ("gold", "pred")}
    args = _arguments_of(marks, doc["links"])
    counts = Counter(m["kind"] for m in marks if not (m["kind"] == "correct" and m["side"] == "pred"))
    summary = ", ".join(f"{counts[x]} {KIND_LABELS[x]}" for x in KIND_LABELS if counts[x])
    line_height = f"calc(1.7em + {STEP * (depth['gold'] + depth['pred']) + 6}px)"
    body = []
    for s, e in doc["sentences"]:
        body.append(f'<p class="sent" dir="rtl" lang="ar" style="line-height:{line_height}">'
                    f'{_sentence_html(k, doc, s, e, colours, depth, args)}</p>{_links_html(doc, s, e)}')
    return (f'<section class="doc" id="doc-{k}"><h3>Document {html.escape(doc["id"])}</h3>'
            f'<p class="counts">{html.escape(summary or "no annotation on either side")}</p>{"".join(body)}</section>')


def _filters(view: dict) -> str:
    colours = view["colours"]
    present = {m["type"] for d in view["documents"] for m in d["marks"]} | \
              {lk["event_type"] for d in view["documents"] for lk in d["links"]}
    types = [t for t in colours if t in present] + sorted(present - set(colours))
    type_boxes = "".join(f'<label><input type="checkbox" value="t:{html.escape(t)}" checked> '
                         f'<span class="sw" style="background:{colours.get(t, "#888")}"></span> {html.escape(t)}'
                         f'</label>' for t in types)
    kind_boxes = "".join(f'<label><input type="checkbox" value="k:{k}" checked> '
                         f'<span class="ln k-{k}" style="border-bottom-style:{KIND_STYLE[k]}"></span> {v}</label>'
                         for k, v in KIND_LABELS.items())
    return (f'<div id="ev-filters"><p><b>Types:</b> {type_boxes}</p><p><b>Error kinds:</b> {kind_boxes}</p></div>')


def shown_documents(view: dict, limit: int = MAX_DOCUMENTS) -> list[tuple[int, dict]]:
    """(index in the report, document) of the documents the page draws: all of them, or the `limit` with the
    most errors, kept in the report's order."""
    docs = list(enumerate(view.get("documents", [])))
    if len(docs) <= limit:
        return docs
    errors = {k: sum(1 for m in d["marks"] if m["kind"] != "correct") for k, d in docs}
    keep = set(sorted(errors, key=lambda k: (-errors[k], k))[:limit])
    return [(k, d) for k, d in docs if k in keep]


def section(report: dict, limit: int = MAX_DOCUMENTS) -> str:
    """The whole section (empty when the report has no `in_context`, e.g. CoNLL input)."""
    view = report.get("in_context")
    if not view:
        return ""
    shown = shown_documents(view, limit)
    docs = "".join(_document_html(k, d, view["colours"]) for k, d in shown)
    total = view.get("documents_total", len(view["documents"]))
    if len(shown) < total:
        carried = ("every document" if len(view["documents"]) == total
                   else f"the {len(view['documents'])} with the most errors")
        docs = (f"<p><b>{len(shown)} of {total} documents are drawn here, those with the most "
                f"errors; the JSON report carries {carried} under <code>in_context</code>.</b></p>" + docs)
    legend = ("<p>Lines <b>under</b> the text are gold spans, lines <b>over</b> it are predicted spans; the colour is "
              "the type, and nested spans get one line each. Solid: correct; double: wrong type; dashed: wrong "
              "boundary; dotted on a red tint: missed; dotted on a yellow tint: spurious. Hover a span for its "
              "type and error; hovering a trigger also lights up its arguments, which are listed under each "
              "sentence.</p>")
    return (f'<style>{CSS}</style><div id="errors-in-context"><h2>Errors in context</h2>{legend}{_filters(view)}'
            f'{docs}</div><script>{SCRIPT}</script>')


def examples_table(report: dict, limit: int = MAX_DOCUMENTS) -> str:
    """The error examples, each linked to its place in the errors-in-context view (when its document is drawn)."""
    view = report.get("in_context") or {}
    index = {d["id"]: k for k, d in shown_documents(view, limit)}
    rows = []
    for t, e in report.get("errors", {}).items():
        for kind, items in e.get("examples", {}).items():
            for ex in items:
                k = index.get(ex["doc"])
                side = "pred" if kind == "spurious" else "gold"
                where = (f'<a href="#{anchor(k, side, ex["start"], ex["end"], t)}">in context</a>'
                         if k is not None else "")
                cells = [html.escape(t), html.escape(kind), html.escape(ex["doc"]),
                         f'<bdi dir="rtl" lang="ar">{html.escape(ex["text"])}</bdi>', html.escape(ex.get("note", "")),
                         where]
                rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in ("type", "kind", "document", "text", "note", "where"))
    return f"<h2>Error examples</h2><table><tr>{head}</tr>{''.join(rows)}</table>"
