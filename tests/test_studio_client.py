"""The Label Studio client's faults that need no Label Studio: nothing listening, a loopback server that fails."""

import uuid

import pytest

from annotate.studio.client import StudioError, push_tasks
from annotate.studio.connection import Connection


def test_server_down_says_how_to_start_one(schema, tasks):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = Connection(f"http://127.0.0.1:{port}", "k" * 40, "test")
    with pytest.raises(StudioError, match="not reachable.*annotate studio up"):
        push_tasks(down, schema, tasks, f"test-{uuid.uuid4().hex[:8]}")


def test_5xx_answers_are_retried_then_reported(tmp_path):
    """A loopback server that fails before it answers: the client retries with backoff, then gives up clearly."""
    import http.server
    import threading

    from annotate.studio.client import call, connect

    state = {"requests": 0, "fail_first": 4}

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            state["requests"] += 1
            if state["requests"] <= state["fail_first"]:
                self.send_response(503)
                self.end_headers()
                return
            body = b'{"count": 0, "next": null, "previous": null, "results": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = Connection(f"http://127.0.0.1:{server.server_address[1]}", "k" * 40, "test")
        client = connect(conn)
        projects = call(conn, "list projects", lambda: list(client.projects.list()), backoff=0.05)
        assert projects == [] and state["requests"] == 5
        state.update(requests=0, fail_first=10 ** 6)
        with pytest.raises(StudioError, match="list projects: Label Studio answered HTTP 503"):
            call(conn, "list projects", lambda: list(client.projects.list()), attempts=2, backoff=0.05)
        assert state["requests"] >= 2
    finally:
        server.shutdown()


def test_chunks_hold_at_most_the_task_count_and_the_bytes():
    from annotate.studio.client import chunk_bounds

    assert chunk_bounds([10] * 7, 3, 10 ** 6) == [(0, 3), (3, 6), (6, 7)]
    assert chunk_bounds([10, 10, 10], 100, 23) == [(0, 2), (2, 3)]  # "[" + 10 + "," + 10 + "]" = 23 bytes
    assert chunk_bounds([10, 10, 10], 100, 22) == [(0, 1), (1, 2), (2, 3)]
    assert chunk_bounds([50, 10, 10], 100, 30) == [(0, 1), (1, 3)]  # too big for any chunk: it goes alone
    assert chunk_bounds([], 5, 100) == []
    sizes = [1 + (k * 37) % 300 for k in range(500)]
    bounds = chunk_bounds(sizes, 40, 2000)
    assert [i for a, b in bounds for i in range(a, b)] == list(range(500))
    for a, b in bounds:
        assert 1 <= b - a <= 40 and (b - a == 1 or 2 + sum(sizes[a:b]) + (b - a - 1) <= 2000)
    with pytest.raises(StudioError, match="at least 1 task"):
        chunk_bounds([1], 0, 10)

