"""The local server's lifecycle on real Label Studio servers of their own (not the session's): `down` and `status`
find the server by the port `up` recorded, later commands find the connection of a `--home`, and a port taken
by another program never receives the API key."""

import http.server
import json
import socket
import threading
import time
import uuid

import pytest
from click.testing import CliRunner

from annotate.cli import main
from annotate.studio.server import LocalStudio, healthy

ENV = ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "ANNOTATE_STUDIO_CONFIG", "ANNOTATE_STUDIO_HOME",
       "ANNOTATE_STUDIO_PORT")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No connection from the environment, and a working folder of the test's own (for .studio/home.json)."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="module")
def server_home(tmp_path_factory):
    """One data folder for the module's servers: the first start migrates it (~1 min), later ones are quicker."""
    return tmp_path_factory.mktemp("lifecycle")


def _free_ports(n: int) -> list[int]:
    """n consecutive free ports (Label Studio moves to the next one when its port is taken)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return list(range(base, base + n))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no consecutive free ports")


class _Impostor:
    """Any program answering /health with 200 on a port; it records every Authorization header it is sent."""

    def __init__(self, port: int):
        seen = self.authorization = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server naming)
                seen.append(self.headers.get("Authorization"))
                body = b'{"status": "UP"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PATCH = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_no_connection_names_every_way_to_give_one(clean_env, tmp_path):
    from annotate.studio.connection import ConnectionConfigError, load_connection

    with pytest.raises(ConnectionConfigError) as err:
        load_connection()
    for way in ("LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY", "ANNOTATE_STUDIO_CONFIG=", "ANNOTATE_STUDIO_HOME=",
                "annotate studio up"):
        assert way in str(err.value)
    res = CliRunner().invoke(main, ["push", "--help"])
    assert "ANNOTATE_STUDIO_HOME" in res.output and "ANNOTATE_STUDIO_CONFIG" in res.output


def test_a_setting_that_points_nowhere_is_named(clean_env, monkeypatch, tmp_path):
    from annotate.studio.connection import ConnectionConfigError, load_connection

    monkeypatch.setenv("ANNOTATE_STUDIO_HOME", str(tmp_path / "gone"))
    with pytest.raises(ConnectionConfigError, match=r"looked for ANNOTATE_STUDIO_HOME: .*gone/connection.json"):
        load_connection()


def test_an_impostor_answering_health_gets_no_key_and_no_connection(clean_env, tmp_path):
    port = _free_ports(1)[0]
    impostor = _Impostor(port)
    home = tmp_path / "h"
    try:
        res = CliRunner().invoke(main, ["studio", "up", "--home", str(home), "--port", str(port)])
        status = CliRunner().invoke(main, ["studio", "status", "--home", str(home), "--port", str(port)])
    finally:
        impostor.close()
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert "answers, but not the Label Studio started from" in res.output
    assert not (home / "connection.json").exists()
    assert impostor.authorization and all(a is None for a in impostor.authorization)
    assert "not started from here" in status.output
    creds = json.loads((home / "credentials.json").read_text())
    assert creds["token"] not in res.output + status.output


def test_a_port_taken_by_a_program_that_does_not_answer_health_is_refused(clean_env, tmp_path):
    port = _free_ports(1)[0]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        res = CliRunner().invoke(main, ["studio", "up", "--home", str(tmp_path / "h"), "--port", str(port)])
    assert res.exit_code == 1 and f"port {port} on 127.0.0.1 is taken by another program" in res.output
    assert not (tmp_path / "h" / "connection.json").exists() and not (tmp_path / "h" / "server.pid").exists()


@pytest.mark.studio
def test_a_port_taken_while_label_studio_starts_gets_no_key(clean_env, server_home):
    """The impostor takes the port after `up` checked it and before Label Studio binds it: Label Studio moves to
    the next port, and `up` sees that the port answering is not held by its process."""
    port, moved_to = _free_ports(2)
    studio = LocalStudio(server_home, port)
    impostor = None

    def take_the_port():
        nonlocal impostor
        deadline = time.monotonic() + 60
        while not studio.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        impostor = _Impostor(port)

    thief = threading.Thread(target=take_the_port)
    thief.start()
    try:
        from annotate.studio.server import ServerError

        with pytest.raises(ServerError, match=f"moved to port {moved_to}; stopped it and wrote no connection"):
            studio.up(timeout=300)
    finally:
        thief.join()
        studio.down()
        if impostor:
            impostor.close()
    assert impostor is not None and all(a is None for a in impostor.authorization)
    assert not studio.connection_file.exists()
    assert not healthy(f"http://127.0.0.1:{moved_to}"), "our server on the other port was stopped"


@pytest.mark.studio
def test_down_and_status_use_the_recorded_port_and_the_home_carries_over(clean_env, server_home, schema, tasks,
                                                                         tmp_path, monkeypatch):
    port, other = _free_ports(2)
    runner = CliRunner()
    home = str(server_home)
    try:
        up = runner.invoke(main, ["studio", "up", "--home", home, "--port", str(port)])
        assert up.exit_code == 0, up.output
        assert "later commands run in this folder find it through .studio/home.json" in up.output
        assert f"ANNOTATE_STUDIO_HOME={server_home}" in up.output
        pid = json.loads((server_home / "server.pid").read_text())["pid"]

        status = runner.invoke(main, ["studio", "status", "--home", home])  # no --port: the recorded one
        assert f"127.0.0.1:{port}: answering (started from here, pid {pid})" in status.output, status.output

        # later commands in this folder find the connection through the pointer, with nothing in the environment
        path = clean_env / "tasks.json"
        path.write_text(json.dumps(tasks[:2], ensure_ascii=False), encoding="utf-8")
        title = f"life-{uuid.uuid4().hex[:8]}"
        push = runner.invoke(main, ["push", str(path), "--project", title])
        assert push.exit_code == 0 and "2 imported" in push.output, push.output
        # ... and from any folder through ANNOTATE_STUDIO_HOME (which is --home's default too)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        monkeypatch.setenv("ANNOTATE_STUDIO_HOME", home)
        again = runner.invoke(main, ["push", str(path), "--project", title])
        assert again.exit_code == 0 and "2 already present" in again.output, again.output
        status = runner.invoke(main, ["studio", "status"])
        assert f"answering (started from here, pid {pid})" in status.output, status.output
        monkeypatch.delenv("ANNOTATE_STUDIO_HOME")
        monkeypatch.chdir(clean_env)

        # another port than the recorded one: no second server from the same folder, nothing stopped, nothing
        # forgotten, and the message says where it runs
        second = runner.invoke(main, ["studio", "up", "--home", home, "--port", str(other)])
        assert second.exit_code == 1 and f"already runs on port {port} (pid {pid})" in second.output, second.output
        assert json.loads((server_home / "server.pid").read_text()) == {"pid": pid, "port": port}
        wrong = runner.invoke(main, ["studio", "down", "--home", home, "--port", str(other)])
        assert wrong.exit_code == 1 and f"runs on port {port} (pid {pid})" in wrong.output, wrong.output
        assert (server_home / "server.pid").exists() and healthy(f"http://127.0.0.1:{port}")

        down = runner.invoke(main, ["studio", "down", "--home", home])  # the case of the issue: no --port
        assert down.exit_code == 0 and f"Stopped the local Label Studio on http://127.0.0.1:{port}" in down.output
        assert not healthy(f"http://127.0.0.1:{port}")
        assert not (server_home / "server.pid").exists() and not (server_home / "connection.json").exists()
        assert not (clean_env / ".studio" / "home.json").exists()
        gone = runner.invoke(main, ["push", str(path), "--project", title])
        assert gone.exit_code == 1 and "no Label Studio connection" in gone.output
    finally:
        LocalStudio(server_home, port).down()
