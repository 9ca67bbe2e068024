"""`annotate users`: accounts made through the real server's invite link, that a person really logs in with (the
browser test logs in as a new annotator, labels a span and finds it in `pull`)."""

import json
import time
import uuid

import pytest
from click.testing import CliRunner

from annotate.articles.ingest import make_document
from annotate.cli import main
from annotate.studio.client import connect, pull_export, push_tasks
from annotate.studio.tasks import build_tasks
from annotate.studio.users import PASSWORD_ENV, list_users
from tests.test_browser import SELECT


def _email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}@annotate.test"


def test_without_a_terminal_no_password_is_made(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    res = CliRunner().invoke(main, ["users", "add", "x@annotate.test", "--home", str(tmp_path)])
    assert res.exit_code == 1
    assert "not a terminal" in res.output and "nothing was made" in res.output
    assert not (tmp_path / "users.json").exists()


@pytest.mark.studio
def test_add_list_and_invite(studio_env, tmp_path, monkeypatch):
    email = _email("amal")
    secret = "a-Long-enough-pass-" + uuid.uuid4().hex[:6]
    monkeypatch.setenv(PASSWORD_ENV, secret)
    res = CliRunner().invoke(main, ["users", "add", email, "--role", "reviewer", "--home", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert f"Added {email} as reviewer" in res.output
    assert secret not in res.output  # a password given through the environment is never echoed
    assert json.loads((tmp_path / "users.json").read_text())["roles"][email] == "reviewer"
    listed = CliRunner().invoke(main, ["users", "list", "--home", str(tmp_path)])
    assert listed.exit_code == 0
    line = next(row for row in listed.output.splitlines() if email in row)
    assert "reviewer" in line
    # a second add changes nothing on the server
    again = CliRunner().invoke(main, ["users", "add", email, "--home", str(tmp_path)])
    assert again.exit_code == 0 and "has an account" in again.output
    assert [u.email for u in list_users(studio_env, tmp_path)].count(email) == 1
    # the server's own reason when it refuses the form
    monkeypatch.setenv(PASSWORD_ENV, "short")
    short = CliRunner().invoke(main, ["users", "add", _email("bad"), "--home", str(tmp_path)])
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    monkeypatch.setenv(PASSWORD_ENV, secret)
    bad = CliRunner().invoke(main, ["users", "add", "amal-at-example.org", "--home", str(tmp_path)])
    assert bad.exit_code == 1 and "refused" in bad.output and "Traceback" not in bad.output, bad.output
    assert "email" in bad.output.lower()  # Label Studio's own reason, read from its form
    invite = CliRunner().invoke(main, ["users", "invite"])
    assert invite.exit_code == 0 and "/user/signup/?token=" in invite.output


@pytest.mark.studio
@pytest.mark.browser
def test_a_new_annotator_logs_in_labels_a_span_and_it_reaches_pull(studio, studio_env, schema, chromium, tmp_path,
                                                                    monkeypatch):
    text = "قال الكاظمي إن قوات البيشمركة في بغداد"
    doc = make_document(text, "users-browser", None)
    title = f"users-{uuid.uuid4().hex[:8]}"
    project = push_tasks(studio_env, schema, build_tasks([doc], schema)[0], title).project_id
    email, secret = _email("nour"), "nour-pass-" + uuid.uuid4().hex[:8]
    monkeypatch.setenv(PASSWORD_ENV, secret)
    res = CliRunner().invoke(main, ["users", "add", email, "--home", str(tmp_path)])
    assert res.exit_code == 0, res.output

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{studio.url}/user/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", secret)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/user/login" not in url, wait_until="commit", timeout=30000)
    page.goto(f"{studio.url}/projects/{project}/data")
    page.get_by_text("Label All Tasks").first.click()
    page.wait_for_selector("[data-testid=bottombar-submit-button]", timeout=60000)
    modal = page.locator(".lsf-modal-ls_visible")
    page.wait_for_timeout(2000)
    if modal.count():
        page.keyboard.press("Escape")
    page.get_by_text("GPE", exact=True).first.click()
    assert page.evaluate(SELECT, ["بغداد", 0])
    page.get_by_text("بغداد", exact=True).last.wait_for(timeout=10000)
    page.get_by_test_id("bottombar-submit-button").click()
    client = connect(studio_env)
    task_id = next(iter(client.tasks.list(project=project))).id
    deadline = time.monotonic() + 30
    while not list(client.annotations.list(id=task_id)) and time.monotonic() < deadline:
        time.sleep(0.5)
    page.close()

    export = pull_export(studio_env, tmp_path / "ann", title)
    tasks = json.loads(export.path.read_text())
    [annotation] = tasks[0]["annotations"]
    user = next(u for u in list_users(studio_env, tmp_path) if u.email == email)
    completed_by = annotation["completed_by"]
    assert (completed_by.get("id") if isinstance(completed_by, dict) else completed_by) == user.id
    [region] = [r for r in annotation["result"] if r.get("type") == "labels"]
    start = text.index("بغداد")
    assert (region["value"]["start"], region["value"]["end"], region["value"]["labels"]) == (start, start + 5, ["GPE"])


@pytest.mark.studio
def test_reset_gives_an_account_made_by_a_load_a_password_that_logs_in(studio, studio_env, monkeypatch):
    from annotate.studio.annotations import ensure_user
    from tests.test_round import Person

    email = _email("loaded")
    ensure_user(connect(studio_env), studio_env, email)  # what `push --annotations --annotator` does
    secret = "reset-pass-" + uuid.uuid4().hex[:8]
    monkeypatch.setenv(PASSWORD_ENV, secret)
    plain = CliRunner().invoke(main, ["users", "add", email, "--home", str(studio.home)])
    assert plain.exit_code == 0 and "--reset" in plain.output  # says how, changes nothing
    with pytest.raises(AssertionError, match="could not log in"):
        Person(studio.url, email, secret)
    res = CliRunner().invoke(main, ["users", "add", email, "--reset", "--home", str(studio.home)])
    assert res.exit_code == 0, res.output
    assert f"New password for {email}" in res.output and secret not in res.output
    Person(studio.url, email, secret)  # logs in
    # a folder with no local server cannot reach the database: a clear error, nothing changed
    other = CliRunner().invoke(main, ["users", "add", email, "--reset", "--home", str(studio.home / "nothing")])
    assert other.exit_code == 1 and "holds no local Label Studio" in other.output


@pytest.mark.studio
def test_on_a_terminal_a_new_password_is_shown_once_and_logs_in(studio, studio_env, tmp_path, monkeypatch):
    """A real terminal (a pty): the password made for the person is printed once, stored nowhere here."""
    import os
    import pty
    import re
    import subprocess
    import sys
    from pathlib import Path

    from tests.test_round import Person

    email = _email("tty")
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    env.update({"LABEL_STUDIO_URL": studio_env.url, "LABEL_STUDIO_API_KEY": studio_env.api_key})
    main_fd, child_fd = pty.openpty()
    exe = Path(sys.executable).parent / "annotate"
    done = subprocess.run([str(exe), "users", "add", email, "--home", str(tmp_path)], env=env, stdout=child_fd,
                          stderr=child_fd, stdin=subprocess.DEVNULL, timeout=120)
    os.close(child_fd)
    out = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(main_fd)
    text = out.decode()
    assert done.returncode == 0, text
    [password] = re.findall(r"\(shown once, stored nowhere\): (\S+)", text)
    assert text.count(password) == 1 and len(password) >= 16
    assert not any(password in p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    Person(studio.url, email, password)  # logs in
