"""Label Studio on PostgreSQL: a throwaway PostgreSQL server (tests/pgserver.py), a second real Label Studio on it,
and the push / annotate / pull / import round trip; the `--database` URL checks and their messages.

Without PostgreSQL binaries the tests that need a server skip locally, and fail under CI=true: CI installs
Debian's postgresql so that this round trip always runs there."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.core.model import Argument, Entity, Event, Span
from annotate.gold.choose import annotation_signature
from annotate.gold.reader import gold_documents
from annotate.studio.client import connect, pull_export, push_tasks
from annotate.studio.connection import load_connection
from annotate.studio.database import (
    DatabaseError,
    check_reachable,
    label_studio_env,
    mask_url,
    parse_database_url,
)
from annotate.studio.server import LocalStudio, ServerError
from annotate.studio.tasks import results_for

from .pgserver import PostgresUnavailable, find_bindir, free_port, postgres_server

SECRET = "Sup3r-s3cret-pw"


@pytest.fixture(scope="module")
def pg():
    """A running PostgreSQL with a database and its user, for this module; stopped and deleted at the end."""
    try:
        find_bindir()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc}; under CI=true the PostgreSQL round trip must run (.ci/run installs it as root)")
        pytest.skip(str(exc))
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def pg_studio(pg, tmp_path_factory):
    """A second real Label Studio, this one on the PostgreSQL database; stopped at the end."""
    server = LocalStudio(tmp_path_factory.mktemp("pg-studio"), free_port(), parse_database_url(pg.url))
    try:
        server.up(timeout=300)
        yield server
    finally:
        server.down()


def _run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, env=env)


# --- the URL: parsed, masked, refused with a clear message ------------------------------------------------------


def test_a_url_is_parsed_and_shown_only_masked():
    db = parse_database_url(f"postgresql://ann%40x:{SECRET}%2F@db.example.org:6543/gold", env={})
    assert (db.user, db.password, db.host, db.port, db.name) == ("ann@x", SECRET + "/", "db.example.org", 6543,
                                                                  "gold")
    assert SECRET not in str(db) and SECRET not in repr(db)
    assert db.masked() == "postgresql://ann@x:***@db.example.org:6543/gold"
    assert parse_database_url("postgres://u@h/d", env={}).port == 5432


def test_the_password_may_come_from_pgpassword_instead_of_the_url():
    db = parse_database_url("postgresql://u@h:5432/d", env={"PGPASSWORD": SECRET})
    assert db.password == SECRET and db.masked() == "postgresql://u:***@h:5432/d"
    assert parse_database_url("postgresql://u:inurl@h/d", env={"PGPASSWORD": SECRET}).password == "inurl"


@pytest.mark.parametrize("url, says", [
    (f"mysql://u:{SECRET}@h/d", "has scheme 'mysql'; only PostgreSQL"),
    (f"postgresql://u:{SECRET}@h:port/d", "the port must be a number"),
    (f"postgresql://u:{SECRET}@h:99999/d", "the port must be a number"),
    (f"postgresql://u:{SECRET}@h", "no database name"),
    (f"postgresql://:{SECRET}@h/d", "no user"),
    (f"postgresql://u:{SECRET}@/d", "no host"),
    (f"postgresql://u:{SECRET}@h/d?sslmode=require", "options after '?'"),
    ("postgresql://u:Sup3r/s3cret@h/d", "an '@' after the host"),  # an unescaped '/' in the password
    (SECRET, "database URL *** has no scheme"),
])
def test_bad_urls_are_refused_naming_the_problem_never_the_password(url, says):
    with pytest.raises(DatabaseError) as err:
        parse_database_url(url, env={})
    assert says in str(err.value) and "postgresql://user:password@host:port/dbname" in str(err.value)
    for piece in (SECRET, "Sup3r", "s3cret"):
        assert piece not in str(err.value)


def test_mask_url_hides_the_password_even_in_malformed_urls():
    assert mask_url("postgresql://u:a@b/c@h:1/d") == "postgresql://u:***@h:1/d"
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert mask_url(f"u:{SECRET}@h") == mask_url("localhost/db") == "***"


def test_label_studio_sees_only_our_database_settings():
    db = parse_database_url(f"postgresql://u:{SECRET}@h:5433/d", env={})
    stray = {"LABEL_STUDIO_POSTGRE_HOST": "elsewhere", "POSTGRE_NAME": "other", "HEARTEX_DJANGO_DB": "mysql", "X": "1"}
    env = label_studio_env(stray, db)
    assert {k: v for k, v in env.items() if "POSTGRE" in k or "DJANGO" in k} == {
        "DJANGO_DB": "default", "POSTGRE_NAME": "d", "POSTGRE_USER": "u", "POSTGRE_PASSWORD": SECRET,
        "POSTGRE_HOST": "h", "POSTGRE_PORT": "5433"}
    assert env["X"] == "1"
    assert label_studio_env(stray, None) == {"X": "1", "DJANGO_DB": "sqlite"}


# --- the CLI: clear errors, non-zero exit, no password in the output ---------------------------------------------


@pytest.mark.parametrize("url, says", [
    (f"postgresql://bob:{SECRET}@127.0.0.1:notaport/gold", "the port must be a number"),
    (f"sqlite://bob:{SECRET}@127.0.0.1/gold", "has scheme 'sqlite'"),
])
def test_studio_up_refuses_a_malformed_url_before_anything_starts(url, says, tmp_path):
    res = _run(["studio", "up", "--home", str(tmp_path / "s"), "--port", str(free_port()), "--database", url])
    assert res.exit_code == 1 and says in res.output and "Traceback" not in res.output
    assert SECRET not in res.output and not (tmp_path / "s").exists()


def test_studio_up_names_an_unreachable_database(tmp_path):
    port = free_port()  # nothing listens there
    res = _run(["studio", "up", "--home", str(tmp_path / "s"), "--port", str(free_port())],
               env={"ANNOTATE_STUDIO_DATABASE": f"postgresql://bob:{SECRET}@127.0.0.1:{port}/gold"})
    assert res.exit_code == 1, res.output
    assert f"cannot connect to PostgreSQL database 'gold' on 127.0.0.1:{port} as user 'bob'" in res.output
    assert "Connection refused" in res.output and "Traceback" not in res.output and SECRET not in res.output
    assert f"postgresql://bob:***@127.0.0.1:{port}/gold" in res.output
    assert not (tmp_path / "s" / "server.pid").exists()  # Label Studio was never started


def test_the_main_job_honours_the_environment_variable(tmp_path):
    port = free_port()
    res = _run(["main", "--home", str(tmp_path / "s"), "--port", str(free_port()), "--gold", str(tmp_path / "g"),
                "--annotations", str(tmp_path / "a"), "--reports", str(tmp_path / "r")],
               env={"ANNOTATE_STUDIO_DATABASE": f"postgresql://bob:{SECRET}@127.0.0.1:{port}/gold"})
    assert res.exit_code == 1 and f"on 127.0.0.1:{port}" in res.output and SECRET not in res.output
    assert "Traceback" not in res.output


def test_a_wrong_password_is_a_clear_error(pg, tmp_path):
    wrong = f"postgresql://{pg.user}:{SECRET}@{pg.host}:{pg.port}/{pg.database}"
    res = _run(["studio", "up", "--home", str(tmp_path / "s"), "--port", str(free_port()), "--database", wrong])
    assert res.exit_code == 1 and "password authentication failed" in res.output, res.output
    assert SECRET not in res.output and pg.password not in res.output
    check_reachable(parse_database_url(pg.url))  # and the right one logs in


def test_a_password_from_pgpassword_logs_in(pg):
    url = f"postgresql://{pg.user}@{pg.host}:{pg.port}/{pg.database}"
    check_reachable(parse_database_url(url, env={"PGPASSWORD": pg.password}))
    with pytest.raises(DatabaseError, match="password"):
        check_reachable(parse_database_url(url, env={}))


# --- a real Label Studio on PostgreSQL -----------------------------------------------------------------------------


def _annotated(doc):
    """The document with what an annotator marks: الكاظمي as PER, met (اجتماع) as an actual Contact.Meet."""
    s, t = doc.text.index("الكاظمي"), doc.text.index("اجتماع")
    return dataclasses.replace(doc, entities=(Entity("e0", s, s + len("الكاظمي"), "PER"),), events=(
        Event("v1", "Contact.Meet", Span(t, t + len("اجتماع")), {"realis": "actual"}, (Argument("Entity", "e0"),)),))


def _gold_signatures(export_path, out):
    res = _run(["import", str(export_path), "-o", str(out)])
    assert res.exit_code == 0 and "1 imported, 0 quarantined" in res.output, res.output
    gold, _ = gold_documents(out)
    return {d.id: (d.text, annotation_signature(d)) for d in gold}


@pytest.mark.studio
def test_push_annotate_pull_import_round_trip_on_postgresql(pg, pg_studio, schema, tasks, bundled_documents,
                                                           tmp_path):
    conn = load_connection(pg_studio.connection_file)
    title = f"pg-{uuid.uuid4().hex[:8]}"
    report = push_tasks(conn, schema, tasks, title)
    assert (report.imported, report.skipped_existing) == (5, 0)
    assert push_tasks(conn, schema, tasks, title).skipped_existing == 5  # idempotent on PostgreSQL too

    doc = next(d for d in bundled_documents if "الكاظمي" in d.text and "اجتماع" in d.text)
    went_in = _annotated(doc)
    client = connect(conn)
    task = next(t for t in client.tasks.list(project=report.project_id, fields="all") if t.data["doc_id"] == doc.id)
    client.annotations.create(id=task.id, result=results_for(went_in))

    pulled = pull_export(conn, tmp_path / "ann", title)
    assert (pulled.tasks, pulled.annotations) == (5, 1)
    came_back = _gold_signatures(pulled.path, tmp_path / "gold")
    assert came_back == {doc.id: (doc.text, annotation_signature(went_in))}

    # the data really lives in PostgreSQL: Label Studio's tables hold the task, no SQLite file was made
    import psycopg

    with psycopg.connect(pg.url) as db:
        texts = [r[0] for r in db.execute("SELECT data->>'text' FROM task WHERE project_id = %s",
                                          (report.project_id,))]
    assert doc.text in texts and len(texts) == 5
    assert not list(pg_studio.home.rglob("*.sqlite3"))

    # moving a project (README): push the tasks and the pulled export into another project, pull, import
    moved = f"{title}-moved"
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    env = {"LABEL_STUDIO_URL": conn.url, "LABEL_STUDIO_API_KEY": conn.api_key}
    assert _run(["push", str(tasks_file), "--project", moved], env).exit_code == 0
    res = _run(["push", "--project", moved, "--annotations", str(pulled.path), "--annotator", "amal@annotate.test"],
               env)
    assert res.exit_code == 0 and "1 annotation(s) created" in res.output, res.output
    again = pull_export(conn, tmp_path / "moved", moved)
    assert _gold_signatures(again.path, tmp_path / "gold-moved") == came_back


@pytest.mark.studio
def test_the_server_folder_knows_its_database_and_never_the_password(pg, pg_studio):
    res = _run(["studio", "status", "--home", str(pg_studio.home), "--port", str(pg_studio.port)])
    assert res.exit_code == 0, res.output
    assert f"database: PostgreSQL postgresql://{pg.user}:***@{pg.host}:{pg.port}/{pg.database}" in res.output
    for path in pg_studio.home.iterdir():
        if path.is_file():
            assert pg.password not in path.read_text(errors="replace"), path
    cmdline = open(f"/proc/{pg_studio.status().pid}/cmdline", "rb").read().decode(errors="replace")
    assert pg.password not in cmdline


@pytest.mark.studio
def test_up_again_reuses_the_server_but_refuses_another_database(pg, pg_studio, tmp_path):
    env = {"ANNOTATE_STUDIO_DATABASE": pg.url}
    res = _run(["studio", "up", "--home", str(pg_studio.home), "--port", str(pg_studio.port)], env)
    assert res.exit_code == 0 and f"pid {pg_studio.status().pid}" in res.output, res.output
    assert pg.password not in res.output
    with pytest.raises(ServerError, match="runs on PostgreSQL .*not on SQLite.*annotate studio down"):
        LocalStudio(pg_studio.home, pg_studio.port).up()
    assert pg_studio.status().running


def test_an_empty_database_option_means_sqlite_even_with_the_variable_set():
    from annotate.studio.database import ENV_VAR, database_from

    env = {ENV_VAR: f"postgresql://u:{SECRET}@h/d"}
    assert database_from("", env) is None and database_from(None, {}) is None
    assert database_from(None, env).name == "d"
