"""A small HTTP proxy on 127.0.0.1 that injects real network faults in front of a real server.

Each rule matches a method and a path pattern and fires a number of times:
- `lose-answer`: the request reaches the server, which commits it, then the connection is closed before any
  answer reaches the client (a proxy or link dropping the answer);
- `504-after`: the request reaches the server, then the client gets 504 Gateway Timeout instead of the answer;
- `drop`: the connection is closed without forwarding anything;
- `lose-answer-late`: the client's connection is closed at once, and only `delay` seconds later is the request
  forwarded to the server, which commits it then (a slow server, or a request stuck on its way): a client that
  re-reads the server right after the fault does not see it yet. `wait_late()` waits for those forwards.
Every other request is forwarded unchanged. Used as a context manager; the proxy thread stops on exit.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Rule:
    method: str
    path: str  # regular expression matched against the request path (without the query)
    action: str  # lose-answer | 504-after | drop | lose-answer-late
    times: int = 1
    fired: int = 0
    delay: float = 0.0  # lose-answer-late: seconds between closing the client's connection and the forward


@dataclass
class FaultProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, what happened)
    late: list[threading.Thread] = field(default_factory=list)  # lose-answer-late forwards

    def __enter__(self) -> FaultProxy:
        target = urlsplit(self.upstream)
        proxy = self

        def forward(method, target_path, body, headers):
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            upstream.request(method, target_path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            upstream.close()
            return answer, data

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                rule = next((r for r in proxy.rules if r.fired < r.times and r.method == self.command
                             and re.fullmatch(r.path, path)), None)
                if rule and rule.action == "drop":
                    rule.fired += 1
                    proxy.log.append((self.command, path, "dropped"))
                    self._close()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                if rule and rule.action == "lose-answer-late":
                    rule.fired += 1
                    self._close()
                    method, target_path = self.command, self.path

                    def later():
                        time.sleep(rule.delay)
                        status = forward(method, target_path, body, headers)[0].status
                        proxy.log.append((method, path, f"lose-answer-late (server said {status} after "
                                                        f"{rule.delay:.0f} s)"))

                    proxy.late.append(threading.Thread(target=later, daemon=True))
                    proxy.late[-1].start()
                    return
                answer, data = forward(self.command, self.path, body, headers)
                if rule:
                    rule.fired += 1
                    proxy.log.append((self.command, path, f"{rule.action} (server said {answer.status})"))
                    if rule.action == "lose-answer":
                        self._close()
                        return
                    self.send_response(504)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "15")
                    self.end_headers()
                    self.wfile.write(b"gateway timeout")
                    return
                proxy.log.append((self.command, path, str(answer.status)))
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _close(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def wait_late(self, timeout: float = 120.0) -> None:
        for thread in self.late:
            thread.join(timeout)

    def fired(self) -> list[tuple[str, str, str]]:
        return [entry for entry in self.log if not entry[2].isdigit()]
