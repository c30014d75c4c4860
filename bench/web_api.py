"""Web API benchmark: single checks through ``POST /api/check`` on one uvicorn worker, against the
in-process :func:`coverage_lookup.check` rate on the same questions.

The server is a separate process (the ``coverage-lookup serve`` app, one worker, on 127.0.0.1); the
client is the standard library's ``http.client`` on keep-alive connections, each sending one request
at a time (one connection by default: a clerk's round trips). The API's work is everything a request
costs beyond check(): HTTP parsing, JSON in, validation, the answer's JSON and the checklist out,
loopback both ways. Two figures for each side, as medians of alternating rounds:

* wall clock: checks per second as a client sees them (includes the client's own HTTP work and, on a
  busy machine, waiting for a CPU);
* CPU time: checks per CPU second — of this process for check(), of the server process (read from
  /proc) for the API — what one worker can sustain when requests keep coming, and steadier than the
  wall clock when other work shares the machine.

Target: the API at >= 60% of the in-process rate.

Run: python bench/web_api.py [--seconds S] [--rounds N] [--connections C] [--http h11|httptools]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from coverage_lookup import check

TODAY = date(2026, 12, 6)
# Card-style and plain questions across the coverage types (as billing staff send them).
QUESTIONS: list[dict[str, Any]] = [
    {"coverage": "medicare", "diagnosis": "M54.50", "provider": "physician", "service_date": "2024-03-01"},
    {"coverage": "medicare", "diagnosis": ["M54.50"], "provider": "physician", "service_date": "2024-03-01", "visits_used": 14},
    {"coverage": "medicaid", "state": "CA", "condition": "sciatica", "service_date": "2024-03-01"},
    {"coverage": "medicaid", "state": "CA", "condition": "sciatica", "service_date": "2012-05-01"},
    {"coverage": "large_group", "payer": "aetna", "condition": "sciatica", "service_date": "2024-03-01"},
    {"coverage": "individual", "state": "TX", "payer": "aetna", "diagnosis": "M54.50", "service_date": "2024-03-01"},
    {"coverage": "tricare", "condition": "migraine", "service_date": "2024-03-01"},
    {"coverage": "workers_comp", "state": "WA", "diagnosis": "M54.50", "service_date": "2024-03-01"},
    {"coverage": "fehb", "diagnosis": "M54.50", "service_date": "2024-03-01"},
    {"coverage": "medicare", "provider": "physician", "service_date": "2024-03-01"},
]  # fmt: skip
SERVER = (
    "import sys, uvicorn; from datetime import date; from coverage_lookup.web.app import create_app; "
    "uvicorn.run(create_app(today=date(2026, 12, 6)), host='127.0.0.1', port=int(sys.argv[1]), "
    "http=sys.argv[2], loop=sys.argv[3], workers=1, access_log=False, server_header=False, date_header=False, "
    "proxy_headers=False, log_level='warning')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/values/procedures")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start within {timeout:.0f} s")


class Rate(NamedTuple):
    checks: int
    wall: float  # seconds
    cpu: float | None  # CPU seconds of the process doing the work, where it can be read

    @property
    def per_wall_second(self) -> float:
        return self.checks / self.wall

    @property
    def per_cpu_second(self) -> float | None:
        return self.checks / self.cpu if self.cpu else None


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_rate(port: int, pid: int, seconds: float, connections: int = 1) -> Rate:
    """Checks through the API: each connection a keep-alive client sending one request at a time."""
    bodies = [json.dumps(q).encode() for q in QUESTIONS]
    headers = {"content-type": "application/json"}
    counts = [0] * connections
    failures: list[str] = []
    stop = time.perf_counter() + seconds

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop and not failures:
            for body in bodies:
                conn.request("POST", "/api/check", body, headers)
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    failures.append(f"/api/check answered {response.status}: {payload[:300]!r}")
                    break
            counts[slot] += len(bodies)
        conn.close()

    cpu_before = process_cpu(pid)
    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    cpu_after = process_cpu(pid)
    if failures:
        raise SystemExit(failures[0])
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Rate(sum(counts), wall, cpu)


def in_process_rate(seconds: float) -> Rate:
    done = 0
    cpu_start, start = time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        for q in QUESTIONS:
            check(**q, today=TODAY)
        done += len(QUESTIONS)
    return Rate(done, time.perf_counter() - start, time.process_time() - cpu_start)


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _resolved(http: str, loop: str) -> str:
    """What uvicorn's "auto" picks: httptools and uvloop where installed, else h11 and asyncio."""
    import importlib.util

    def has(name: str) -> bool:
        return importlib.util.find_spec(name) is not None

    parser = http if http != "auto" else ("httptools" if has("httptools") else "h11")
    event_loop = loop if loop != "auto" else ("uvloop" if has("uvloop") else "asyncio")
    return f"{parser}, {event_loop}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are printed")
    parser.add_argument(
        "--http", default="auto", choices=("auto", "h11", "httptools"), help="uvicorn's HTTP parser"
    )
    parser.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"), help="event loop")
    parser.add_argument(
        "--connections",
        type=int,
        default=1,
        help="keep-alive connections sending at once (default 1: one clerk's round trips; more: the "
        "worker's throughput)",
    )
    args = parser.parse_args()

    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), args.http, args.loop], env=env)
    try:
        wait_ready(port)
        for q in QUESTIONS:  # warm both sides: every question once
            check(**q, today=TODAY)
        api_rate(port, server.pid, 0.5)
        api: list[Rate] = []
        local: list[Rate] = []
        for _ in range(args.rounds):  # alternate, so drift in machine load hits both alike
            local.append(in_process_rate(args.seconds))
            api.append(api_rate(port, server.pid, args.seconds, args.connections))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"uvicorn ({_resolved(args.http, args.loop)}), {args.connections} keep-alive connection(s), "
        f"medians of {args.rounds} rounds of {args.seconds:g} s"
    )
    print(f"{'':27}{'wall clock':>24}{'CPU time':>28}")
    rows = (("in-process check()", local), ("POST /api/check, 1 worker", api))
    medians = {}
    for name, rates in rows:
        wall = statistics.median(r.per_wall_second for r in rates)
        cpu = _median([r.per_cpu_second for r in rates])
        medians[name] = (wall, cpu)
        cpu_text = f"{cpu:8.0f}/s ({1000 / cpu:.3f} ms CPU)" if cpu else "   n/a"
        print(f"{name + ':':27}{wall:8.0f}/s ({1000 / wall:.3f} ms){'':4}{cpu_text}")
    (local_wall, local_cpu), (api_wall, api_cpu) = medians.values()
    cpu_ratio = f"{api_cpu / local_cpu:8.2f}" if api_cpu and local_cpu else "   n/a"
    print(f"{'ratio API / in-process:':27}{api_wall / local_wall:8.2f}{'':16}{cpu_ratio}   (target >= 0.60)")
    if api_cpu and local_cpu:
        print(
            f"API cost beyond check(): {1000 / api_cpu - 1000 / local_cpu:.3f} ms of the worker's CPU per request"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
