"""The `annotate` command line: one module per command group, each parsing options, calling the library and
printing; this module only assembles them.

Pipeline: articles -> tasks -> Label Studio (push) -> export (pull) -> gold dataset (import) -> score.
"""

from __future__ import annotations

import logging

import click

from ..core.atomic import OutputWriteError
from ..core.version import __version__
from . import articles, check, export, gold, job, score, studio, users


class _Main(click.Group):
    """The command group; an output that cannot be written (`core.atomic.OutputWriteError`: a parent that is a
    file, a read-only or full disk) ends any command with its one-line message, whichever output it was."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OutputWriteError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="annotate")
def main() -> None:
    """Arabic news -> Label Studio -> gold entity-and-event dataset -> extractor scores.

    \b
    Example pipeline:
      annotate tasks gold/articles -o tasks.json     articles -> Label Studio tasks
      annotate studio up                             start a local Label Studio
      annotate push tasks.json                       create the project, import tasks
      annotate users add amal@example.org            an account an annotator logs in with
      annotate check pass.jsonl --tasks tasks.json   check a file before loading it
      annotate push --annotations pass.jsonl --annotator a@x.org   load work made elsewhere
      annotate status                                who has done what, current agreement
      annotate pull                                  export annotations to annotations/
      annotate agree annotations/*.json              inter-annotator agreement
      annotate adjudicate annotations/*.json --log adjudication.yaml --push   disagreements to decide
      annotate import annotations                    exports -> gold dataset (dataset/)
      annotate score --gold dataset --predictions preds.jsonl --html report.html
      annotate compare a.json b.json --markdown board.md             leaderboard of reports
      annotate export dataset --format brat -o brat/                 the gold set for other tools
    """
    # Retries and waits are reported as they happen (on stderr), so a slow or absent server is never silence.
    studio_log = logging.getLogger("annotate")
    if not any(isinstance(h, _EchoHandler) for h in studio_log.handlers):
        studio_log.addHandler(_EchoHandler())
        studio_log.setLevel(logging.INFO)


class _EchoHandler(logging.Handler):
    """Log records to the current stderr (looked up at each record, so test runners that swap it see them)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


# The command modules keep their library imports inside the commands, so assembling them keeps `--help` fast.
main.add_command(articles.schema_cmd)
main.add_command(articles.config_cmd)
main.add_command(articles.tasks_cmd)
main.add_command(articles.baseline_cmd)
main.add_command(studio.studio_group)
main.add_command(studio.push_cmd)
main.add_command(studio.pull_cmd)
main.add_command(users.users_group)
main.add_command(check.check_cmd)
main.add_command(gold.import_cmd)
main.add_command(gold.agree_cmd)
main.add_command(gold.adjudicate_cmd)
main.add_command(gold.status_cmd)
main.add_command(score.score_cmd)
main.add_command(score.compare_cmd)
main.add_command(export.export_cmd)
main.add_command(job.main_cmd)
