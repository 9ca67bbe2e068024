"""The dataset card (`README.md` of the gold set): counts, schema, provenance and agreement, for people and the Hub.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..core.schema import Schema
from .layout import parquet_name


@dataclass
class CardStats:
    """What the dataset card counts, gathered as documents stream by."""
    documents: int
    splits: dict[str, int]
    entities: Counter
    events: Counter
    roles: Counter
    annotators: Counter
    reviewers: Counter = field(default_factory=Counter)


def _people(counts: Counter) -> str:
    return ", ".join(f"{a} ({n})" for a, n in sorted(counts.items())) or "none"


def dataset_card(stats: CardStats, schema: Schema, build: dict, agreement: dict | None,
                 about: str | None = None) -> str:
    """The dataset card: what is in the set (counts), how far the annotation passes agreed, how it was built;
    `about` (Markdown written by the curators: who annotated, sources, licence, limits) goes first."""
    ents, evs, roles, annotators = stats.entities, stats.events, stats.roles, stats.annotators
    lines = ["---", "language:", "- ar", f"pretty_name: {schema.name} gold set", "task_categories:",
             "- token-classification", "configs:", "- config_name: default", "  data_files:"]
    for name in stats.splits:
        lines += [f"  - split: {name}", f"    path: {parquet_name(name, build['files_digest'])}"]
    lines += ["---", "", f"# {schema.name} gold set", "",
              "Arabic news articles annotated with entities (nested allowed) and events (typed triggers, "
              "attributes, role-labelled arguments).", "",
              f"- Schema: `{schema.name}` v{schema.version}, fingerprint `{schema.fingerprint}`",
              *([f"- Guidelines: `{g['file']}` version {g['version'] or 'unversioned'}, "
                 f"content hash `{g['fingerprint']}`"] if (g := build.get("guidelines") or {}).get("fingerprint")
                else []),
              f"- Gold content fingerprint: `{build['fingerprint']}`",
              f"- Built by annotate {build['toolkit_version']}",
              f"- Documents: {stats.documents} ({', '.join(f'{k}: {v}' for k, v in stats.splits.items())})",
              f"- Annotated by (documents): {_people(annotators)}",
              f"- Adjudicated by (documents): {_people(stats.reviewers)}"]
    if agreement and agreement.get("pairs"):
        passes = sorted({p[k] for p in agreement["pairs"] for k in ("a", "b")})
        lines.append(f"- Passes compared for agreement (how independent they were: see below): {', '.join(passes)}")
    lines.append("")
    if about:
        lines += [about.strip(), ""]
    for title, counter in (("Entities", ents), ("Event triggers", evs), ("Arguments (roles)", roles)):
        lines += [f"## {title}", "", "| label | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(counter.items())] or ["| (none) | 0 |"]
        lines.append("")
    lines += ["## Agreement between the annotators' passes", "",
              "Computed by `annotate agree` from the exports the set was built from. Whether it is an "
              "inter-annotator agreement depends on who made the passes and how independently: see the notes "
              "above.", ""]
    if agreement and agreement.get("pairs"):
        overall = agreement.get("overall", {})
        for key in ("entities_exact_f1", "entities_overlap_f1", "triggers_classification_f1",
                    "arguments_classification_f1", "token_kappa", "krippendorff_alpha"):
            if key in overall:
                value = overall[key]
                lines.append(f"- {key}: {'n/a' if value is None else f'{value:.3f}'}")
        lines.append(f"- over {agreement.get('tasks', 0)} task(s) annotated by two or more people")
        lines += ["", "Per label (F1 of one pass against the other; exact = same span and type, overlap = same type "
                  "and overlapping span; arguments = same trigger, entity span and role):", "",
                  "| label | exact F1 | overlap F1 | support |", "|---|---|---|---|"]
        per = agreement.get("per_label", {})
        exact, overlap = per.get("entities_exact", {}), per.get("entities_overlap", {})
        for label in sorted(set(exact) | set(overlap)):
            e, o = exact.get(label, {}), overlap.get(label, {})
            lines.append(f"| {label} | {_f3(e.get('f1'))} | {_f3(o.get('f1'))} | "
                         f"{e.get('support', o.get('support', 0))} |")
        for label, row in sorted(per.get("triggers_classification", {}).items()):
            lines.append(f"| trigger {label} | {_f3(row.get('f1'))} | | {row.get('support', 0)} |")
        for role, row in sorted(per.get("arguments_classification", {}).items()):
            lines.append(f"| argument {role} | {_f3(row.get('f1'))} | | {row.get('support', 0)} |")
    else:
        lines.append("No task was annotated by two or more people; no agreement figure is available.")
    lines += ["", "## How it was built", "",
              "Label Studio exports were read with `annotate import`; each task's gold annotation was chosen by "
              "the rule in the toolkit README (ground truth first, then a single annotation, then identical "
              "annotations; disagreements wait for adjudication). `annotators` lists everyone whose annotation is "
              "behind a document (for an adjudicated one, the annotators whose passes were adjudicated) and "
              "`reviewers` who adjudicated it. Tokens are cut at every annotation boundary; "
              "`ner_tags` is the outermost IOB2 layer and `ner_layers` holds every layer, so nested entities "
              "survive. Offsets are Python code points into `text`.", ""]
    for key in ("imported", "quarantined", "skipped", "exports"):
        if key in build:
            lines.append(f"- {key}: {build[key]}")
    return "\n".join(lines) + "\n"


def _f3(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"
