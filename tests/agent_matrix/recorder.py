"""A recording HTTP forwarder between an agent and the proxy on 127.0.0.1: it passes every request and response on
unchanged (streamed responses chunk by chunk, as they arrive) and keeps what the agent sent and what it got back."""

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

import httpx

HOST: Final = "127.0.0.1"
HOP_HEADERS: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}
)
DROPPED_REQUEST_HEADERS: Final = HOP_HEADERS | {"accept-encoding"}
DROPPED_RESPONSE_HEADERS: Final = HOP_HEADERS | {"content-encoding"}
UPSTREAM_TIMEOUT: Final = httpx.Timeout(300.0, connect=10.0)
MAX_KEPT_BYTES: Final = 4_000_000


@dataclass
class Exchange:
    method: str
    path: str
    request_body: bytes
    status: int = 0
    response_body: bytearray = field(default_factory=bytearray)

    def request_json(self) -> dict[str, object]:
        try:
            value = json.loads(self.request_body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def response_text(self) -> str:
        return bytes(self.response_body).decode("utf-8", "replace")


class Recorder:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._client = httpx.Client(timeout=UPSTREAM_TIMEOUT)
        self._server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="agent-recorder", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def take(self) -> list[Exchange]:
        """Every exchange since the last `take`."""
        with self._lock:
            taken, self._exchanges = self._exchanges, []
        return taken

    def forward(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body: Final = _read_body(handler)
        exchange: Final = Exchange(method=method, path=handler.path, request_body=body)
        self.add(exchange)
        headers: Final = {k: v for k, v in handler.headers.items() if k.lower() not in DROPPED_REQUEST_HEADERS}
        try:
            with self._client.stream(method, self.upstream + handler.path, headers=headers, content=body) as reply:
                exchange.status = reply.status_code
                handler.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in DROPPED_RESPONSE_HEADERS:
                        handler.send_header(key, value)
                handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                for chunk in reply.iter_bytes():
                    if len(exchange.response_body) < MAX_KEPT_BYTES:
                        exchange.response_body += chunk
                    handler.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    handler.wfile.flush()
                handler.wfile.write(b"0\r\n\r\n")
                handler.wfile.flush()
        except httpx.HTTPError as error:
            exchange.status = 599
            exchange.response_body += f"recorder: {type(error).__name__}: {error}".encode()
            with contextlib.suppress(OSError):
                handler.send_error(502, "recorder: upstream failed")
        except OSError:
            handler.close_connection = True

    def start(self) -> "Recorder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
        self._thread.join(10)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        for _ in range(1_000_000):
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                break
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(parts)
    length: Final = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


def _handler_for(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            recorder.forward(self, "GET")

        def do_POST(self) -> None:  # noqa: N802
            recorder.forward(self, "POST")

        def do_DELETE(self) -> None:  # noqa: N802
            recorder.forward(self, "DELETE")

        def do_HEAD(self) -> None:  # noqa: N802
            recorder.forward(self, "HEAD")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return Handler


@contextlib.contextmanager
def recording(upstream: str) -> Iterator[Recorder]:
    recorder: Final = Recorder(upstream).start()
    try:
        yield recorder
    finally:
        recorder.stop()
