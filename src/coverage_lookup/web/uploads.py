"""Request bodies within limits, and uploads read into memory only.

* :class:`BodyLimit` refuses a body over its route's limit with 413: at once when ``Content-Length``
  says so (nothing is read), otherwise as soon as the bytes received pass it.
* :func:`read_upload` parses ``multipart/form-data`` as it streams in, keeping the file in memory:
  Starlette's own form parser spools files over 1 MB to a temporary file, and an uploaded table is
  patient data that must not touch the disk.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError

MAX_PARTS = 8
MAX_FIELD_BYTES = 64 * 1024


class TooLarge(HTTPException):
    """A body or an uploaded file over its limit. An HTTPException, so that FastAPI's own body
    reading passes it on rather than turning it into a 400."""

    def __init__(self, limit: int, what: str = "request body") -> None:
        self.limit = limit
        self.what = what
        super().__init__(413, f"the {what} is larger than the limit of {limit:,} bytes")


class BodyLimit:
    """ASGI middleware: a byte limit per path (``limits``), ``default`` for every other path."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int,
        limits: Mapping[str, int],
        refuse: Callable[[Scope, TooLarge], Response],
    ) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits)
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, TooLarge(limit))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge as exc:
            if started:
                raise
            await self._refuse(scope, receive, send, exc)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: TooLarge) -> None:
        await self.refuse(scope, exc)(scope, receive, send)


@dataclass
class Upload:
    """A file from a multipart form, held in memory, and the form's other (text) fields."""

    filename: str | None = None
    data: bytes = b""
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    buffer: io.BytesIO = field(default_factory=io.BytesIO)


async def read_upload(
    request: Request, *, file_field: str, max_file_bytes: int, field_limits: Mapping[str, int] | None = None
) -> Upload:
    """The multipart body's file part ``file_field`` and its text fields, all in memory.

    Raises :class:`TooLarge` as soon as the file passes ``max_file_bytes`` (a text field its limit in
    ``field_limits``, else 64 KiB), and :class:`InputError` (field ``file``) for a body that is not a
    multipart form."""
    field_limits = field_limits or {}
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InputError(
            "file",
            request.headers.get("content-type"),
            f"send the table as multipart/form-data with a {file_field!r} part (.csv or .xlsx)",
        )
    upload = Upload()
    parts: list[_Part] = []

    def begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise InputError("file", f"{len(parts) + 1} parts", f"send at most {MAX_PARTS} form fields")
        parts.append(_Part())

    def header_field(data: bytes, start: int, end: int) -> None:
        parts[-1].header_field += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        parts[-1].header_value += data[start:end]

    def header_end() -> None:
        part = parts[-1]
        if bytes(part.header_field).strip().lower() == b"content-disposition":
            _, options = parse_options_header(bytes(part.header_value))
            part.name = options.get(b"name", b"").decode("utf-8", "replace")
            raw_filename = options.get(b"filename")
            part.filename = None if raw_filename is None else raw_filename.decode("utf-8", "replace")
        part.header_field.clear()
        part.header_value.clear()

    def data(chunk: bytes, start: int, end: int) -> None:
        part = parts[-1]
        is_file = part.name == file_field and part.filename is not None
        limit = max_file_bytes if is_file else field_limits.get(part.name, MAX_FIELD_BYTES)
        if part.buffer.tell() + (end - start) > limit:
            raise TooLarge(limit, "uploaded file" if is_file else f"form field {part.name!r}")
        part.buffer.write(chunk[start:end])

    def part_end() -> None:
        part = parts[-1]
        if part.name == file_field and part.filename is not None:
            upload.filename = part.filename
            upload.data = part.buffer.getvalue()
        elif part.name:
            upload.fields[part.name] = part.buffer.getvalue().decode("utf-8", "replace")
        part.buffer = io.BytesIO()  # release the bytes: they are in `upload` now

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_part_data": data,
            "on_part_end": part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise InputError("file", None, "send a well-formed multipart/form-data body") from None
    return upload
