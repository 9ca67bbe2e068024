"""Run the command line in-process the way the robustness tests judge it: a clean exit or a message with an
exit code, never a Python traceback."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from annotate.cli import main


def cli(*args, env: dict | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result


def quarantine_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
