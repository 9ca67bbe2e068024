from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "gold" / "articles"


@pytest.fixture(scope="session")
def schema():
    from annotate.core.schema import load_schema

    return load_schema()


@pytest.fixture(scope="session")
def bundled_documents():
    from annotate.articles.ingest import ingest

    result = ingest([ARTICLES])
    assert len(result.documents) == 5 and not result.rejected
    return result.documents


@pytest.fixture
def tasks(schema, bundled_documents):
    """Label Studio tasks for the five bundled articles."""
    from annotate.studio.tasks import build_tasks

    return build_tasks(bundled_documents, schema)[0]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    """One real Label Studio for the whole session: fresh data folder, free port, stopped at the end."""
    from annotate.studio.server import LocalStudio

    server = LocalStudio(tmp_path_factory.mktemp("studio"), _free_port())
    server.up(timeout=300)
    try:
        yield server
    finally:
        server.down()


@pytest.fixture(scope="session")
def conn(studio):
    from annotate.studio.connection import load_connection

    return load_connection(studio.connection_file)


@pytest.fixture
def studio_env(conn, monkeypatch):
    """CLI runs see the server through the environment, as a user would set it."""
    monkeypatch.setenv("LABEL_STUDIO_URL", conn.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", conn.api_key)
    return conn


@pytest.fixture(scope="session")
def annotators(conn):
    """Two annotator users on the server (ids and emails)."""
    from annotate.studio.client import connect

    client = connect(conn)
    users = []
    for name in ("amal", "bilal"):
        u = client.users.create(username=name, email=f"{name}@annotate.test", password="pw-" + name * 3)
        users.append(u)
    return users


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium, driven by Playwright (the browser tests share one)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium for the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()
