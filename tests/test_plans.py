"""Plan-level data: importing the CMS Marketplace PUFs and Medicare Advantage PBP files, and answers for
a given plan. Real 2014-2016 rows are read from ../shared/puf-samples (never copied here); other years'
layouts are generated from their documented column lists; the PBP fixture follows CMS's 2026 layout."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_lookup import InputError, check
from coverage_lookup.cli import main
from coverage_lookup.plans import importer as importer_module
from coverage_lookup.plans.ids import parse_ma_id, parse_marketplace_id
from coverage_lookup.plans.importer import import_attributes, import_benefits
from coverage_lookup.plans.parse import is_covered, parse_cost_share, plan_limit
from coverage_lookup.plans.pbp import import_pbp
from coverage_lookup.plans.puf import LAYOUT_2020
from coverage_lookup.plans.store import PlanStore
from tests.conftest import ROOT, TODAY


def _samples() -> Path:
    """../shared/puf-samples beside the project (or $COVERAGE_LOOKUP_SHARED, or /work/shared for a clone
    made elsewhere on this machine)."""
    for base in (os.environ.get("COVERAGE_LOOKUP_SHARED"), ROOT.parent / "shared", "/work/shared"):
        if base and (Path(base) / "puf-samples").is_dir():
            return Path(base) / "puf-samples"
    return ROOT.parent / "shared" / "puf-samples"


SAMPLES = _samples()
SUBSET = SAMPLES / "bencs_2014_2016_acupuncture_chiro_massage_subset.csv"
RANDOM = SAMPLES / "bencs_2014_2016_random10k_sample.csv"
needs_samples = pytest.mark.skipif(
    not SUBSET.is_file(), reason="../shared/puf-samples is not beside the project"
)

COLUMNS_2020 = list(LAYOUT_2020)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COVERAGE_LOOKUP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[PlanStore]:
    s = PlanStore(home / "plans.sqlite3")  # the default location under $COVERAGE_LOOKUP_HOME
    yield s
    s.close()


def row2020(plan: str, benefit: str = "Acupuncture", year: int = 2026, **values: str) -> dict[str, str]:
    base = dict.fromkeys(COLUMNS_2020, "")
    base.update(
        BusinessYear=str(year),
        StateCode=plan[5:7],
        IssuerId=plan[:5],
        SourceName="HIOS",
        ImportDate="2025-10-01 10:00:00",
        StandardComponentId=plan[:14],
        PlanId=plan,
        BenefitName=benefit,
    )
    base.update(values)
    return base


def write_csv(
    path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS_2020, encoding: str = "utf-8"
) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def plan_file(tmp_path: Path, name: str = "benefits-2026.csv") -> Path:
    """A 2026-layout file: three plans in TX, one in WI, each with other benefit rows around them."""
    rows = [
        row2020("11111TX0010001-01", "Primary Care Visit to Treat an Injury or Illness", IsCovered="Covered"),
        row2020(
            "11111TX0010001-01",
            IsCovered="Covered",
            CopayInnTier1="$40.00",
            CoinsInnTier1="0.00%",
            CopayOutofNet="Not Applicable",
            CoinsOutofNet="50.00% Coinsurance after deductible",
            QuantLimitOnSvc="Yes",
            LimitQty="20.0",
            LimitUnit="Visit(s) per Year",
            Explanation="Limit shared with chiropractic care",
        ),
        row2020(
            "11111TX0010001-01",
            "Chiropractic Care",
            IsCovered="Covered",
            LimitQty="20",
            LimitUnit="Visit(s) per Year",
        ),
        row2020("11111TX0010001-02", IsCovered="Not Covered"),
        row2020("22222TX0020002-01", IsCovered=""),
        row2020("22222TX0020002-01", "Chiropractic Care", IsCovered="Covered"),
        row2020(
            "33333WI0030003-01",
            IsCovered="Covered",
            CopayInnTier1="No Charge after deductible",
            Explanation="12 combined visits per year for chiropractic, acupuncture and massage therapy",
        ),
    ]
    return write_csv(tmp_path / name, rows)


def ask(**kw: Any) -> Any:
    kw.setdefault("condition", "sciatica")
    return check(today=TODAY, **kw)


# -- parsing -----------------------------------------------------------------------------------------


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "column", "kind", "amount", "deductible", "plain"),
        [
            ("$35", "copay", "copay", 35.0, None, "$35 copay"),
            ("$40.00", "copay", "copay", 40.0, None, "$40 copay"),
            (
                "$1,250.50 Copay after deductible",
                "copay",
                "copay",
                1250.5,
                "after",
                "$1,250.50 copay after the deductible",
            ),
            (
                "$250 Copay before deductible",
                "copay",
                "copay",
                250.0,
                "before",
                "$250 copay before the deductible",
            ),
            ("No Charge", "copay", "copay", 0.0, None, "no charge"),
            (
                "No Charge after deductible",
                "coinsurance",
                "coinsurance",
                0.0,
                "after",
                "no charge after the deductible",
            ),
            (
                "25% Coinsurance after deductible",
                "coinsurance",
                "coinsurance",
                25.0,
                "after",
                "25% coinsurance after the deductible",
            ),
            ("50.00%", "coinsurance", "coinsurance", 50.0, None, "50% coinsurance"),
            ("Not Applicable", "copay", None, None, None, "not applicable"),
            ("", "copay", None, None, None, "not stated"),
            ("Copay with deductible", "copay", None, None, "with", "not stated"),
        ],
    )
    def test_cost_share_spellings(
        self,
        text: str,
        column: str,
        kind: str | None,
        amount: float | None,
        deductible: str | None,
        plain: str,
    ) -> None:
        c = parse_cost_share(text, column)
        assert (c.kind, c.amount, c.deductible, c.plain, c.text) == (kind, amount, deductible, plain, text)

    @given(st.text(max_size=40))
    def test_cost_share_never_fails_and_keeps_the_text(self, text: str) -> None:
        c = parse_cost_share(text, "copay")
        assert c.text == text.strip()
        assert c.kind in (None, "copay", "coinsurance")
        assert c.amount is None or c.amount >= 0

    @given(st.integers(min_value=0, max_value=99999), st.integers(min_value=0, max_value=9999))
    def test_money_round_trips(self, dollars: int, cents: int) -> None:
        c = parse_cost_share(f"${dollars:,}.{cents % 100:02d}", "copay")
        assert c.amount == pytest.approx(dollars + (cents % 100) / 100)

    def test_limits_from_columns(self) -> None:
        lim = plan_limit("12.0", "Visit(s) per Year", "")
        assert lim is not None and (lim.quantity, lim.unit, lim.per, lim.source) == (
            12.0,
            "visits",
            "year",
            "LimitQty/LimitUnit",
        )
        lim = plan_limit("10.0", "Visit(s) per Benefit Period", "combined with chiropractic care")
        assert lim is not None and (lim.per, lim.shared_with) == ("benefit_period", ("chiropractic care",))
        lim = plan_limit("375.0", "Dollars per Year", "Limit is shared with Complementary Medicine Services.")
        assert lim is not None and (lim.unit, lim.shared_with) == (
            "dollars",
            ("complementary medicine services",),
        )
        assert plan_limit("", "Visit(s) per Year", "") is None
        assert plan_limit("twelve", "Visit(s) per Year", "") is None
        assert plan_limit("12", "Hours per Day", "") is None

    def test_limits_only_in_the_explanation(self) -> None:
        lim = plan_limit(
            "", "", "12 combined visits per year for Chiropractic, Acupuncture, and Massage Therapy"
        )
        assert lim is not None
        assert (lim.quantity, lim.unit, lim.per, lim.source) == (12.0, "visits", "year", "Explanation")
        assert lim.shared_with == ("chiropractic care", "massage therapy")
        assert lim.plain == "12 visits per year, shared with chiropractic care, massage therapy"
        lim = plan_limit(
            "", "", "Homeopathy, acupuncture, and integrated medicine.  $1,500 maximum per calendar year."
        )
        assert lim is not None and (lim.quantity, lim.unit, lim.per) == (1500.0, "dollars", "year")
        assert plan_limit("", "", "Prior authorization required.") is None
        lim = plan_limit("", "", "Up to 20 visits per benefit period")
        assert lim is not None and (lim.quantity, lim.per, lim.shared_with) == (20.0, "benefit_period", ())

    def test_is_covered(self) -> None:
        assert is_covered("Covered") and is_covered(" covered ")
        assert not any(is_covered(v) for v in ("Not Covered", "Not covered", "", None))


class TestPlanIds:
    def test_marketplace(self) -> None:
        pid = parse_marketplace_id(" 91058wi0050007-03 ")
        assert (pid.issuer, pid.state, pid.component, pid.variant, pid.text) == (
            "91058",
            "WI",
            "91058WI0050007",
            "03",
            "91058WI0050007-03",
        )
        assert parse_marketplace_id("91058WI0050007").variant is None

    @pytest.mark.parametrize(
        "bad", ["91058WI005000-03", "91058WI0050007-3", "9105WI00500007-01", "91058WI0050007-01x"]
    )
    def test_marketplace_format_refused(self, bad: str) -> None:
        with pytest.raises(InputError) as e:
            parse_marketplace_id(bad)
        assert e.value.field == "plan_id" and "14 characters" in e.value.valid

    def test_marketplace_state_must_be_a_state(self) -> None:
        with pytest.raises(InputError) as e:
            parse_marketplace_id("91058ZZ0050007-01")
        assert "ZZ is not a state code" in e.value.valid

    def test_medicare_advantage(self) -> None:
        assert parse_ma_id("h1234-001").text == "H1234-001"
        assert parse_ma_id("H1234-001-0").text == "H1234-001-000"
        assert parse_ma_id("R5678_002_001").text == "R5678-002-001"
        with pytest.raises(InputError) as e:
            parse_ma_id("S1234-001")
        assert "Part D" in e.value.valid
        with pytest.raises(InputError):
            parse_ma_id("H12-001")

    @given(st.text(max_size=30))
    def test_ids_only_raise_input_errors(self, text: str) -> None:
        for parse in (parse_marketplace_id, parse_ma_id):
            try:
                parse(text)
            except InputError as e:
                assert e.field == "plan_id"


# -- importing ---------------------------------------------------------------------------------------


@needs_samples
class TestRealSamples:
    def test_subset_imports_with_provenance(self, store: PlanStore) -> None:
        s = import_benefits(SUBSET, store)
        assert (s.rows_read, s.rows_kept, s.malformed, s.years) == (239, 239, 0, [2014, 2015, 2016])
        assert s.sha256 == "942f3d6e2f4c5ec6814bdf7a7eae48b7c7c7cbfa7f68f5fe4aa7d41aade66ce9"
        [rec] = store.imports()
        assert (rec.file_name, rec.size, rec.columns, rec.rows_kept) == (SUBSET.name, 53122, 32, 239)

    def test_random_sample_with_pandas_index_columns(self, store: PlanStore) -> None:
        s = import_benefits(RANDOM, store)
        assert (s.rows_read, s.rows_kept, s.malformed) == (10000, 239, 0)  # the subset was cut from it
        assert store.imports()[0].columns == 34  # 32 CMS columns and 2 pandas index columns, matched by name

    def test_covered_plan_with_a_limit_in_the_columns(self, store: PlanStore) -> None:
        import_benefits(SUBSET, store)
        d = ask(coverage="individual", plan_id="34996NV0260002-01", service_date="2015-03-01", visits_used=19)
        assert d.benefit.status == "covered" and d.state == "NV"
        assert d.plan is not None and d.plan.covered and d.plan.plan_year == 2015
        assert [(lim.visits, lim.per, lim.remaining) for lim in d.limits] == [(20, "per plan year", 1)]
        assert d.plan.cost_sharing[0].copay == "$20 copay"
        [rule] = [r for r in d.rules_applied if r.layer == "plan"]
        assert rule.citations[0].issuer.startswith("Centers for Medicare & Medicaid Services")
        assert rule.citations[0].section == "PlanId 34996NV0260002-01, BenefitName Acupuncture"
        assert (rule.evidence_from, rule.evidence_until, rule.extrapolated) == (
            rule.version_effective,
            rule.version_effective.replace(month=12, day=31),
            False,
        )

    def test_limit_stated_only_in_the_explanation(self, store: PlanStore) -> None:
        import_benefits(SUBSET, store)
        d = ask(coverage="individual", plan_id="60612HI0110007-03", service_date="2016-06-01", visits_used=11)
        assert (
            d.plan is not None
            and d.plan.explanation is not None
            and "12 combined visits" in d.plan.explanation
        )
        [lim] = d.limits
        assert (lim.visits, lim.shared_with, lim.remaining) == (
            12,
            ["chiropractic care", "massage therapy"],
            1,
        )
        assert d.benefit.status == "covered" and d.plan.limits[0].source == "Explanation"
        used_up = ask(
            coverage="individual", plan_id="60612HI0110007-03", service_date="2016-06-01", visits_used=12
        )
        assert used_up.benefit.status == "not_covered"  # all 12 shared visits used

    def test_blank_is_covered_means_not_covered(self, store: PlanStore) -> None:
        import_benefits(SUBSET, store)
        d = ask(coverage="individual", plan_id="91058WI0050007-03", service_date="2015-03-01")
        assert d.status == "not_covered" and d.plan is not None and not d.plan.covered
        assert "IsCovered: blank" in d.benefit.summary

    def test_dollar_limit_is_a_requirement_not_a_visit_count(self, store: PlanStore) -> None:
        import_benefits(SUBSET, store)
        d = ask(coverage="individual", plan_id="16698NV0450015-01", service_date="2016-03-01")
        assert d.limits == []
        assert any("$1,500 per year" in r.text for r in d.requirements)

    def test_counts_without_a_plan_id(self, store: PlanStore) -> None:
        import_benefits(SUBSET, store)
        d = ask(coverage="individual", state="HI", service_date="2016-03-01")
        assert d.plan_counts is not None
        assert (d.plan_counts.plans, d.plan_counts.covered, d.plan_counts.plan_year) == (2, 1, 2016)
        assert d.plan_counts.text.startswith(
            "1 of 2 plans on the federal platform in HI list acupuncture as covered in 2016"
        )
        small = ask(coverage="small_group", state="HI", service_date="2016-03-01")
        assert small.plan_counts == d.plan_counts  # the same file's count: plans of either market
        assert ask(coverage="individual", state="HI", service_date="2019-03-01").plan_counts is None
        assert ask(coverage="large_group", state="HI", service_date="2016-03-01").plan_counts is None


class TestImportFiles:
    def test_2026_layout_windows_1252_and_bom(self, tmp_path: Path, store: PlanStore) -> None:
        rows = [
            row2020(
                "11111TX0010001-01", IsCovered="Covered", Explanation="Acupuncture \u2013 20 visits per year"
            )
        ]
        path = write_csv(tmp_path / "b.csv", rows, encoding="cp1252")
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte-order mark before the header
        s = import_benefits(path, store)
        assert (s.rows_kept, s.malformed) == (1, 0)
        values = store.benefit_rows(2026, "11111TX0010001-01")["Acupuncture"][0]
        assert values["Explanation"] == "Acupuncture \u2013 20 visits per year"  # the en dash survives

    def test_zip_as_cms_ships_it(self, tmp_path: Path, store: PlanStore) -> None:
        csv_path = plan_file(tmp_path)
        z = tmp_path / "benefits-and-cost-sharing-puf.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(csv_path, "benefits-and-cost-sharing-puf.csv")
            zf.writestr("data-dictionary.txt", "not read")
        s = import_benefits(z, store)
        assert (s.member, s.rows_kept, s.plans) == ("benefits-and-cost-sharing-puf.csv", 6, 4)

    @pytest.mark.parametrize(
        ("members", "message"),
        [
            ({"../../evil.csv": b"a,b\n"}, "unsafe path"),
            ({"a.csv": b"x", "b.csv": b"y"}, "several CSV files"),
            ({"readme.txt": b"x"}, "no .csv file"),
            ({"benefits.csv": b"0" * 5_000_000}, "expands over"),
        ],
    )
    def test_unsafe_or_wrong_zips_are_refused(
        self, tmp_path: Path, store: PlanStore, members: dict[str, bytes], message: str
    ) -> None:
        z = tmp_path / "puf.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        with pytest.raises(InputError) as e:
            import_benefits(z, store)
        assert message in e.value.valid
        assert not store.exists() or store.imports() == []

    def test_not_a_benefits_file(self, tmp_path: Path, store: PlanStore) -> None:
        path = tmp_path / "plans.csv"
        path.write_text("PlanId,PlanMarketingName\n11111TX0010001-01,Gold\n")
        with pytest.raises(InputError) as e:
            import_benefits(path, store)
        assert (
            "lacks the column(s) BusinessYear, StateCode, IssuerId, BenefitName, IsCovered" in e.value.valid
        )
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        with pytest.raises(InputError, match="empty"):
            import_benefits(empty, store)
        with pytest.raises(InputError, match="existing"):
            import_benefits(tmp_path / "missing.csv", store)

    def test_malformed_rows_are_counted_not_fatal(self, tmp_path: Path, store: PlanStore) -> None:
        path = plan_file(tmp_path)
        text = path.read_text()
        text += "2026,TX,11111\r\n"  # cut short
        text += ",".join(row2020("bad-plan-id").values()) + "\r\n"
        text += ",".join(row2020("44444TX0040004-01", year=1999).values()) + "\r\n"
        path.write_text(text)
        s = import_benefits(path, store)
        assert (s.rows_kept, s.malformed) == (6, 3)
        assert [m.split(":")[0] for m in s.malformed_examples] == ["line 9", "line 10", "line 11"]
        assert "BusinessYear '1999'" in s.malformed_examples[2]

    def test_reimport_replaces_the_year_and_a_failed_import_changes_nothing(
        self, tmp_path: Path, store: PlanStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import_benefits(plan_file(tmp_path), store)

        def rows() -> dict[str, Any]:
            return {k: v[:3] for k, v in store.benefit_rows(2026, "11111TX0010001-01").items()}

        before = rows()
        one = write_csv(tmp_path / "one.csv", [row2020("55555TX0050005-01", IsCovered="Covered")])
        import_benefits(one, store)
        assert rows() == {}  # the year was replaced
        assert len(store.imports()) == 1  # the first import no longer backs any row
        import_benefits(plan_file(tmp_path), store)
        assert rows() == before

        def broken(*_: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(importer_module, "_insert_benefits", broken)
        with pytest.raises(OSError):
            import_benefits(one, store)
        assert rows() == before
        assert [i.file_name for i in store.imports()] == ["benefits-2026.csv"]

    def test_a_csv_error_midway_rolls_back(self, tmp_path: Path, store: PlanStore) -> None:
        import_benefits(plan_file(tmp_path), store)
        bad = tmp_path / "bad.csv"
        good = plan_file(tmp_path, "b2.csv").read_text()
        bad.write_text(good + "2026,TX," + "x" * 200_000 + "\r\n")  # a field beyond the CSV field limit
        with pytest.raises(InputError, match="not valid CSV"):
            import_benefits(bad, store)
        assert [i.file_name for i in store.imports()] == ["benefits-2026.csv"]

    def test_attributes_name_the_plan_and_its_issuer_maps_to_a_payer(
        self, tmp_path: Path, store: PlanStore
    ) -> None:
        import_benefits(plan_file(tmp_path), store)
        cols = [
            "BusinessYear",
            "StateCode",
            "IssuerId",
            "StandardComponentId",
            "PlanId",
            "PlanMarketingName",
            "IssuerMarketPlaceMarketingName",
            "MarketCoverage",
            "DentalOnlyPlan",
            "MetalLevel",
        ]
        attrs = [
            dict(
                zip(
                    cols,
                    [
                        "2026",
                        "TX",
                        "11111",
                        "11111TX0010001",
                        "11111TX0010001-01",
                        "Gold Saver",
                        "Aetna",
                        "Individual",
                        "No",
                        "Gold",
                    ],
                    strict=True,
                )
            ),
            dict(
                zip(
                    cols,
                    ["2026", "TX", "11111", "11111TX0010001", "11111TX0010001", "", "", "", "", ""],
                    strict=True,
                )
            ),
        ]
        s = import_attributes(write_csv(tmp_path / "attrs.csv", attrs, cols), store)
        assert (s.rows_kept, s.malformed) == (1, 0)  # the bare component row is skipped
        d = ask(coverage="individual", plan_id="11111TX0010001-01", service_date="2026-02-01")
        assert d.plan is not None and (d.plan.name, d.plan.issuer, d.plan.metal_level) == (
            "Gold Saver",
            "Aetna",
            "Gold",
        )
        assert d.payer == "aetna"  # the issuer is a payer in the dataset: its medical policy is consulted
        assert d.payer_name == "Aetna"  # the name of that payer's file, beside its id
        assert d.medical_necessity.decided_by and d.medical_necessity.decided_by[0].startswith("aetna.")
        assert [(lim.visits, lim.per, lim.shared_with) for lim in d.limits] == [
            (20, "per calendar year", ["chiropractic care"])
        ]


class TestPlanQuestions:
    @pytest.fixture(autouse=True)
    def _imported(self, tmp_path: Path, store: PlanStore) -> None:
        import_benefits(plan_file(tmp_path), store)

    def test_covered_and_not_covered_variants(self) -> None:
        d = ask(coverage="individual", plan_id="11111TX0010001-01", service_date="2026-03-01")
        assert d.benefit.status == "covered" and d.plan is not None
        assert [c.tier for c in d.plan.cost_sharing] == ["in_network_tier_1", "out_of_network"]
        assert d.plan.cost_sharing[1].coinsurance == "50% coinsurance after the deductible"
        assert d.plan.related == ["Chiropractic Care: covered, limit 20 visits per year"]
        assert (
            ask(coverage="individual", plan_id="11111TX0010001-02", service_date="2026-03-01").status
            == "not_covered"
        )

    def test_a_component_id_with_one_variant_is_that_plan(self) -> None:
        assert (
            ask(coverage="individual", plan_id="22222TX0020002", service_date="2026-03-01").plan_id
            == "22222TX0020002-01"
        )
        with pytest.raises(InputError) as e:
            ask(coverage="individual", plan_id="11111TX0010001", service_date="2026-03-01")
        assert "2 variants in 2026 (11111TX0010001-01, 11111TX0010001-02)" in e.value.valid

    def test_the_plan_sets_the_state_and_a_different_state_is_refused(self) -> None:
        assert (
            ask(coverage="individual", plan_id="33333WI0030003-01", service_date="2026-03-01").state == "WI"
        )
        with pytest.raises(InputError) as e:
            ask(coverage="individual", state="TX", plan_id="33333WI0030003-01", service_date="2026-03-01")
        assert e.value.field == "state" and "is a WI plan" in e.value.valid

    @pytest.mark.parametrize(
        ("kw", "field", "words"),
        [
            ({"plan_id": "11111TX0010001-01", "service_date": "2024-03-01"}, "plan_id", "plan year 2024"),
            (
                {"plan_id": "77777CA0070007-01", "service_date": "2026-03-01"},
                "plan_id",
                "ran its own exchange",
            ),
            (
                {"plan_id": "99999TX0090009-01", "service_date": "2026-03-01"},
                "plan_id",
                "no plan 99999TX0090009-01",
            ),
            (
                {"plan_id": "11111TX0010001-01", "service_date": "2026-03-01", "coverage": "large_group"},
                "plan_id",
                "not large_group",
            ),
            (
                {"plan_id": "H1234-001", "service_date": "2026-03-01"},
                "plan_id",
                "Medicare Advantage plan, not individual",
            ),
            (
                {"plan_id": "gold-ppo", "service_date": "2026-03-01"},
                "plan_id",
                "not a plan this library knows",
            ),
        ],
    )
    def test_plan_ids_that_cannot_be_answered_are_refused_clearly(
        self, kw: dict[str, Any], field: str, words: str
    ) -> None:
        kw.setdefault("coverage", "individual")
        with pytest.raises(InputError) as e:
            ask(**kw)
        assert e.value.field == field and words in e.value.valid

    def test_the_not_imported_message_names_what_is_imported(self) -> None:
        with pytest.raises(InputError) as e:
            ask(coverage="individual", plan_id="11111TX0010001-01", service_date="2024-03-01")
        assert "imported: 2026 (2 states: TX, WI)" in e.value.valid
        assert e.value.hint is not None and "plans import --benefits" in e.value.hint

    def test_without_a_store_a_marketplace_id_says_to_import(self, home: Path) -> None:
        (home / "plans.sqlite3").unlink()
        with pytest.raises(InputError) as e:
            ask(coverage="individual", plan_id="11111TX0010001-01", service_date="2026-03-01")
        assert "no Benefits and Cost Sharing PUF is imported" in e.value.valid


# -- Medicare Advantage --------------------------------------------------------------------------------

PBP_KEY = [
    "pbp_a_hnumber",
    "pbp_a_plan_identifier",
    "segment_id",
    "pbp_a_ben_cov",
    "pbp_a_plan_type",
    "orgtype",
    "bid_id",
    "version",
]
PBP_13A = [
    "pbp_b13a_bendesc_yn",
    "pbp_b13a_bendesc_ehc",
    "pbp_b13a_bendesc_amo",
    "pbp_b13a_bendesc_lim",
    "pbp_b13a_bendesc_numv",
    "pbp_b13a_bendesc_per",
    "pbp_b13a_bendesc_per_d",
    "pbp_b13a_maxplan_yn",
    "pbp_b13a_maxplan_amt",
    "pbp_b13a_maxplan_per",
    "pbp_b13a_coins_yn",
    "pbp_b13a_coins_pct_min",
    "pbp_b13a_coins_pct_max",
    "pbp_b13a_copay_yn",
    "pbp_b13a_copay_amt_min",
    "pbp_b13a_copay_amt_max",
    "pbp_b13a_auth_yn",
    "pbp_b13a_refer_yn",
]
PBP_OTHER = ["pbp_b13b_bendesc_otc", "pbp_b13c_bendesc_yn"]


def pbp_row(contract: str, plan: str, segment: str, **values: str) -> list[str]:
    key = [contract, plan, segment, "1", "20", "08", f"{contract}_{plan}_{segment}", "2"]
    return key + [values.get(c, "") for c in PBP_13A] + ["1", "2"]


def pbp_file(tmp_path: Path, name: str = "pbp_b13_other_services.txt") -> Path:
    rows = [
        PBP_KEY + PBP_13A + PBP_OTHER,
        pbp_row(
            "H1234",
            "001",
            "0",
            pbp_b13a_bendesc_yn="1",
            pbp_b13a_bendesc_lim="2",
            pbp_b13a_bendesc_numv="12",
            pbp_b13a_bendesc_per="3",
            pbp_b13a_copay_yn="1",
            pbp_b13a_copay_amt_min="20.00",
            pbp_b13a_copay_amt_max="20.00",
            pbp_b13a_auth_yn="1",
            pbp_b13a_maxplan_yn="1",
            pbp_b13a_maxplan_amt="500.00",
            pbp_b13a_maxplan_per="3",
        ),
        pbp_row("H1234", "002", "0", pbp_b13a_bendesc_yn="2"),
        pbp_row("H5678", "001", "1", pbp_b13a_bendesc_yn="1", pbp_b13a_bendesc_lim="1"),
        pbp_row("H5678", "001", "2", pbp_b13a_bendesc_yn="2"),
        ["S9999", "001"],  # cut short
    ]
    path = tmp_path / name
    path.write_bytes("\r\n".join("\t".join(r) for r in rows).encode("cp1252") + b"\r\n")
    return path


class TestMedicareAdvantage:
    @pytest.fixture(autouse=True)
    def _imported(self, tmp_path: Path, store: PlanStore) -> None:
        s = import_pbp(pbp_file(tmp_path), year=2026, store=store)
        assert (s.rows_read, s.rows_kept, s.malformed) == (5, 4, 1)

    def test_supplemental_acupuncture_with_limits_cost_and_authorization(self) -> None:
        d = ask(
            coverage="medicare_advantage",
            plan_id="H1234-001",
            condition="migraine",
            service_date="2026-04-01",
            visits_used=3,
        )
        assert (
            d.status == "covered"
        )  # by the plan's supplemental benefit, with prior authorization as a requirement
        assert d.plan is not None and d.plan.plan_id == "H1234-001-000" and d.plan.covered
        assert [(lim.visits, lim.per, lim.remaining) for lim in d.limits] == [(12, "per plan year", 9)]
        kinds = {r.kind for r in d.requirements}
        assert {"prior_authorization", "plan_benefit"} <= kinds
        assert d.plan.cost_sharing[0].copay == "$20 copay"
        assert any("up to $500" in r.text for r in d.requirements)

    def test_no_supplemental_benefit_leaves_the_ncd_floor(self) -> None:
        low_back = ask(
            coverage="medicare_advantage",
            plan_id="H1234-002",
            diagnosis="M54.50",
            condition=None,
            provider="physician",
            service_date="2026-04-01",
        )
        assert low_back.status == "covered"  # NCD 30.3.3 still covers chronic low back pain
        migraine = ask(
            coverage="medicare_advantage",
            plan_id="H1234-002",
            condition="migraine",
            service_date="2026-04-01",
        )
        assert migraine.status == "not_covered"
        assert migraine.plan is not None and not migraine.plan.covered

    def test_segments_that_differ_need_the_segment(self) -> None:
        with pytest.raises(InputError) as e:
            ask(coverage="medicare_advantage", plan_id="H5678-001", service_date="2026-04-01")
        assert "segments 001, 002" in e.value.valid
        d = ask(
            coverage="medicare_advantage",
            plan_id="H5678-001-1",
            condition="migraine",
            service_date="2026-04-01",
        )
        assert d.plan is not None and d.plan.covered and d.limits == []

    def test_another_year_is_not_answered_from_this_one(self) -> None:
        with pytest.raises(InputError) as e:
            ask(coverage="medicare_advantage", plan_id="H1234-001", service_date="2025-04-01")
        assert "imported years: 2026" in e.value.valid

    def test_zip_year_from_name_and_unverified_year_note(self, tmp_path: Path, store: PlanStore) -> None:
        z = tmp_path / "pbp-benefits-2024.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(pbp_file(tmp_path, "x.txt"), "PBP_Benefits_2024/pbp_b13_other_services.txt")
        s = import_pbp(z, store=store)
        assert s.years == [2024] and s.member == "PBP_Benefits_2024/pbp_b13_other_services.txt"
        assert any("verified for 2026, 2027 only" in m for m in s.malformed_examples)
        d = ask(
            coverage="medicare_advantage",
            plan_id="H1234-001",
            condition="migraine",
            service_date="2024-04-01",
        )
        assert any("verified from CMS text for 2026, 2027 only" in w for w in d.warnings)

    def test_not_a_pbp_file(self, tmp_path: Path, store: PlanStore) -> None:
        path = tmp_path / "pbp_2026.txt"
        path.write_text("a\tb\n1\t2\n")
        with pytest.raises(InputError, match="not the PBP b13 file"):
            import_pbp(path, store=store)
        with pytest.raises(InputError, match="give --year"):
            import_pbp(pbp_file(tmp_path, "no-year.txt"), store=store)


# -- command line ----------------------------------------------------------------------------------------


class TestCommands:
    @pytest.mark.usefixtures("home")
    def test_import_stats_show_as_a_user_would(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = plan_file(tmp_path)
        assert main(["plans", "import", "--benefits", str(path), "--json"]) == 0
        [summary] = json.loads(capsys.readouterr().out)
        assert (summary["rows_kept"], summary["years"], summary["states"]) == (6, [2026], ["TX", "WI"])
        assert main(["plans", "stats", "--state", "Texas", "--json"]) == 0
        counts = json.loads(capsys.readouterr().out)["counts"]
        assert [(c["state"], c["plans"], c["with_row"], c["covered"]) for c in counts] == [("TX", 3, 3, 1)]
        assert main(["plans", "show", "11111TX0010001-01"]) == 0
        out = capsys.readouterr().out
        assert "CopayInnTier1: $40.00" in out
        assert (
            main(
                [
                    "check",
                    "--coverage",
                    "individual",
                    "--plan-id",
                    "11111TX0010001-01",
                    "--date",
                    "2026-03-01",
                    "--condition",
                    "sciatica",
                ]
            )
            == 0
        )
        card = capsys.readouterr().out
        assert "Plan 11111TX0010001-01, plan year 2026:" in card
        assert "in network tier 1: $40 copay; no charge  [file: $40.00 / 0.00%]" in card
        assert "Evidence: from 2026-01-01 to 2026-12-31" in card

    @pytest.mark.usefixtures("home")
    def test_bad_files_and_ids_exit_2_with_one_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = tmp_path / "x.csv"
        bad.write_text("a,b\n1,2\n")
        assert main(["plans", "import", "--benefits", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not a Benefits and Cost Sharing PUF" in err
        assert main(["check", "--coverage", "individual", "--plan-id", "11111TX0010001-01"]) == 2
        assert "plan_id" in capsys.readouterr().err
        assert main(["plans", "stats"]) == 2


def test_download_uses_the_polite_fetcher(tmp_path: Path, store: PlanStore) -> None:
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    from coverage_lookup.plans.download import download_year
    from coverage_lookup.sources.fetch import FetchPolicy
    from tests.sources_support import http_server

    bz = io.BytesIO()
    with zipfile.ZipFile(bz, "w") as zf:
        zf.writestr("benefits-and-cost-sharing-puf.csv", plan_file(tmp_path).read_bytes())
    server: HTTPServer
    with http_server() as server:
        server.expect_request("/puf/2026/benefits-and-cost-sharing-puf.zip").respond_with_handler(
            lambda _r: Response(bz.getvalue(), content_type="application/zip")
        )
        server.expect_request("/puf/2026/plan-attributes-puf.zip").respond_with_data("busy", status=503)
        policy = FetchPolicy(per_host_delay=0, max_attempts=1, read_timeout=5)
        results = download_year(2026, tmp_path / "dl", base=server.url_for("/puf"), policy=policy)
    by_kind = {r.kind: r for r in results}
    assert by_kind["benefits"].outcome == "fetched" and by_kind["benefits"].path is not None
    assert by_kind["benefits"].path.read_bytes() == bz.getvalue()
    assert by_kind["attributes"].outcome == "failed" and by_kind["attributes"].path is None
    assert not list((tmp_path / "dl").glob(".*part"))  # no temporary left
    assert import_benefits(by_kind["benefits"].path, store).rows_kept == 6
