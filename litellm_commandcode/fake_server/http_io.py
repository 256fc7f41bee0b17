"""A small HTTP/1.1 server over asyncio streams, loopback only: a connection reads requests (Content-Length or chunked
bodies, ``Expect: 100-continue``, keep-alive) and writes whole bodies or chunked streams of :mod:`.replies` actions,
including pauses and a reset (RST) of the connection; :class:`HttpServer` accepts connections and hands each request
to its ``dispatch``. The fake Command Code server and ``benchmarks/fake_openai.py`` are built on it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import socket
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

from litellm_commandcode.fake_server.replies import Action, BodyReply, Pause, Reset, StreamReply

DEFAULT_HOST: Final = "127.0.0.1"
IDLE_TIMEOUT_SECONDS: Final = 75.0
STOP_TIMEOUT_SECONDS: Final = 5.0
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 64 * 1024 * 1024
READ_SIZE: Final = 64 * 1024
RESET_FLUSH_POLLS: Final = 100
KNOWN_STATUSES: Final = frozenset(status.value for status in HTTPStatus)


class BadHttp(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ClientGone(Exception):
    pass


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        tokens = {token.strip().lower() for token in self.headers.get("connection", "").split(",")}
        if "close" in tokens:
            return False
        return self.version == "HTTP/1.1" or "keep-alive" in tokens


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadHttp(400)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        key = name.strip().lower()
        if not separator or not key or key != name.lower():
            raise BadHttp(400)
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return parts[0], parts[1], parts[2], headers


def reason_phrase(status: int) -> str:
    return HTTPStatus(status).phrase if status in KNOWN_STATUSES else "Unknown"


def _response_head(status: int, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason_phrase(status)}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _connection_header(keep_alive: bool) -> tuple[str, str]:
    return ("Connection", "keep-alive" if keep_alive else "close")


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        self.reader = reader
        self.writer = writer
        self.number = number
        self._buffer = bytearray()

    async def _fill(self) -> bool:
        try:
            data = await self.reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            return False
        self._buffer += data
        return bool(data)

    async def _read_until(self, separator: bytes, limit: int) -> bytes:
        while (index := self._buffer.find(separator)) < 0:
            if len(self._buffer) > limit:
                raise BadHttp(431 if separator == b"\r\n\r\n" else 400)
            if not await self._fill():
                raise ClientGone()
        data = bytes(self._buffer[:index])
        del self._buffer[: index + len(separator)]
        return data

    async def _read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise ClientGone()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_request(self) -> HttpRequest:
        while self._buffer.startswith(b"\r\n"):
            del self._buffer[:2]
        method, target, version, headers = _parse_head(await self._read_until(b"\r\n\r\n", MAX_HEAD_BYTES))
        if headers.get("expect", "").lower() == "100-continue":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await self._read_body(headers)
        return HttpRequest(method=method, target=target, version=version, headers=headers, body=body)

    async def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await self._read_chunked()
        length_text = headers.get("content-length", "0").strip()
        if not length_text.isdigit():
            raise BadHttp(400)
        if int(length_text) > MAX_BODY_BYTES:
            raise BadHttp(413)
        return await self._read_exact(int(length_text))

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_text = (await self._read_until(b"\r\n", MAX_HEAD_BYTES)).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as error:
                raise BadHttp(400) from error
            if size == 0:
                while await self._read_until(b"\r\n", MAX_HEAD_BYTES):
                    pass
                return bytes(body)
            body += await self._read_exact(size)
            await self._read_exact(2)
            if len(body) > MAX_BODY_BYTES:
                raise BadHttp(413)

    async def watch_eof(self) -> None:
        while await self._fill():
            pass

    async def send_body(self, reply: BodyReply, keep_alive: bool, extra: Sequence[tuple[str, str]] = ()) -> None:
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            _connection_header(keep_alive),
            *reply.headers,
            *extra,
        ]
        self.writer.write(_response_head(reply.status, headers) + reply.body)
        await self.writer.drain()

    async def send_stream(
        self,
        reply: StreamReply,
        keep_alive: bool,
        extra: Sequence[tuple[str, str]] = (),
        on_last_write: Callable[[], None] | None = None,
    ) -> bool:
        """The reply's actions in chunked encoding; False when a reset ended the connection. `on_last_write` runs
        just before the terminating chunk: a client that has read it may look at what the server recorded at once."""
        if reply.delay_before:
            await asyncio.sleep(reply.delay_before)
        headers = [
            ("Content-Type", reply.content_type),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
            _connection_header(keep_alive),
            *extra,
        ]
        self.writer.write(_response_head(reply.status, headers))
        for action in reply.actions:
            if not await self._perform(action):
                return False
        if on_last_write is not None:
            on_last_write()
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()
        return True

    async def _perform(self, action: Action) -> bool:
        if isinstance(action, Pause):
            await asyncio.sleep(action.seconds)
            return True
        if isinstance(action, Reset):
            await self._abort()
            return False
        for _ in range(action.count):
            self.writer.write(action.data)
            await self.writer.drain()
        return True

    async def _abort(self) -> None:
        await self.writer.drain()
        transport = self.writer.transport
        for _ in range(RESET_FLUSH_POLLS):
            if transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.01)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def close(self) -> None:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            self.writer.close()


class HttpServer:
    """Accepts connections until closed and answers their requests in turn with :meth:`dispatch`."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections = itertools.count(1)

    async def dispatch(self, connection: Connection, request: HttpRequest) -> bool:
        """Answers `request`; True to read the connection's next request."""
        raise NotImplementedError

    def malformed(self, status: int) -> BodyReply:
        """The answer to a request that is not HTTP/1.x, after which the connection closes."""
        return BodyReply(status=status, body=b"")

    async def start(self, host: str, port: int) -> int:
        bind = DEFAULT_HOST if host == "localhost" else host
        self._server = await asyncio.start_server(self._serve, bind, port)
        address = self._server.sockets[0].getsockname()
        return int(address[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT_SECONDS)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), STOP_TIMEOUT_SECONDS)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = Connection(reader, writer, next(self._connections))
        try:
            await self._request_loop(connection)
        except (ClientGone, ConnectionError, OSError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        finally:
            connection.close()
            if task is not None:
                self._tasks.discard(task)

    async def _request_loop(self, connection: Connection) -> None:
        while True:
            try:
                request = await asyncio.wait_for(connection.read_request(), IDLE_TIMEOUT_SECONDS)
            except BadHttp as error:
                await connection.send_body(self.malformed(error.status), keep_alive=False)
                return
            if not await self.dispatch(connection, request):
                return


async def serve_until_signal(server: HttpServer, host: str, port: int, ready: Callable[[int], str]) -> int:
    """Serves until SIGINT or SIGTERM, after printing `ready(port)` (the line a parent process waits for)."""
    bound = await server.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(ready(bound), flush=True)
    await stop.wait()
    await server.close()
    return 0
