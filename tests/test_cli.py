"""The CLI through a real subprocess: exit codes, one-line errors, JSON, explain, validate, rules, schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


MEDICARE = ["--coverage", "medicare", "--dx", "M54.50", "--cpt", "97810", "--provider", "physician"]


def test_issue_example_covered_with_ncd_cited() -> None:
    r = run("check", *MEDICARE, "--date", "2024-03-01", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["status"] == "covered"
    assert any("ncdid=373" in c["url"] for rule in d["rules_applied"] for c in rule["citations"])


def test_issue_example_before_ncd_not_covered() -> None:
    d = json.loads(run("check", *MEDICARE, "--date", "2020-01-20", "--json").stdout)
    assert d["status"] == "not_covered"


@pytest.mark.parametrize(
    "args",
    [
        ["--coverage", "medicare", "--dx", "G43.909", "--provider", "physician", "--date", "2024-03-01"],
        ["--coverage", "medicare", "--dx", "M79.7", "--provider", "physician", "--date", "2024-03-01"],
        [
            "--coverage",
            "medicare",
            "--dx",
            "M54.50",
            "--provider",
            "licensed_acupuncturist",
            "--date",
            "2024-03-01",
        ],
        ["--coverage", "tricare", "--dx", "M54.50", "--date", "2024-03-01"],
    ],
)
def test_not_covered_cases_with_reason_and_citation(args: list[str]) -> None:
    r = run("check", *args, "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["status"] == "not_covered"
    assert d["summary"] and d["rules_applied"][0]["citations"]


def test_human_card() -> None:
    r = run("check", *MEDICARE, "--date", "2024-03-01")
    assert r.returncode == 0
    assert r.stdout.startswith("COVERED")
    assert "Sources:" in r.stdout and "Visit limits:" in r.stdout


def test_condition_flag_and_overview() -> None:
    r = run(
        "check",
        "--coverage",
        "medicare",
        "--condition",
        "sciatica",
        "--provider",
        "physician",
        "--date",
        "2024-03-01",
        "--json",
    )
    assert json.loads(r.stdout)["status"] == "unknown"
    r = run("check", "--coverage", "medicare", "--provider", "physician", "--date", "2024-03-01")
    assert r.returncode == 0 and "Indications:" in r.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--coverage", "medicare", "--state", "Atlantis"], "state"),
        (["--coverage", "medicare", "--dx", "M54.5", "--date", "2023-01-01"], "diagnosis"),
        (["--coverage", "medicare", "--dx", "M54.5X9"], "diagnosis"),
        (["--coverage", "medicare", "--dx", "banana"], "diagnosis"),
        (["--coverage", "medicare", "--date", "2024-02-30"], "service_date"),
        (["--coverage", "medicare", "--date", "yesterday"], "service_date"),
        (["--coverage", "medicare", "--cpt", "99213"], "procedure"),
        (["--coverage", "medicare", "--provider", "shaman"], "provider"),
        (["--coverage", "medicarre"], "coverage"),
        (["--coverage", "medicare", "--visits-used", "-1"], "visits_used"),
        (["--coverage", "medicare", "--visits-used", "many"], "visits_used"),
        (["--coverage", "medicare", "--condition", "hiccups"], "condition"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], field: str) -> None:
    r = run("check", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert field in lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_missing_coverage_is_a_usage_error() -> None:
    r = run("check", "--dx", "M54.50")
    assert r.returncode == 2 and "--coverage" in r.stderr and "Traceback" not in r.stderr


def test_explain_prints_trace() -> None:
    r = run("explain", *MEDICARE, "--date", "2024-03-01")
    assert r.returncode == 0
    assert "Rules considered:" in r.stdout and "medicare.ncd_30_3_1" in r.stdout


def test_validate_ok_and_failing() -> None:
    r = run("validate")
    assert r.returncode == 0 and r.stdout.startswith("ok:")
    r = run("validate", "--data-dir", str(ROOT / "tests"))
    assert r.returncode == 1 and "conditions.yaml" in r.stderr


def test_rules_listing() -> None:
    r = run("rules", "--json")
    rows = json.loads(r.stdout)
    assert any(row["id"] == "medicare.ncd_30_3_3" and row["versions"] == ["2020-01-21"] for row in rows)
    assert all(row["sources"] for row in rows)
    assert "medicare.ncd_30_3" in run("rules").stdout


def test_schema_is_json() -> None:
    schema = json.loads(run("schema").stdout)
    assert schema["title"] == "coverage_lookup rule file"


def test_version_and_brief(capsys: pytest.CaptureFixture[str]) -> None:
    from coverage_lookup import __version__
    from coverage_lookup.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"coverage-lookup {__version__}"
    assert main(["check", "--coverage", "Medi-Cal", "--dx", "M54.41", "--date", "3/1/2024", "--brief"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("COVERED — Medicaid in CA, M54.41, 2024-03-01: ")


def test_the_card_says_each_sentence_once(capsys: pytest.CaptureFixture[str]) -> None:
    from coverage_lookup.cli import main

    argv = [
        "check",
        "--coverage",
        "medicare",
        "--dx",
        "M54.50",
        "--provider",
        "physician",
        "--date",
        "2024-03-01",
    ]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    sentence = "has no identifiable systemic cause and is not linked to surgery or pregnancy"
    assert out.count(sentence) == 1
    assert "Benefit: COVERED Medical necessity: COVERED" in out


def test_version_on_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from coverage_lookup.cli import build_parser, main

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        with pytest.raises(SystemExit):
            main([name, "--version"])
        assert capsys.readouterr().out.startswith("coverage-lookup ")
