"""Which annotation of a task becomes gold: ground truth, a single annotation, or identical ones; else none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..core.model import Document, Provenance
from ..studio.export import is_review


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def annotation_signature(doc: Document) -> tuple:
    """What two annotations must share to be the same annotation (ids and provenance do not count)."""
    ents = doc.entity_by_id()
    return (
        tuple(sorted((e.start, e.end, e.type) for e in doc.entities)),
        tuple(sorted((v.trigger.start, v.trigger.end, v.type, tuple(sorted(v.attributes.items())),
                      tuple(sorted((a.role, ents[a.entity].start, ents[a.entity].end, ents[a.entity].type)
                                   for a in v.arguments))) for v in doc.events)),
    )


def choose_gold(candidates: list[tuple[dict, Document]]) -> tuple[Document | None, str]:
    """The gold-annotation rule (README, "Which annotation becomes gold"):
    1. a ground-truth annotation wins (the most recently updated one if several);
    2. else a single annotation is the gold;
    3. else annotations that are all the same become one gold with every annotator in its provenance;
    4. else nothing: the task needs adjudication.
    The chosen Document carries the rule that chose it in its metadata (`gold_rule`).
    """
    def chosen(doc: Document, why: str) -> tuple[Document, str]:
        return doc.relabelled({**doc.metadata, "gold_rule": why}), why

    ground = [(a, d) for a, d in candidates if a.get("ground_truth")]
    if ground:
        ground.sort(key=lambda ad: str(ad[0].get("updated_at") or ad[0].get("created_at") or ""))
        gold = ground[-1][1]
        # the people whose passes the ground truth settled are its annotators; its author reviewed them
        passes = _unique(x for a, d in candidates if not is_review(a) for x in d.provenance.annotators)
        if passes:
            gold = gold.relabelled(provenance=replace(gold.provenance, annotators=passes,
                                                      reviewers=gold.provenance.annotators))
        return chosen(gold, "ground truth")
    if len(candidates) == 1:
        return chosen(candidates[0][1], "single annotation")
    signatures = {annotation_signature(d) for _, d in candidates}
    if len(signatures) == 1:
        first = candidates[0][1]
        prov = Provenance(tuple(x for _, d in candidates for x in d.provenance.annotators),
                          tuple(x for _, d in candidates for x in d.provenance.annotation_ids),
                          first.provenance.source, first.provenance.source_sha256)
        return chosen(first.relabelled(provenance=prov), f"{len(candidates)} identical annotations")
    return None, f"{len(candidates)} annotations disagree and none is ground truth; run `annotate adjudicate`"
