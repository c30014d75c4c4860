"""Scrapers against real HTTP servers on 127.0.0.1 serving fixture documents shaped like the sources."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from coverage_lookup.sources import extractors
from coverage_lookup.sources.fetch import Fetcher, FetchPolicy, parse_retry_after
from coverage_lookup.sources.normalize import clean_lines
from coverage_lookup.sources.refresh import SourceOutcome, refresh, render_report, write_report
from coverage_lookup.sources.registry import SourceSpec, build_registry, host_key, load_sources_file
from coverage_lookup.sources.store import RefreshLocked, Store
from tests.sources_support import (
    CIGNA_LINES,
    MANUAL_LINES,
    RawServer,
    fixture_bytes,
    http_server,
    make_pdf,
)

ROOT = Path(__file__).resolve().parent.parent
FAST = FetchPolicy(
    per_host_delay=0.0, read_timeout=1.0, connect_timeout=1.0, max_attempts=3, backoff_base=0.01
)


class Sleeps:
    """Records the waits the fetcher asks for instead of sleeping (retry backoff, Retry-After)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    with http_server() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state")


def spec(
    server: HTTPServer, path: str, kind: str, extractor: str | None = None, sid: str = "src"
) -> SourceSpec:
    return SourceSpec.model_validate(
        {
            "id": sid,
            "url": server.url_for(path),
            "kind": kind,
            "extractor": extractor,
            "rules": ["medicare.ncd_30_3_3"],
        }
    )


def run_one(
    s: SourceSpec,
    store: Store,
    policy: FetchPolicy = FAST,
    sleeps: Sleeps | None = None,
    extra_hosts: set[str] | frozenset[str] = frozenset(),
) -> SourceOutcome:
    """One source checked and its report written (as ``coverage-lookup refresh`` does)."""
    fetcher = Fetcher(policy=policy, allowed_hosts={s.host, *extra_hosts}, sleep=sleeps or Sleeps())
    run = refresh([s], store, policy, fetcher=fetcher)
    write_report(store, run)
    return run.outcomes[0]


def html(body: bytes, **headers: str) -> Response:
    return Response(body, status=200, headers={"Content-Type": "text/html; charset=utf-8", **headers})


# -- change detection -----------------------------------------------------------------------------


def test_first_fetch_then_304_then_cosmetic_then_real_change(server: HTTPServer, store: Store) -> None:
    page = fixture_bytes("aetna_cpb.html")
    state: dict[str, Any] = {"body": page, "etag": '"v1"'}

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == state["etag"]:
            return Response(status=304, headers={"ETag": state["etag"]})
        return html(state["body"], ETag=state["etag"])

    server.expect_request("/cpb/0135.html").respond_with_handler(handler)
    s = spec(server, "/cpb/0135.html", "html", "aetna_cpb")

    first = run_one(s, store)
    assert (first.outcome, first.detail) == ("changed", "first time seen")
    assert first.facts_after is not None and first.facts_after.document_id == "0135"
    saved = store.load("src")
    assert saved is not None and saved.etag == '"v1"' and saved.content_hash

    second = run_one(s, store)
    assert second.outcome == "unchanged" and second.http_status == 304
    assert second.bytes_received == 0  # an unchanged source costs a 304, no body

    # Cosmetic: new script, timestamps, whitespace, footer date; a new ETag forces a full fetch.
    state["body"] = (
        page.replace(b'"a81f"', b'"zz99"')
        .replace(b"10:15 AM", b"11:42 PM")
        .replace(b"<li>Fibromyalgia</li>", b"<li>  Fibromyalgia  </li>\n")
        .replace(b"Page last updated 11/29/2026", b"Page last updated 11/30/2026")
    )
    state["etag"] = '"v2"'
    third = run_one(s, store)
    assert third.outcome == "unchanged" and third.http_status == 200
    assert "cosmetic" in third.detail

    # A real change: an indication moves, the review date changes.
    state["body"] = page.replace(b"<li>Fibromyalgia</li>", b"").replace(
        b"Last Review: 03/12/2025", b"Last Review: 03/12/2026"
    )
    state["etag"] = '"v3"'
    fourth = run_one(s, store)
    assert fourth.outcome == "changed"
    assert fourth.diff is not None and fourth.diff["lines_removed"] >= 1
    assert fourth.facts_before is not None and "Fibromyalgia" in fourth.facts_before.experimental
    assert fourth.facts_after is not None and "Fibromyalgia" not in fourth.facts_after.experimental
    markdown, payload = render_report(
        refresh([s], store, FAST, fetcher=Fetcher(policy=FAST, allowed_hosts={s.host}))
    )
    assert payload["sources"][0]["outcome"] == "unchanged"
    assert "Nothing in `data/` was modified" in markdown


def test_report_lists_changes_with_rules_and_facts(server: HTTPServer, store: Store) -> None:
    server.expect_request("/api/ncd").respond_with_data(
        fixture_bytes("cms_ncd.json"), content_type="application/json"
    )
    s = spec(server, "/api/ncd", "json", "cms_ncd_api")
    run = refresh([s], store, FAST, fetcher=Fetcher(policy=FAST, allowed_hosts={s.host}))
    markdown, payload = render_report(run)
    assert "### `src`" in markdown and "`medicare.ncd_30_3_3`" in markdown
    facts = payload["sources"][0]["facts_after"]
    assert facts["document_id"] == "30.3.3" and facts["effective"] == "2020-01-21"
    assert "12 visits 90 days" in facts["limits"] and "20 treatments" in facts["limits"]


def test_json_volatile_keys_do_not_count(server: HTTPServer, store: Store) -> None:
    body = {"data": fixture_bytes("cms_ncd.json")}
    server.expect_request("/api/ncd").respond_with_handler(
        lambda r: Response(body["data"], content_type="application/json")
    )
    s = spec(server, "/api/ncd", "json", "cms_ncd_api")
    assert run_one(s, store).outcome == "changed"
    body["data"] = (
        body["data"].replace(b"2026-11-29T10:15:00Z", b"2026-12-01T08:00:00Z").replace(b"f00d", b"beef")
    )
    assert run_one(s, store).outcome == "unchanged"


# -- retries ----------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(server: HTTPServer, store: Store) -> None:
    calls = {"n": 0}

    def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "7"})
        return html(fixture_bytes("anthem_cg.html"))

    server.expect_request("/cg").respond_with_handler(handler)
    sleeps = Sleeps()
    out = run_one(spec(server, "/cg", "html", "anthem_cg"), store, sleeps=sleeps)
    assert out.outcome == "changed" and calls["n"] == 2
    assert 7.0 in sleeps.calls  # honoured Retry-After


def test_retry_after_is_capped(server: HTTPServer, store: Store) -> None:
    server.expect_request("/cg").respond_with_handler(
        lambda r: Response("busy", status=503, headers={"Retry-After": "86400"})
    )
    sleeps = Sleeps()
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, max_attempts=2, retry_after_cap=30, deadline=600)
    out = run_one(spec(server, "/cg", "html"), store, policy=policy, sleeps=sleeps)
    assert out.outcome == "failed" and "gave up after 2 attempts" in out.detail
    assert sleeps.calls == [30]


def test_retry_after_http_date() -> None:
    now = time.time()
    assert parse_retry_after("120") == 120
    assert abs((parse_retry_after(formatdate(now + 60, usegmt=True), now=now) or 0) - 60) < 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0


def test_503_then_success(server: HTTPServer, store: Store) -> None:
    calls = {"n": 0}

    def handler(request: Request) -> Response:
        calls["n"] += 1
        return Response("down", status=503) if calls["n"] < 3 else html(fixture_bytes("anthem_cg.html"))

    server.expect_request("/cg").respond_with_handler(handler)
    sleeps = Sleeps()
    out = run_one(spec(server, "/cg", "html"), store, sleeps=sleeps)
    assert out.outcome == "changed" and calls["n"] == 3
    assert len(sleeps.calls) == 2 and sleeps.calls[1] > sleeps.calls[0] * 0.9  # exponential backoff


def test_500_is_not_retried(server: HTTPServer, store: Store) -> None:
    calls = {"n": 0}

    def handler(request: Request) -> Response:
        calls["n"] += 1
        return Response("boom", status=500)

    server.expect_request("/cg").respond_with_handler(handler)
    out = run_one(spec(server, "/cg", "html"), store)
    assert out.outcome == "failed" and out.http_status == 500 and calls["n"] == 1
    assert "not retried" in out.detail


def test_404_is_not_retried(server: HTTPServer, store: Store) -> None:
    server.expect_request("/gone").respond_with_data("no", status=404)
    out = run_one(spec(server, "/gone", "html"), store)
    assert out.outcome == "failed" and out.http_status == 404


def test_connection_reset_is_retried_then_fails(store: Store) -> None:
    raw = RawServer("reset")
    try:
        s = SourceSpec(id="reset", url=raw.url("/page"), kind="html")
        out = run_one(s, store)
    finally:
        raw.close()
    assert out.outcome == "failed" and "connection" in out.detail.lower()
    assert raw.hits == FAST.max_attempts


def test_truncated_body(store: Store) -> None:
    raw = RawServer("truncate")
    try:
        out = run_one(SourceSpec(id="trunc", url=raw.url("/page"), kind="html"), store)
    finally:
        raw.close()
    assert out.outcome == "failed" and "incomplete" in out.detail
    assert store.load("trunc") is not None and store.load("trunc").content_hash is None  # type: ignore[union-attr]


def test_response_slower_than_timeout(server: HTTPServer, store: Store) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return html(b"<main>late</main>")

    server.expect_request("/slow").respond_with_handler(slow)
    policy = FetchPolicy(per_host_delay=0, read_timeout=0.3, connect_timeout=0.3, max_attempts=3)
    start = time.monotonic()
    out = run_one(spec(server, "/slow", "html"), store, policy=policy)
    assert out.outcome == "failed" and "timeout" in out.detail
    assert time.monotonic() - start < 1.4  # a read timeout is not retried


# -- body checks ----------------------------------------------------------------------------------


def test_oversized_body_declared(server: HTTPServer, store: Store) -> None:
    server.expect_request("/big").respond_with_data(
        b"<main>" + b"a" * 5000 + b"</main>", content_type="text/html"
    )
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, max_bytes=1000)
    out = run_one(spec(server, "/big", "html"), store, policy=policy)
    assert out.outcome == "failed" and "max-bytes" in out.detail


def test_oversized_body_streamed_without_length(server: HTTPServer, store: Store) -> None:
    def chunks(request: Request) -> Response:
        return Response((b"<p>" + b"b" * 500 + b"</p>" for _ in range(20)), content_type="text/html")

    server.expect_request("/stream").respond_with_handler(chunks)
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, max_bytes=2000)
    out = run_one(spec(server, "/stream", "html"), store, policy=policy)
    assert out.outcome == "failed" and "max-bytes" in out.detail


def test_wrong_content_type(server: HTTPServer, store: Store) -> None:
    server.expect_request("/policy.pdf").respond_with_data(
        b"<html>login page</html>", content_type="text/html"
    )
    out = run_one(spec(server, "/policy.pdf", "pdf", "cigna_pdf"), store)
    assert out.outcome == "failed" and "wrong content type text/html" in out.detail


def test_pdf_served_as_octet_stream_is_accepted(server: HTTPServer, store: Store) -> None:
    server.expect_request("/policy.pdf").respond_with_data(
        make_pdf(CIGNA_LINES), content_type="application/octet-stream"
    )
    out = run_one(spec(server, "/policy.pdf", "pdf", "cigna_pdf"), store)
    assert out.outcome == "changed" and out.facts_after is not None
    assert out.facts_after.document_id == "0024"


# -- redirects and robots -----------------------------------------------------------------------------


def test_redirect_to_unregistered_host_is_not_followed(server: HTTPServer, store: Store) -> None:
    with http_server() as other:
        other.expect_request("/landing").respond_with_data("<main>elsewhere</main>", content_type="text/html")
        server.expect_request("/moved").respond_with_data(
            "", status=302, headers={"Location": other.url_for("/landing")}
        )
        out = run_one(spec(server, "/moved", "html"), store)
        assert out.outcome == "failed" and "not in the source registry" in out.detail
        assert other.get_matching_requests_count(other.create_matcher("/landing")) == 0
        # The same redirect to a registered host is followed.
        out = run_one(spec(server, "/moved", "html"), store, extra_hosts={host_key(other.url_for("/"))})
        assert out.outcome == "changed"


def test_robots_disallow_skips(server: HTTPServer, store: Store) -> None:
    server.clear()
    server.expect_request("/robots.txt").respond_with_data(
        fixture_bytes("robots_disallow.txt"), content_type="text/plain"
    )
    server.expect_request("/private/policy").respond_with_data("<main>x</main>", content_type="text/html")
    out = run_one(spec(server, "/private/policy", "html"), store)
    assert out.outcome == "skipped" and "robots.txt disallows" in out.detail
    assert server.get_matching_requests_count(server.create_matcher("/private/policy")) == 0


def test_robots_5xx_means_disallow(server: HTTPServer, store: Store) -> None:
    server.clear()
    server.expect_request("/robots.txt").respond_with_data("err", status=500)
    out = run_one(spec(server, "/page", "html"), store)
    assert out.outcome == "skipped" and "RFC 9309" in out.detail


def test_user_agent_identifies_with_contact(server: HTTPServer, store: Store) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("User-Agent", ""))
        return html(b"<main>hi</main>")

    server.expect_request("/ua").respond_with_handler(handler)
    run_one(spec(server, "/ua", "html"), store)
    assert seen and seen[0].startswith("coverage-lookup/") and "+http" in seen[0]


# -- extractors and structure changes ---------------------------------------------------------------


def test_structure_changed_is_a_failure_not_an_empty_success(server: HTTPServer, store: Store) -> None:
    redesigned = (
        b"<html><body><main><h1>Acupuncture</h1><p>Number: 0135</p><p>New layout.</p></main></body></html>"
    )
    server.expect_request("/cpb").respond_with_data(redesigned, content_type="text/html")
    out = run_one(spec(server, "/cpb", "html", "aetna_cpb"), store)
    assert out.outcome == "failed" and out.detail.startswith("source structure changed")


@pytest.mark.parametrize(
    ("name", "body", "landmark"),
    [
        ("cms_ncd_api", b'{"data": []}', "data"),
        ("aetna_cpb", b"<main><p>nothing</p></main>", "Number"),
        ("cigna_pdf", None, "Coverage Policy Number"),
        ("anthem_cg", b"<p>Guideline #: CG-ANC-03</p>", "Clinical Indications"),
        ("state_admin_code", b"<h2>Section 1</h2>", "section"),
        ("state_manual_pdf", None, "acupuncture"),
    ],
)
def test_each_extractor_detects_missing_landmarks(name: str, body: bytes | None, landmark: str) -> None:
    from coverage_lookup.sources.normalize import normalize

    kind = extractors.EXTRACTORS[name][0]
    body = body if body is not None else make_pdf(["An unrelated document", "Nothing to see"])
    with pytest.raises(extractors.StructureChanged) as exc:
        extractors.extract(name, body, normalize(kind, body))
    assert landmark.lower() in str(exc.value).lower()


def test_extractors_read_their_fixtures() -> None:
    from coverage_lookup.sources.normalize import normalize

    aetna = fixture_bytes("aetna_cpb.html")
    f = extractors.extract("aetna_cpb", aetna, normalize("html", aetna))
    assert f.reviewed is not None and f.reviewed.isoformat() == "2025-03-12"
    assert f.next_review is not None and f.next_review.isoformat() == "2026-02-12"
    assert "Low back pain lasting 12 weeks or longer" in f.covered and "Acupoint injection" in f.experimental
    anthem = fixture_bytes("anthem_cg.html")
    g = extractors.extract("anthem_cg", anthem, normalize("html", anthem))
    assert g.document_id == "CG-ANC-03" and g.covered == [
        "Chronic low back pain of at least 12 weeks",
        "Migraine prevention",
    ]
    cigna = make_pdf(CIGNA_LINES)
    c = extractors.extract("cigna_pdf", cigna, normalize("pdf", cigna))
    assert c.effective is not None and c.effective.isoformat() == "2025-01-15"
    assert any("fibromyalgia" in x for x in c.experimental) and any(
        "chronic low back" in x for x in c.covered
    )
    assert "12 visits" in c.limits
    code = fixture_bytes("admin_code.html")
    a = extractors.extract("state_admin_code", code, normalize("html", code))
    assert (
        a.document_id == "9792.24.1" and a.effective is not None and a.effective.isoformat() == "2009-07-18"
    )
    manual = make_pdf(MANUAL_LINES)
    m = extractors.extract("state_manual_pdf", manual, normalize("pdf", manual))
    assert m.effective is not None and m.effective.isoformat() == "2016-07-01"
    assert "two services calendar month" in m.limits


# -- politeness and throughput ----------------------------------------------------------------------


def test_per_host_concurrency_is_bounded(server: HTTPServer, store: Store) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def handler(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return html(b"<main>page</main>")

    server.expect_request("/p").respond_with_handler(handler)
    policy = FetchPolicy(per_host_concurrency=2, per_host_delay=0, read_timeout=2)
    specs = [SourceSpec(id=f"s{i}", url=server.url_for(f"/p?i={i}"), kind="html") for i in range(8)]
    run = refresh(specs, store, policy, fetcher=Fetcher(policy=policy, allowed_hosts={specs[0].host}))
    assert all(o.outcome == "changed" for o in run.outcomes)
    assert state["max"] == 2


def test_per_host_delay_spaces_request_starts(server: HTTPServer, store: Store) -> None:
    starts: list[float] = []

    def handler(request: Request) -> Response:
        starts.append(time.monotonic())
        return html(b"<main>page</main>")

    server.expect_request("/d").respond_with_handler(handler)
    policy = FetchPolicy(per_host_concurrency=4, per_host_delay=0.2, read_timeout=2)
    specs = [SourceSpec(id=f"d{i}", url=server.url_for(f"/d?i={i}"), kind="html") for i in range(4)]
    began = time.monotonic()
    refresh(specs, store, policy, fetcher=Fetcher(policy=policy, allowed_hosts={specs[0].host}))
    # The k-th request may start no sooner than k delays after the first could, and none arrives before
    # it starts, so the k-th arrival is at least k delays after the refresh began. (Gaps between
    # arrivals are not checked: a busy machine can hold one request back and shrink the next gap.)
    starts.sort()
    assert len(starts) == 4
    assert all(t - began >= 0.2 * k - 1e-6 for k, t in enumerate(starts)), [t - began for t in starts]


# -- safety -----------------------------------------------------------------------------------------


def data_digest() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "data").rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return h.hexdigest()


def test_crash_midway_leaves_previous_state_intact(server: HTTPServer, tmp_path: Path) -> None:
    """A refresh process killed (SIGKILL) in the middle: every source keeps a readable state — the
    new one if its check finished, the previous one otherwise — and the lock does not outlive it."""
    import signal

    from coverage_lookup.sources.store import Store

    version = {"n": 1}
    in_b = threading.Event()

    def page_a(request: Request) -> Response:
        return html(f"<main>A{version['n']}</main>".encode())

    def page_b(request: Request) -> Response:
        if version["n"] == 2:
            in_b.set()
            time.sleep(30)  # the process is killed while it waits for this body
        return html(f"<main>B{version['n']}</main>".encode())

    server.expect_request("/a").respond_with_handler(page_a)
    server.expect_request("/b").respond_with_handler(page_b)
    listing = tmp_path / "sources.json"
    listing.write_text(
        json.dumps(
            [
                {"id": "a", "url": server.url_for("/a"), "kind": "html"},
                {"id": "b", "url": server.url_for("/b"), "kind": "html"},
            ]
        )
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
        "--per-host-concurrency",
        "1",
        "--per-host-delay",
        "0",
        "--timeout",
        "60",
        "--json",
    ]
    assert subprocess.run(args, capture_output=True, timeout=60).returncode == 0
    store = Store(state_dir)
    b_before = (state_dir / "sources" / "b.json").read_bytes()

    version["n"] = 2
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert in_b.wait(30), "the refresh never reached the second source"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    a_state, b_state = store.load("a"), store.load("b")
    assert a_state is not None and a_state.last_outcome == "changed"  # finished before the kill
    assert store.text("a") == "A2"
    assert (state_dir / "sources" / "b.json").read_bytes() == b_before  # untouched, still readable
    assert b_state is not None and store.text("b") == "B1"
    assert not list(state_dir.rglob("*.tmp"))
    # The lock died with the process: the next refresh runs and sees B's real change.
    version["n"] = 3
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert {x["id"]: x["outcome"] for x in json.loads(r.stdout)["sources"]} == {
        "a": "changed",
        "b": "changed",
    }


def test_two_refreshes_at_once_are_prevented(store: Store) -> None:
    held = store.lock()
    try:
        with pytest.raises(RefreshLocked):
            refresh([], store, FAST)
    finally:
        held.release()


def test_one_failure_does_not_stop_the_others(server: HTTPServer, store: Store) -> None:
    server.expect_request("/ok").respond_with_data("<main>fine</main>", content_type="text/html")
    server.expect_request("/bad").respond_with_data("x", status=500)
    specs = [
        SourceSpec(id="bad", url=server.url_for("/bad"), kind="html"),
        SourceSpec(id="ok", url=server.url_for("/ok"), kind="html"),
    ]
    run = refresh(specs, store, FAST)
    assert {o.id: o.outcome for o in run.outcomes} == {"bad": "failed", "ok": "changed"}
    assert run.failed


# -- registry and CLI -----------------------------------------------------------------------------------


def test_registry_covers_every_citation() -> None:
    from coverage_lookup.dataset import load_dataset
    from tests.conftest import TODAY

    ds = load_dataset(ROOT / "data", today=TODAY, use_cache=False)
    specs = build_registry(ds)
    urls = {s.url for s in specs}
    cited = {c.url for lr in ds.rules.values() for v in lr.rule.versions for c in v.citations}
    assert cited <= urls
    ncd = [s for s in specs if "medicare.ncd_30_3_3" in s.rules]
    assert ncd and all(s.resolved_kind in ("html", "pdf", "json", "zip") for s in specs)
    assert len({s.id for s in specs}) == len(specs)


def test_sources_file_errors_name_the_field(tmp_path: Path) -> None:
    from coverage_lookup.errors import InputError

    bad = tmp_path / "s.json"
    bad.write_text(json.dumps([{"id": "x", "url": "ftp://nope", "kind": "html"}]))
    with pytest.raises(InputError) as exc:
        load_sources_file(bad)
    assert "sources[0].url" in str(exc.value)
    bad.write_text(json.dumps([{"id": "x", "url": "http://a.example/p", "kind": "docx"}]))
    with pytest.raises(InputError) as exc:
        load_sources_file(bad)
    assert "kind" in str(exc.value)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_cli_refresh_json_and_exit_codes(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/cg").respond_with_data(fixture_bytes("anthem_cg.html"), content_type="text/html")
    server.expect_request("/broken").respond_with_data("x", status=500)
    listing = tmp_path / "sources.yaml"
    listing.write_text(
        f"- {{id: anthem, url: '{server.url_for('/cg')}', kind: html, extractor: anthem_cg}}\n"
        f"- {{id: broken, url: '{server.url_for('/broken')}', kind: html}}\n"
    )
    digest = data_digest()
    env = {"COVERAGE_LOOKUP_HOME": str(tmp_path / "home")}
    r = cli(
        "refresh", "--sources", str(listing), "--json", "--per-host-delay", "0", "--timeout", "2", env=env
    )
    assert r.returncode == 1, r.stderr  # one source failed
    assert "Traceback" not in r.stderr
    out = json.loads(r.stdout)
    by_id = {s["id"]: s for s in out["sources"]}
    assert by_id["anthem"]["outcome"] == "changed" and by_id["broken"]["outcome"] == "failed"
    assert set(by_id["anthem"]) == {"id", "url", "outcome", "http_status", "detail"}
    assert Path(out["report"]["markdown"]).is_file()
    r = cli(
        "refresh", "--sources", str(listing), "--only", "anthem", "--json", "--per-host-delay", "0", env=env
    )
    assert r.returncode == 0 and json.loads(r.stdout)["sources"][0]["outcome"] == "unchanged"
    assert data_digest() == digest  # refresh never touches data/


def test_cli_bad_refresh_options_exit_2(tmp_path: Path) -> None:
    for args in (
        ["--per-host-concurrency", "0"],
        ["--timeout", "-1"],
        ["--max-bytes", "lots"],
        ["--only", "nope"],
    ):
        r = cli("refresh", *args, env={"COVERAGE_LOOKUP_HOME": str(tmp_path)})
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1


def test_cli_sources_lists_rules_and_last_check(tmp_path: Path) -> None:
    r = cli("sources", "--json", env={"COVERAGE_LOOKUP_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all(
        {"id", "url", "kind", "rules", "last_checked", "last_outcome"} <= set(row) for row in rows
    )
    assert any("medicare.ncd_30_3_3" in row["rules"] for row in rows)


# -- properties ---------------------------------------------------------------------------------------


@given(st.text(max_size=80))
def test_retry_after_never_raises_and_is_never_negative(value: str) -> None:
    wait = parse_retry_after(value)
    assert wait is None or wait >= 0


@given(st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40), max_size=12))
def test_normalised_text_ignores_whitespace_layout(lines: list[str]) -> None:
    text = "\n".join(lines)
    spaced = "\n\n".join("   " + ln.replace(" ", "  ") + "\t" for ln in lines)
    assert clean_lines(text) == clean_lines(spaced)


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_source_changes_only_when_a_member_changes(server: HTTPServer, store: Store) -> None:
    """A zip (e.g. a CMS public-use-file bundle) is compared by its member listing and hashes."""
    body = {"data": _zip({"benefits.csv": b"plan,benefit\n1,Acupuncture\n", "readme.txt": b"v1"})}
    server.expect_request("/puf.zip").respond_with_handler(
        lambda r: Response(body["data"], content_type="application/zip")
    )
    s = spec(server, "/puf.zip", "zip")
    assert run_one(s, store).outcome == "changed"
    # Re-zipped with the same members (new timestamps in the archive): not a change.
    body["data"] = _zip({"readme.txt": b"v1", "benefits.csv": b"plan,benefit\n1,Acupuncture\n"})
    assert run_one(s, store).outcome == "unchanged"
    body["data"] = _zip(
        {"benefits.csv": b"plan,benefit\n1,Acupuncture\n2,Acupuncture\n", "readme.txt": b"v1"}
    )
    out = run_one(s, store)
    assert out.outcome == "changed" and out.diff is not None and out.diff["lines_added"] == 1
    body["data"] = b"PK\x03\x04 not really a zip"
    out = run_one(s, store)
    assert out.outcome == "failed" and "zip" in out.detail


def test_sources_command_shows_last_check(server: HTTPServer, tmp_path: Path) -> None:
    """After a refresh, `sources --json` reports when each registry source was checked and its outcome."""
    from coverage_lookup.dataset import load_dataset
    from tests.conftest import TODAY

    ds = load_dataset(ROOT / "data", today=TODAY, use_cache=False)
    first = build_registry(ds)[0]
    home = tmp_path / "home"
    state = Store(home)
    server.expect_request("/doc").respond_with_data("<main>x</main>", content_type="text/html")
    # Pretend the first registry source lives on the loopback server (same id, local URL).
    local = first.model_copy(update={"url": server.url_for("/doc")})
    refresh([local], state, FAST)
    saved = state.load(first.id)
    assert saved is not None
    saved.url = first.url  # the state is keyed by id; record it under the registry URL
    state.save(saved)
    r = cli("sources", "--json", env={"COVERAGE_LOOKUP_HOME": str(home)})
    row = next(x for x in json.loads(r.stdout) if x["id"] == first.id)
    assert row["last_outcome"] == "changed" and row["last_checked"] and row["last_changed"]
