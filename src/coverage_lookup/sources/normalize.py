"""Documents → their meaningful text, so that only real changes count.

HTML: the main content (``<main>``, ``role=main``, ``<article>`` or the body) without scripts, styles,
navigation, headers, footers and forms. PDF: the text of every page (pypdf). JSON: canonical form
(sorted keys) without volatile keys. Zip: the member listing with a hash per member (bounded: see
:class:`ZipLimits`; member names that could traverse paths are refused). In all of them
whitespace is collapsed, and times of day, session ids and "page last updated" lines are dropped.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

VOLATILE_LINE = re.compile(
    r"^(page\s+)?(last\s+)?(updated|modified|generated|printed|retrieved|accessed|viewed)\b.*$"
    r"|^page \d+ of \d+$|^copyright\b.*$|^©.*$",
    re.I,
)
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\s?([ap]\.?m\.?)?\b", re.I)
SESSION_ID = re.compile(r"([;?&](jsessionid|phpsessid|sessionid|sid|cfid|cftoken)=)[\w.-]+", re.I)
VOLATILE_KEYS = frozenset(
    {"timestamp", "generated", "generated_at", "request_id", "requestid", "server_time", "retrieved", "took"}
)
DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
)


class NormalizeError(Exception):
    """The document cannot be read as its kind (not valid PDF/JSON/zip)."""


def clean_lines(text: str) -> str:
    lines = []
    for raw in text.splitlines():
        line = SESSION_ID.sub(r"\1", raw)
        line = TIME_OF_DAY.sub("", line)
        line = " ".join(line.split())
        if not line or VOLATILE_LINE.match(line):
            continue
        lines.append(line)
    return "\n".join(lines)


def html_text(body: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    for tag in soup(list(DROP_TAGS)):
        tag.decompose()
    main = soup.find("main") or soup.find(None, {"role": "main"}) or soup.find("article") or soup.body or soup
    return clean_lines(main.get_text("\n"))


def pdf_text(body: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise NormalizeError(f"not a readable PDF ({type(exc).__name__})") from None
    return clean_lines("\n".join(pages))


def _drop_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_volatile(v) for k, v in value.items() if str(k).lower() not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


def json_text(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NormalizeError(f"not valid JSON ({exc.__class__.__name__})") from None
    return json.dumps(_drop_volatile(data), sort_keys=True, indent=1, ensure_ascii=False)


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on reading an archive: a zip bomb (a tiny member that inflates hugely, or many members
    that together do) is refused while it is being read, before its size is reached."""

    max_member_bytes: int = 64 * 1024 * 1024  # decompressed bytes of one member
    max_total_bytes: int = 256 * 1024 * 1024  # decompressed bytes of all members together
    max_ratio: float = 200.0  # decompressed / compressed bytes of one member
    max_members: int = 10_000
    ratio_floor: int = 1024 * 1024  # members smaller than this are not held to max_ratio


ZIP_LIMITS = ZipLimits()
_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_member_name(name: str) -> str | None:
    """Why a member name could escape an extraction directory (absolute, drive letter, '..'), or None."""
    if "\0" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    if any(part == ".." for part in re.split(r"[/\\]", name)):
        return "contains a '..' component"
    return None


def zip_text(body: bytes, limits: ZipLimits = ZIP_LIMITS) -> str:
    """The member listing with a hash per member. Members are streamed (never held whole), counting
    the bytes actually inflated against the per-member and total caps and the ratio guard — the
    sizes in the archive's headers are not trusted."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                raise NormalizeError(
                    f"zip archive has {len(infos)} members, more than the {limits.max_members} allowed"
                )
            for info in infos:
                why = unsafe_member_name(info.filename)
                if why:
                    raise NormalizeError(f"zip member name {info.filename!r} {why} (path traversal refused)")
            total = 0
            rows = []
            for info in sorted(infos, key=lambda i: i.filename):
                if info.is_dir():
                    continue
                _check_sizes(
                    info.filename, info.file_size, info.compress_size, total + info.file_size, limits
                )
                digest = hashlib.sha256()
                size = 0
                with zf.open(info) as member:
                    while chunk := member.read(65536):
                        size += len(chunk)
                        total += len(chunk)
                        _check_sizes(info.filename, size, info.compress_size, total, limits)
                        digest.update(chunk)
                rows.append(f"{info.filename}\t{size}\t{digest.hexdigest()}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise NormalizeError(f"not a readable zip archive ({exc.__class__.__name__})") from None
    return "\n".join(rows)


def _check_sizes(name: str, size: int, compressed: int, total: int, limits: ZipLimits) -> None:
    if size > limits.max_member_bytes:
        raise NormalizeError(
            f"zip member {name!r} inflates past {limits.max_member_bytes} bytes (zip bomb refused)"
        )
    if total > limits.max_total_bytes:
        raise NormalizeError(
            f"zip members inflate past {limits.max_total_bytes} bytes in total (zip bomb refused)"
        )
    if size > limits.ratio_floor and size > limits.max_ratio * max(compressed, 1):
        raise NormalizeError(
            f"zip member {name!r} inflates more than {limits.max_ratio:g}x its compressed size of "
            f"{compressed} bytes (zip bomb refused)"
        )


NORMALIZERS = {"html": html_text, "pdf": pdf_text, "json": json_text, "zip": zip_text}


def normalize(kind: str, body: bytes) -> str:
    return NORMALIZERS[kind](body)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
