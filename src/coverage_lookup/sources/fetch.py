"""The polite, bounded HTTP client behind ``coverage-lookup refresh``.

* identifies itself (User-Agent with a contact URL) and honours robots.txt (RFC 9309: a missing
  robots.txt allows everything, an unreachable one — 5xx or no connection — disallows everything);
* at most ``per_host_concurrency`` requests in flight per host:port, and ``per_host_delay`` seconds
  between the starts of two requests to the same host:port;
* connect/read timeouts; retries (tenacity) only where retrying helps — connection errors, 429, 502,
  503, 504 — with exponential backoff and jitter, honouring ``Retry-After`` (seconds or an HTTP date)
  up to a cap; other 4xx/5xx fail at once;
* streamed bodies with a size cap, a completeness check against ``Content-Length`` and a content-type
  check for the expected kind; redirects followed only to hosts already in the registry;
* conditional GET (ETag / Last-Modified), so an unchanged source costs a 304.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from .. import __version__
from .registry import host_key

CONTACT_URL = "https://example.invalid/coverage-lookup#scrapers"
USER_AGENT = f"coverage-lookup/{__version__} (+{CONTACT_URL}; dataset re-verification)"
ROBOTS_AGENT = "coverage-lookup"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5

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
    max_bytes: int = 25 * 1024 * 1024
    max_attempts: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    retry_after_cap: float = 120.0  # never wait longer than this for one Retry-After
    user_agent: str = USER_AGENT
    respect_robots: bool = True

    def __post_init__(self) -> None:
        if self.per_host_concurrency < 1:
            raise ValueError("per_host_concurrency must be at least 1")
        if self.per_host_delay < 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("delays must be >= 0 and timeouts > 0")
        if self.max_bytes < 1 or self.max_attempts < 1:
            raise ValueError("max_bytes and max_attempts must be at least 1")


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
    bytes_received: int = 0


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


@dataclass
class Fetcher:
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    allowed_hosts: set[str] = field(default_factory=set)  # host:port keys redirects may go to
    session: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._session = self.session or requests.Session()
        self._session.headers["User-Agent"] = self.policy.user_agent
        self._gate = HostGate(self.policy, self.sleep)
        self._robots: dict[str, RobotFileParser | str] = {}
        self._robots_lock = threading.Lock()
        self._robots_fetching: dict[str, threading.Lock] = {}

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
        parts = urlsplit(url)
        key = host_key(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        verdict: RobotFileParser | str
        self._gate.acquire(key)
        try:
            r = self._session.get(
                robots_url,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                allow_redirects=True,
            )
            if r.status_code >= 500:
                verdict = f"robots.txt answered {r.status_code}; treated as disallow-all (RFC 9309)"
            elif r.status_code >= 400:
                verdict = RobotFileParser()
                verdict.parse([])  # no robots.txt: everything allowed
            else:
                verdict = RobotFileParser()
                verdict.parse(r.text[:500_000].splitlines())
        except requests.RequestException as exc:
            verdict = f"robots.txt unreachable ({type(exc).__name__}); treated as disallow-all (RFC 9309)"
        finally:
            self._gate.release(key)
        return verdict

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
        self, url: str, kind: str, headers: dict[str, str], result: FetchResult
    ) -> requests.Response:
        key = host_key(url)
        result.attempts += 1
        self._gate.acquire(key)
        try:
            try:
                resp = self._session.get(
                    url,
                    headers=headers,
                    timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                    stream=True,
                    allow_redirects=False,
                )
            except requests.exceptions.ConnectionError as exc:  # includes ConnectTimeout
                raise RetryableFailure(f"connection failed: {_short(exc)}") from None
            except requests.exceptions.Timeout:
                raise FetchFailure(
                    f"no response within the read timeout ({self.policy.read_timeout:g} s)"
                ) from None
            except requests.RequestException as exc:
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
                self._read_body(resp, kind, result)
            return resp
        finally:
            self._gate.release(key)

    def _read_body(self, resp: requests.Response, kind: str, result: FetchResult) -> None:
        """Stream the body under the size cap; check it is complete and of the expected type."""
        declared = resp.headers.get("Content-Length")
        declared_n = int(declared) if declared and declared.isascii() and declared.isdigit() else None
        if declared_n is not None and declared_n > self.policy.max_bytes:
            resp.close()
            raise FetchFailure(
                f"body of {declared_n} bytes exceeds --max-bytes {self.policy.max_bytes}", resp.status_code
            )
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in resp.raw.stream(65536, decode_content=False):
                total += len(chunk)
                if total > self.policy.max_bytes:
                    resp.close()
                    raise FetchFailure(
                        f"body exceeds --max-bytes {self.policy.max_bytes} (stopped reading)",
                        resp.status_code,
                    )
                chunks.append(chunk)
        except FetchFailure:
            raise
        except Exception as exc:  # urllib3 ProtocolError / IncompleteRead / ReadTimeoutError / reset
            name = type(exc).__name__
            if "Timeout" in name:
                raise FetchFailure(
                    f"body stalled past the read timeout ({self.policy.read_timeout:g} s)", resp.status_code
                ) from None
            raise FetchFailure(
                f"body incomplete after {total} bytes"
                + (f" of {declared_n}" if declared_n is not None else "")
                + f" ({name})",
                resp.status_code,
            ) from None
        raw = b"".join(chunks)
        result.bytes_received += total
        if declared_n is not None and total != declared_n:
            raise FetchFailure(f"body incomplete: {total} of {declared_n} bytes", resp.status_code)
        encoding = resp.headers.get("Content-Encoding", "").lower().strip()
        if encoding in ("gzip", "deflate"):
            import zlib

            try:
                raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
            except zlib.error:
                raise FetchFailure(f"body is not valid {encoding} (truncated?)", resp.status_code) from None
            if len(raw) > self.policy.max_bytes:
                raise FetchFailure(
                    f"decoded body exceeds --max-bytes {self.policy.max_bytes}", resp.status_code
                )
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
        try:
            return self._fetch(url, kind, etag, last_modified, result)
        except RobotsDisallowed as exc:
            result.outcome, result.detail = "skipped", str(exc)
        except FetchFailure as exc:
            result.outcome, result.detail = "failed", exc.detail
            result.http_status = exc.status if exc.status is not None else result.http_status
        return result

    def _fetch(
        self, url: str, kind: str, etag: str | None, last_modified: str | None, result: FetchResult
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
                stop=stop_after_attempt(self.policy.max_attempts),
                wait=self._wait,
                retry=retry_if_exception_type(RetryableFailure),
                sleep=self.sleep,
                reraise=True,
            )
            try:
                resp = retrying(self._request_once, current, kind, headers, result)
            except RetryableFailure as exc:
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
