"""A real HTTP server on 127.0.0.1 that serves recorded responses and records requests.

It runs in a thread so that tests, the code under test and subprocesses (the real
``breachradar`` command) can all reach it, whatever event loop they use.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass
class Response:
    """One canned answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow host)
    drip: float | None = None  # seconds between single bytes of the body (a dripping host)
    # Produce the body piece by piece (sent chunked unless headers declare a length), so a
    # test can serve a huge body without holding it.
    stream: Callable[[], Iterable[bytes]] | None = None


@dataclass
class Recorded:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Recorded], Response]


class LocalServer:
    """Serve canned responses by path; each path may answer a sequence, the last repeats."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._routes: dict[tuple[str, str], list[Response] | Handler] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                return

            def handle(self) -> None:
                # The client may give up on a hostile answer, as it should.
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                response = server._answer(record)
                if response.delay:
                    time.sleep(response.delay)
                try:
                    self.send_response(response.status)
                    headers = {"Content-Type": "text/plain", **response.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    chunked = response.stream is not None and "Content-Length" not in headers
                    if chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                    elif "Content-Length" not in response.headers:
                        self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    if self.command == "HEAD" or response.status in (204, 304):
                        return
                    if response.stream is not None:
                        for piece in response.stream():
                            if not piece:
                                continue
                            if chunked:
                                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                            else:
                                self.wfile.write(piece)
                        if chunked:
                            self.wfile.write(b"0\r\n\r\n")
                    elif response.drip is not None:
                        for i in range(len(response.body)):
                            self.wfile.write(response.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(response.drip)
                    else:
                        self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client hung up (e.g. it stopped reading at its size cap).
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(
        self,
        path: str,
        *responses: Response | Handler,
        method: str = "GET",
    ) -> None:
        """Answer ``method path`` with ``responses`` in turn (the last one repeats)."""
        with self._lock:
            if len(responses) == 1 and callable(responses[0]):
                self._routes[(method, path)] = responses[0]
            else:
                self._routes[(method, path)] = [r for r in responses if isinstance(r, Response)]

    def serve_file(
        self, path: str, fixture: str | Path, content_type: str, **headers: str
    ) -> bytes:
        """Serve a recorded fixture byte for byte; return its bytes."""
        body = (FIXTURES / fixture).read_bytes()
        self.route(path, Response(200, body, {"Content-Type": content_type, **headers}))
        return body

    def _answer(self, record: Recorded) -> Response:
        with self._changed:
            self.requests.append(record)
            self._changed.notify_all()
            key = (record.method, urlsplit(record.path).path)
            route = self._routes.get(key)
        if route is None:
            return Response(404, b"not found")
        if callable(route):
            return route(record)
        with self._lock:
            return route.pop(0) if len(route) > 1 else route[0]

    def received(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or urlsplit(r.path).path == path)
            ]

    def wait_for(
        self, count: int, *, method: str | None = None, path: str | None = None, timeout: float = 10
    ) -> list[Recorded]:
        """Block until ``count`` matching requests arrived (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    r
                    for r in self.requests
                    if (method is None or r.method == method)
                    and (path is None or urlsplit(r.path).path == path)
                ]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)


def serve(routes: Iterable[tuple[str, Response]] = ()) -> LocalServer:
    server = LocalServer().start()
    for path, response in routes:
        server.route(path, response)
    return server


class DiscordWebhook:
    """Answers like Discord's webhook API: execute with ?wait=true returns the message."""

    def __init__(self, server: LocalServer, path: str = "/api/webhooks/1/secret-token") -> None:
        self.server = server
        self.path = path
        self.messages: dict[str, dict[str, Any]] = {}
        self.refuse: list[Response] = []  # answers to give before accepting (429, 500, ...)
        self._lock = threading.Lock()
        self.name = "Spidey Bot"  # the webhook's name, as a GET of it tells
        self.channel_id = "1290001122334455667"
        server.route(path, self._execute, method="POST")
        server.route(path, self._describe, method="GET")

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def _execute(self, request: Recorded) -> Response:
        with self._lock:
            if self.refuse:
                return self.refuse.pop(0)
            message_id = str(1000 + len(self.messages))
            self.messages[message_id] = request.json()
            edit_path = f"{self.path}/messages/{message_id}"
        self.server.route(edit_path, self._editor(message_id), method="PATCH")
        body = json.dumps({"id": message_id, **request.json()}).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    def _describe(self, request: Recorded) -> Response:
        # Discord answers a GET of a webhook with the webhook object (token included).
        webhook_id, _, token = self.path.rpartition("/webhooks/")[2].partition("/")
        body = {
            "application_id": None, "avatar": None, "channel_id": self.channel_id,
            "guild_id": "1290001122334455000", "id": webhook_id, "name": self.name,
            "type": 1, "token": token,
        }  # fmt: skip
        return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _editor(self, message_id: str) -> Handler:
        def edit(request: Recorded) -> Response:
            with self._lock:
                self.messages[message_id] = request.json()
            body = json.dumps({"id": message_id, **request.json()}).encode()
            return Response(200, body, {"Content-Type": "application/json"})

        return edit

    def posts(self) -> list[Recorded]:
        return self.server.received("POST", self.path)

    def edits(self) -> list[Recorded]:
        return [r for r in self.server.received("PATCH") if r.path.startswith(self.path)]
