"""How many annotators each task needs: Label Studio's own overlap settings, as its open-source edition honours them.

`maximum_annotations` (the "Annotations per task minimum" of the project settings) sets each task's `overlap`;
a task counts as labeled (`is_labeled`) once it has that many completed annotations, and the label stream ("Label
All Tasks") keeps offering an unlabeled task to members who have not annotated it yet, so N different people
annotate it. `overlap_cohort_percentage` gives that overlap to only a share of the tasks (the others need one
annotator). Assigning tasks to named people is an Enterprise feature; the open-source edition distributes by the
label stream only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .client import call, rest
from .connection import Connection


@dataclass(frozen=True)
class Overlap:
    project_id: int
    annotators: int  # maximum_annotations
    percent: int  # overlap_cohort_percentage


def set_overlap(conn: Connection, project_id: int, annotators: int, percent: int = 100) -> Overlap:
    """Set the project's overlap and read back what the server kept."""
    fields = {"maximum_annotations": annotators, "overlap_cohort_percentage": percent}
    with rest(conn, timeout=120) as client:
        # a PATCH of the same values twice is harmless, so a retry after a lost answer is safe
        call(conn, f"set overlap on project {project_id}", client.patch, f"/api/projects/{project_id}/", fields)
        kept = call(conn, f"read project {project_id}", client.get, f"/api/projects/{project_id}/",
                    include="id,maximum_annotations,overlap_cohort_percentage")
    return Overlap(project_id, int(kept["maximum_annotations"]), int(kept["overlap_cohort_percentage"]))
