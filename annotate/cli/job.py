"""The `main` command: the whole pipeline on the embedded default (what `bash .ci/main` runs).
"""

from __future__ import annotations

import click

from .common import (
    database_option,
    home_option,
    port_option,
    project_option,
    require_studio,
    schema_from,
    studio_call,
)


@click.command("main")
@click.option("--articles", default="gold/articles", show_default=True, type=click.Path(exists=True))
@home_option
@port_option
@database_option
@click.option("--gold", "gold_dir", default="gold/dataset", show_default=True, type=click.Path(file_okay=False))
@click.option("--annotations", "ann_dir", default="gold/annotations", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--reports", "reports_dir", default="reports/baseline", show_default=True,
              type=click.Path(file_okay=False), help="Where the baseline's score reports go.")
@click.option("--about", "about_path", default="gold/ABOUT.md", show_default=True, type=click.Path(dir_okay=False),
              help="Markdown for the dataset card (used when the file exists).")
@project_option
def main_cmd(articles, home, port, database_url, gold_dir, ann_dir, reports_dir, about_path, title):
    """The main job: local Label Studio up, project with the bundled articles and baseline pre-annotations,
    pull of the finished annotations, gold dataset rebuilt from every export, the baseline extractor scored
    against it, and where annotators go.

    Run it again after annotating: it pushes nothing twice and rebuilds the gold set from the new export.

    \b
    Example:
      annotate main                 # what `bash .ci/main` runs
      PGPASSWORD=... ANNOTATE_STUDIO_DATABASE=postgresql://annotate@127.0.0.1:5432/annotate annotate main
    """
    from ..pipeline import main_job
    from ..studio.client import DEFAULT_PROJECT
    from ..studio.database import database_from

    require_studio("annotate main", "label_studio")
    require_studio("annotate main")
    database = studio_call(database_from, database_url)
    studio_call(main_job, schema_from(None), articles, home, port, gold_dir, ann_dir, title or DEFAULT_PROJECT,
                 click.echo, reports_dir, about_path, database=database)
