"""State files: the research registry, the `states` command, and answers that follow a state's history."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from coverage_lookup import Determination, check
from coverage_lookup.dataset import load_dataset
from coverage_lookup.registry import PROGRAMS, counts, state_statuses
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parent.parent
DATASET = load_dataset(ROOT / "data", today=TODAY, use_cache=False)


def ask(**kw: Any) -> Determination:
    kw.setdefault("today", TODAY)
    return check(**kw)


def test_registry_lists_every_jurisdiction() -> None:
    statuses = state_statuses(DATASET, TODAY)
    assert len(statuses) == 51
    assert {s.state for s in statuses} >= {"DC", "CA", "WY"}
    ca = next(s for s in statuses if s.state == "CA")
    assert {n: p.research for n, p in ca.programs.items()} == dict.fromkeys(PROGRAMS, "researched")
    assert ca.programs["medicaid"].headline == "covered for some indications"
    assert ca.programs["state_law"].headline == "depends on the plan"
    assert ca.programs["medicaid"].effective == date(2016, 7, 1)
    # Before the 2016 restoration the current version was the 2009 elimination.
    ca_2012 = next(s for s in state_statuses(DATASET, date(2012, 1, 1)) if s.state == "CA")
    assert ca_2012.programs["medicaid"].headline == "not covered"


def test_unknown_outcome_counts_as_unknown(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "state_policies").mkdir(parents=True)
    for name in ("conditions.yaml",):
        (data / name).write_text((ROOT / "data" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (data / "state_policies" / "WY.yaml").write_text(
        """\
title: Wyoming
state: WY
rules:
  medicaid:
    title: Wyoming Medicaid
    layer: state_medicaid
    aspect: both
    scope: {coverage: [medicaid]}
    versions:
      - effective: 2014-01-01
        effective_basis: evidenced_from
        effective_note: the manual's own date
        last_verified: 2026-11-29
        summary: not established
        citations:
          - {url: "https://example.org/wy", title: WY manual, section: index, retrieved: 2026-11-29, kind: primary, issuer: Wyoming}
        provisions:
          - id: unknown
            outcome: unknown
            summary: not established
            unknown: {missing: adult acupuncture coverage, searched: provider manual index}
  workers_comp:
    title: Wyoming workers' compensation
    layer: workers_comp
    aspect: both
    scope: {coverage: [workers_comp]}
    versions:
      - effective: 2014-01-01
        effective_basis: evidenced_from
        effective_note: the manual's own date
        last_verified: 2026-11-29
        summary: not covered
        citations:
          - {url: "https://example.org/wy-wc", title: WY WC rules, section: ch. 9, retrieved: 2026-11-29, kind: primary, issuer: Wyoming}
        provisions:
          - {id: none, outcome: not_covered, summary: not in the fee schedule}
""",
        encoding="utf-8",
    )
    ds = load_dataset(data, today=TODAY, use_cache=False)
    wy = next(s for s in state_statuses(ds, TODAY) if s.state == "WY")
    assert wy.programs["medicaid"].research == "unknown"
    assert wy.programs["workers_comp"].research == "researched"
    assert wy.programs["workers_comp"].headline == "not covered"
    assert wy.programs["state_law"].rules == []
    # The answer carries the rule's note of what could not be established.
    d = check(
        coverage="medicaid",
        state="WY",
        condition="sciatica",
        service_date="2024-03-01",
        today=TODAY,
        data_dir=data,
    )
    assert d.status == "unknown"
    assert "wy.medicaid: adult acupuncture coverage" in d.missing
    assert counts(state_statuses(ds, TODAY)) == {
        "medicaid": 0,
        "state_law": 0,
        "ehb_benchmark": 0,
        "workers_comp": 1,
    }


def test_states_command_json() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", "states", "--json"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 51
    for row in rows:
        assert len(row["state"]) == 2
        for program in PROGRAMS:
            assert row[program] in ("researched", "unknown")
    r = subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", "states"], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout.startswith("state") and "researched:" in r.stdout


class TestCaliforniaHistory:
    """Medi-Cal dropped adult acupuncture on 2009-07-01 and restored it on 2016-07-01."""

    def test_eliminated_2009_to_2016(self) -> None:
        d = ask(coverage="medicaid", state="CA", condition="sciatica", service_date="2016-06-30")
        assert d.status == "not_covered"
        assert d.rules_applied[0].id == "ca.medicaid"
        assert d.rules_applied[0].version_effective == date(2009, 7, 1)

    def test_restored_on_2016_07_01(self) -> None:
        d = ask(coverage="medicaid", state="CA", condition="sciatica", service_date="2016-07-01")
        assert d.status == "covered"
        assert [lim.visits for lim in d.limits] == [2]

    def test_before_any_recorded_version_is_unknown(self) -> None:
        d = ask(coverage="medicaid", state="CA", condition="sciatica", service_date="2008-01-01")
        assert d.status == "unknown"
        assert any("CA" in m for m in d.missing)

    def test_children_keep_epsdt_while_adults_lost_it(self) -> None:
        d = ask(coverage="medicaid", state="CA", condition="sciatica", service_date="2012-01-01", age=10)
        assert d.status == "conditional"

    def test_nausea_outside_the_chronic_pain_benefit(self) -> None:
        d = ask(coverage="medicaid", state="CA", condition="nausea of pregnancy", service_date="2024-03-01")
        assert d.status == "not_covered"

    def test_nurse_practitioner_cannot_bill(self) -> None:
        d = ask(
            coverage="medicaid",
            state="CA",
            condition="sciatica",
            provider="nurse_practitioner",
            service_date="2024-03-01",
        )
        assert d.status == "not_covered"


class TestCommercialLayers:
    def test_mandated_offer_is_conditional_for_large_group(self) -> None:
        d = ask(coverage="large_group", state="CA", condition="sciatica", service_date="2024-03-01")
        assert d.benefit.status == "conditional"
        assert "ca.state_law_offer" in d.benefit.decided_by

    def test_ehb_benchmark_grants_the_benefit_for_small_group(self) -> None:
        d = ask(coverage="small_group", state="CA", condition="sciatica", service_date="2024-03-01")
        assert d.benefit.status == "covered"
        assert "ca.ehb_benchmark" in d.benefit.decided_by
        assert d.status == "conditional"  # the payer's medical policy is not in the query

    def test_self_funded_is_not_reached_by_state_law(self) -> None:
        d = ask(coverage="self_funded", state="CA", condition="sciatica", service_date="2024-03-01")
        assert all(r.layer not in ("state_law", "ehb_benchmark") for r in d.rules_applied)
        skipped = {t.rule: t.reason for t in d.trace if t.decision == "skipped"}
        assert "ERISA" in skipped["ca.state_law_offer"]
        assert "individual and small-group" in skipped["ca.ehb_benchmark"]
        assert any("ERISA" in w for w in d.warnings)

    def test_large_group_is_not_bound_by_the_ehb_benchmark(self) -> None:
        d = ask(coverage="large_group", state="CA", condition="sciatica", service_date="2024-03-01")
        skipped = {t.rule: t.reason for t in d.trace if t.decision == "skipped"}
        assert "individual and small-group" in skipped["ca.ehb_benchmark"]

    def test_workers_comp_names_its_layer(self) -> None:
        d = ask(
            coverage="workers_comp", state="CA", condition="chronic low back pain", service_date="2024-03-01"
        )
        assert d.status == "covered"
        assert d.rules_applied[0].layer == "workers_comp"


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_states_doc_reflects_registry(program: str) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_docs import render_states
    finally:
        sys.path.pop(0)
    table = render_states(DATASET)
    total = counts(state_statuses(DATASET))
    assert f"{total[program]}/51" in table


class TestEhbByPlanYear:
    """EHB benchmark answers follow the plan year (CMS PUF evidence for 2014-2016, newer benchmarks after)."""

    def test_new_mexico_2015_benchmark_included_acupuncture(self) -> None:
        d = ask(
            coverage="individual", state="NM", condition="chronic low back pain", service_date="2015-03-01"
        )
        assert d.benefit.status == "covered"
        assert [lim.visits for lim in d.limits if lim.source == "nm.ehb_benchmark"] == [20]

    def test_new_mexico_2017_benchmark_not_established(self) -> None:
        d = ask(
            coverage="individual", state="NM", condition="chronic low back pain", service_date="2018-03-01"
        )
        # The 2017 version is consulted and says "unknown", so the state law (conditional) decides.
        assert (d.status, d.benefit.status) == ("conditional", "conditional")
        assert d.benefit.decided_by == ["nm.state_law_provider"]
        ehb = [(t.decision, t.reason) for t in d.trace if t.rule == "nm.ehb_benchmark"]
        assert ehb == [("outranked", "another layer decides this coverage type (unknown)")]
        assert not [lim for lim in d.limits if lim.source == "nm.ehb_benchmark"]  # not the 2014 limit

    def test_colorado_added_acupuncture_in_2023(self) -> None:
        before = ask(
            coverage="small_group", state="CO", condition="chronic low back pain", service_date="2022-12-31"
        )
        after = ask(
            coverage="small_group", state="CO", condition="chronic low back pain", service_date="2023-01-01"
        )
        assert (after.benefit.status, after.benefit.decided_by) == ("covered", ["co.ehb_benchmark"])
        applied = {r.id: (r.version_effective, r.provision) for r in after.rules_applied}
        assert applied == {"co.ehb_benchmark": (date(2023, 1, 1), "pain")}
        assert [lim.visits for lim in after.limits if lim.source == "co.ehb_benchmark"] == [6]
        # The day before, the 2021 benchmark (acupuncture not an EHB) is consulted and leaves it open.
        assert before.benefit.status == "conditional"
        assert before.benefit.decided_by == ["co.state_law", "co.ehb_benchmark"]
        applied = {r.id: (r.version_effective, r.provision) for r in before.rules_applied}
        assert applied["co.ehb_benchmark"] == (date(2021, 4, 30), "not_ehb")
