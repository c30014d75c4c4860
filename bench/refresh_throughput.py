"""Refresh throughput and conditional-GET savings, against slow loopback servers.

N sources are spread over H hosts (separate servers on 127.0.0.1, so separate host:port keys). Each
response takes LATENCY seconds. With a per-host concurrency of C and no per-host delay, the best
possible time is ceil(N/H / C) rounds of one response each. The baseline — one fetch of one source — is
measured in the same run, and the ratio printed is

    elapsed / (rounds x baseline)          (1.0 = exactly at the per-host bound)

A second refresh of the same, unchanged sources must cost 304s only: the bytes received are printed
against the first run's.

Run: python bench/refresh_throughput.py [--sources N] [--hosts H] [--concurrency C] [--latency S]
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from coverage_lookup.sources.fetch import Fetcher, FetchPolicy
from coverage_lookup.sources.refresh import refresh
from coverage_lookup.sources.registry import SourceSpec
from coverage_lookup.sources.store import Store

PAGE = b"<html><body><main>" + b"<p>policy text line</p>" * 400 + b"</main></body></html>"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=48)
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--latency", type=float, default=0.2)
    a = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    def slow(request: Request) -> Response:
        time.sleep(a.latency)
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(PAGE, content_type="text/html", headers={"ETag": '"v1"'})

    servers = []
    for _ in range(a.hosts):
        s = HTTPServer(host="127.0.0.1", threaded=True)
        s.start()
        s.expect_request("/robots.txt").respond_with_data("", status=404)
        s.expect_request("/doc").respond_with_handler(slow)
        servers.append(s)
    try:
        specs = [
            SourceSpec(id=f"s{i}", url=servers[i % a.hosts].url_for(f"/doc?i={i}"), kind="html")
            for i in range(a.sources)
        ]
        policy = FetchPolicy(per_host_concurrency=a.concurrency, per_host_delay=0.0, read_timeout=10)
        with tempfile.TemporaryDirectory() as tmp:
            # Baseline: one source, one host, measured now (includes the robots.txt fetch of a cold host).
            t0 = time.perf_counter()
            refresh([specs[0]], Store(Path(tmp) / "baseline"), policy)
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            refresh([specs[0]], Store(Path(tmp) / "baseline"), policy)  # warm: 304, robots cached per run
            one_warm = time.perf_counter() - t0

            store = Store(Path(tmp) / "state")
            fetcher = Fetcher(policy=policy, allowed_hosts={s.host for s in specs})
            t0 = time.perf_counter()
            first = refresh(specs, store, policy, fetcher=fetcher)
            elapsed = time.perf_counter() - t0
            t0 = time.perf_counter()
            second = refresh(specs, store, policy, fetcher=fetcher)
            elapsed2 = time.perf_counter() - t0
    finally:
        for s in servers:
            s.stop()
    per_host = math.ceil(a.sources / a.hosts)
    rounds = math.ceil(per_host / a.concurrency)
    # One round = one response. A first run also fetches each host's robots.txt once (one more round).
    bound = (rounds + 1) * one_warm
    bound2 = rounds * one_warm
    bytes1 = sum(o.bytes_received for o in first.outcomes)
    bytes2 = sum(o.bytes_received for o in second.outcomes)
    print(
        f"sources {a.sources} over {a.hosts} hosts, per-host concurrency {a.concurrency}, latency {a.latency:g} s"
    )
    print(f"baseline  one source: cold {one * 1000:.0f} ms, warm {one_warm * 1000:.0f} ms")
    print(
        f"refresh   first run {elapsed:.2f} s; per-host bound (robots.txt + {rounds} rounds) x "
        f"{one_warm:.2f} s = {bound:.2f} s"
    )
    print(f"ratio     first run {elapsed / bound:.2f}x of the per-host bound (1.0 = at the bound)")
    print(
        f"ratio     unchanged second run {elapsed2:.2f} s = {elapsed2 / bound2:.2f}x of {rounds} rounds; "
        f"{sum(o.outcome == 'unchanged' for o in second.outcomes)}/{a.sources} unchanged (304), "
        f"{bytes2} bytes of body vs {bytes1} on the first run"
    )
    return 0 if first.counts()["changed"] == a.sources else 1


if __name__ == "__main__":
    sys.exit(main())
