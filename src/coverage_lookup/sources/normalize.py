"""Documents → their meaningful text, so that only real changes count.

HTML: the main content (``<main>``, ``role=main``, ``<article>`` or the body) without scripts, styles,
navigation, headers, footers and forms. PDF: the text of every page (pypdf). JSON: canonical form
(sorted keys) without volatile keys. Zip: the member listing with a hash per member. In all of them
whitespace is collapsed, and times of day, session ids and "page last updated" lines are dropped.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
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


def zip_text(body: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            rows = []
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                if info.is_dir():
                    continue
                digest = hashlib.sha256(zf.read(info)).hexdigest()
                rows.append(f"{info.filename}\t{info.file_size}\t{digest}")
    except (zipfile.BadZipFile, OSError) as exc:
        raise NormalizeError(f"not a readable zip archive ({exc.__class__.__name__})") from None
    return "\n".join(rows)


NORMALIZERS = {"html": html_text, "pdf": pdf_text, "json": json_text, "zip": zip_text}


def normalize(kind: str, body: bytes) -> str:
    return NORMALIZERS[kind](body)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
