"""The local web page and JSON API for clinic billing staff (``coverage-lookup serve``).

Thin: every answer is :func:`coverage_lookup.check`'s (its two steps, ``determine`` and ``to_model``,
as the CLI calls them, so the card and the checklist render from the plain record), or the batch
module's for tables; both read only the local, read-only dataset. Nothing a clerk sends is stored or logged: request bodies are
never logged, uploads are parsed in memory (:mod:`.uploads`), and results exist only in the response
(a page's download button sends the upload back to be answered again; nothing is kept in between).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import pathlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import records
from ..api import determine, get_dataset, to_model
from ..batch import Result, answer_table, read_table, write_table
from ..errors import InputError, one_of, shown
from ..render import ask_the_payer
from ..vocabulary import VALUE_KINDS, accepted_values
from . import pages
from .schemas import (
    ERROR_RESPONSES,
    UPLOAD_RESPONSES,
    AcceptedValue,
    BatchAnswer,
    CheckAnswer,
    CheckRequest,
    ErrorResponse,
)
from .uploads import BodyLimit, TooLarge, read_upload

log = logging.getLogger("coverage_lookup.web")
_ANSWER_JSON: TypeAdapter[records.Determination] = TypeAdapter(records.Determination)

STATUS_ORDER = ("covered", "conditional", "not_covered", "unknown", "error")
FORM_BODY_LIMIT = 64 * 1024  # a question is a few hundred bytes
UPLOAD_PATHS = ("/batch", "/api/batch")
DOWNLOAD_PATH = "/batch/download"
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
]


def error_body(error: InputError) -> dict[str, Any]:
    return {
        "error": {
            "field": error.field,
            "value": _jsonable(error.value),
            "valid": error.valid,
            "hint": error.hint,
        }
    }


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return shown(value)


def _validation_error(exc: RequestValidationError) -> InputError:
    """FastAPI's validation error as the library's InputError: the first problem, in its shape."""
    errors = exc.errors()
    if not errors:
        return InputError("body", None, "send a JSON object with the question's fields")
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "path", "query")]
    kind = first.get("type", "")
    name = ".".join(loc) if loc and kind != "json_invalid" else "body"
    value = first.get("input")
    if kind == "json_invalid":
        return InputError("body", None, "send a valid JSON object", first.get("msg"))
    if kind == "extra_forbidden":
        return InputError(
            name, value, "not a field of a question; " + one_of(CheckRequest.model_fields, limit=20)
        )
    if kind == "missing":
        return InputError(name, None, f"{name} is required")
    if kind == "model_attributes_type" or name == "body":
        return InputError("body", _jsonable(value), "send a JSON object with the question's fields")
    return InputError(name, _jsonable(value), str(first.get("msg", "not valid")))


class Guard:
    """Outermost ASGI middleware: security and no-store headers on every response, and an
    unexpected error answered with a plain 500 and logged by its type only — an exception's message
    may quote what was asked, and nothing asked is logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        cacheable = scope["path"].startswith("/static/")

        async def headed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not cacheable:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, headed)
        except Exception as exc:
            log.error("internal error %s on %s %s", type(exc).__name__, scope.get("method"), scope["path"])
            if started:
                return  # the server closes the unfinished response; re-raising would log the message
            if scope["path"].startswith("/api/"):
                body = {
                    "error": {
                        "field": "server",
                        "value": None,
                        "valid": "an internal error; nothing was stored",
                        "hint": None,
                    }
                }
                response: Response = JSONResponse(body, status_code=500)
            else:
                response = HTMLResponse("<p>Something went wrong on the server. Nothing was stored.</p>", 500)
            await response(scope, receive, headed)


def answer_json(question: CheckRequest, today: date | None, data_dir: pathlib.Path | None) -> bytes:
    """The answer to one question as the API's JSON: the Determination's object with the checklist
    added as its last member (the CheckAnswer schema). Serialised once, straight from the answer
    record (the records and the models have the same fields, see tests/test_records.py)."""
    d = determine(**question.model_dump(exclude_none=True), today=today, data_dir=data_dir)
    answer = _ANSWER_JSON.dump_json(d)
    checklist = json.dumps(ask_the_payer(d), ensure_ascii=False).encode()
    return answer[:-1] + b',"ask_the_payer":' + checklist + b"}"


class CheckFastPath:
    """``POST /api/check`` with a JSON body, answered without the framework's routing and dependency
    machinery: a single check is the API's hot path, and that machinery cost more than the check
    itself. Same validation (:class:`CheckRequest`), same answer (:func:`answer_json`), same error
    shapes as the route; inside :class:`BodyLimit` and :class:`Guard`, so the size limit, the headers
    and the no-logging rule hold as for every other request."""

    def __init__(self, app: ASGIApp, today: date | None, data_dir: pathlib.Path | None) -> None:
        self.app = app
        self.today = today
        self.data_dir = data_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/api/check"
            or scope["method"] != "POST"
            or not dict(scope["headers"]).get(b"content-type", b"").startswith(b"application/json")
        ):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        from pydantic import ValidationError

        status = 200
        try:
            question = CheckRequest.model_validate_json(b"".join(chunks))
            body = answer_json(question, self.today, self.data_dir)
        except ValidationError as exc:
            status, body = 422, _error_json(_validation_error(RequestValidationError(exc.errors())))
        except InputError as exc:
            status, body = 422, _error_json(exc)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _error_json(error: InputError) -> bytes:
    return json.dumps(error_body(error), ensure_ascii=False, separators=(",", ":")).encode()


def _download_name(filename: str | None, fmt: str) -> str:
    stem = pathlib.PurePath(filename or "table").stem
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "table"
    return f"{safe[:80]}-answers.{fmt}"


def create_app(
    data_dir: pathlib.Path | str | None = None, today: date | None = None, max_upload_bytes: int = 5_000_000
) -> FastAPI:
    """The web app. ``data_dir`` and ``today`` are passed to every check (``today`` None: the
    clock's date per request); ``max_upload_bytes`` caps an uploaded table (413 above it)."""
    directory = pathlib.Path(data_dir) if data_dir is not None else None
    env = pages.environment()
    values: dict[str, list[dict[str, Any]]] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Load the dataset, the code index and the answer models now, not on a clerk's first question.
        values.update(_accepted(directory))
        warm = determine(
            "medicare", diagnosis="M54.50", provider="physician", today=today, data_dir=directory
        )
        to_model(warm).model_dump_json()
        yield

    app = FastAPI(
        title="coverage_lookup",
        summary="Does this plan cover acupuncture for this condition, here, on this date — and says who?",
        description="A local page and JSON API over the offline coverage_lookup dataset. "
        "Nothing sent is stored or logged.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json is enough
        redoc_url=None,
    )

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        if not values:  # a TestClient used without its context manager skips the lifespan
            values.update(_accepted(directory))
        context.setdefault("values", values)
        context.setdefault("max_upload_bytes", max_upload_bytes)
        return HTMLResponse(env.get_template(name).render(context), status_code=status)

    def too_large(scope: Scope, exc: TooLarge) -> Response:
        path = scope["path"]
        if path in (*UPLOAD_PATHS, DOWNLOAD_PATH):
            # The body's own limit leaves room for the form's framing; the clerk's limit is the file's.
            field, limit, hint = "file", max_upload_bytes, "split the table into smaller files"
        else:
            field, limit, hint = "body", exc.limit, None
        if path.startswith("/api/"):
            error = InputError(field, f"more than {limit:,} bytes", f"send at most {limit:,} bytes", hint)
            return JSONResponse(error_body(error), 413)
        message = f"The {'file' if field == 'file' else 'form'} is larger than the limit of {limit:,} bytes."
        if field == "file":
            return page("batch.html", 413, message=message + " Split the table into smaller files.")
        return HTMLResponse(f"<p>{message}</p>", 413)

    upload_body_limit = max_upload_bytes + 64 * 1024  # the file, and the form's framing around it
    app.add_middleware(CheckFastPath, today=today, data_dir=directory)
    app.add_middleware(
        BodyLimit,
        default=FORM_BODY_LIMIT,
        limits={
            **dict.fromkeys(UPLOAD_PATHS, upload_body_limit),
            DOWNLOAD_PATH: upload_body_limit + max_upload_bytes // 3 + 4,  # the upload sent back as base64
        },
        refuse=too_large,
    )
    app.add_middleware(Guard)

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(_validation_error(exc)), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc, TooLarge):
            return too_large(request.scope, exc)
        if request.url.path.startswith("/api/"):
            body = {
                "error": {"field": "path", "value": request.url.path, "valid": str(exc.detail), "hint": None}
            }
            return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
        return HTMLResponse(f"<p>{exc.detail}</p><p><a href='/'>Check a question</a></p>", exc.status_code)

    # ------------------------------------------------------------------ JSON API

    async def answered(data: bytes, filename: str, for_spreadsheet: bool = True) -> Result:
        """A table answered off the event loop (a large one takes a while). Formula cells are
        neutralised for a spreadsheet, not in JSON, where nothing runs them."""
        table = await run_in_threadpool(read_table, data, filename)
        return await run_in_threadpool(
            lambda: answer_table(table, today=today, data_dir=directory, for_spreadsheet=for_spreadsheet)
        )

    @app.post(
        "/api/check", response_model=CheckAnswer, responses=ERROR_RESPONSES, summary="Answer one question"
    )
    async def api_check(question: CheckRequest) -> Response:
        # Requests with a JSON body are answered by CheckFastPath before they reach this route; it
        # stays for the OpenAPI schema and for bodies sent without a JSON content type.
        return Response(answer_json(question, today, directory), media_type="application/json")

    @app.post(
        "/api/batch",
        response_model=BatchAnswer,
        responses=UPLOAD_RESPONSES,
        summary="Answer every row of an uploaded table (.csv or .xlsx)",
        openapi_extra=_multipart_body(),
    )
    async def api_batch(request: Request) -> BatchAnswer:
        upload = await read_upload(request, file_field="file", max_file_bytes=max_upload_bytes)
        data, filename = _chosen(upload.data, upload.filename)
        result = await answered(data, filename, for_spreadsheet=False)
        return BatchAnswer(
            header=result.header,
            rows=[dict(zip(result.header, row, strict=False)) for row in result.rows],
            counts=dict(result.counts),
        )

    @app.get(
        "/api/values/{kind}",
        response_model=list[AcceptedValue],
        responses={422: {"model": ErrorResponse}},
        summary="Accepted values of a field, with labels and aliases",
    )
    async def api_values(
        kind: Annotated[str, Path(description="the field", json_schema_extra={"enum": list(VALUE_KINDS)})],
    ) -> list[dict[str, Any]]:
        return values.get(kind) or accepted_values(kind, get_dataset(directory))

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def check_page() -> HTMLResponse:
        return page("check.html", form={})

    @app.get("/check", include_in_schema=False)
    async def check_again() -> RedirectResponse:
        return RedirectResponse("/", status_code=303)  # a reload of an answer: nothing to show again

    @app.post("/check", response_class=HTMLResponse, include_in_schema=False)
    async def check_form(request: Request) -> HTMLResponse:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            d = determine(**pages.question_from_form(form), today=today, data_dir=directory)
        except InputError as exc:
            return page("check.html", 422, form=form, error=pages.error_view(exc))
        return page("check.html", form=form, d=d, ask=ask_the_payer(d))

    @app.get("/batch", response_class=HTMLResponse, include_in_schema=False)
    async def batch_page() -> HTMLResponse:
        return page("batch.html")

    @app.post("/batch", response_class=HTMLResponse, include_in_schema=False)
    async def batch_form(request: Request) -> HTMLResponse:
        try:
            upload = await read_upload(request, file_field="file", max_file_bytes=max_upload_bytes)
            data, filename = _chosen(upload.data, upload.filename)
            result = await answered(data, filename)
        except InputError as exc:
            return page("batch.html", 422, error=pages.error_view(exc))
        return page(
            "batch.html",
            result=result,
            counts=_ordered(result.counts),
            status_column=result.header.index("status") if "status" in result.header else -1,
            filename=filename,
            upload_b64=base64.b64encode(data).decode("ascii"),
        )

    @app.post(
        DOWNLOAD_PATH,
        summary="Answer an uploaded table and return it as a file",
        response_class=Response,
        responses={
            **UPLOAD_RESPONSES,
            200: {"content": {v: {} for v in FORMATS.values()}, "description": "the answered table"},
        },
        openapi_extra=_multipart_body(
            extra={"upload_b64": "the file as base64 (the result page sends this)", "filename": "its name"}
        ),
    )
    async def batch_download(
        request: Request, fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv"
    ) -> Response:
        try:
            data, filename = await _upload_or_echo(request, max_upload_bytes)
            result = await answered(data, filename)
        except InputError as exc:
            return page("batch.html", 422, error=pages.error_view(exc))
        content = await run_in_threadpool(write_table, result, fmt)
        name = _download_name(filename, fmt)
        return Response(
            content,
            media_type=FORMATS[fmt],
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")
    return app


def _accepted(directory: pathlib.Path | None) -> dict[str, list[dict[str, Any]]]:
    ds = get_dataset(directory)
    return {kind: accepted_values(kind, ds) for kind in VALUE_KINDS}


async def _upload_or_echo(request: Request, max_upload_bytes: int) -> tuple[bytes, str]:
    """The table for a download: an uploaded ``file``, or the one a result page sends back as base64
    (``upload_b64`` with its ``filename``), so nothing needs to be kept between the two requests."""
    upload = await read_upload(
        request,
        file_field="file",
        max_file_bytes=max_upload_bytes,
        field_limits={"upload_b64": max_upload_bytes * 4 // 3 + 4},
    )
    if upload.filename is not None or "upload_b64" not in upload.fields:
        return _chosen(upload.data, upload.filename)
    try:
        data = base64.b64decode(upload.fields["upload_b64"], validate=True)
    except (binascii.Error, ValueError):
        raise InputError(
            "file", "upload_b64", "send the file as base64 in 'upload_b64', or as a 'file' part"
        ) from None
    if len(data) > max_upload_bytes:
        raise TooLarge(max_upload_bytes, "uploaded file")
    return _chosen(data, upload.fields.get("filename") or "table.csv")


def _chosen(data: bytes, filename: str | None) -> tuple[bytes, str]:
    if filename is None:
        raise InputError("file", None, "send the table as a multipart 'file' part (.csv or .xlsx)")
    if not filename and not data:
        raise InputError("file", "", "choose a .csv or .xlsx file")
    return data, filename


def _ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    known = [(s, counts[s]) for s in STATUS_ORDER if counts.get(s)]
    return known + sorted((s, n) for s, n in counts.items() if s not in STATUS_ORDER and n)


def _multipart_body(extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The OpenAPI description of a body read by :func:`.uploads.read_upload` (not by FastAPI)."""
    properties: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "a .csv (any encoding or delimiter) or .xlsx table",
        }
    }
    properties.update({name: {"type": "string", "description": text} for name, text in (extra or {}).items()})
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if not extra:
        schema["required"] = ["file"]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
