"""The patient command (`acupuncture-coverage`): piped answers, plain words, clean stops, the flags path."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from coverage_lookup.api import get_dataset
from coverage_lookup.patient.cli import main
from coverage_lookup.patient.plain import Plainer, is_plain
from tests.conftest import ROOT, TODAY

DISCLAIMER = "not a guarantee of payment"
CPT = re.compile(r"\b\d{5}\b")
ICD = re.compile(r"\b[A-Z]\d{2}\.?\d*\b")
ABBREVIATIONS = re.compile(r"\b(TAR|EHB|ERISA|NCD|CPT|ICD)\b")


def ask(answers: str, *argv: str, width: int = 80, today: date = TODAY) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(answers), stdout=out, stderr=err, today=today, width=width)
    return code, out.getvalue(), err.getvalue()


def flat(text: str) -> str:
    """The text with its line wrapping undone."""
    return " ".join(text.split())


def answer_part(text: str) -> str:
    """The answer after the questions (the prompts echo what was typed)."""
    start = text.find("\nAnswer: ")
    assert start >= 0, text
    return text[max(text.rfind("\nAcupuncture", 0, start), 0) :]


def assert_plain(text: str) -> None:
    assert not CPT.search(text), CPT.search(text)
    assert not ICD.search(text), ICD.search(text)
    assert not ABBREVIATIONS.search(text), ABBREVIATIONS.search(text)
    for rule_id in get_dataset().rules:
        assert rule_id not in text, rule_id
    assert "_" not in text
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", " ".join(text.split())) if len(s) > 20]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert not repeated, repeated
    assert DISCLAIMER in text


def test_california_medicaid_sciatica() -> None:
    code, out, _ = ask("CA\n2\n\nsciatica\n")
    assert code == 0
    part = answer_part(out)
    assert "Answer: likely covered" in flat(part)
    assert "Medi-Cal" in flat(part)
    assert "California Department of Health Care Services" in flat(part)
    assert "Checked on November 29, 2026" in flat(part)
    assert "The rules we found start on July 1, 2016" in flat(part)
    assert "Up to 2 visits per month" in flat(part)
    assert "approval in advance" in flat(part)  # the TAR, in words
    assert "What to ask your insurer:" in flat(part)
    assert_plain(part)


def test_questions_come_in_order_and_in_plain_words() -> None:
    _, out, _ = ask("CA\n2\n\nsciatica\n")
    order = [
        out.find(q)
        for q in (
            "Which state",
            "What kind of health insurance",
            "insurance company",
            "What is the acupuncture for",
        )
    ]
    assert order == sorted(order) and -1 not in order
    for item in ("1) Medicare", "2) Medicaid or a state plan (e.g. Medi-Cal, MassHealth)", "3) through my job",
                 "4) I bought it myself (marketplace)", "5) VA", "6) TRICARE", "7) workers' comp", "8) not sure"):  # fmt: skip
        assert item in flat(out)
    assert "1) low back pain" in flat(out)


def test_texas_bought_it_myself_low_back_pain() -> None:
    code, out, _ = ask("Texas\nI bought it myself\n\nlow back pain\n")
    assert code == 0
    part = answer_part(out)
    assert "Answer: it depends" in flat(part)
    assert "plan you bought yourself" in flat(part)
    assert "essential health benefit" not in flat(part) or "(a service every plan" in flat(part)
    assert "Does my plan cover acupuncture?" in flat(part)
    assert_plain(part)


def test_medicare_ignores_the_state_and_says_who_can_give_it() -> None:
    code, out, _ = ask("CA\nMedicare\n\nsciatica\n")
    assert code == 0
    part = answer_part(out)
    assert "Answer: we don't know" in flat(part)
    assert "in California" not in flat(part)
    assert "does not pay a licensed acupuncturist directly" in flat(part)
    assert "Medicare Advantage" in flat(part)
    assert_plain(part)
    _, other_state, _ = ask("NY\nMedicare\n\nsciatica\n")
    assert answer_part(other_state) == part


def test_medicare_low_back_pain_covered_with_limits_in_words() -> None:
    _, out, _ = ask("", "--state", "FL", "--insurance", "1", "--condition", "lower back pain")
    assert "Answer: likely covered" in flat(out)
    assert "Up to 12 visits per 90 days, and 8 more if your records show you are getting better" in flat(out)
    assert "at least 12 weeks" in flat(out)
    assert_plain(answer_part(out))


def test_through_my_job_in_new_york_shows_the_possibilities() -> None:
    code, out, _ = ask("NY\n3\nAetna\nneck pain\n")
    assert code == 0
    part = answer_part(out)
    assert "Answer: it depends" in flat(part)
    assert (
        "self-funded" in flat(part)
        and "administered by" in flat(part)
        and "HR or benefits office" in flat(part)
    )
    assert "The answer for each possibility:" in flat(part)
    assert "If your plan is self-funded: it depends." in flat(part)
    assert "buys the plan from an insurance company" in flat(part)
    assert "insurer: Aetna" in flat(part)
    assert_plain(part)


def test_not_sure_explains_how_to_find_out_then_gives_the_general_picture() -> None:
    code, out, _ = ask("CA\nnot sure\n\n\nsciatica\n")
    assert code == 0
    assert "back of the card" in flat(out)
    part = answer_part(out)
    assert "The general picture:" in flat(part)
    assert (
        "- Medicare:" in flat(part)
        and "- Medi-Cal" in flat(part)
        and "- A plan through your job:" in flat(part)
    )
    assert "Which kind of plan is this" in flat(part)
    assert_plain(part)


def test_not_sure_then_the_card_is_checked() -> None:
    _, out, _ = ask("CA\n8\nMedi-Cal\n\nsciatica\n")
    assert "Answer: likely covered" in flat(out)
    assert "The general picture:" not in flat(out)


def test_not_sure_with_an_insurer_that_implies_the_kind() -> None:
    _, out, _ = ask(
        "",
        "--state",
        "OR",
        "--insurance",
        "not sure",
        "--insurer",
        "Aetna Better Health",
        "--condition",
        "low back pain",
    )
    assert "is a name used for Medicaid plans" in flat(out)
    assert "Oregon Health Plan" in flat(out)


def test_a_typo_then_a_valid_answer_at_each_question() -> None:
    code, out, _ = ask("Calfornia\nCA\nMedical\nmedicaid\n\nsciatca\nsciatica\n")
    assert code == 0
    assert 'Sorry, I don\'t know "Calfornia". Did you mean "California"' in flat(out)
    assert 'Sorry, I don\'t know "sciatca". Did you mean "sciatica"' in flat(out)
    assert "Answer: likely covered" in flat(out)
    assert "Traceback" not in flat(out)


def test_a_number_out_of_range_is_asked_again() -> None:
    _, out, _ = ask("CA\n12\n2\n\n42\n2\n")
    assert out.count("Sorry") == 2
    assert "Answer: likely covered" in flat(out)


def test_typed_program_names_are_read() -> None:
    _, out, _ = ask("MA\nMassHealth\n\nneck pain\n")
    assert "MassHealth" in answer_part(out)
    _, out, _ = ask("TX\nMedi-Cal\n\nsciatica\n")
    part = answer_part(out)
    assert "Medi-Cal is California's program, so the answer is for California." in flat(part)
    assert "Answer: likely covered" in flat(part)


def test_nausea_asks_which_kind() -> None:
    _, out, _ = ask("CA\n2\n\nnausea\n1\n")
    assert "Which of these is it?" in flat(out)
    assert "1) nausea and vomiting in pregnancy" in flat(out)
    assert "Acupuncture for nausea and vomiting in pregnancy" in flat(out)


def test_knee_pain_and_migraine_map_to_condition_sets() -> None:
    _, out, _ = ask("", "--state", "MN", "--insurance", "medicaid", "--condition", "knee pain")
    assert "Acupuncture for arthritis of the knee (osteoarthritis)" in flat(out)
    _, out, _ = ask("", "--state", "CA", "--insurance", "va", "--condition", "migraines")
    assert "Acupuncture for migraine" in flat(out) and "Answer: likely covered" in flat(out)
    assert "What to ask your VA care team:" in flat(out)


def test_something_else_answers_for_acupuncture_in_general() -> None:
    _, out, _ = ask("", "--state", "CA", "--insurance", "medicaid", "--condition", "something else")
    part = answer_part(out)
    assert "depends on what it is for" in flat(part)
    assert "Covered for: low back pain" in flat(part)
    assert_plain(part)


def test_an_unknown_insurer_is_noted_not_refused() -> None:
    code, out, _ = ask(
        "",
        "--state",
        "CA",
        "--insurance",
        "medicaid",
        "--insurer",
        "Acme Health Co",
        "--condition",
        "sciatica",
    )
    assert code == 0
    assert 'We don\'t know the insurer "Acme Health Co"' in flat(out)
    assert "Answer: likely covered" in flat(out)


@pytest.mark.parametrize("answers", ["", "CA\n", "CA\n2\n", "CA\n2\n\n", "CA\n8\n", "CA\n2\n\nnausea\n"])
def test_end_of_input_at_each_question_stops_cleanly(answers: str) -> None:
    code, out, err = ask(answers)
    assert code == 0
    assert "Stopped before all questions were answered. Nothing was saved." in flat(out)
    assert "Answer:" not in flat(out)
    assert "Traceback" not in out + err


def test_flags_path_with_json() -> None:
    code, out, err = ask("", "--state", "CA", "--insurance", "medicaid", "--condition", "sciatica", "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    assert data["answer"] == "likely covered" and data["status"] == "covered"
    assert data["state"] == "California" and data["condition"] == "sciatica"
    assert data["date"] == TODAY.isoformat()
    assert data["ask_your_insurer"] and data["visit_limits"]
    where = data["where_this_comes_from"]
    assert "California Department of Health Care Services" in where["issuers"]
    assert where["checked_on"] == "2026-11-29" and where["rules_start_on"] == "2016-07-01"
    assert where["evidence_reaches_date"] is True
    assert DISCLAIMER in data["disclaimer"]
    full = data["determination"]
    assert full["status"] == "covered" and full["state"] == "CA" and full["rules_applied"]
    assert_plain(
        data["reason"]
        + " "
        + " ".join(data["visit_limits"] + data["ask_your_insurer"])
        + " "
        + data["disclaimer"]
    )


def test_json_for_a_job_lists_the_alternatives() -> None:
    _, out, _ = ask(
        "", "--state", "NY", "--insurance", "through my job", "--condition", "low back pain", "--json"
    )
    data = json.loads(out)
    assert [a["coverage"] for a in data["determination"]["alternatives"]] == [
        "small_group",
        "large_group",
        "self_funded",
    ]
    assert data["possibilities"] and data["about_your_plan"]


def test_json_asks_on_stderr_and_keeps_stdout_clean() -> None:
    code, out, err = ask("CA\nsciatica\n", "--insurance", "medicaid", "--insurer", "", "--json")
    assert code == 0
    assert json.loads(out)["answer"] == "likely covered"
    assert "Which state" in err


def test_an_old_date_before_the_evidence_is_marked() -> None:
    _, out, _ = ask(
        "", "--state", "CA", "--insurance", "medicaid", "--condition", "sciatica", "--date", "5/1/2000"
    )
    assert "does not reach May 1, 2000" in flat(out)
    _, out, _ = ask(
        "", "--state", "CA", "--insurance", "medicaid", "--condition", "sciatica", "--date", "2012-05-01"
    )
    assert "Answer: likely not covered" in flat(out) and "They run until June 30, 2016." in flat(out)


def test_bad_option_values_exit_2_with_a_friendly_line() -> None:
    code, out, err = ask("", "--state", "Calfornia", "--insurance", "medicaid", "--condition", "sciatica")
    assert code == 2 and out == ""
    assert 'Did you mean "California"' in err and err[-1] == "\n" and err.count("\n") == 1
    code, _, err = ask(
        "", "--state", "CA", "--insurance", "medicaid", "--condition", "sciatica", "--date", "13/45/2024"
    )
    assert code == 2 and "date" in err
    code, _, err = ask("", "--nonsense")
    assert code == 2 and "--help" in err


def test_version_and_help() -> None:
    code, out, _ = ask("", "--version")
    assert code == 0 and out.startswith("acupuncture-coverage ")
    code, out, _ = ask("", "--help")
    assert code == 0 and "--insurance" in flat(out)


@pytest.mark.parametrize("width", [40, 60, 100])
def test_output_is_wrapped_to_the_width(width: int) -> None:
    _, out, _ = ask("NY\n3\n\nlow back pain\n", width=width)
    assert max(len(line) for line in out.splitlines()) <= width


def test_plain_words_across_states_and_kinds() -> None:
    """Every state, the kinds of insurance that depend on it, a few conditions: always plain."""
    from coverage_lookup._states import STATES

    for code, _, _ in STATES:
        for insurance in ("medicaid", "myself", "job", "workers' comp", "not sure"):
            for condition in ("sciatica", "low back pain", "migraine"):
                status, out, err = ask(
                    "", "--state", code, "--insurance", insurance, "--condition", condition, "--insurer", ""
                )
                assert status == 0, (code, insurance, condition, err)
                assert_plain(answer_part(out))


def test_plainer_keeps_plain_sentences_and_drops_codes() -> None:
    p = Plainer()
    assert p.sentences("Covered for pain (NCD 30.3.3). See 42 CFR 410.26 for supervision.") == [
        "Covered for pain."
    ]
    assert p.sentences("a Treatment Authorization Request (TAR) is needed for more visits") == [
        "An approval in advance (a Treatment Authorization Request) is needed for more visits."
    ]
    assert p.sentences("Not an EHB in Texas; plans may add it. Not an EHB anywhere.")[1] == (
        "Not an essential health benefit anywhere."
    )
    assert p.sentences("Covers 97810-97814 for M54.50.") == []
    assert p.sentences("From 2024-09-01 it is payable.") == ["From September 1, 2024 it is payable."]
    assert is_plain("Medicare covers it") and not is_plain("see ca.medicaid") and not is_plain("an MCO plan")


def test_installed_style_subprocess_run() -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "72"}
    r = subprocess.run(
        [sys.executable, "-m", "coverage_lookup.patient.cli"],
        input="CA\n2\n\nsciatica\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "Answer: likely covered" in r.stdout and r.stderr == ""
    assert max(len(line) for line in r.stdout.splitlines()) <= 72
