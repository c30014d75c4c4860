"""`coverage-lookup batch`: a day's verifications from a CSV or XLSX file, as billing staff keep them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from coverage_lookup import InputError, check
from coverage_lookup.batch import (
    ADDED_COLUMNS,
    answer_table,
    map_columns,
    neutralise,
    read_table,
    write_table,
)
from coverage_lookup.cli import main
from tests.conftest import TODAY

HEADER = ["Patient Name", "MRN", "Insurance", "Carrier", "DX", "CPT", "DOS", "Visits Used", "Appointment"]
ROWS = [
    ["Ana Lopez", "1001", "Medi-Cal", "", "M54.41", "97810", "3/1/2024", "2", "09:00"],
    ["Bo Chen", "1002", "Medicare Part B", "", "M54.50", "97810", "03/01/2024", "", "09:30"],
    ["Cy Diaz", "1003", "employer", "BCBS of Texas", "M54.50", "97813", "2024-03-01", "0", "10:00"],
    ["Di Evans", "1004", "Medi-Cal", "", "M54.41", "97810", "3/1/2024", "2", "10:30"],  # a repeat
    [
        "Ed Ford",
        "1005",
        "Medicaid",
        "",
        "M54.41",
        "97810",
        "3/1/2024",
        "",
        "11:00",
    ],  # no state: still answered
    [
        "Flo Gray",
        "1006",
        "Blue Moon Care",
        "",
        "M54.41",
        "97810",
        "3/1/2024",
        "",
        "11:30",
    ],  # unknown coverage
    ["Gus Hill", "1007", "MassHealth", "Aetna PPO", "Q99.99", "97810", "3/1/2024", "", "12:00"],  # bad code
    ['=HYPERLINK("http://evil")', "+1008", "Apple Health", "", "G43.909", "97810", "13/45/2024", "", "@noon"],
]


def as_csv(header: list[str], rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def parse_output(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: spreadsheets open it right
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def run(data: bytes, name: str = "day.csv") -> list[dict[str, str]]:
    result = answer_table(read_table(data, name), today=TODAY)
    return parse_output(write_table(result, "csv"))


class TestRows:
    def test_every_row_in_order_passthrough_kept_answers_added(self) -> None:
        out = run(as_csv(HEADER, ROWS))
        assert len(out) == len(ROWS)
        assert [r["MRN"] for r in out] == ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "'+1008"]
        assert list(out[0])[: len(HEADER)] == HEADER and list(out[0])[len(HEADER) :] == list(ADDED_COLUMNS)
        assert out[0]["Patient Name"] == "Ana Lopez" and out[0]["Appointment"] == "09:00"
        # Medi-Cal: two visits a month without approval, both used -> more need a TAR
        assert out[0]["status"] == "conditional" and out[0]["error"] == ""
        assert out[0]["requirements"] and out[0]["sources"].startswith(
            "California Department of Health Care Services"
        )
        medicare = check("Medicare Part B", diagnosis="M54.50", service_date="2024-03-01", today=TODAY)
        assert (out[1]["status"], out[1]["summary"]) == (medicare.status, medicare.summary)
        employer = check(
            "employer", payer="BCBS of Texas", diagnosis="M54.50", procedure="97813", service_date="2024-03-01",
            visits_used=0, today=TODAY,
        )  # fmt: skip
        assert (out[2]["status"], out[2]["summary"]) == (employer.status, employer.summary)
        assert out[3]["status"] == out[0]["status"]  # the repeat, answered from memory
        assert out[4]["status"] == "conditional" and "state" in out[4]["ask_the_payer"].lower()

    def test_bad_rows_are_reported_and_the_batch_goes_on(self) -> None:
        out = run(as_csv(HEADER, ROWS))
        unknown, bad_code, hostile = out[5], out[6], out[7]
        assert unknown["status"] == "error" and unknown["error"].startswith(
            "coverage: 'Blue Moon Care' is not valid"
        )
        assert bad_code["status"] == "error" and "Q99.99" in bad_code["error"]
        assert hostile["status"] == "error" and "service_date: '13/45/2024' is not valid" in hostile["error"]

    def test_formula_cells_are_neutralised(self) -> None:
        out = run(as_csv(HEADER, ROWS))
        hostile = out[7]
        assert hostile["Patient Name"] == '\'=HYPERLINK("http://evil")'
        assert hostile["Appointment"] == "'@noon"
        for cell in (c for row in out for c in row.values()):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert neutralise("-5") == "'-5" and neutralise("5") == "5"

    def test_ask_the_payer_and_limits(self) -> None:
        out = run(as_csv(HEADER, ROWS))
        medi_cal = out[0]
        assert medi_cal["visit_limit"].startswith("2 per")  # Medi-Cal: two visits a month without a TAR
        assert medi_cal["remaining_visits"] == "0"
        assert "prior authorization" in medi_cal["ask_the_payer"].lower()
        assert medi_cal["evidence_as_of"].startswith("from ")


class TestFiles:
    def test_windows_1252_semicolons_and_a_bom(self) -> None:
        rows = [["José Núñez", "Medi-Cal", "M54.41", "3/1/2024"]]
        header = ["Nombre", "Insurance Type", "ICD10", "Date of Service"]
        latin = as_csv(header, rows, encoding="cp1252", delimiter=";")
        out = run(latin)
        assert out[0]["Nombre"] == "José Núñez" and out[0]["status"] == "covered"
        bom = b"\xef\xbb\xbf" + as_csv(header, rows, delimiter="\t")
        out = run(bom)
        assert next(iter(out[0])) == "Nombre" and out[0]["status"] == "covered"

    def test_xlsx_in_and_out(self) -> None:
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(HEADER)
        for row in ROWS[:3]:
            ws.append(row)
        buf = io.BytesIO()
        wb.save(buf)
        result = answer_table(read_table(buf.getvalue(), "day.xlsx"), today=TODAY)
        book = load_workbook(io.BytesIO(write_table(result, "xlsx")))
        sheet = book.worksheets[0]
        values = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
        assert values[0] == [*HEADER, *ADDED_COLUMNS]
        assert [v[0] for v in values[1:]] == ["Ana Lopez", "Bo Chen", "Cy Diaz"]

    def test_missing_coverage_column_is_named(self) -> None:
        with pytest.raises(InputError) as e:
            map_columns(["Patient", "DX", "DOS"], "day.csv")
        assert e.value.field == "file"
        assert (
            "lacks a coverage column: name one of 'coverage', 'coverage type', 'insurance'" in e.value.valid
        )
        assert "(its columns: Patient, DX, DOS)" in e.value.valid

    def test_empty_and_unreadable_files(self) -> None:
        with pytest.raises(InputError, match="empty"):
            read_table(b"", "x.csv")
        with pytest.raises(InputError, match=r"not a readable \.xlsx"):
            read_table(b"PK\x03\x04 not a workbook", "x.xlsx")

    def test_ten_thousand_rows_with_a_bad_row_every_hundred(self) -> None:
        rows = []
        for i in range(10_000):
            dx = "NOT-A-CODE" if i % 100 == 99 else ("M54.50" if i % 2 else "M54.41")
            rows.append([f"patient {i}", "Medi-Cal" if i % 3 else "Medicare Part B", dx, "3/1/2024"])
        out = run(as_csv(["name", "insurance", "dx", "dos"], rows))
        assert [r["name"] for r in out] == [f"patient {i}" for i in range(10_000)]
        errors = [i for i, r in enumerate(out) if r["status"] == "error"]
        assert errors == list(range(99, 10_000, 100))
        assert all("NOT-A-CODE" in out[i]["error"] for i in errors)

    def test_cli_batch_writes_atomically_and_counts(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        src = tmp_path / "day.csv"
        src.write_bytes(as_csv(HEADER, ROWS))
        dest = tmp_path / "out" / "answers.xlsx"
        assert main(["batch", str(src), "-o", str(dest)]) == 0
        err = capsys.readouterr().err
        assert err.strip().startswith("8 rows: ") and "3 error" in err and "(7 distinct questions)" in err
        assert "Ana Lopez" not in err  # no patient data on the terminal
        assert load_workbook(dest).worksheets[0].max_row == 9
        assert not list(dest.parent.glob(".*part"))
        assert main(["batch", str(tmp_path / "missing.csv"), "-o", "-"]) == 2
        bad = tmp_path / "bad.csv"
        bad.write_text("Patient,DX\nA,M54.50\n")
        assert main(["batch", str(bad), "-o", str(tmp_path / "x.csv")]) == 2
        assert "lacks a coverage column" in capsys.readouterr().err
        assert not (tmp_path / "x.csv").exists()


def test_json_rows_keep_cells_as_written() -> None:
    # Formula protection is for spreadsheets; a program reading the web API's JSON gets the cells as typed.
    result = answer_table(read_table(as_csv(HEADER, ROWS), "day.csv"), today=TODAY, for_spreadsheet=False)
    assert result.rows[7][0] == '=HYPERLINK("http://evil")' and result.rows[7][1] == "+1008"
