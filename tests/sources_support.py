"""Loopback servers and fixture documents for the scraper tests (nothing here reaches the internet)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fpdf import FPDF
from pytest_httpserver import HTTPServer

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_pdf(lines: list[str]) -> bytes:
    """A small real PDF (fpdf2) whose text layer holds ``lines`` — shaped like a policy or manual PDF."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


CIGNA_LINES = [
    "Medical Coverage Policy",
    "Effective Date: 01/15/2025",
    "Next Review Date: 01/15/2026",
    "Coverage Policy Number: 0024",
    "Acupuncture",
    "Coverage Policy",
    "Acupuncture is considered medically necessary for the following when criteria are met:",
    "- chronic low back pain of 12 weeks or more",
    "- nausea and vomiting after surgery or chemotherapy",
    "Up to 12 visits are covered before a re-evaluation.",
    "Acupuncture is considered experimental, investigational or unproven for:",
    "- fibromyalgia",
    "- sciatica in the absence of chronic low back pain",
    "General Background",
    "Fixture text written for coverage_lookup tests.",
]

MANUAL_LINES = [
    "Acupuncture Services",
    "Revised: 07/01/2016",
    "Program Coverage",
    "Acupuncture is a covered benefit to relieve severe, persistent chronic pain.",
    "Services are limited to two services in any one calendar month.",
    "Fixture text written for coverage_lookup tests.",
]


@contextmanager
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    allow_robots(server)
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def allow_robots(server: HTTPServer) -> None:
    """No robots.txt (404): everything is allowed. Tests about robots.txt clear this first."""
    server.expect_request("/robots.txt").respond_with_data("", status=404)


class RawServer:
    """A bare TCP server for faults an HTTP library will not produce: a body cut short, a reset
    connection. ``/robots.txt`` is answered with 404 (everything allowed)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            if path == "/robots.txt":
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            self.hits += 1
            if self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return  # closing with linger 0 sends RST
            if self.mode == "truncate":
                body = b"<html><body><main>" + b"x" * 200
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n"
                    + body
                )
                return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


Handler = Callable[..., object]


# -- hostile servers --------------------------------------------------------------------------------


def gzip_bomb_chunks(mib: int) -> Iterator[bytes]:
    """A valid gzip stream of ``mib`` MiB of zeros, made on the fly (~1 KB per MiB): each MiB is an
    independent full-flushed deflate block, so one compressed piece is repeated."""
    import struct
    import zlib

    block = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    crc = 0
    for _ in range(mib):
        yield piece
        crc = zlib.crc32(block, crc)
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()
    yield end + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


class Out:
    """The socket of one request, counting the bytes a route manages to send."""

    def __init__(self, conn: socket.socket, server: ScriptedServer, path: str) -> None:
        self.conn = conn
        self.server = server
        self.path = path

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)
        with self.server.lock:
            self.server.sent[self.path] = self.server.sent.get(self.path, 0) + len(data)

    def head(self, status: str = "200 OK", **headers: str) -> None:
        lines = [f"HTTP/1.1 {status}", "Connection: close"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def chunked(self, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            if chunk:
                self.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.send(b"0\r\n\r\n")


Route = Callable[[Out], None]


class ScriptedServer:
    """A bare HTTP server on 127.0.0.1 whose routes write the response themselves — for servers that
    drip, stream without end or send far too much. One request per connection; an unknown path
    (``/robots.txt`` included, unless routed) gets 404. ``sent`` counts bytes sent per path, and a
    route stops quietly once the client has gone."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.finished: dict[str, bool] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            with self.lock:
                self.hits[path] = self.hits.get(path, 0) + 1
            route = self.routes.get(path, _not_found)
            try:
                route(Out(conn, self, path))
                self.finished[path] = True
            except OSError:
                self.finished[path] = False  # the client closed the connection first

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _not_found(out: Out) -> None:
    out.head("404 Not Found", Content_Length="0")


def drip(body: bytes, interval: float = 1.0, headers_too: bool = False, **headers: str) -> Route:
    """A route sending ``body`` one byte per ``interval`` seconds (the headers too, if asked)."""

    def route(out: Out) -> None:
        head = "HTTP/1.1 200 OK\r\nConnection: close\r\n" + "".join(
            f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items()
        )
        head += f"Content-Length: {len(body)}\r\n\r\n"
        if headers_too:
            data = head.encode() + body
        else:
            out.send(head.encode())
            data = body
        for i in range(len(data)):
            out.send(data[i : i + 1])
            time.sleep(interval)

    return route
