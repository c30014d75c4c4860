"""Hostile servers (bombs, drips, huge or wandering robots.txt) and a refresh that cannot lose news.

Every server here is real and on 127.0.0.1; nothing reaches the internet.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from coverage_lookup.sources.fetch import Fetcher, FetchPolicy
from coverage_lookup.sources.normalize import NormalizeError, ZipLimits, zip_text
from coverage_lookup.sources.refresh import (
    PAUSE_BEFORE_REPORT_ENV,
    SourceOutcome,
    refresh,
    render_report,
    write_report,
)
from coverage_lookup.sources.registry import SourceSpec
from coverage_lookup.sources.store import Store, atomic_write
from tests.sources_support import Out, ScriptedServer, drip, gzip_bomb_chunks, http_server

FAST = FetchPolicy(
    per_host_delay=0.0, read_timeout=1.0, connect_timeout=1.0, max_attempts=3, backoff_base=0.01
)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    with http_server() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state")


def check(s: SourceSpec, store: Store, policy: FetchPolicy = FAST) -> SourceOutcome:
    fetcher = Fetcher(policy=policy, allowed_hosts={s.host}, sleep=lambda _: None)
    run = refresh([s], store, policy, fetcher=fetcher)
    write_report(store, run)
    return run.outcomes[0]


def page(text: str) -> bytes:
    return f"<html><body><main><p>{text}</p></main></body></html>".encode()


def seed(out: Out) -> None:
    body = page("the version before")
    out.head(Content_Type="text/html", Content_Length=str(len(body)))
    out.send(body)


# -- decoded size cap: gzip bombs -------------------------------------------------------------------

# Python-level peak (tracemalloc): every buffer the fetcher and zlib hand back is a Python object.
# (ru_maxrss is no use here: a child started by fork inherits the high-water mark of the pytest process.)
MEASURE = r"""
import json, sys, tracemalloc
from pathlib import Path
from coverage_lookup.sources.fetch import FetchPolicy
from coverage_lookup.sources.refresh import refresh, write_report
from coverage_lookup.sources.registry import SourceSpec
from coverage_lookup.sources.store import Store

store = Store(Path(sys.argv[2]))
spec = SourceSpec(id="bomb", url=sys.argv[1], kind="html")
policy = FetchPolicy(per_host_delay=0, read_timeout=10, max_bytes=int(sys.argv[3]))
tracemalloc.start()
run = refresh([spec], store, policy)
write_report(store, run)
peak = tracemalloc.get_traced_memory()[1]
o = run.outcomes[0]
print(json.dumps({"outcome": o.outcome, "detail": o.detail, "peak": peak}))
"""


def regroup(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Big HTTP chunks: the client then gets ~64 KiB of compressed input (~64 MiB inflated) per read."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        if len(buf) >= size:
            yield buf
            buf = b""
    yield buf


def test_gzip_bomb_is_refused_while_streaming_in_bounded_memory(tmp_path: Path) -> None:
    """1 GiB of zeros gzip-compressed (~1 MB on the wire) under an 8 MiB cap: the refresh process
    grows by about the cap, not by what the bomb inflates to (the code before inflated it whole:
    ~2 GB RSS; inflating each 64 KiB read without an output bound would grow by ~64 MiB)."""
    cap = 8 * 1024 * 1024
    state = {"bomb": False}

    def doc(out: Out) -> None:
        if not state["bomb"]:
            seed(out)
            return
        out.head(Content_Type="text/html", Content_Encoding="gzip", Transfer_Encoding="chunked")
        out.chunked(regroup(gzip_bomb_chunks(1024), 256 * 1024))

    srv = ScriptedServer({"/bomb.html": doc})
    try:
        store = Store(tmp_path / "state")
        s = SourceSpec(id="bomb", url=srv.url("/bomb.html"), kind="html")
        assert check(s, store).outcome == "changed"
        before = store.load("bomb")
        state["bomb"] = True
        r = subprocess.run(
            [sys.executable, "-c", MEASURE, s.url, str(store.root), str(cap)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        srv.close()
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["outcome"] == "failed"
    assert "exceeds --max-bytes" in result["detail"] and "decoded" in result["detail"]
    print(f"gzip bomb: tracemalloc peak {result['peak'] / 2**20:.1f} MiB under an 8 MiB cap")
    assert result["peak"] < 4 * cap < 100 * 1024 * 1024, result
    after = store.load("bomb")
    assert before is not None and after is not None
    assert after.content_hash == before.content_hash  # the previous state is kept
    assert store.text("bomb") == "the version before"


def test_gzip_and_deflate_bodies_are_decoded_and_br_is_refused(store: Store) -> None:
    body = page("compressed page")
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    variants: dict[str, tuple[str, bytes]] = {
        "/gz": ("gzip", b"".join(gzip_like(body))),
        "/zl": ("deflate", zlib.compress(body)),
        "/raw": ("deflate", raw_deflate.compress(body) + raw_deflate.flush()),
        "/br": ("br", b"\x0b\x02\x80hello\x03"),
    }
    seen: dict[str, str] = {}

    def route(path: str) -> Any:
        def send(out: Out) -> None:
            encoding, data = variants[path]
            out.head(Content_Type="text/html", Content_Encoding=encoding, Content_Length=str(len(data)))
            out.send(data)

        return send

    srv = ScriptedServer({p: route(p) for p in variants})
    try:
        for path in variants:
            o = check(SourceSpec(id=path.strip("/"), url=srv.url(path), kind="html"), store)
            seen[path] = o.outcome if o.outcome == "failed" else store.text(o.id) or ""
            if o.outcome == "failed":
                seen[path] += ": " + o.detail
    finally:
        srv.close()
    assert seen["/gz"] == seen["/zl"] == seen["/raw"] == "compressed page"
    assert seen["/br"].startswith("failed: unsupported Content-Encoding 'br'")


def gzip_like(body: bytes) -> Iterator[bytes]:
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    yield c.compress(body)
    yield c.flush()


def test_only_gzip_and_deflate_are_advertised(server: HTTPServer, store: Store) -> None:
    got: dict[str, str] = {}

    def handler(request: Request) -> Response:
        got["accept"] = request.headers.get("Accept-Encoding", "")
        return Response(page("x"), content_type="text/html")

    server.expect_request("/p").respond_with_handler(handler)
    check(SourceSpec(id="p", url=server.url_for("/p"), kind="html"), store)
    assert got["accept"] == "gzip, deflate"


# -- zip members ---------------------------------------------------------------------------------------


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def test_zip_bomb_member_is_refused_and_previous_state_kept(server: HTTPServer, store: Store) -> None:
    """A 200 MiB member of zeros (~200 KB compressed), under the default limits, through a refresh."""
    doc = {"data": make_zip({"benefits.csv": b"plan,benefit\n1,Acupuncture\n"})}
    server.expect_request("/puf.zip").respond_with_handler(
        lambda _r: Response(doc["data"], content_type="application/zip")
    )
    s = SourceSpec(id="puf", url=server.url_for("/puf.zip"), kind="zip")
    assert check(s, store).outcome == "changed"
    before = store.load("puf")
    doc["data"] = make_zip({"benefits.csv": bytes(200 * 1024 * 1024)})
    assert len(doc["data"]) < 1024 * 1024
    start = time.monotonic()
    out = check(s, store)
    assert out.outcome == "failed" and "zip bomb refused" in out.detail, out.detail
    assert time.monotonic() - start < 5  # refused early, not after inflating 200 MiB
    after = store.load("puf")
    assert before is not None and after is not None and after.content_hash == before.content_hash


def test_zip_ratio_guard_counts_inflated_bytes() -> None:
    bomb = make_zip({"a.csv": bytes(8 * 1024 * 1024)})
    with pytest.raises(NormalizeError, match=r"inflates more than 200x"):
        zip_text(bomb)
    # The same member is fine when the ratio guard is relaxed: only the ratio refused it.
    assert zip_text(bomb, ZipLimits(max_ratio=10_000)).startswith("a.csv\t8388608\t")


def test_zip_members_together_exceed_the_total_cap() -> None:
    members = {f"part{i:02}.bin": os.urandom(100 * 1024) for i in range(20)}  # incompressible
    archive = make_zip(members)
    small = ZipLimits(max_total_bytes=1024 * 1024)
    with pytest.raises(NormalizeError, match="in total"):
        zip_text(archive, small)
    assert len(zip_text(archive, ZipLimits(max_total_bytes=4 * 1024 * 1024)).splitlines()) == 20
    with pytest.raises(NormalizeError, match="inflates past 65536 bytes"):
        zip_text(archive, ZipLimits(max_member_bytes=64 * 1024))


def test_zip_too_many_members() -> None:
    archive = make_zip({f"m{i}.txt": b"x" for i in range(30)})
    with pytest.raises(NormalizeError, match="30 members"):
        zip_text(archive, ZipLimits(max_members=25))


@pytest.mark.parametrize(
    "name",
    ["../evil.csv", "data/../../evil.csv", "/etc/passwd", "C:/Windows/win.ini", "c:evil", "..\\evil.csv"],
)
def test_zip_member_names_that_traverse_are_refused(name: str) -> None:
    archive = make_zip({"ok.csv": b"fine", name: b"evil"})
    assert name in zipfile.ZipFile(io.BytesIO(archive)).namelist()  # the archive really holds it
    with pytest.raises(NormalizeError, match="path traversal refused"):
        zip_text(archive)


def test_zip_ordinary_names_pass() -> None:
    assert len(zip_text(make_zip({"a/b.csv": b"1", "a..b.txt": b"2", "dir/x..y/z": b"3"})).splitlines()) == 3


# -- the overall deadline ----------------------------------------------------------------------------


def test_slow_drip_with_timeout_2_fails_within_30_s(tmp_path: Path) -> None:
    """`refresh --timeout 2` against a server sending one byte per second: every read succeeds within
    the timeout, but the overall deadline (default 10 x --timeout = 20 s) stops it."""
    state = {"drip": False}
    dripping = drip(page("x" * 200), 1.0, Content_Type="text/html")

    def doc(out: Out) -> None:
        return dripping(out) if state["drip"] else seed(out)

    srv = ScriptedServer({"/drip": doc})
    listing = tmp_path / "sources.json"
    listing.write_text(json.dumps([{"id": "drip", "url": srv.url("/drip"), "kind": "html"}]))
    args = [
        sys.executable,
        "-m",
        "coverage_lookup.cli",
        "refresh",
        "--sources",
        str(listing),
        "--state-dir",
        str(tmp_path / "state"),
        "--per-host-delay",
        "0",
        "--timeout",
        "2",
        "--json",
    ]
    try:
        assert subprocess.run(args, capture_output=True, timeout=60).returncode == 0
        state["drip"] = True
        start = time.monotonic()
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - start
    finally:
        srv.close()
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)["sources"][0]
    assert out["outcome"] == "failed" and "overall deadline of 20 s" in out["detail"], out
    assert elapsed < 30, elapsed
    print(f"slow-drip refresh --timeout 2 failed after {elapsed:.1f} s")
    assert Store(tmp_path / "state").text("drip") == "the version before"


def test_dripping_headers_are_cut_by_the_deadline(store: Store) -> None:
    srv = ScriptedServer({"/h": drip(page("x"), 0.3, headers_too=True, Content_Type="text/html")})
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, connect_timeout=1, deadline=2)
    try:
        start = time.monotonic()
        out = check(SourceSpec(id="h", url=srv.url("/h"), kind="html"), store, policy)
        elapsed = time.monotonic() - start
    finally:
        srv.close()
    assert out.outcome == "failed" and "overall deadline of 2 s" in out.detail, out.detail
    assert elapsed < 4, elapsed


def test_redirect_hops_share_one_deadline(server: HTTPServer, store: Store) -> None:
    """Five hops of 0.7 s each: every hop is well within a 2 s deadline, the chain is not."""

    def hop(n: int) -> Any:
        def handler(_request: Request) -> Response:
            time.sleep(0.7)
            if n == 5:
                return Response(page("end"), content_type="text/html")
            return Response("", status=302, headers={"Location": f"/hop{n + 1}"})

        return handler

    for n in range(6):
        server.expect_request(f"/hop{n}").respond_with_handler(hop(n))
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, connect_timeout=1, deadline=2)
    start = time.monotonic()
    out = check(SourceSpec(id="hops", url=server.url_for("/hop0"), kind="html"), store, policy)
    assert out.outcome == "failed" and "overall deadline of 2 s" in out.detail, out.detail
    assert time.monotonic() - start < 3.5


def test_retries_share_one_deadline(server: HTTPServer, store: Store) -> None:
    calls = {"n": 0}

    def busy(_request: Request) -> Response:
        calls["n"] += 1
        time.sleep(0.6)
        return Response("busy", status=503, headers={"Retry-After": "0"})

    server.expect_request("/busy").respond_with_handler(busy)
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, connect_timeout=1, deadline=2, max_attempts=20)
    out = check(SourceSpec(id="busy", url=server.url_for("/busy"), kind="html"), store, policy)
    assert out.outcome == "failed" and "deadline" in out.detail, out.detail
    assert calls["n"] <= 4  # not 20 attempts of a fresh deadline each


def test_a_retry_wait_past_the_deadline_is_not_slept(server: HTTPServer, store: Store) -> None:
    server.expect_request("/later").respond_with_handler(
        lambda _r: Response("busy", status=503, headers={"Retry-After": "60"})
    )
    waits: list[float] = []
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, deadline=5, max_attempts=4)
    s = SourceSpec(id="later", url=server.url_for("/later"), kind="html")
    fetcher = Fetcher(policy=policy, allowed_hosts={s.host}, sleep=waits.append)
    out = refresh([s], store, policy, fetcher=fetcher).outcomes[0]
    assert out.outcome == "failed" and "no time left for another attempt" in out.detail, out.detail
    assert waits == []


# -- robots.txt ----------------------------------------------------------------------------------------


def test_huge_robots_txt_is_capped_without_reading_it_all(store: Store) -> None:
    """50 MiB of robots.txt, streamed: the first 512 KiB are parsed (a rule there applies, one beyond
    it does not) and the fetcher hangs up long before the server could send it all."""
    head = b"User-agent: *\nDisallow: /private\n"
    filler = b"# " + b"x" * 1021 + b"\n"  # 1 KiB lines
    total = 50 * 1024 * 1024

    def robots(out: Out) -> None:
        out.head(Content_Type="text/plain", Content_Length=str(total))
        out.send(head)
        sent = len(head)
        late = b"Disallow: /late\n"
        while sent < total:
            piece = late if sent > 1024 * 1024 and sent < 1024 * 1024 + 2048 else filler
            piece = piece[: total - sent]
            out.send(piece)
            sent += len(piece)

    def ok(out: Out) -> None:
        body = page("fine")
        out.head(Content_Type="text/html", Content_Length=str(len(body)))
        out.send(body)

    srv = ScriptedServer({"/robots.txt": robots, "/private": ok, "/late": ok, "/public": ok})
    try:
        specs = [
            SourceSpec(id=name, url=srv.url(f"/{name}"), kind="html")
            for name in ("private", "late", "public")
        ]
        policy = FetchPolicy(per_host_delay=0, read_timeout=5)
        run = refresh(specs, store, policy, fetcher=Fetcher(policy=policy, allowed_hosts={specs[0].host}))
        time.sleep(0.3)  # let the server thread notice the closed connection
    finally:
        srv.close()
    outcomes = {o.id: o.outcome for o in run.outcomes}
    assert outcomes == {"private": "skipped", "late": "changed", "public": "changed"}
    assert srv.sent["/robots.txt"] < 20 * 1024 * 1024, srv.sent
    assert srv.finished.get("/robots.txt") is False


def test_robots_redirect_to_another_host_is_not_followed(server: HTTPServer, store: Store) -> None:
    with http_server() as other:
        other.clear()
        other.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
        server.clear()
        server.expect_request("/robots.txt").respond_with_data(
            "", status=301, headers={"Location": other.url_for("/robots.txt")}
        )
        server.expect_request("/doc").respond_with_data(page("x"), content_type="text/html")
        out = check(SourceSpec(id="doc", url=server.url_for("/doc"), kind="html"), store)
        assert out.outcome == "skipped" and "not followed" in out.detail, out.detail
        assert other.log == []  # the other host was never contacted
        assert not any(req.path == "/doc" for req, _ in server.log)


def test_robots_redirect_on_the_same_host_is_followed(server: HTTPServer, store: Store) -> None:
    server.clear()
    server.expect_request("/robots.txt").respond_with_data("", status=301, headers={"Location": "/r2"})
    server.expect_request("/r2").respond_with_data("", status=302, headers={"Location": "/real-robots.txt"})
    server.expect_request("/real-robots.txt").respond_with_data("User-agent: *\nDisallow: /no\n")
    server.expect_request("/yes").respond_with_data(page("x"), content_type="text/html")
    specs = [SourceSpec(id=n, url=server.url_for(f"/{n}"), kind="html") for n in ("no", "yes")]
    run = refresh(specs, store, FAST)
    assert {o.id: o.outcome for o in run.outcomes} == {"no": "skipped", "yes": "changed"}


def test_robots_redirect_loop_stops_after_five_hops(server: HTTPServer, store: Store) -> None:
    server.clear()
    hits = {"n": 0}

    def loop(_request: Request) -> Response:
        hits["n"] += 1
        return Response("", status=302, headers={"Location": "/robots.txt"})

    server.expect_request("/robots.txt").respond_with_handler(loop)
    out = check(SourceSpec(id="doc", url=server.url_for("/doc"), kind="html"), store)
    assert out.outcome == "skipped" and "more than 5 times" in out.detail
    assert hits["n"] == 6  # the first request and five redirects


# -- reports: nothing lost, nothing overwritten -----------------------------------------------------


def report_files(state_dir: Path) -> list[Path]:
    return sorted((state_dir / "reports").glob("refresh-*.json"))


def test_killed_before_its_report_the_next_run_reports_the_changes(
    server: HTTPServer, tmp_path: Path
) -> None:
    """A refresh SIGKILLed after committing every changed source but before writing its report: the
    rerun (nothing changed since) lists both changes, diffed against the last reported version."""
    version = {"n": 1}
    server.expect_request("/a").respond_with_handler(
        lambda _r: Response(page(f"A{version['n']}"), content_type="text/html")
    )
    server.expect_request("/b").respond_with_handler(
        lambda _r: Response(page(f"B{version['n']}"), content_type="text/html")
    )
    listing = tmp_path / "sources.json"
    listing.write_text(
        json.dumps([{"id": n, "url": server.url_for(f"/{n}"), "kind": "html"} for n in ("a", "b")])
    )
    state_dir = tmp_path / "state"
    args = [
        sys.executable,
        "-m",
        "coverage_lookup.cli",
        "refresh",
        "--sources",
        str(listing),
        "--state-dir",
        str(state_dir),
        "--per-host-delay",
        "0",
        "--json",
    ]
    env = {k: v for k, v in os.environ.items() if k != PAUSE_BEFORE_REPORT_ENV}
    assert subprocess.run(args, capture_output=True, timeout=60, env=env).returncode == 0
    assert len(report_files(state_dir)) == 1

    version["n"] = 2
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env, PAUSE_BEFORE_REPORT_ENV: str(marker)},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the refresh never reached the point before its report"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = Store(state_dir)
    for sid, text in (("a", "A2"), ("b", "B2")):
        st = store.load(sid)
        assert st is not None and st.last_outcome == "changed" and store.text(sid) == text  # seen
        assert st.unreported
    assert len(report_files(state_dir)) == 1  # the killed run wrote no report

    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {x["id"]: x["outcome"] for x in out["sources"]} == {"a": "changed", "b": "changed"}
    assert all("by a run whose report was not written" in x["detail"] for x in out["sources"])
    report = json.loads(Path(out["report"]["json"]).read_text())
    by_id = {x["id"]: x for x in report["sources"]}
    assert by_id["a"]["reports_change"] and by_id["a"]["diff"]["removed_sample"] == ["A1"]
    assert by_id["a"]["diff"]["added_sample"] == ["A2"]
    assert "### `b`" in Path(out["report"]["markdown"]).read_text()
    assert not store.load("a").unreported  # type: ignore[union-attr]

    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)  # now it is old news
    assert {x["id"]: x["outcome"] for x in json.loads(r.stdout)["sources"]} == {
        "a": "unchanged",
        "b": "unchanged",
    }


def test_a_change_seen_without_a_report_is_listed_by_the_next_report(
    server: HTTPServer, store: Store
) -> None:
    """In-process: a run whose report is never written (its process died) leaves the change pending,
    also when the source then answers 304."""
    etag: dict[str, Any] = {"v": '"1"', "body": page("one")}

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag["v"]:
            return Response(status=304, headers={"ETag": etag["v"]})
        return Response(etag["body"], content_type="text/html", headers={"ETag": etag["v"]})

    server.expect_request("/p").respond_with_handler(handler)
    s = SourceSpec(id="p", url=server.url_for("/p"), kind="html")
    check(s, store)
    etag.update(v='"2"', body=page("two"))
    lost = refresh([s], store, FAST)  # its report is never written
    assert lost.outcomes[0].outcome == "changed"
    again = check(s, store)  # 304 now, yet the change is news
    assert again.outcome == "changed" and again.http_status == 304
    assert again.diff is not None and again.diff["added_sample"] == ["two"]
    assert again.facts_before is None and "not written" in again.detail
    assert check(s, store).outcome == "unchanged"


def test_two_runs_in_the_same_second_write_distinct_reports(server: HTTPServer, store: Store) -> None:
    server.expect_request("/p").respond_with_data(page("x"), content_type="text/html")
    s = SourceSpec(id="p", url=server.url_for("/p"), kind="html")
    first = refresh([s], store, FAST)
    second = refresh([s], store, FAST)
    second.started = first.started  # the same second, the same stamp
    paths = [*write_report(store, first), *write_report(store, second)]
    assert len(set(paths)) == 4 and all(p.is_file() for p in paths)
    assert len(report_files(store.root)) == 2
    _md, payload = render_report(first)
    assert "report_id" not in payload  # the store adds it when writing
    ids = {json.loads(p.read_text())["report_id"] for p in report_files(store.root)}
    assert len(ids) == 2


def test_atomic_write_fsyncs_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write(tmp_path / "x" / "f.json", b"{}")
    assert synced == ["file", "dir"]


def test_states_written_before_reports_were_tracked_count_as_reported(store: Store) -> None:
    legacy = {"id": "old", "url": "http://a.example/p", "kind": "html", "content_hash": "abc"}
    atomic_write(store.sources_dir / "old.json", json.dumps(legacy).encode())
    st = store.load("old")
    assert st is not None and st.reported_hash == "abc" and not st.unreported
