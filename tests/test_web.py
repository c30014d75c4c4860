"""The web page and JSON API (coverage_lookup.web) through FastAPI's test client: no network, no server.

What a clerk sees (the form, the answer card, the batch table and its download) and what a program
gets (the Determination JSON, errors in InputError's shape, accepted values, the OpenAPI schema),
plus the limits and the privacy promises: a 413 for a large upload, no-store headers, nothing logged.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from coverage_lookup import InputError, check
from coverage_lookup.web import create_app
from coverage_lookup.web.cli import add_parser, run
from tests.conftest import TODAY

with warnings.catch_warnings():
    # Starlette's test client asks for httpx2 and warns when it finds httpx instead.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MEDI_CAL: dict[str, Any] = {"coverage": "Medi-Cal", "condition": "sciatica", "service_date": "3/1/2024"}
HEADER = ["patient", "insurance", "dx", "condition", "DOS", "provider"]
ROWS = [
    ["A. Example", "Medi-Cal", "", "sciatica", "3/1/2024", ""],
    ["B. Example", "Medicare Part B", "M54.50", "", "2024-03-01", "MD"],
    ["C. Example", "TRICARE", "", "migraine", "3/1/2024", ""],
    ["D. Example", "Medi-Cal", "", "sciatica", "13/45/2024", ""],  # the bad row: no such date
]
STATUSES = ["covered", "covered", "not_covered", "error"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(today=TODAY)) as c:
        yield c


def csv_bytes(header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(header: list[str] = HEADER, rows: list[list[str]] = ROWS) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in [header, *rows]:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"field", "value", "valid", "hint"}
    return dict(body["error"])


# ---------------------------------------------------------------------------------------- JSON API


def test_api_check_answers_card_style_values_like_check(client: TestClient) -> None:
    response = client.post("/api/check", json=MEDI_CAL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "covered"
    assert body["coverage"] == "medicaid" and body["state"] == "CA"
    assert body["service_date"] == "2024-03-01"
    assert any("Medi-Cal" in r for r in body["read_as"])
    # The answer is check()'s Determination, field for field, with the payer checklist beside it.
    checklist = body.pop("ask_the_payer")
    assert body == check(**MEDI_CAL, today=TODAY).model_dump(mode="json")
    assert checklist and all(isinstance(q, str) and q.endswith("?") for q in checklist)
    citation = body["rules_applied"][0]["citations"][0]
    assert citation["kind"] in ("primary", "copy", "secondary")
    assert citation["issuer"] and citation["retrieved"]


def test_api_check_takes_diagnosis_lists_and_counts_visits(client: TestClient) -> None:
    question = {
        "coverage": "Medicare Part B",
        "diagnosis": ["M54.50"],
        "provider": "physician",
        "service_date": "2024-03-01",
        "visits_used": 14,
    }
    body = client.post("/api/check", json=question).json()
    assert body["coverage"] == "medicare"
    assert [dx["code"] for dx in body["diagnoses"]] == ["M54.50"]
    assert body["limits"] and body["limits"][0]["remaining"] is not None


@pytest.mark.parametrize(
    ("question", "field", "value"),
    [
        ({**MEDI_CAL, "service_date": "13/45/2024"}, "service_date", "13/45/2024"),
        ({**MEDI_CAL, "coverage": "Medi-Kal"}, "coverage", "Medi-Kal"),
        ({**MEDI_CAL, "condition": "sciatika"}, "condition", "sciatika"),
        ({**MEDI_CAL, "visits_used": -1}, "visits_used", -1),
        ({**MEDI_CAL, "visits_used": "many"}, "visits_used", "many"),
        ({**MEDI_CAL, "insurance": "Medi-Cal"}, "insurance", "Medi-Cal"),
        ({"condition": "sciatica"}, "coverage", None),
    ],
)
def test_api_errors_have_the_input_error_shape(
    client: TestClient, question: dict[str, Any], field: str, value: object
) -> None:
    response = client.post("/api/check", json=question)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["field"], error["value"]) == (field, value)
    assert error["valid"]


@pytest.mark.parametrize(
    "question",
    [
        {**MEDI_CAL, "coverage": "Medi-Kal"},
        {**MEDI_CAL, "service_date": "2024-02-30"},
        {"coverage": "medicare", "diagnosis": "M54.5", "service_date": "2024-03-01"},
    ],
)
def test_api_error_texts_are_the_library_s(client: TestClient, question: dict[str, Any]) -> None:
    with pytest.raises(InputError) as refused:
        check(**question, today=TODAY)
    error = error_of(client.post("/api/check", json=question))
    expected = refused.value
    assert error == {
        "field": expected.field,
        "value": expected.value,
        "valid": expected.valid,
        "hint": expected.hint,
    }


def test_api_names_the_fields_of_a_question_for_an_unknown_one(client: TestClient) -> None:
    error = error_of(client.post("/api/check", json={**MEDI_CAL, "insurance": "x"}))
    assert "coverage" in error["valid"] and "service_date" in error["valid"]


def test_api_refuses_a_body_that_is_not_json(client: TestClient) -> None:
    response = client.post(
        "/api/check", content=b"{coverage: medicare", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "body"
    response = client.post("/api/check", json=["medicare"])
    assert response.status_code == 422
    assert error_of(response)["field"] == "body"


def test_values_endpoint_lists_card_names_and_conditions(client: TestClient) -> None:
    coverage = client.get("/api/values/coverage").json()
    names = {v["value"] for v in coverage} | {a for v in coverage for a in v["aliases"]}
    assert {"medicare", "Medi-Cal", "Medicare Part B"} <= names
    assert all(set(v) >= {"value", "label", "aliases"} for v in coverage)
    conditions = client.get("/api/values/conditions").json()
    assert "sciatica" in {v["value"] for v in conditions}
    states = client.get("/api/values/states").json()
    assert {"value": "CA", "label": "California", "aliases": ["06"]} in states


def test_values_endpoint_refuses_an_unknown_kind(client: TestClient) -> None:
    response = client.get("/api/values/insurers")
    assert response.status_code == 422
    error = error_of(response)
    assert (error["field"], error["value"]) == ("kind", "insurers")
    assert "coverage" in error["valid"] and "payers" in error["valid"]


def test_openapi_lists_the_endpoints_with_their_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/api/check", "/api/batch", "/api/values/{kind}", "/batch/download"} <= set(paths)
    check_op = paths["/api/check"]["post"]
    assert check_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CheckRequest")
    assert check_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CheckAnswer"
    )
    assert check_op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )
    components = schema["components"]["schemas"]
    assert "ask_the_payer" in components["CheckAnswer"]["properties"]
    assert set(components["ErrorDetail"]["properties"]) == {"field", "value", "valid", "hint"}
    batch_body = paths["/api/batch"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert batch_body["properties"]["file"]["format"] == "binary"
    assert paths["/api/batch"]["post"]["responses"]["413"]
    # The page routes are for people, not part of the API's schema.
    assert "/" not in paths and "/check" not in paths


def test_no_interactive_docs_from_a_cdn(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


# ------------------------------------------------------------------------------------------- pages


def test_form_page_offers_card_names_and_conditions(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'name="coverage"' in html and 'list="values-coverage"' in html
    assert '<option value="Medi-Cal">' in html
    assert '<option value="sciatica">' in html
    assert 'placeholder="3/1/2024"' in html
    assert "https://" not in html.split("<main>")[0]  # nothing loaded from elsewhere


def test_form_check_renders_the_answer_card(client: TestClient) -> None:
    page = client.post("/check", data=MEDI_CAL)
    assert page.status_code == 200
    html = page.text
    assert '<p class="mark" id="status">COVERED</p>' in html
    assert "&#39;Medi-Cal&#39; read as Medicaid in CA" in html
    assert "Benefit" in html and "Medical necessity" in html
    assert "Visit limits" in html and "2 visits per month" in html
    assert "California Department of Health Care Services" in html  # a citation's issuer
    assert "retrieved 20" in html
    assert "What to ask the payer" in html
    d = check(**MEDI_CAL, today=TODAY)
    from coverage_lookup.api import determine
    from coverage_lookup.render import ask_the_payer

    for question in ask_the_payer(determine(**MEDI_CAL, today=TODAY)):
        assert question.replace("'", "&#39;") in html
    assert d.summary.split(" — ")[0] in html
    # The form is filled again with what was typed.
    assert 'value="Medi-Cal"' in html and 'value="3/1/2024"' in html


def test_form_takes_codes_in_the_condition_box(client: TestClient) -> None:
    page = client.post(
        "/check",
        data={
            "coverage": "Medicare Part B",
            "condition": "M54.50",
            "provider": "MD",
            "service_date": "3/1/2024",
            "visits_used": "3",
        },
    )
    assert page.status_code == 200
    assert "diagnosis M54.50" in page.text
    assert "remaining:" in page.text


def test_form_error_shows_field_value_and_what_is_valid(client: TestClient) -> None:
    page = client.post("/check", data={**MEDI_CAL, "service_date": "13/45/2024"})
    assert page.status_code == 422
    html = page.text
    assert 'role="alert"' in html
    assert "Date of service:</strong> &#39;13/45/2024&#39; is not valid" in html
    assert "month first" in html
    assert 'name="service_date" value="13/45/2024"' in html
    assert 'aria-invalid="true"' in html
    assert "Traceback" not in html


def test_form_error_for_a_retired_code_names_its_replacements(client: TestClient) -> None:
    page = client.post(
        "/check", data={"coverage": "medicare", "condition": "M54.5", "service_date": "2024-03-01"}
    )
    assert page.status_code == 422
    assert "Condition or diagnosis code:</strong>" in page.text
    assert "M54.50" in page.text


# ------------------------------------------------------------------------------------------ batches


@pytest.mark.parametrize(("name", "make"), [("day.csv", csv_bytes), ("day.xlsx", xlsx_bytes)])
def test_api_batch_answers_every_row_and_reports_the_bad_one(
    client: TestClient, name: str, make: Any
) -> None:
    response = client.post("/api/batch", files={"file": (name, make())})
    assert response.status_code == 200
    body = response.json()
    assert body["header"][: len(HEADER)] == HEADER
    assert {"status", "summary", "ask_the_payer", "sources", "error"} <= set(body["header"])
    rows = body["rows"]
    assert [r["patient"] for r in rows] == [r[0] for r in ROWS]
    assert [r["status"] for r in rows] == STATUSES
    assert "service_date" in rows[3]["error"] and "13/45/2024" in rows[3]["error"]
    assert body["counts"] == {"covered": 2, "not_covered": 1, "error": 1}


def test_batch_page_shows_the_table_counts_and_download(client: TestClient) -> None:
    page = client.post("/batch", files={"file": ("day.csv", csv_bytes(), "text/csv")})
    assert page.status_code == 200
    html = page.text
    assert "4 rows:" in html and "2 covered" in html and "1 error" in html
    assert html.count('<tr class="status-') == len(ROWS)
    assert "D. Example" in html and "13/45/2024" in html
    assert 'action="/batch/download?format=xlsx"' in html
    assert 'name="upload_b64" value="' + base64.b64encode(csv_bytes()).decode() + '"' in html


def test_download_sends_back_every_row_as_csv_and_xlsx(client: TestClient) -> None:
    echo = {"upload_b64": (None, base64.b64encode(csv_bytes()).decode()), "filename": (None, "day.csv")}
    response = client.post("/batch/download?format=csv", files=echo)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="day-answers.csv"'
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][: len(HEADER)] == HEADER
    assert [row[0] for row in table[1:]] == [r[0] for r in ROWS]

    response = client.post("/batch/download?format=xlsx", files={"file": ("day.xlsx", xlsx_bytes())})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [list(row) for row in ws.iter_rows(values_only=True)]
    assert [row[0] for row in cells[1:]] == [r[0] for r in ROWS]
    status = cells[0].index("status")
    assert [row[status] for row in cells[1:]] == STATUSES


def test_unreadable_or_missing_uploads_are_input_errors(client: TestClient) -> None:
    response = client.post("/api/batch", files={"file": ("day.xlsx", b"not a workbook")})
    assert response.status_code == 422
    assert error_of(response)["field"] == "file"
    response = client.post("/api/batch", files={"file": ("day.csv", b"name,dob\nA,1970-01-01\n")})
    assert response.status_code == 422
    assert "coverage column" in error_of(response)["valid"]
    response = client.post("/api/batch", data={"note": "no file"}, files={"other": ("x.csv", b"a")})
    assert response.status_code == 422 and error_of(response)["field"] == "file"
    response = client.post("/api/batch", json={"file": "day.csv"})
    assert response.status_code == 422 and error_of(response)["field"] == "file"
    page = client.post("/batch", files={"file": ("day.xlsx", b"not a workbook")})
    assert page.status_code == 422
    assert "File:</strong> &#39;day.xlsx&#39; is not valid" in page.text


@pytest.fixture(scope="module")
def small() -> Iterator[TestClient]:
    with TestClient(create_app(today=TODAY, max_upload_bytes=2_000)) as c:
        yield c


def test_oversized_upload_is_refused_with_413(small: TestClient) -> None:
    big = csv_bytes(rows=ROWS * 40)
    assert len(big) > 2_000
    response = small.post("/api/batch", files={"file": ("day.csv", big)})
    assert response.status_code == 413
    error = error_of(response)
    assert error["field"] == "file" and "2,000 bytes" in error["valid"]
    page = small.post("/batch", files={"file": ("day.csv", big)})
    assert page.status_code == 413
    assert "larger than the limit of 2,000 bytes" in page.text
    # Within the limit, the same client answers.
    assert small.post("/api/batch", files={"file": ("day.csv", csv_bytes())}).status_code == 200


def test_oversized_body_is_refused_by_its_declared_length_before_reading(small: TestClient) -> None:
    body = b"x" * 200_000
    response = small.post(
        "/api/batch",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(len(body))},
    )
    assert response.status_code == 413


def test_oversized_body_without_a_length_is_cut_off_while_streaming(small: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="day.csv"\r\n\r\n'
        for _ in range(100):
            yield b"coverage\n" + b"medicare\n" * 100

    response = small.post(
        "/api/batch", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413
    response = small.post(
        "/api/check", content=(b" " * 1024 for _ in range(100)), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert error_of(response)["field"] == "body"


# ----------------------------------------------------------------------------------------- privacy


def test_answers_are_not_cached_and_pages_are_locked_down(client: TestClient) -> None:
    for response in (client.post("/check", data=MEDI_CAL), client.post("/api/check", json=MEDI_CAL)):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/static/style.css").status_code == 200


def test_nothing_asked_is_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    marker = "Zyxwvut Medical Group"
    with caplog.at_level(logging.DEBUG):
        client.post("/api/check", json={**MEDI_CAL, "payer": marker})
        client.post("/check", data={**MEDI_CAL, "payer": marker, "service_date": "99/99/2024"})
        client.post("/api/batch", files={"file": ("day.csv", csv_bytes(rows=[[marker, *ROWS[0][1:]]]))})
    assert marker not in caplog.text


def test_an_unexpected_error_is_a_plain_500_and_logs_no_message(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("Zyxwvut's diagnosis")

    monkeypatch.setattr("coverage_lookup.web.app.determine", broken)
    with caplog.at_level(logging.DEBUG):
        response = client.post("/api/check", json=MEDI_CAL)
        page = client.post("/check", data=MEDI_CAL)
    assert response.status_code == 500
    assert error_of(response)["field"] == "server"
    assert page.status_code == 500 and "Nothing was stored" in page.text
    assert "RuntimeError" in caplog.text
    assert "Zyxwvut" not in caplog.text + response.text + page.text


def test_reloading_an_answer_goes_back_to_the_form(client: TestClient) -> None:
    response = client.get("/check", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/")


# ---------------------------------------------------------------------------------------- the CLI


def serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="coverage-lookup")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_serve_binds_to_this_computer_without_an_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: calls.append((a, kw)))
    assert run(serve_args()) == 0
    (args, kwargs), *_ = calls
    assert args == ("coverage_lookup.web.app:create_app",)
    assert kwargs["factory"] is True
    assert (kwargs["host"], kwargs["port"], kwargs["workers"]) == ("127.0.0.1", 8765, 1)
    assert kwargs["access_log"] is False


def test_serve_warns_when_other_computers_can_reach_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *_a, **_kw: None)
    assert run(serve_args("--host", "0.0.0.0", "--port", "9000", "--workers", "3")) == 0
    assert "other computers can reach this page" in capsys.readouterr().err
    run(serve_args("--host", "::1"))
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("argv", [("--port", "0"), ("--port", "http"), ("--workers", "0")])
def test_serve_refuses_bad_numbers(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        serve_args(*argv)
    assert "is not valid; use a whole number" in capsys.readouterr().err
