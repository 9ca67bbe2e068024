"""Where an annotation round stands, read from the real server: per project, per annotator, and agreement.

Everything comes from one snapshot export per project (the same export `annotate pull` makes, written to a
temporary folder), never from one request per task, so a project with thousands of tasks costs a handful of
requests. Agreement is computed by `annotate.gold.agreement.agreement` on the export read by
`annotate.gold.build.import_exports`: the very figures `annotate agree` would print for that export.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core.model import Document
from ..core.schema import Schema
from ..studio.client import StudioError, call, connect, pull_export
from ..studio.config import Routing, labeling_config, routing_from_config
from ..studio.connection import Connection
from ..studio.export import annotator_name, has_conflict_note, is_review
from .agreement import agreement, attribute_lines, latest_per_annotator
from .build import import_exports
from .choose import annotation_signature


@dataclass
class AnnotatorStatus:
    annotator: str
    tasks_done: int  # tasks with a completed (not cancelled) annotation of theirs that is not a review
    skipped: int  # tasks they cancelled (skipped) without a completed annotation
    reviews: int  # ground-truth or CONFLICT-marked review annotations they hold
    median_lead_time: float | None  # seconds, over their completed annotations that record one
    with_agreement: int  # of tasks_done, those another annotator did too (they enter the agreement figures)

    @property
    def agreement_share(self) -> float | None:
        return self.with_agreement / self.tasks_done if self.tasks_done else None


@dataclass
class ProjectStatus:
    id: int
    title: str
    tasks: int
    annotated: int  # at least one completed annotation (a review included)
    skipped: int  # annotations only cancelled ones: every person who opened the task skipped it
    in_review: int  # a review still carrying CONFLICT notes (a merge, or a ground truth), and no resolved one
    not_started: int
    annotators: list[AnnotatorStatus] = field(default_factory=list)
    agreement: dict = field(default_factory=dict)
    quarantined: int = 0  # tasks the import rejected (faulty annotations): left out of the agreement
    resolved: int = 0  # a ground-truth annotation with no CONFLICT note left
    to_adjudicate: int = 0  # annotators disagree, and no review is on the task yet
    overlap: int = 1  # annotators each task needs (the project's maximum_annotations, set by `push --overlap`)
    at_overlap: int = 0  # tasks with that many people's completed annotations (reviews not counted)
    overlap_percent: int = 100  # the share of tasks that need `overlap` (the others need one annotator)

    @property
    def round(self) -> str:
        """Where the round stands: not started, annotating (tasks left to annotate, or skipped by everyone),
        adjudicating (every task annotated; disagreements or CONFLICT notes left), done (every task annotated
        and every disagreement resolved)."""
        if self.annotated == 0:
            return "not started"
        if self.not_started or self.skipped:
            return "annotating"
        if self.in_review or self.to_adjudicate:
            return "adjudicating"
        return "done"


def _lead_time(annotation: dict) -> float | None:
    value = annotation.get("lead_time")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def is_resolved(annotation: dict) -> bool:
    """A ground-truth annotation whose regions carry no CONFLICT note: the task's adjudicated result."""
    result = annotation.get("result")
    return annotation.get("ground_truth") is True and not (isinstance(result, list)
                                                           and any(has_conflict_note(r) for r in result))


def project_status(project_id: int, title: str, export: list[dict], agreement_report: dict,
                   quarantined: int = 0, disagreeing: set | frozenset = frozenset(),
                   overlap: int = 1) -> ProjectStatus:
    """Counts from a raw snapshot export (a list of tasks with all their annotations) and its agreement.
    `disagreeing`: the ids of the tasks whose annotators' annotations differ; `overlap`: the annotators each
    task needs."""
    annotated = skipped = in_review = resolved = to_adjudicate = 0
    done: dict[str, set] = {}
    cancelled: dict[str, set] = {}
    reviews: dict[str, int] = {}
    leads: dict[str, list[float]] = {}
    people_on_task: dict[object, set[str]] = {}
    for task in export:
        key = task.get("id")
        anns = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        completed = [a for a in anns if not a.get("was_cancelled")]
        if completed:
            annotated += 1
        elif anns:
            skipped += 1
        if any(is_resolved(a) for a in completed):
            resolved += 1
        elif any(is_review(a) for a in completed):
            in_review += 1
        elif key in disagreeing:
            to_adjudicate += 1
        for a in anns:
            who = annotator_name(a)
            if a.get("was_cancelled"):
                cancelled.setdefault(who, set()).add(key)
            elif is_review(a):
                reviews[who] = reviews.get(who, 0) + 1
            else:
                done.setdefault(who, set()).add(key)
                people_on_task.setdefault(key, set()).add(who)
                if _lead_time(a) is not None:
                    leads.setdefault(who, []).append(_lead_time(a))
    shared = {k for k, people in people_on_task.items() if len(people) > 1}
    annotators = []
    for who in sorted(set(done) | set(cancelled) | set(reviews)):
        mine = done.get(who, set())
        annotators.append(AnnotatorStatus(
            who, len(mine), len(cancelled.get(who, set()) - mine), reviews.get(who, 0),
            statistics.median(leads[who]) if leads.get(who) else None, len(mine & shared)))
    at_overlap = sum(len(people_on_task.get(t.get("id"), ())) >= overlap for t in export)
    return ProjectStatus(project_id, title, len(export), annotated, skipped, in_review,
                         len(export) - annotated - skipped, annotators, agreement_report, quarantined, resolved,
                         to_adjudicate, overlap, at_overlap)


def disagreeing_tasks(annotations: dict[str, list[Document]]) -> set:
    """The task ids of the documents whose annotators (their latest passes) made different annotations."""
    out = set()
    for docs in annotations.values():
        people = latest_per_annotator(docs)
        if len(people) >= 2 and len({annotation_signature(d) for d in people.values()}) > 1:
            out.add(docs[0].metadata.get("task_id"))
    return out


def _routing(project, schema: Schema) -> Routing:
    """The schema's routing when the project uses the schema's config, else one read from its own config."""
    if " ".join((project.label_config or "").split()) == " ".join(labeling_config(schema).split()):
        return Routing(schema)
    return routing_from_config(project.label_config or "", f"project-{project.id}")


def server_status(conn: Connection, schema: Schema, project_ids: list[int] | None = None,
                  titles: list[str] | None = None, timeout: float = 300.0) -> list[ProjectStatus]:
    """Status of every project on the server, or of those named by id or title."""
    client = connect(conn)
    projects = call(conn, "list projects", lambda: list(client.projects.list()))
    chosen = [p for p in projects if (not project_ids and not titles) or p.id in (project_ids or [])
              or p.title in (titles or [])]
    missing = [str(i) for i in project_ids or [] if i not in {p.id for p in projects}]
    missing += [repr(t) for t in titles or [] if t not in {p.title for p in projects}]
    if missing:
        raise StudioError(f"no project {', '.join(missing)} on {conn.url}")
    out = []
    for project in sorted(chosen, key=lambda p: p.id):
        with tempfile.TemporaryDirectory(prefix="annotate-status-") as tmp:
            pulled = pull_export(conn, tmp, project_id=project.id, timeout=timeout)
            export = json.loads(Path(pulled.path).read_text(encoding="utf-8"))
            try:
                routing = _routing(project, schema)
            except ValueError as exc:
                raise StudioError(f"project {project.id} ({project.title!r}): its labeling config cannot be read "
                                  f"({exc})") from None
            result = import_exports([pulled.path], routing)
        out.append(project_status(project.id, project.title, export, agreement(result.annotations),
                                  result.counts["quarantined"], disagreeing_tasks(result.annotations),
                                  getattr(project, "maximum_annotations", 1) or 1))
        out[-1].overlap_percent = getattr(project, "overlap_cohort_percentage", 100) or 0
    return out


def to_json(statuses: list[ProjectStatus], url: str) -> dict:
    projects = []
    for s in statuses:
        d = asdict(s)
        for a, row in zip(s.annotators, d["annotators"]):
            row["agreement_share"] = a.agreement_share
        d["round"] = s.round
        projects.append(d)
    return {"server": url, "projects": projects}


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def status_table(statuses: list[ProjectStatus]) -> str:
    lines: list[str] = []
    for s in statuses:
        lines += [f"Project {s.id} ({s.title}): {s.round}. {s.tasks} task(s): {s.annotated} annotated "
                  f"({s.to_adjudicate} to adjudicate, {s.in_review} in review, {s.resolved} resolved), "
                  f"{s.skipped} skipped, {s.not_started} not started"
                  + (f"; {s.quarantined} quarantined by the import" if s.quarantined else "")]
        lines.append(f"  overlap {s.overlap}: {s.at_overlap}/{s.tasks} task(s) done by {s.overlap} annotator(s)"
                     + ("" if s.overlap > 1 else " (no overlap set: `annotate push --overlap N`)")
                     + (f" ({s.overlap_percent}% of the tasks need {s.overlap}, the others one)"
                        if s.overlap > 1 and s.overlap_percent < 100 else ""))
        if s.annotators:
            width = max(12, *(len(a.annotator) for a in s.annotators))
            lines.append(f"  {'annotator':<{width}} {'tasks':>6} {'skipped':>7} {'reviews':>7} "
                         f"{'median lead':>11} {'with agreement':>15}")
            for a in s.annotators:
                share = (f"{a.with_agreement}/{a.tasks_done} ({a.agreement_share:.0%})" if a.tasks_done else "n/a")
                lead = "n/a" if a.median_lead_time is None else f"{a.median_lead_time:.1f} s"
                lines.append(f"  {a.annotator:<{width}} {a.tasks_done:>6} {a.skipped:>7} {a.reviews:>7} "
                             f"{lead:>11} {share:>15}")
        ag = s.agreement
        if ag.get("pairs"):
            o = ag["overall"]
            lines.append(f"  agreement over {ag['tasks']} task(s): entities exact F1 {_fmt(o['entities_exact_f1'])}, "
                         f"triggers {_fmt(o['triggers_classification_f1'])}, arguments "
                         f"{_fmt(o['arguments_classification_f1'])}, token kappa {_fmt(o['token_kappa'])}")
            lines += attribute_lines(o.get("attributes", {}), "  ")
            for p in ag["pairs"]:
                lines.append(f"    {p['a']} ~ {p['b']}: {p['tasks']} task(s), entities "
                             f"{_fmt(p['entities']['exact']['micro']['f1'])}, triggers "
                             f"{_fmt(p['triggers']['classification']['micro']['f1'])}, arguments "
                             f"{_fmt(p['arguments']['classification']['f1'])}, kappa {_fmt(p['token_kappa'])}")
        else:
            lines.append("  agreement: no task annotated by two or more people yet")
        lines.append("")
    return "\n".join(lines).rstrip()
