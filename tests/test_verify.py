"""`coverage-lookup verify RULE_ID` stamps last_verified in place, keeping the file's formatting."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from coverage_lookup.dataset import load_dataset
from coverage_lookup.errors import InputError
from coverage_lookup.evidence import version_on
from coverage_lookup.sources.verify import stamp
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


def test_stamp_changes_one_line_only(data: Path) -> None:
    path = data / "federal" / "medicare.yaml"
    before = path.read_text(encoding="utf-8")
    file, effective, previous = stamp(data, "medicare.ncd_30_3_3", on=date(2026, 11, 28), today=TODAY)
    after = path.read_text(encoding="utf-8")
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        f"-        last_verified: {previous.isoformat()}",
        "+        last_verified: 2026-11-28",
    ]
    assert file == path and effective == date(2020, 1, 21)
    rule = load_dataset(data, today=TODAY, use_cache=False).rules["medicare.ncd_30_3_3"].rule
    current = version_on(rule, TODAY)
    assert current is not None and current.last_verified == date(2026, 11, 28)
    assert before.count("#") == after.count("#")  # comments survive


def test_stamp_the_current_version_not_an_older_one(data: Path) -> None:
    # Medi-Cal: eliminated 2009-07-01, restored 2016-07-01 (current). Both versions start out with
    # the same last_verified, so stamp a date no version has yet and see which one moved.
    stamped = date(2026, 12, 1)
    before = load_dataset(data, today=TODAY, use_cache=False).rules["ca.medicaid"].rule
    old = {v.effective: v.last_verified for v in before.versions}
    assert len(old) == 2 and stamped not in old.values()
    file, effective, previous = stamp(data, "ca.medicaid", on=stamped, today=TODAY)
    assert file == data / "state_policies" / "CA.yaml"
    assert (effective, previous) == (date(2016, 7, 1), old[date(2016, 7, 1)])
    after = load_dataset(data, today=TODAY, use_cache=False).rules["ca.medicaid"].rule
    new = {v.effective: v.last_verified for v in after.versions}
    assert new == {**old, date(2016, 7, 1): stamped}


def test_stamp_leaves_a_scheduled_version_alone(data: Path) -> None:
    # A version that takes effect after today is not the current one, even though it is the last.
    path = data / "state_policies" / "CA.yaml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("      - effective: 2016-07-01\n"), text.index("  state_law_offer:\n")
    scheduled = text[start:end].replace("effective: 2016-07-01", "effective: 2027-01-01", 1)
    path.write_text(text[:end] + scheduled + text[end:], encoding="utf-8")
    stamped = date(2026, 12, 2)
    _, effective, _ = stamp(data, "ca.medicaid", on=stamped, today=TODAY)
    assert effective == date(2016, 7, 1)
    rule = load_dataset(data, today=TODAY, use_cache=False).rules["ca.medicaid"].rule
    assert [(v.effective, v.last_verified == stamped) for v in rule.versions] == [
        (date(2009, 7, 1), False),
        (date(2016, 7, 1), True),
        (date(2027, 1, 1), False),
    ]


def test_unknown_rule_and_future_date_are_input_errors(data: Path) -> None:
    with pytest.raises(InputError) as exc:
        stamp(data, "medicare.ncd_30_3_4", today=TODAY)
    assert "did you mean" in str(exc.value) and "medicare.ncd_30_3_3" in str(exc.value)
    with pytest.raises(InputError):
        stamp(data, "medicare.ncd_30_3_3", on=date(2027, 1, 1), today=TODAY)


def test_cli_verify(data: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage_lookup.cli",
            "verify",
            "tricare.acupuncture_exclusion",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "tricare.acupuncture_exclusion" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", "verify", "nope.rule", "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


# -- aimed at mutants that survived a mutation run of verify.py ------------------------------------


def _payer_rule(data: Path, key: str, efforts: list[str]) -> None:
    """A payer file of our own (not in the repository's data), with versions starting on ``efforts``."""
    versions = "".join(
        f"""      - effective: {eff}
        effective_basis: sourced
        effective_note: test
        last_verified: 2026-11-01
        summary: version from {eff}
        citations:
          - url: https://example.org/policy
            title: Example policy
            section: "1"
            retrieved: 2026-11-01
            kind: primary
            issuer: Example Health
        provisions:
          - id: p
            summary: covered
            outcome: covered
"""
        for eff in efforts
    )
    (data / "payers" / "zeta.yaml").write_text(
        f"""title: Zeta Health
payer:
  id: zeta
  name: Zeta Health
rules:
  {key}:
    title: Zeta acupuncture policy
    layer: payer_policy
    aspect: medical_necessity
    scope:
      coverage: [large_group]
    versions:
{versions}""",
        encoding="utf-8",
    )


def test_stamp_reads_the_data_folder_it_is_given(data: Path) -> None:
    _payer_rule(data, "policy", ["2020-01-01"])
    file, effective, previous = stamp(data, "zeta.policy", on=date(2026, 12, 2), today=TODAY)
    assert (file, effective, previous) == (data / "payers" / "zeta.yaml", date(2020, 1, 1), date(2026, 11, 1))
    rule = load_dataset(data, today=TODAY, use_cache=False).rules["zeta.policy"].rule
    assert rule.versions[0].last_verified == date(2026, 12, 2)


def test_a_rule_key_with_a_dot(data: Path) -> None:
    _payer_rule(data, "policy.v2", ["2020-01-01"])
    stamp(data, "zeta.policy.v2", on=date(2026, 12, 2), today=TODAY)
    assert "last_verified: 2026-12-02" in (data / "payers" / "zeta.yaml").read_text(encoding="utf-8")


def test_a_rule_not_yet_in_force_stamps_its_last_version(data: Path) -> None:
    _payer_rule(data, "policy", ["2027-01-01", "2027-06-01", "2028-01-01"])
    _, effective, _ = stamp(data, "zeta.policy", on=date(2026, 12, 2), today=TODAY)
    assert effective == date(2028, 1, 1)


def test_the_data_is_read_as_of_the_today_given(data: Path) -> None:
    # Data verified later than the 'today' given is refused, as on every load, and nothing is written.
    from coverage_lookup.errors import DataError

    path = data / "federal" / "medicare.yaml"
    before = path.read_text(encoding="utf-8")
    with pytest.raises(DataError) as e:
        stamp(data, "medicare.ncd_30_3_3", on=date(2026, 11, 1), today=date(2026, 11, 2))
    assert "is in the future" in str(e.value)
    assert path.read_text(encoding="utf-8") == before


def test_refusals_name_the_field_value_and_what_is_valid(data: Path) -> None:
    with pytest.raises(InputError) as e:
        stamp(data, "medicare.ncd_30_3_3", on=date(2026, 12, 7), today=TODAY)
    assert (e.value.field, e.value.value, e.value.valid) == (
        "date",
        "2026-12-07",
        "a verification date cannot be after today (2026-12-06)",
    )
    with pytest.raises(InputError) as e:
        stamp(data, "medicare.ncd_30_3_4", today=TODAY)
    assert (e.value.field, e.value.value, e.value.valid) == (
        "rule",
        "medicare.ncd_30_3_4",
        "give a rule id as listed by `coverage-lookup rules`",
    )
    assert e.value.hint is not None and e.value.hint.startswith("did you mean medicare.ncd_30_3_3, ")
    with pytest.raises(InputError) as e:
        stamp(data, "qqqqqq", today=TODAY)
    assert e.value.hint is None


def test_a_stamp_the_dataset_then_refuses_is_undone(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After writing, the whole folder is validated again, as of the same day and without the cache; if
    that fails (say another edit broke the file meanwhile) the file is restored byte for byte."""
    from coverage_lookup.errors import DataError
    from coverage_lookup.sources import verify

    path = data / "federal" / "medicare.yaml"
    before = path.read_bytes()
    calls: list[tuple[Path, date | None, bool]] = []
    real = load_dataset

    def load(data_dir: Path, today: date | None = None, use_cache: bool = True) -> object:
        calls.append((data_dir, today, use_cache))
        if len(calls) == 2:
            raise DataError(["federal/medicare.yaml: broken meanwhile"])
        return real(data_dir, today=today, use_cache=use_cache)

    monkeypatch.setattr(verify, "load_dataset", load)
    with pytest.raises(DataError, match="broken meanwhile"):
        stamp(data, "medicare.ncd_30_3_3", on=date(2026, 11, 30), today=TODAY)
    assert calls == [(data, TODAY, False), (data, TODAY, False)]
    assert path.read_bytes() == before
