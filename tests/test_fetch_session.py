"""The fetcher's request loop over a scripted session, without a network: robots.txt verdicts (4xx,
undecodable bytes, a line cut by the cap, the disallowed path named), redirects (how many, to which
schemes), the status kept when retries give up, the validators kept, the time budget and its wording,
and the watched adapter keeping requests' pool settings.

The loopback-server tests (``test_sources.py``, ``test_fetch_faults.py``) show the same behaviour over
real sockets; these pin the exact values and boundaries cheaply enough to run under mutation testing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from coverage_lookup.sources import fetch
from coverage_lookup.sources.fetch import (
    MAX_REDIRECTS,
    Deadline,
    DeadlineExceeded,
    Fetcher,
    FetchPolicy,
    FetchResult,
    WatchedAdapter,
)

SITE = "https://payer.example"
PAGE = f"{SITE}/policies/acupuncture.html"
HTML = b"<html><body>Acupuncture policy</body></html>"


class Raw:
    def __init__(self, chunks: list[bytes], after: Any = None) -> None:
        self.chunks, self.after = chunks, after

    def stream(self, size: int, decode_content: bool = False) -> Iterator[bytes]:  # noqa: ARG002
        yield from self.chunks
        if self.after is not None:
            self.after()


class Response:
    """Shaped like ``requests.Response`` as far as the fetcher reads it."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers or {})
        self.raw = Raw([body] if body else [])
        self.closed = False

    @property
    def is_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in (301, 302, 303, 307, 308)

    def close(self) -> None:
        self.closed = True


def ok(body: bytes = HTML, ctype: str = "text/html") -> Response:
    return Response(200, body, {"Content-Type": ctype})


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", {"Location": location})


class Session:
    """Answers each URL from its script in turn (the last answer repeats); records what was asked."""

    def __init__(self, script: dict[str, list[Response] | Response]) -> None:
        self.script = {u: a if isinstance(a, list) else [a] for u, a in script.items()}
        self.headers: dict[str, str] = {}
        self.asked: list[str] = []
        self.timeouts: list[Any] = []

    def get(self, url: str, *, timeout: Any, **kwargs: Any) -> Response:  # noqa: ARG002
        self.asked.append(url)
        self.timeouts.append(timeout)
        answers = self.script.get(url)
        if not answers:
            return Response(404)
        return answers.pop(0) if len(answers) > 1 else answers[0]


def fetcher(script: dict[str, list[Response] | Response], **policy: Any) -> tuple[Fetcher, Session]:
    session = Session(script)
    f = Fetcher(
        FetchPolicy(per_host_delay=0.0, **policy),
        allowed_hosts={"payer.example:443", "payer.example:80"},
        session=session,  # type: ignore[arg-type]
        sleep=lambda _seconds: None,
    )
    return f, session


ROBOTS = f"{SITE}/robots.txt"
ALLOW_ALL = Response(404)


# --- robots.txt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 404, 410, 499])
def test_any_4xx_for_robots_txt_allows_everything(status: int) -> None:
    f, _ = fetcher({ROBOTS: Response(status), PAGE: ok()})
    result = f.fetch(PAGE, "html")
    assert (result.outcome, result.body) == ("fetched", HTML)


@pytest.mark.parametrize("status", [399, 500, 503])
def test_other_robots_statuses_disallow_everything(status: int) -> None:
    f, session = fetcher({ROBOTS: Response(status), PAGE: ok()})
    result = f.fetch(PAGE, "html")
    assert (result.outcome, result.detail) == (
        "skipped",
        f"robots.txt answered {status}; treated as disallow-all (RFC 9309)",
    )
    assert session.asked == [ROBOTS]


def test_robots_txt_with_bytes_that_are_not_utf8_is_still_read() -> None:
    body = b"User-agent: *\nDisallow: /private\n# caf\xe9 \xff\n"
    f, _ = fetcher({ROBOTS: ok(body, "text/plain"), PAGE: ok(), f"{SITE}/private/x": ok()})
    assert f.fetch(PAGE, "html").outcome == "fetched"
    blocked = f.fetch(f"{SITE}/private/x", "html")
    assert (blocked.outcome, blocked.detail) == (
        "skipped",
        "robots.txt disallows /private/x for coverage-lookup",
    )


def test_a_site_root_is_named_as_slash_when_disallowed() -> None:
    f, _ = fetcher({ROBOTS: ok(b"User-agent: *\nDisallow: /\n", "text/plain"), SITE: ok()})
    result = f.fetch(SITE, "html")
    assert (result.outcome, result.detail) == ("skipped", "robots.txt disallows / for coverage-lookup")


def test_a_line_cut_by_the_robots_cap_is_dropped_not_read_short() -> None:
    """Cut at the cap, "Disallow: /private" would read as "Disallow: /" and block the whole site."""
    body = b"User-agent: *\nDisallow: /private\n"
    cap = len(b"User-agent: *\nDisallow: /")
    f, _ = fetcher({ROBOTS: ok(body, "text/plain"), PAGE: ok()}, robots_max_bytes=cap)
    assert f.fetch(PAGE, "html").outcome == "fetched"


def test_a_whole_last_line_within_the_robots_cap_is_kept() -> None:
    body = b"User-agent: *\nDisallow: /policies\n# and a long comment after it\n"
    cap = len(b"User-agent: *\nDisallow: /policies\n")
    f, _ = fetcher({ROBOTS: ok(body, "text/plain"), PAGE: ok()}, robots_max_bytes=cap)
    result = f.fetch(PAGE, "html")
    assert (result.outcome, result.detail) == (
        "skipped",
        "robots.txt disallows /policies/acupuncture.html for coverage-lookup",
    )


def test_robots_txt_with_no_time_left_is_not_asked_for() -> None:
    f, session = fetcher({})
    with pytest.raises(DeadlineExceeded) as e:
        f._robots_chain(ROBOTS, Deadline(0.0, "robots.txt"))
    assert (
        str(e.value)
        == "robots.txt exceeded its overall deadline of 0 s (--deadline) waiting for the response"
    )
    assert session.asked == []


def test_robots_txt_has_a_deadline_of_its_own_named_in_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    f, _ = fetcher({})

    def chain(_url: str, deadline: Deadline) -> Any:
        raise deadline.failure("waiting for the response")

    monkeypatch.setattr(f, "_robots_chain", chain)
    assert f._fetch_robots(PAGE) == (
        "robots.txt exceeded its overall deadline of 300 s (--deadline) waiting for the response; "
        "treated as disallow-all (RFC 9309: unreachable)"
    )


# --- redirects -----------------------------------------------------------------------------------


def hops(n: int) -> dict[str, list[Response] | Response]:
    script: dict[str, list[Response] | Response] = {ROBOTS: ALLOW_ALL}
    for i in range(n):
        script[f"{SITE}/hop{i}"] = redirect(f"/hop{i + 1}")
    script[f"{SITE}/hop{n}"] = ok()
    return script


def test_as_many_redirects_as_allowed_are_followed() -> None:
    f, _ = fetcher(hops(MAX_REDIRECTS))
    result = f.fetch(f"{SITE}/hop0", "html")
    assert (result.outcome, result.final_url) == ("fetched", f"{SITE}/hop{MAX_REDIRECTS}")


def test_one_redirect_more_than_allowed_fails() -> None:
    f, session = fetcher(hops(MAX_REDIRECTS + 1))
    result = f.fetch(f"{SITE}/hop0", "html")
    assert (result.outcome, result.detail, result.http_status) == ("failed", "more than 5 redirects", 302)
    assert session.asked.count(f"{SITE}/hop{MAX_REDIRECTS + 1}") == 0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_redirects_to_either_web_scheme_are_followed(scheme: str) -> None:
    target = f"{scheme}://payer.example/new.html"
    robots = f"{scheme}://payer.example/robots.txt"
    f, _ = fetcher({ROBOTS: ALLOW_ALL, robots: ALLOW_ALL, PAGE: redirect(target, 301), target: ok()})
    result = f.fetch(PAGE, "html")
    assert (result.outcome, result.final_url, result.http_status) == ("fetched", target, 200)


@pytest.mark.parametrize(
    ("location", "status", "detail"),
    [
        ("ftp://payer.example/a.pdf", 307, "redirect to a non-HTTP location 'ftp://payer.example/a.pdf'"),
        (
            "https://elsewhere.example/a.html",
            308,
            "redirect to elsewhere.example, a host not in the source registry — not followed",
        ),
    ],
)
def test_a_redirect_elsewhere_is_refused_with_its_status(location: str, status: int, detail: str) -> None:
    f, _ = fetcher({ROBOTS: ALLOW_ALL, PAGE: redirect(location, status)})
    result = f.fetch(PAGE, "html")
    assert (result.outcome, result.detail, result.http_status) == ("failed", detail, status)


# --- retries, validators, the status kept ----------------------------------------------------------


def test_the_last_retried_status_is_kept_when_the_attempts_run_out() -> None:
    f, session = fetcher({ROBOTS: ALLOW_ALL, PAGE: Response(503)}, max_attempts=3, backoff_base=0.01)
    result = f.fetch(PAGE, "html")
    assert (result.outcome, result.detail, result.http_status, result.attempts) == (
        "failed",
        "HTTP 503; gave up after 3 attempts",
        503,
        3,
    )
    assert session.asked.count(PAGE) == 3


def test_the_validators_of_a_fetched_page_are_kept() -> None:
    page = Response(
        200,
        HTML,
        {"Content-Type": "text/html", "ETag": '"v7"', "Last-Modified": "Tue, 01 Sep 2026 10:00:00 GMT"},
    )
    f, _ = fetcher({ROBOTS: ALLOW_ALL, PAGE: page})
    result = f.fetch(PAGE, "html")
    assert (result.etag, result.last_modified) == ('"v7"', "Tue, 01 Sep 2026 10:00:00 GMT")


def test_a_connection_error_after_the_deadline_says_where_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    f, _ = fetcher({})
    deadline = Deadline(60.0)
    deadline.start()

    def refuse(_url: str, **_kwargs: Any) -> Any:
        deadline._fire()  # the watchdog cut the socket while connecting
        raise requests.exceptions.ConnectionError("connection aborted")

    monkeypatch.setattr(f._session, "get", refuse)
    result = FetchResult(url=PAGE, outcome="failed")
    with pytest.raises(DeadlineExceeded) as e:
        f._request_once(PAGE, "html", {}, result, deadline)
    assert str(e.value) == (
        "fetch exceeded its overall deadline of 60 s (--deadline) while connecting or waiting for the response"
    )


def test_a_deadline_that_runs_out_as_the_last_piece_arrives_keeps_the_status() -> None:
    deadline = Deadline(60.0)
    deadline.start()
    resp = ok()
    resp.raw = Raw([b"<html>", b"</html>"], after=deadline._fire)
    result = FetchResult(url=PAGE, outcome="failed")
    with pytest.raises(DeadlineExceeded) as e:
        Fetcher()._stream_body(resp, 100, deadline, result=result)  # type: ignore[arg-type]
    assert (str(e.value), e.value.status) == (
        "fetch exceeded its overall deadline of 60 s (--deadline) while reading the body (after 13 bytes)",
        200,
    )


# --- the time budget -----------------------------------------------------------------------------


def test_a_started_deadline_counts_down() -> None:
    deadline = Deadline(60.0)
    assert (deadline.started, deadline.remaining()) == (False, 60.0)
    deadline.start()
    try:
        assert deadline.started is True
        assert 59.0 < deadline.remaining() < 60.0
    finally:
        deadline.close()


def test_timeouts_are_cut_to_the_time_left_however_little() -> None:
    f = Fetcher(FetchPolicy(connect_timeout=10.0, read_timeout=30.0))
    deadline = Deadline(0.5)
    deadline.start()
    try:
        connect, read = f._timeouts(deadline, "before the request")
        assert 0.0 < connect == read <= 0.5
        roomy = Deadline(100.0)
        assert f._timeouts(roomy, "before the request") == (10.0, 30.0)
    finally:
        deadline.close()


def test_no_time_left_is_refused_with_the_words_given() -> None:
    deadline = Deadline(2.0, "refresh of ncd")
    deadline.expires = 0.0  # started long ago
    with pytest.raises(DeadlineExceeded) as e:
        Fetcher()._timeouts(deadline, "before the request")
    assert (
        str(e.value) == "refresh of ncd exceeded its overall deadline of 2 s (--deadline) before the request"
    )


# --- the adapter ---------------------------------------------------------------------------------


def test_the_watched_adapter_keeps_the_pool_settings_it_is_given() -> None:
    adapter = WatchedAdapter(pool_connections=3, pool_maxsize=7, pool_block=True)
    plain = HTTPAdapter(pool_connections=3, pool_maxsize=7, pool_block=True)
    assert adapter.poolmanager.connection_pool_kw == plain.poolmanager.connection_pool_kw
    assert len(adapter.poolmanager.pools._container) == 0 and adapter.poolmanager.pools._maxsize == 3
    adapter.init_poolmanager(2, 5, False, socket_options=[])
    assert adapter.poolmanager.connection_pool_kw["socket_options"] == []
    assert adapter.poolmanager.pool_classes_by_scheme == {
        "http": fetch._WatchedHTTPPool,
        "https": fetch._WatchedHTTPSPool,
    }


def test_a_connection_cut_by_the_deadline_mid_body_is_the_deadline_with_the_status() -> None:
    deadline = Deadline(60.0)
    deadline.start()

    def cut() -> None:
        deadline._fire()  # the watchdog shut the socket: the read fails
        raise ConnectionResetError("connection reset by peer")

    resp = ok()
    resp.raw = Raw([b"<html>"], after=cut)
    with pytest.raises(DeadlineExceeded) as e:
        Fetcher()._stream_body(resp, 100, deadline)  # type: ignore[arg-type]
    assert (str(e.value), e.value.status) == (
        "fetch exceeded its overall deadline of 60 s (--deadline) while reading the body (after 6 bytes)",
        200,
    )
