"""``coverage-lookup serve``: the web page and JSON API on this computer (uvicorn).

Bound to 127.0.0.1 unless told otherwise; the access log is off (it would record who asked when, and
a clerk's questions are nobody else's business); request bodies are never logged anywhere.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Any

FACTORY = "coverage_lookup.web.app:create_app"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the CLI's subcommands (``sub`` is argparse's subparsers action)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="the web page and JSON API for billing staff (http://127.0.0.1:8765)"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)"
    )
    p.add_argument("--port", type=_port, default=8765, help="port (default 8765)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="worker processes (default 1; each loads the dataset once)",
    )
    return p


def _whole(name: str, low: int, high: int, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = low - 1
    if not low <= n <= high:
        raise argparse.ArgumentTypeError(
            f"{name}: {value!r} is not valid; use a whole number from {low} to {high}"
        )
    return n


def _port(value: str) -> int:
    return _whole("port", 1, 65535, value)


def _workers(value: str) -> int:
    return _whole("workers", 1, 64, value)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        import coverage_lookup.web.app  # noqa: F401  (fails here, with a clear message, without the extra)
    except ImportError as exc:
        print(
            f"coverage-lookup: error: serve needs the web extra ({exc.name} is missing); "
            "install it with: pip install 'coverage-lookup[web]'",
            file=sys.stderr,
        )
        return 1
    if not _loopback(args.host):
        print(
            f"coverage-lookup: warning: listening on {args.host}: other computers can reach this page. "
            "Put it behind a reverse proxy with TLS and sign-in before patients' questions travel the network.",
            file=sys.stderr,
        )
    where = f"[{args.host}]" if ":" in args.host else args.host
    print(f"coverage-lookup: serving on http://{where}:{args.port}/ (Ctrl+C to stop)", file=sys.stderr)
    uvicorn.run(
        FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,  # a local tool: no forwarded-for headers to trust
        log_level="warning",
    )
    return 0
