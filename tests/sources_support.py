"""Loopback servers and fixture documents for the scraper tests (nothing here reaches the internet)."""

from __future__ import annotations

import socket
import threading
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
