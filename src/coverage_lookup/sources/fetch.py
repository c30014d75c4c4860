"""The polite, bounded HTTP client behind ``coverage-lookup refresh``.

* identifies itself (User-Agent with a contact URL) and honours robots.txt (RFC 9309: a missing
  robots.txt allows everything, an unreachable one — 5xx or no connection — disallows everything);
  robots.txt is read up to ``robots_max_bytes`` (512 KiB; RFC 9309 asks for at least 500 KiB) and
  redirects for it are followed only on the same scheme, host and port, at most 5 hops;
* at most ``per_host_concurrency`` requests in flight per host:port, and ``per_host_delay`` seconds
  between the starts of two requests to the same host:port;
* connect/read timeouts, and an overall deadline per fetch covering connect, every read, every retry
  (with its backoff) and every redirect hop: a watchdog shuts the socket down when it runs out, so a
  server dripping one byte per second cannot hold a fetch past it;
* retries (tenacity) only where retrying helps — connection errors, 429, 502, 503, 504 — with
  exponential backoff and jitter, honouring ``Retry-After`` (seconds or an HTTP date) up to a cap;
  other 4xx/5xx fail at once;
* streamed bodies with a size cap on the DECODED bytes (gzip/deflate are inflated incrementally with
  bounded output per step, so a gzip bomb is refused while streaming, in bounded memory); only
  ``gzip, deflate`` are advertised and any other Content-Encoding (br, zstd, ...) is refused;
  a completeness check against ``Content-Length`` and a content-type check for the expected kind;
  redirects followed only to hosts already in the registry;
* conditional GET (ETag / Last-Modified), so an unchanged source costs a 304.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .. import __version__
from .registry import host_key

CONTACT_URL = "https://example.invalid/coverage-lookup#scrapers"
USER_AGENT = f"coverage-lookup/{__version__} (+{CONTACT_URL}; dataset re-verification)"
ROBOTS_AGENT = "coverage-lookup"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 §2.5: crawlers MAY cap robots.txt, at no less than 500 KiB
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 §2.3.1.2: follow at least five consecutive redirects
DEADLINE_FACTOR = 10.0  # default overall deadline: this many read timeouts
# Only what we can inflate incrementally under the size cap. Brotli is deliberately not advertised
# (and a br body is refused), even when the ``brotli`` module happens to be importable.
ACCEPT_ENCODING = "gzip, deflate"
CHUNK = 65536

EXPECTED_TYPES: dict[str, tuple[str, ...]] = {
    "html": ("text/html", "application/xhtml+xml"),
    "pdf": ("application/pdf",),
    "json": ("application/json",),
    "zip": ("application/zip", "application/x-zip-compressed"),
}
MAGIC: dict[str, bytes] = {"pdf": b"%PDF", "zip": b"PK\x03\x04"}


@dataclass(frozen=True)
class FetchPolicy:
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0  # seconds between request starts on one host:port
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 25 * 1024 * 1024  # decoded bytes of one document
    max_attempts: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    retry_after_cap: float = 120.0  # never wait longer than this for one Retry-After
    user_agent: str = USER_AGENT
    respect_robots: bool = True
    deadline: float | None = None  # overall seconds per fetch; None: DEADLINE_FACTOR x read_timeout
    robots_max_bytes: int = ROBOTS_MAX_BYTES

    def __post_init__(self) -> None:
        if self.per_host_concurrency < 1:
            raise ValueError("per_host_concurrency must be at least 1")
        if self.per_host_delay < 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("delays must be >= 0 and timeouts > 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be > 0")
        if self.max_bytes < 1 or self.max_attempts < 1 or self.robots_max_bytes < 1:
            raise ValueError("max_bytes, robots_max_bytes and max_attempts must be at least 1")

    @property
    def overall_deadline(self) -> float:
        return self.deadline if self.deadline is not None else DEADLINE_FACTOR * self.read_timeout


@dataclass
class FetchResult:
    url: str
    outcome: str  # "fetched" | "not_modified" | "failed" | "skipped"
    http_status: int | None = None
    detail: str = ""
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    attempts: int = 0
    bytes_received: int = 0  # bytes on the wire (before Content-Encoding is undone)


class FetchFailure(Exception):
    """A failure that is reported, not retried."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class RetryableFailure(FetchFailure):
    """A failure worth retrying (connection error, 429, 502, 503, 504)."""

    def __init__(self, detail: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail, status)
        self.retry_after = retry_after


class DeadlineExceeded(FetchFailure):
    """The overall deadline of one fetch ran out (never retried)."""


class RobotsDisallowed(Exception):
    pass


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds ("²".isdigit() is true, but not a number)
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


# -- the overall deadline -------------------------------------------------------------------------


class Deadline:
    """An overall time budget for one fetch, enforced by a watchdog.

    Per-read timeouts do not bound a server that sends one byte just before each read times out, so
    when the budget runs out a timer shuts down every socket the fetch is using (connections register
    themselves through the thread-local :func:`_watching`); the blocked read then returns at once.
    The clock starts with :meth:`start` (the first request of the fetch) and is never restarted by a
    retry or a redirect hop.
    """

    SLACK = 0.05  # a socket timeout cut to the remaining time fires at (not before) the deadline

    def __init__(self, seconds: float, what: str = "fetch") -> None:
        self.seconds = seconds
        self.what = what
        self.expires: float | None = None
        self.expired = False
        self.retries_cut = False  # a retry was not attempted because the deadline would pass first
        self._lock = threading.Lock()
        self._watched: list[Any] = []
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        with self._lock:
            if self.expires is not None:
                return
            self.expires = time.monotonic() + self.seconds
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    @property
    def started(self) -> bool:
        return self.expires is not None

    def remaining(self) -> float:
        if self.expires is None:
            return self.seconds
        return max(0.0, self.expires - time.monotonic())

    def is_over(self) -> bool:
        if self.expired:
            return True
        if self.expires is not None and time.monotonic() >= self.expires - self.SLACK:
            self.expired = True
        return self.expired

    def check(self, while_: str, status: int | None = None) -> None:
        if self.is_over():
            raise self.failure(while_, status)

    def failure(self, while_: str, status: int | None = None) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"{self.what} exceeded its overall deadline of {self.seconds:g} s (--deadline) {while_}", status
        )

    def watch(self, obj: Any) -> None:
        """Register a connection or socket to be shut down when the deadline runs out."""
        with self._lock:
            if not self.expired:
                self._watched.append(obj)
                return
        _shutdown(obj)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            watched, self._watched = self._watched, []
        for obj in watched:
            _shutdown(obj)

    def close(self) -> None:
        with self._lock:
            self._watched = []
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


def _shutdown(obj: Any) -> None:
    sock = obj if isinstance(obj, socket.socket) else getattr(obj, "sock", None)
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown (an SSLSocket's would drop its SSL object under a reader).
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_ACTIVE = threading.local()


@contextmanager
def _watching(deadline: Deadline) -> Iterator[Deadline]:
    previous = getattr(_ACTIVE, "deadline", None)
    _ACTIVE.deadline = deadline
    try:
        yield deadline
    finally:
        _ACTIVE.deadline = previous


def _watch_current(obj: Any) -> None:
    deadline: Deadline | None = getattr(_ACTIVE, "deadline", None)
    if deadline is not None:
        deadline.watch(obj)


class _WatchedHTTPConnection(HTTPConnection):
    """Registers itself (new or reused from the pool) and its new sockets with the active deadline."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_current(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same registration for TLS connections (the MRO puts HTTPSConnection under it)."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """A requests adapter whose connections can be cut by the active :class:`Deadline`."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# -- bounded decoding -------------------------------------------------------------------------------


class _Decoder:
    """Undoes a Content-Encoding incrementally; each step yields at most ``CHUNK`` bytes, so memory
    stays bounded by the caller's cap however well the input compresses."""

    def __init__(self, encoding: str, status: int | None) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self.status = status
        self.name = codings[0] if codings else ""
        if len(codings) > 1:
            raise FetchFailure(f"stacked Content-Encoding {encoding!r} is not supported", status)
        if self.name == "x-gzip":
            self.name = "gzip"
        if self.name not in ("", "gzip", "deflate"):
            raise FetchFailure(
                f"unsupported Content-Encoding {self.name!r} (only {ACCEPT_ENCODING} are requested)", status
            )
        self._d: Any = None  # zlib decompress object, created on the first bytes
        self._pending = b""

    def _new(self, first: bytes) -> Any:
        if self.name == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped (RFC 9110), but some servers send raw deflate.
        zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self.name:
            if data:
                yield data
            return
        if self._d is None:
            data = self._pending + data
            if len(data) < 2:
                self._pending = data
                return
            self._pending = b""
            self._d = self._new(data)
        while data:
            try:
                out = self._d.decompress(data, CHUNK)
            except zlib.error:
                raise FetchFailure(f"body is not valid {self.name} data", self.status) from None
            if out:
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if rest and self.name == "gzip" and b"\x1f\x8b".startswith(rest[:2]):  # another gzip member
                    if len(rest) < 2:  # its magic split across pieces: wait for the next one
                        self._d, self._pending = None, rest
                        return
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                    continue
                if rest.strip(b"\0"):
                    raise FetchFailure(f"trailing bytes after the {self.name} stream", self.status)
                return
            data = self._d.unconsumed_tail

    def finish(self) -> None:
        if self.name and self._d is None and not self._pending:
            return  # an empty body
        if self.name and (self._d is None or not self._d.eof):
            raise FetchFailure(f"body is not valid {self.name} (truncated?)", self.status)


class HostGate:
    """Per host:port: a semaphore for concurrency and a schedule for the minimum delay between starts."""

    def __init__(self, policy: FetchPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        self._policy = policy
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sems: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}

    def _sem(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._sems:
                self._sems[host] = threading.BoundedSemaphore(self._policy.per_host_concurrency)
            return self._sems[host]

    def acquire(self, host: str) -> None:
        self._sem(host).acquire()
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self._policy.per_host_delay
        if start > now:
            self._sleep(start - now)

    def release(self, host: str) -> None:
        self._sem(host).release()


class _StopAtDeadline(stop_base):
    """Stop retrying when the wait before the next attempt would reach past the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        if self.deadline.is_over() or upcoming >= self.deadline.remaining():
            self.deadline.retries_cut = True
            return True
        return False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


@dataclass
class Fetcher:
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    allowed_hosts: set[str] = field(default_factory=set)  # host:port keys redirects may go to
    session: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.session is None:
            self._session = requests.Session()
            # Connections that the overall deadline can cut (an injected session keeps its own
            # adapters and gets the deadline checks between reads only).
            adapter = WatchedAdapter()
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
        else:
            self._session = self.session
        self._session.headers["User-Agent"] = self.policy.user_agent
        self._session.headers["Accept-Encoding"] = ACCEPT_ENCODING
        self._gate = HostGate(self.policy, self.sleep)
        self._robots: dict[str, RobotFileParser | str] = {}
        self._robots_lock = threading.Lock()
        self._robots_fetching: dict[str, threading.Lock] = {}

    def _timeouts(self, deadline: Deadline, while_: str) -> tuple[float, float]:
        left = deadline.remaining()
        if left <= 0:
            raise deadline.failure(while_)
        return min(self.policy.connect_timeout, left), min(self.policy.read_timeout, left)

    # -- robots.txt -------------------------------------------------------------------------------

    def _robots_for(self, url: str) -> RobotFileParser | str:
        """robots.txt of the URL's host, fetched once per host (other threads wait for the first)."""
        key = host_key(url)
        with self._robots_lock:
            if key in self._robots:
                return self._robots[key]
            host_lock = self._robots_fetching.setdefault(key, threading.Lock())
        with host_lock:
            with self._robots_lock:
                if key in self._robots:
                    return self._robots[key]
            verdict = self._fetch_robots(url)
            with self._robots_lock:
                self._robots[key] = verdict
            return verdict

    def _fetch_robots(self, url: str) -> RobotFileParser | str:
        """The parsed robots.txt, or the reason everything is disallowed. robots.txt has a deadline
        of its own (it is shared by every source on the host) and a size cap of its own."""
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        deadline = Deadline(self.policy.overall_deadline, "robots.txt")
        try:
            with _watching(deadline):
                return self._robots_chain(robots_url, deadline)
        except DeadlineExceeded as exc:
            return f"{exc.detail}; treated as disallow-all (RFC 9309: unreachable)"
        except FetchFailure as exc:
            return f"robots.txt unreadable ({exc.detail}); treated as disallow-all"
        except requests.RequestException as exc:
            if deadline.is_over():
                return (
                    f"{deadline.failure('').detail.strip()}; treated as disallow-all (RFC 9309: unreachable)"
                )
            return f"robots.txt unreachable ({type(exc).__name__}); treated as disallow-all (RFC 9309)"
        finally:
            deadline.close()

    def _robots_chain(self, robots_url: str, deadline: Deadline) -> RobotFileParser | str:
        current = robots_url
        for _ in range(ROBOTS_MAX_REDIRECTS + 1):
            key = host_key(current)
            self._gate.acquire(key)
            try:
                deadline.start()
                r = self._session.get(
                    current,
                    timeout=self._timeouts(deadline, "waiting for the response"),
                    stream=True,
                    allow_redirects=False,
                )
                try:
                    if r.is_redirect:
                        target = urljoin(current, r.headers.get("Location", ""))
                        if _origin(target) != _origin(robots_url):
                            return (
                                f"robots.txt redirects to {target} (another scheme, host or port); "
                                "not followed — treated as disallow-all"
                            )
                        current = target
                        continue
                    if 400 <= r.status_code < 500:
                        verdict = RobotFileParser()
                        verdict.parse([])  # no robots.txt: everything allowed
                        return verdict
                    if not 200 <= r.status_code < 300:
                        return f"robots.txt answered {r.status_code}; treated as disallow-all (RFC 9309)"
                    body, complete = self._stream_body(
                        r, self.policy.robots_max_bytes, deadline, truncate=True, label="robots.txt"
                    )
                finally:
                    r.close()
            finally:
                self._gate.release(key)
            text = body.decode("utf-8", errors="replace")
            lines = text.splitlines()
            if not complete and lines and not text.endswith(("\n", "\r")):
                lines.pop()  # the last line was cut by the cap
            verdict = RobotFileParser()
            verdict.parse(lines)
            return verdict
        return f"robots.txt redirected more than {ROBOTS_MAX_REDIRECTS} times; treated as disallow-all"

    def _check_robots(self, url: str) -> None:
        if not self.policy.respect_robots:
            return
        verdict = self._robots_for(url)
        if isinstance(verdict, str):
            raise RobotsDisallowed(verdict)
        if not verdict.can_fetch(ROBOTS_AGENT, url):
            raise RobotsDisallowed(f"robots.txt disallows {urlsplit(url).path or '/'} for {ROBOTS_AGENT}")

    # -- one request ------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableFailure) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.retry_after_cap)
        exp = self.policy.backoff_base * (2 ** (state.attempt_number - 1))
        return float(min(self.policy.backoff_max, exp) + random.uniform(0, self.policy.backoff_base))

    def _request_once(
        self, url: str, kind: str, headers: dict[str, str], result: FetchResult, deadline: Deadline
    ) -> requests.Response:
        key = host_key(url)
        deadline.check("before the next attempt")
        result.attempts += 1
        self._gate.acquire(key)
        try:
            deadline.start()  # the clock starts with the first request, not while queued for a slot
            deadline.check("while waiting for a slot on the host")
            try:
                resp = self._session.get(
                    url,
                    headers=headers,
                    timeout=self._timeouts(deadline, "before the request"),
                    stream=True,
                    allow_redirects=False,
                )
            except requests.exceptions.ConnectionError as exc:  # includes ConnectTimeout
                deadline.check("while connecting or waiting for the response")
                raise RetryableFailure(f"connection failed: {_short(exc)}") from None
            except requests.exceptions.Timeout:
                deadline.check("while waiting for the response")
                raise FetchFailure(
                    f"no response within the read timeout ({self.policy.read_timeout:g} s)"
                ) from None
            except requests.RequestException as exc:
                deadline.check("while waiting for the response")
                raise FetchFailure(f"request failed: {_short(exc)}") from None
            if resp.status_code in RETRY_STATUSES:
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                resp.close()
                raise RetryableFailure(
                    f"HTTP {resp.status_code}" + (f" (Retry-After {retry_after:g} s)" if retry_after else ""),
                    resp.status_code,
                    retry_after,
                )
            if resp.status_code in (200, 203) and kind:
                self._read_body(resp, kind, result, deadline)
            return resp
        finally:
            self._gate.release(key)

    def _stream_body(
        self,
        resp: requests.Response,
        cap: int,
        deadline: Deadline,
        *,
        truncate: bool = False,
        label: str = "body",
        result: FetchResult | None = None,
    ) -> tuple[bytes, bool]:
        """Read the body, undoing gzip/deflate as it streams, counting DECODED bytes against ``cap``
        (and the bytes on the wire too). Over the cap: a failure, or with ``truncate`` the first
        ``cap`` bytes and ``False`` for complete. Memory stays within about ``cap`` + 64 KiB."""
        status = resp.status_code
        decoder = _Decoder(resp.headers.get("Content-Encoding", ""), status)
        declared = resp.headers.get("Content-Length")
        declared_n = int(declared) if declared and declared.isascii() and declared.isdigit() else None
        if declared_n is not None and declared_n > cap and not truncate:
            resp.close()
            raise FetchFailure(f"{label} of {declared_n} bytes exceeds --max-bytes {cap}", status)
        out = bytearray()
        wire = 0
        try:
            for chunk in resp.raw.stream(CHUNK, decode_content=False):
                deadline.check(f"while reading the {label} (after {wire} bytes)", status)
                wire += len(chunk)
                if result is not None:
                    result.bytes_received = wire
                for piece in decoder.feed(chunk):
                    if len(out) + len(piece) > cap:
                        resp.close()
                        if truncate:
                            out += piece[: cap - len(out)]
                            return bytes(out), False
                        what = "decoded " if decoder.name else ""
                        raise FetchFailure(
                            f"{label} exceeds --max-bytes {cap} {what}bytes (stopped reading after "
                            f"{wire} bytes on the wire"
                            + (f", {decoder.name}-encoded)" if decoder.name else ")"),
                            status,
                        )
                    out += piece
                if wire > cap:  # encoded input that decodes to little (e.g. empty deflate blocks)
                    resp.close()
                    if truncate:
                        return bytes(out), False
                    raise FetchFailure(f"{label} exceeds --max-bytes {cap} bytes on the wire", status)
        except FetchFailure:
            raise
        except Exception as exc:  # urllib3 ProtocolError / IncompleteRead / ReadTimeoutError / reset
            deadline.check(f"while reading the {label} (after {wire} bytes)", status)
            name = type(exc).__name__
            if "Timeout" in name:
                raise FetchFailure(
                    f"{label} stalled past the read timeout ({self.policy.read_timeout:g} s)", status
                ) from None
            raise FetchFailure(
                f"{label} incomplete after {wire} bytes"
                + (f" of {declared_n}" if declared_n is not None else "")
                + f" ({name})",
                status,
            ) from None
        # The watchdog may have cut the connection, which can look like a normal end of the body.
        deadline.check(f"while reading the {label} (after {wire} bytes)", status)
        if declared_n is not None and wire != declared_n:
            raise FetchFailure(f"{label} incomplete: {wire} of {declared_n} bytes", status)
        decoder.finish()
        return bytes(out), True

    def _read_body(self, resp: requests.Response, kind: str, result: FetchResult, deadline: Deadline) -> None:
        """Stream the body under the size cap; check it is complete and of the expected type."""
        raw, _ = self._stream_body(resp, self.policy.max_bytes, deadline, result=result)
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not _type_ok(kind, ctype, raw):
            raise FetchFailure(
                f"wrong content type {ctype or '(none)'} for a {kind} source "
                f"(expected {', '.join(EXPECTED_TYPES[kind])})",
                resp.status_code,
            )
        result.body = raw
        result.content_type = ctype

    # -- public -----------------------------------------------------------------------------------

    def fetch(
        self, url: str, kind: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        result = FetchResult(url=url, outcome="failed")
        deadline = Deadline(self.policy.overall_deadline)
        try:
            with _watching(deadline):
                return self._fetch(url, kind, etag, last_modified, result, deadline)
        except RobotsDisallowed as exc:
            result.outcome, result.detail = "skipped", str(exc)
        except FetchFailure as exc:
            result.outcome, result.detail = "failed", exc.detail
            result.http_status = exc.status if exc.status is not None else result.http_status
            result.body = None
        finally:
            deadline.close()
        return result

    def _fetch(
        self,
        url: str,
        kind: str,
        etag: str | None,
        last_modified: str | None,
        result: FetchResult,
        deadline: Deadline,
    ) -> FetchResult:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self._check_robots(current)
            headers: dict[str, str] = {}
            if current == url:
                if etag:
                    headers["If-None-Match"] = etag
                if last_modified:
                    headers["If-Modified-Since"] = last_modified
            retrying = Retrying(
                stop=stop_after_attempt(self.policy.max_attempts) | _StopAtDeadline(deadline),
                wait=self._wait,
                retry=retry_if_exception_type(RetryableFailure),
                sleep=self.sleep,
                reraise=True,
            )
            try:
                resp = retrying(self._request_once, current, kind, headers, result, deadline)
            except RetryableFailure as exc:
                if deadline.retries_cut and result.attempts < self.policy.max_attempts:
                    raise DeadlineExceeded(
                        f"{exc.detail}; no time left for another attempt within the overall deadline "
                        f"of {deadline.seconds:g} s (--deadline) after {result.attempts} attempts",
                        exc.status,
                    ) from None
                raise FetchFailure(
                    f"{exc.detail}; gave up after {result.attempts} attempts", exc.status
                ) from None
            result.http_status = resp.status_code
            if resp.is_redirect:
                location = resp.headers.get("Location", "")
                resp.close()
                target = urljoin(current, location)
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchFailure(f"redirect to a non-HTTP location {target!r}", resp.status_code)
                if host_key(target) not in self.allowed_hosts:
                    raise FetchFailure(
                        f"redirect to {urlsplit(target).netloc}, a host not in the source registry — not followed",
                        resp.status_code,
                    )
                current = target
                continue
            if resp.status_code == 304:
                resp.close()
                result.outcome, result.detail = "not_modified", "304 Not Modified"
                result.etag, result.last_modified = etag, last_modified
                result.final_url = current
                return result
            if resp.status_code not in (200, 203):
                resp.close()
                raise FetchFailure(f"HTTP {resp.status_code} (not retried)", resp.status_code)
            result.outcome = "fetched"
            result.etag = resp.headers.get("ETag")
            result.last_modified = resp.headers.get("Last-Modified")
            result.final_url = current
            resp.close()
            return result
        raise FetchFailure(f"more than {MAX_REDIRECTS} redirects")


def _type_ok(kind: str, ctype: str, body: bytes) -> bool:
    if ctype in EXPECTED_TYPES[kind] or (kind == "json" and ctype.endswith("+json")):
        return True
    # Servers often send binary documents as application/octet-stream: accept them by their magic bytes.
    magic = MAGIC.get(kind)
    return bool(
        magic and ctype in ("application/octet-stream", "binary/octet-stream", "") and body.startswith(magic)
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection reset", "Connection refused", "timed out", "Name or service not known"):
        if marker in text:
            return marker
    return text[:160]
