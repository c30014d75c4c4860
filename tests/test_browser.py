"""The web page in a real headless browser: Playwright driving Debian's Chromium (/usr/bin/chromium)
against the app served by uvicorn on 127.0.0.1, as a clerk would use it.

Skipped where Chromium is not installed, except in CI (``CI`` set), where that is a failure: the
page's only script, its form and its downloads are checked nowhere else. With
``COVERAGE_LOOKUP_SCREENSHOT=1`` the answer card is saved to docs/img/answer-card.png.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from openpyxl import load_workbook

from coverage_lookup.web import create_app
from tests.conftest import ROOT, TODAY

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a root user on a closed network: no sandbox, and no background calls to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = ROOT / "docs" / "img" / "answer-card.png"
HEADER = ["patient", "insurance", "dx", "condition", "DOS", "provider"]
ROWS = [
    ["A. Example", "Medi-Cal", "", "sciatica", "3/1/2024", ""],
    ["B. Example", "Medicare Part B", "M54.50", "", "2024-03-01", "MD"],
    ["C. Example", "TRICARE", "", "migraine", "3/1/2024", ""],
    ["D. Example", "Medi-Cal", "", "sciatica", "13/45/2024", ""],
]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(
            f"{CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium) "
            "for the browser tests",
            pytrace=False,
        )
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, FilePayload, Page, Route, expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server in a background thread, on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start", pytrace=False)
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(create_app(today=TODAY)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), chromium_sandbox=False, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 900})
    # The page must work on its own: any request that leaves 127.0.0.1 fails the test.
    outside: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    pg = context.new_page()
    yield pg
    context.close()
    assert not outside, f"the page asked for outside resources: {outside}"


def day_csv() -> FilePayload:
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER, *ROWS])
    return {"name": "day.csv", "mimeType": "text/csv", "buffer": buf.getvalue().encode("utf-8")}


def test_clerk_checks_a_card_and_reads_the_answer(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Insurance, as on the card").fill("Medi-Cal")
    page.get_by_label("Condition or diagnosis code").fill("sciatica")
    page.get_by_label("Date of service").fill("3/1/2024")
    page.get_by_role("button", name="Check").click()

    expect(page.locator("#status")).to_have_text("COVERED")
    expect(page.locator("#summary")).to_contain_text("Medicaid in CA")
    expect(page.locator(".read-as")).to_contain_text("'Medi-Cal' read as Medicaid in CA")
    citation = page.locator(".citation").first
    expect(citation).to_contain_text("California Department of Health Care Services")
    expect(citation).to_contain_text("retrieved 20")
    expect(citation.locator(".kind")).to_have_text("copy")
    checklist = page.locator("#checklist li")
    assert checklist.count() >= 3
    expect(checklist.first).to_contain_text("?")
    # The form stays filled for the next question.
    expect(page.get_by_label("Insurance, as on the card")).to_have_value("Medi-Cal")

    if os.environ.get("COVERAGE_LOOKUP_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.locator("#answer").screenshot(path=str(SCREENSHOT))


def test_printing_keeps_the_card_and_checklist_and_drops_the_form(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Insurance, as on the card").fill("Medicare Part B")
    page.get_by_label("Condition or diagnosis code").fill("M54.50")
    page.get_by_label("Billed by").fill("MD")
    page.get_by_label("Visits already used").fill("14")
    page.get_by_role("button", name="Check").click()
    limit = page.locator("li", has=page.locator(".remaining")).first
    expect(limit).to_contain_text("remaining: 0 (6 with improvement)")

    page.emulate_media(media="print")
    expect(page.locator("form.question")).to_be_hidden()
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("#checklist")).to_be_visible()
    expect(page.locator("#checklist .call")).to_be_visible()  # lines for the call's notes, on paper only
    expect(page.locator("#sources")).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.locator("#checklist .call")).to_be_hidden()

    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print the answer and checklist").click()
    assert page.evaluate("window.printed") == 1


def test_a_bad_date_comes_back_as_a_message_on_the_form(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Insurance, as on the card").fill("Medi-Cal")
    page.get_by_label("Date of service").fill("13/45/2024")
    page.get_by_role("button", name="Check").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Date of service: '13/45/2024' is not valid")
    expect(alert).to_contain_text("month first")
    expect(page.get_by_label("Date of service")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Date of service")).to_have_value("13/45/2024")


def test_clerk_uploads_a_table_and_downloads_every_row(page: Page, base_url: str, tmp_path: Path) -> None:
    page.goto(base_url + "/batch")
    page.locator("#f-file").set_input_files(files=day_csv())
    page.get_by_role("button", name="Show the answers").click()

    expect(page.locator("#counts")).to_contain_text("4 rows:")
    expect(page.locator("#counts")).to_contain_text("1 error")
    table_rows = page.locator("table.rows tbody tr")
    expect(table_rows).to_have_count(len(ROWS))
    expect(table_rows.nth(3)).to_contain_text("13/45/2024")

    result = page.locator("#result")
    with page.expect_download() as csv_download:
        result.get_by_role("button", name="Download as CSV").click()
    saved = tmp_path / csv_download.value.suggested_filename
    csv_download.value.save_as(saved)
    assert saved.name == "day-answers.csv"
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][: len(HEADER)] == HEADER and "status" in rows[0]
    assert [r[0] for r in rows[1:]] == [r[0] for r in ROWS]
    status = rows[0].index("status")
    assert [r[status] for r in rows[1:]] == ["covered", "covered", "not_covered", "error"]

    with page.expect_download() as xlsx_download:
        result.get_by_role("button", name="Download as Excel").click()
    saved = tmp_path / xlsx_download.value.suggested_filename
    xlsx_download.value.save_as(saved)
    cells = list(load_workbook(saved).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in cells[1:]] == [r[0] for r in ROWS]


def test_the_upload_form_downloads_without_showing_first(page: Page, base_url: str, tmp_path: Path) -> None:
    page.goto(base_url + "/batch")
    page.locator("#f-file").set_input_files(files=day_csv())
    with page.expect_download() as download:
        page.locator("form.upload").get_by_role("button", name="Download as CSV").click()
    saved = tmp_path / "direct.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [r[0] for r in ROWS]


def test_an_oversized_table_gets_a_clear_message(page: Page) -> None:
    with serving(create_app(today=TODAY, max_upload_bytes=10_000)) as url:
        page.goto(url + "/batch")
        big: FilePayload = {
            "name": "big.csv",
            "mimeType": "text/csv",
            "buffer": b"coverage\n" + b"medicare\n" * 100_000,
        }
        page.locator("#f-file").set_input_files(files=big)
        page.get_by_role("button", name="Show the answers").click()
        expect(page.get_by_role("alert")).to_contain_text("larger than the limit of 10,000 bytes")
