"""Progress in a log (not a terminal): plain lines, never a carriage return (a CI log showed `^M`)."""

from click.testing import CliRunner

from annotate.cli import main


def test_import_and_tasks_write_plain_progress_lines_in_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATE_PROGRESS_SECONDS", "0")  # a line at every step, to see them all
    res = CliRunner().invoke(main, ["import", "gold/annotations", "--articles", "gold/articles",
                                    "-o", str(tmp_path / "gold")])
    assert res.exit_code == 0, res.output
    assert "\r" not in res.output
    lines = res.output.splitlines()
    assert any(line.startswith("Reading exports: ") and "tasks" in line for line in lines)
    assert any(line.startswith("Writing the gold set: ") and line.endswith(" rows") for line in lines)

    res = CliRunner().invoke(main, ["tasks", "gold/articles", "-o", str(tmp_path / "tasks.json")])
    assert res.exit_code == 0, res.output
    assert "\r" not in res.output
    assert [line for line in res.output.splitlines() if line.startswith("Reading articles:")][-1].endswith("(done)")


def test_a_log_gets_one_line_every_few_seconds_not_one_per_step(tmp_path, monkeypatch):
    monkeypatch.delenv("ANNOTATE_PROGRESS_SECONDS", raising=False)  # the default: a line every 5 s
    res = CliRunner().invoke(main, ["tasks", "gold/articles", "-o", str(tmp_path / "tasks.json")])
    assert res.exit_code == 0, res.output
    progress = [line for line in res.output.splitlines() if line.startswith("Reading articles:")]
    assert 1 <= len(progress) <= 2 and "\r" not in res.output  # a quick run: the first and the closing line
