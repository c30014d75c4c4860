"""The fetcher's small parts, without a network: failures and their status, Retry-After as an HTTP date,
the deadline's message, cutting a socket, the Content-Encoding decoder's framing, the retry stop at the
deadline, origins for robots redirects, the backoff schedule and short connection errors."""

from __future__ import annotations

import gzip
import random
import socket
import struct
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from coverage_lookup.sources import fetch
from coverage_lookup.sources.fetch import (
    Deadline,
    Fetcher,
    FetchFailure,
    FetchPolicy,
    FetchResult,
    RetryableFailure,
    parse_retry_after,
)


def test_failures_carry_their_detail_and_status() -> None:
    f = FetchFailure("HTTP 404 from the server", 404)
    assert (str(f), f.status) == ("HTTP 404 from the server", 404)
    r = RetryableFailure("HTTP 503", 503, retry_after=7.0)
    assert (str(r), r.status, r.retry_after) == ("HTTP 503", 503, 7.0)


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == 30.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now=now) == 0.0  # in the past: no wait
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT") == 0.0  # long past by the real clock


def test_the_deadline_message_names_what_and_when() -> None:
    e = Deadline(12.5, "refresh of ncd").failure("while reading the body", 200)
    assert (str(e), e.status) == ("refresh of ncd exceeded its overall deadline of 12.5 s (--deadline) while reading the body", 200)  # fmt: skip


@pytest.mark.parametrize("wrapped", [False, True])
def test_shutdown_cuts_a_socket_or_a_connection_holding_one(wrapped: bool) -> None:
    a, b = socket.socketpair()
    try:
        fetch._shutdown(SimpleNamespace(sock=a) if wrapped else a)
        assert b.recv(10) == b""  # the peer sees the end at once
    finally:
        a.close()
        b.close()


def test_shutdown_ignores_an_object_without_a_socket() -> None:
    fetch._shutdown(SimpleNamespace(sock=None))
    fetch._shutdown(object())


def decoded(encoding: str, body: bytes, piece: int = 1) -> bytes:
    d = fetch._Decoder(encoding, 200)
    out = b"".join(b"".join(d.feed(body[i : i + piece])) for i in range(0, len(body), piece))
    d.finish()
    return out


TEXT = b"Acupuncture is covered for chronic low back pain. " * 50


@pytest.mark.parametrize("piece", [1, 2, 3, 4096])
def test_deflate_is_read_zlib_wrapped_or_raw_whatever_the_first_pieces(piece: int) -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_body = raw.compress(TEXT) + raw.flush()
    assert decoded("deflate", zlib.compress(TEXT), piece) == TEXT
    assert decoded("deflate", raw_body, piece) == TEXT
    assert decoded("gzip", gzip.compress(TEXT), piece) == TEXT


def test_a_raw_deflate_stream_whose_first_bytes_look_almost_like_a_header() -> None:
    """Raw deflate data can begin with a byte whose low nibble is 8; only a valid zlib header check
    (the two bytes a multiple of 31) tells them apart."""
    for level in range(10):
        for text in (TEXT, b"x" * 1000, bytes(range(256)) * 4):
            raw = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
            body = raw.compress(text) + raw.flush()
            assert decoded("deflate", body) == text


def test_the_retry_stop_holds_when_the_wait_would_reach_the_deadline() -> None:
    deadline = Deadline(100.0)
    deadline.start()
    stop = fetch._StopAtDeadline(deadline)
    remaining = deadline.remaining()
    assert stop(SimpleNamespace(upcoming_sleep=remaining + 1)) is True  # type: ignore[arg-type]
    assert stop(SimpleNamespace(upcoming_sleep=1.0)) is False  # type: ignore[arg-type]
    assert stop(SimpleNamespace(upcoming_sleep=None)) is False  # type: ignore[arg-type]
    assert stop(SimpleNamespace(upcoming_sleep=0.0)) is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("HTTPS://Example.GOV/robots.txt", ("https", "example.gov", 443)),
        ("http://example.gov/a", ("http", "example.gov", 80)),
        ("http://example.gov:8080/a", ("http", "example.gov", 8080)),
        ("https://example.gov:8443/", ("https", "example.gov", 8443)),
        ("file:///etc/passwd", ("file", "", 80)),
    ],
)
def test_origins_compare_scheme_host_and_port(url: str, origin: tuple[str, str, int]) -> None:
    assert fetch._origin(url) == origin


def test_the_backoff_doubles_from_its_base_up_to_its_cap_plus_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    jitter: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        jitter.append((low, high))
        return 0.25

    monkeypatch.setattr(random, "uniform", uniform)  # the module fetch draws its jitter from
    f = Fetcher(FetchPolicy(backoff_base=1.5, backoff_max=10.0))
    waits = [f._wait(SimpleNamespace(outcome=None, attempt_number=n)) for n in range(1, 6)]  # type: ignore[arg-type]
    assert waits == [1.75, 3.25, 6.25, 10.25, 10.25]
    assert jitter == [(0, 1.5)] * 5


def test_a_retry_after_is_waited_up_to_its_cap() -> None:
    f = Fetcher(FetchPolicy(retry_after_cap=60.0))

    def state(seconds: float) -> Any:
        outcome = SimpleNamespace(exception=lambda: RetryableFailure("HTTP 429", 429, retry_after=seconds))
        return SimpleNamespace(outcome=outcome, attempt_number=1)

    assert (f._wait(state(5.0)), f._wait(state(600.0))) == (5.0, 60.0)


@pytest.mark.parametrize(
    ("error", "short"),
    [
        ("HTTPConnectionPool(host='x'): Max retries exceeded (Caused by Connection reset by peer)", "Connection reset"),
        ("[Errno 111] Connection refused", "Connection refused"),
        ("HTTPSConnectionPool(host='x', port=443): Read timed out. (read timeout=30)", "timed out"),
        ("[Errno -2] Name or service not known", "Name or service not known"),
        ("x" * 200, "x" * 160),
    ],
)  # fmt: skip
def test_connection_errors_are_said_briefly(error: str, short: str) -> None:
    assert fetch._short(OSError(error)) == short


def test_a_raw_stored_block_whose_first_byte_ends_in_eight_is_not_taken_for_a_zlib_header() -> None:
    """First byte 0x08 (a stored block, its unused padding bit set): the low nibble of a zlib header,
    but the first two bytes are not a multiple of 31, so the stream is raw deflate."""
    data = b"hello"
    body = bytes([0x08]) + struct.pack("<HH", len(data), 0xFFFF ^ len(data)) + data
    body += bytes([0x01]) + struct.pack("<HH", 0, 0xFFFF)  # the final, empty stored block
    assert (body[0] << 8 | body[1]) % 31 != 0
    assert decoded("deflate", body) == data


def test_a_connection_registered_after_the_deadline_fired_is_cut_at_once() -> None:
    deadline = Deadline(100.0)
    deadline.start()
    deadline._fire()  # the timer ran out
    a, b = socket.socketpair()
    try:
        deadline.watch(a)
        assert b.recv(10) == b""
    finally:
        a.close()
        b.close()


def test_the_retry_stop_treats_no_planned_wait_as_none_at_the_deadlines_end() -> None:
    frozen = SimpleNamespace(is_over=lambda: False, remaining=lambda: 0.5, retries_cut=False)
    stop = fetch._StopAtDeadline(frozen)  # type: ignore[arg-type]
    assert stop(SimpleNamespace(upcoming_sleep=None)) is False  # type: ignore[arg-type]


def test_a_wait_exactly_as_long_as_the_time_left_stops_the_retries() -> None:
    frozen = SimpleNamespace(is_over=lambda: False, remaining=lambda: 5.0, retries_cut=False)
    stop = fetch._StopAtDeadline(frozen)  # type: ignore[arg-type]
    assert stop(SimpleNamespace(upcoming_sleep=5.0)) is True  # type: ignore[arg-type]
    assert frozen.retries_cut is True
    frozen.retries_cut = False
    assert stop(SimpleNamespace(upcoming_sleep=4.99)) is False  # type: ignore[arg-type]
    assert frozen.retries_cut is False


CONCURRENCY = "per_host_concurrency must be at least 1"
DELAYS = "delays must be >= 0 and timeouts > 0"
DEADLINE = "deadline must be > 0"
SIZES = "max_bytes, robots_max_bytes and max_attempts must be at least 1"


@pytest.mark.parametrize(
    ("field", "bad", "good", "message"),
    [
        ("per_host_concurrency", 0, 1, CONCURRENCY),
        ("per_host_delay", -0.1, 0.0, DELAYS),
        ("connect_timeout", 0.0, 0.1, DELAYS),
        ("read_timeout", 0.0, 0.1, DELAYS),
        ("deadline", 0.0, 0.5, DEADLINE),
        ("max_bytes", 0, 1, SIZES),
        ("max_attempts", 0, 1, SIZES),
        ("robots_max_bytes", 0, 1, SIZES),
    ],
)
def test_a_fetch_policy_refuses_each_bound_it_names(
    field: str, bad: float, good: float, message: str
) -> None:
    policy: Any = FetchPolicy  # keyword arguments of several types, chosen by name
    with pytest.raises(ValueError) as e:
        policy(**{field: bad})
    assert str(e.value) == message
    assert getattr(policy(**{field: good}), field) == good  # the bound itself is accepted


# --- reading a body, on a response object shaped like requests' (headers case-insensitive) ---------


class FakeRaw:
    def __init__(self, chunks: list[bytes], error: Exception | None) -> None:
        self.chunks, self.error = chunks, error

    def stream(self, size: int, decode_content: bool = False) -> Iterator[bytes]:  # noqa: ARG002
        assert decode_content is False  # the fetcher undoes Content-Encoding itself, under the cap
        yield from self.chunks
        if self.error is not None:
            raise self.error


class FakeResponse:
    def __init__(
        self, chunks: list[bytes], headers: dict[str, str], status: int = 200, error: Exception | None = None
    ) -> None:
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers)
        self.raw = FakeRaw(chunks, error)
        self.closed = False

    def close(self) -> None:
        self.closed = True


def stream(resp: FakeResponse, cap: int = 100, deadline: Deadline | None = None) -> tuple[bytes, FetchResult]:
    result = FetchResult(url="https://example.gov/a", outcome="failed")
    if deadline is None:
        deadline = Deadline(60.0)
        deadline.start()
    body, _ = Fetcher()._stream_body(resp, cap, deadline, result=result)  # type: ignore[arg-type]
    return body, result


def refusal(resp: FakeResponse, cap: int = 100, deadline: Deadline | None = None) -> FetchFailure:
    with pytest.raises(FetchFailure) as e:
        stream(resp, cap, deadline)
    return e.value


class ReadTimeoutError(Exception):
    """Named like urllib3's: the fetcher tells a stall from a cut connection by the exception's name."""


class ProtocolError(Exception):
    pass


class TestStreamBody:
    def test_a_body_within_the_cap_is_returned_and_its_wire_bytes_counted(self) -> None:
        body, result = stream(FakeResponse([b"a" * 60, b"b" * 40], {"Content-Length": "100"}))
        assert (body, result.bytes_received) == (b"a" * 60 + b"b" * 40, 100)

    def test_a_declared_length_over_the_cap_is_refused_before_reading(self) -> None:
        resp = FakeResponse([b"x" * 10], {"Content-Length": "500"}, status=203)
        e = refusal(resp)
        assert (str(e), e.status, resp.closed) == ("body of 500 bytes exceeds --max-bytes 100", 203, True)

    def test_an_undeclared_body_over_the_cap_is_stopped(self) -> None:
        e = refusal(FakeResponse([b"x" * 80, b"x" * 80], {}, status=203))
        assert (str(e), e.status) == (
            "body exceeds --max-bytes 100 bytes (stopped reading after 160 bytes on the wire)",
            203,
        )

    def test_a_compressed_body_over_the_cap_says_it_was_decoded(self) -> None:
        packed = gzip.compress(b"x" * 1000)
        e = refusal(FakeResponse([packed], {"Content-Encoding": "gzip"}, status=203))
        assert (str(e), e.status) == (
            f"body exceeds --max-bytes 100 decoded bytes (stopped reading after {len(packed)} bytes on the wire, "
            "gzip-encoded)",
            203,
        )

    def test_a_body_that_is_not_what_its_encoding_says_keeps_the_status(self) -> None:
        e = refusal(FakeResponse([b"not gzip at all"], {"content-encoding": "gzip"}, status=203))
        assert (str(e), e.status) == ("body is not valid gzip data", 203)

    def test_a_stall_is_told_from_a_cut(self) -> None:
        stalled = refusal(FakeResponse([b"abc"], {}, status=203, error=ReadTimeoutError("read timed out")))
        assert (str(stalled), stalled.status) == ("body stalled past the read timeout (30 s)", 203)
        cut = refusal(
            FakeResponse([b"abc"], {"Content-Length": "10"}, status=203, error=ProtocolError("reset"))
        )
        assert (str(cut), cut.status) == ("body incomplete after 3 bytes of 10 (ProtocolError)", 203)

    def test_a_body_shorter_than_declared_is_incomplete(self) -> None:
        e = refusal(FakeResponse([b"abc"], {"Content-Length": "10"}, status=203))
        assert (str(e), e.status) == ("body incomplete: 3 of 10 bytes", 203)

    def test_the_deadline_cuts_the_read_with_the_responses_status(self) -> None:
        deadline = Deadline(60.0)
        deadline.start()
        deadline._fire()
        e = refusal(FakeResponse([b"abc"], {}, status=203), deadline=deadline)
        assert isinstance(e, fetch.DeadlineExceeded) and e.status == 203
        assert (
            str(e)
            == "fetch exceeded its overall deadline of 60 s (--deadline) while reading the body (after 0 bytes)"
        )

    def test_an_empty_compressed_body_is_an_empty_document(self) -> None:
        assert stream(FakeResponse([], {"Content-Encoding": "gzip"}))[0] == b""


@pytest.mark.parametrize(
    ("kind", "ctype", "body", "ok"),
    [
        ("json", "application/json", b"{}", True),
        ("json", "application/ld+json", b"{}", True),
        ("html", "application/ld+json", b"{}", False),
        ("html", "application/xhtml+xml", b"<html>", True),
        ("pdf", "application/octet-stream", b"%PDF-1.7", True),
        ("pdf", "binary/octet-stream", b"%PDF-1.7", True),
        ("pdf", "", b"%PDF-1.7", True),
        ("pdf", "", b"<html>", False),
        ("pdf", "text/html", b"%PDF-1.7", False),
        ("zip", "binary/octet-stream", b"PK\x03\x04", True),
        ("html", "", b"<html>", False),
    ],
)
def test_content_types_accepted_per_kind(kind: str, ctype: str, body: bytes, ok: bool) -> None:
    assert fetch._type_ok(kind, ctype, body) is ok


@pytest.mark.parametrize(
    ("kind", "headers", "message"),
    [
        ("pdf", {"Content-Type": "text/html; charset=utf-8"}, "wrong content type text/html for a pdf source (expected application/pdf)"),
        ("html", {}, "wrong content type (none) for a html source (expected text/html, application/xhtml+xml)"),
    ],
)  # fmt: skip
def test_a_body_of_the_wrong_type_is_refused_with_what_was_expected(
    kind: str, headers: dict[str, str], message: str
) -> None:
    resp = FakeResponse([b"<p>hello</p>"], headers, status=203)
    result = FetchResult(url="https://example.gov/a", outcome="failed")
    deadline = Deadline(60.0)
    deadline.start()
    with pytest.raises(FetchFailure) as e:
        Fetcher()._read_body(resp, kind, result, deadline)  # type: ignore[arg-type]
    assert (str(e.value), e.value.status, result.bytes_received) == (message, 203, 12)


def test_a_body_of_the_right_type_is_kept_with_its_type() -> None:
    resp = FakeResponse([b"%PDF-1.7 ..."], {"CONTENT-TYPE": "Application/PDF"})
    result = FetchResult(url="https://example.gov/a", outcome="failed")
    deadline = Deadline(60.0)
    deadline.start()
    Fetcher()._read_body(resp, "pdf", result, deadline)  # type: ignore[arg-type]
    assert (result.body, result.content_type, result.bytes_received) == (
        b"%PDF-1.7 ...",
        "application/pdf",
        12,
    )


class TestGzipFraming:
    def test_several_gzip_members_are_one_body(self) -> None:
        assert decoded("gzip", gzip.compress(b"first, ") + gzip.compress(b"second")) == b"first, second"
        assert decoded("x-gzip", gzip.compress(b"a") + gzip.compress(b"b"), piece=4096) == b"ab"

    def test_zero_padding_after_the_stream_is_allowed(self) -> None:
        assert decoded("gzip", gzip.compress(b"body") + b"\0\0\0") == b"body"

    def test_trailing_bytes_after_the_stream_are_refused_with_the_status(self) -> None:
        d = fetch._Decoder("gzip", 203)
        with pytest.raises(FetchFailure) as e:
            list(d.feed(gzip.compress(b"body") + b"junk"))
        assert (str(e.value), e.value.status) == ("trailing bytes after the gzip stream", 203)

    def test_a_lone_first_byte_of_another_member_is_a_truncated_body(self) -> None:
        d = fetch._Decoder("gzip", 203)
        assert b"".join(d.feed(gzip.compress(b"body") + b"\x1f")) == b"body"
        with pytest.raises(FetchFailure) as e:
            d.finish()
        assert (str(e.value), e.value.status) == ("body is not valid gzip (truncated?)", 203)


def test_a_body_said_to_be_gzip_but_zlib_wrapped_is_refused() -> None:
    """Only gzip framing is accepted for gzip (not zlib's, which a header auto-detect would let through)."""
    d = fetch._Decoder("gzip", 203)
    with pytest.raises(FetchFailure) as e:
        list(d.feed(zlib.compress(TEXT)))
    assert (str(e.value), e.value.status) == ("body is not valid gzip data", 203)
