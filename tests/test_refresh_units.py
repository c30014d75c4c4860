"""Refresh's pieces on their own: the diff summary a report shows, what it asks a curator to compare
with the curated rules, and how a change an earlier run saw but never reported is listed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from coverage_lookup.dataset import load_dataset
from coverage_lookup.sources.extractors import CandidateFacts
from coverage_lookup.sources.fetch import FetchPolicy, FetchResult
from coverage_lookup.sources.refresh import (
    RefreshRun,
    SourceOutcome,
    _add_unreported,
    compare_with_curated,
    diff_summary,
    refresh,
    render_report,
    write_report,
)
from coverage_lookup.sources.registry import SourceSpec
from coverage_lookup.sources.store import SourceState, Store
from tests.test_engine_synthetic import Data, provision, rule


class TestDiffSummary:
    def test_added_and_removed_lines(self) -> None:
        assert diff_summary("a\nb\nc", "a\nB\nc\nd") == {
            "lines_added": 2,
            "lines_removed": 1,
            "added_sample": ["B", "d"],
            "removed_sample": ["b"],
        }

    def test_a_first_version_is_all_added(self) -> None:
        assert diff_summary(None, "a\nb") == {
            "lines_added": 2,
            "lines_removed": 0,
            "added_sample": ["a", "b"],
            "removed_sample": [],
        }

    def test_lines_that_begin_like_diff_headers_are_kept(self) -> None:
        d = diff_summary("x\n-- old rule\n@@ note", "x\n++ new rule\n@@ note")
        assert (d["added_sample"], d["removed_sample"]) == (["++ new rule"], ["-- old rule"])

    def test_samples_hold_eight_lines_of_at_most_200_characters(self) -> None:
        after = "\n".join(f"{i:02d}" + "x" * 300 for i in range(10))
        d = diff_summary("", after)
        assert d["lines_added"] == 10
        assert [len(a) for a in d["added_sample"]] == [200] * 8
        assert d["added_sample"][0] == "00" + "x" * 198
        d = diff_summary(after, "")
        assert (d["lines_removed"], [len(r) for r in d["removed_sample"]]) == (10, [200] * 8)
        assert diff_summary("", after, sample=3)["added_sample"][2].startswith("02")


def curated(tmp_path: Path) -> Data:
    """A rule of three versions; the current one limits visits to 12, plus 8 with improvement."""
    data = Data(tmp_path)
    doc = rule("tricare", ["tricare"], provision("covered"))
    first = doc["versions"][0]
    limited = provision("covered")
    limited["limits"] = [{"visits": 12, "per": "calendar_year", "extra_visits_with_improvement": 8}]
    doc["versions"] = [
        first,
        {**first, "effective": "2020-01-01", "last_verified": "2025-03-01"},
        {**first, "effective": "2022-01-01", "last_verified": "2024-06-01", "provisions": [limited]},
    ]
    return data.federal("t", a=doc)


def findings(data: Data, **facts: object) -> list[str]:
    spec = SourceSpec(id="s", url="https://example.gov/policy", rules=["nowhere.rule", "t.a"])
    return compare_with_curated(load_dataset(data.root), spec, CandidateFacts(extractor="test", **facts))


@pytest.mark.parametrize(
    ("label", "when", "flagged"),
    [
        ("effective", date(2024, 6, 2), True),  # after the latest version and its verification
        ("effective", date(2024, 6, 1), False),  # the day of the last verification
        ("reviewed", date(2024, 6, 2), True),
        ("effective", date(2021, 6, 1), False),  # before the latest version
    ],
)
def test_a_source_date_after_the_latest_curated_version_is_flagged(
    tmp_path: Path, label: str, when: date, flagged: bool
) -> None:
    expected = (
        [
            f"t.a: the source's {label} date {when.isoformat()} is after the latest curated version (2022-01-01) "
            "and its last verification — re-read it; a new version may be needed"
        ]
        if flagged
        else []
    )
    assert findings(curated(tmp_path), **{label: when}) == expected


def test_a_source_date_equal_to_the_latest_version_is_not_flagged(tmp_path: Path) -> None:
    data = curated(tmp_path)
    assert findings(data, effective=date(2022, 1, 1)) == []


@pytest.mark.parametrize(
    ("limits", "flagged"),
    [
        (["12 visits per calendar year"], False),
        (["12 visits per calendar year", "8 more with improvement"], False),
        (["20 visits per calendar year"], True),
        (["visits as medically necessary"], False),  # no number: nothing to compare
    ],
)
def test_visit_limits_the_source_states_are_compared_with_the_curated_ones(
    tmp_path: Path, limits: list[str], flagged: bool
) -> None:
    expected = (
        [
            f"t.a: the source states limits {sorted(limits)}; the curated limits are ['8', '12'] visits — compare"
        ]
        if flagged
        else []
    )
    assert findings(curated(tmp_path), limits=limits) == expected


def test_without_a_dataset_there_is_nothing_to_compare() -> None:
    spec = SourceSpec(id="s", url="https://example.gov/policy", rules=["t.a"])
    assert (
        compare_with_curated(None, spec, CandidateFacts(extractor="test", effective=date(2030, 1, 1))) == []
    )


SEEN = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def unreported(
    tmp_path: Path, outcome: str, detail: str, *, reported: bool, seen: datetime | None = SEEN
) -> SourceOutcome:
    store = Store(tmp_path)
    state = SourceState(id="ncd", url="https://example.gov/ncd", kind="html", last_changed=seen)
    state.content_hash = "new"
    if reported:
        state.reported_hash = "old"
        store.texts_dir.joinpath("ncd").mkdir(parents=True, exist_ok=True)
        store.texts_dir.joinpath("ncd", "old.txt").write_text("a\nb\n", encoding="utf-8")
    out = SourceOutcome(id="ncd", url=state.url, outcome=outcome, http_status=200, detail=detail)
    _add_unreported(out, state, store, "a\nB\nc\n")
    assert (out.reports_change, out.content_hash, out.change_seen) == (True, "new", seen)
    return out


def test_an_unreported_change_seen_earlier_is_listed_with_its_diff(tmp_path: Path) -> None:
    out = unreported(tmp_path, "unchanged", "304 not modified", reported=True)
    assert (out.outcome, out.detail) == (
        "changed",
        "content changed (+2 / -1 lines), seen 2026-12-01 10:00:00 UTC by a run whose report was not written; "
        "304 not modified",
    )
    assert out.diff is not None and out.diff["added_sample"] == ["B", "c"]


def test_a_source_never_reported_is_first_time_seen_at_an_unknown_time(tmp_path: Path) -> None:
    out = unreported(tmp_path, "unchanged", "304 not modified", reported=False, seen=None)
    assert (
        out.detail == "first time seen, seen earlier by a run whose report was not written; 304 not modified"
    )
    assert out.diff is None


def test_a_change_this_run_saw_gets_its_line_counts(tmp_path: Path) -> None:
    assert unreported(tmp_path, "changed", "content changed", reported=True).detail == (
        "content changed (+2 / -1 lines)"
    )
    assert unreported(tmp_path, "changed", "new title", reported=True).detail == "new title"


def test_a_failed_check_still_lists_the_older_news(tmp_path: Path) -> None:
    assert unreported(tmp_path, "failed", "HTTP 503", reported=True).detail == (
        "HTTP 503; an unreported earlier change (seen 2026-12-01 10:00:00 UTC by a run whose report was not "
        "written) is listed in this report"
    )


def test_a_source_date_equal_to_a_scheduled_versions_start_is_not_flagged(tmp_path: Path) -> None:
    """A version curated ahead of its start (verified before it takes effect): the source announcing that
    very date is what the dataset already holds."""
    data = curated(tmp_path)
    path = data.root / "federal" / "t.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    versions = doc["rules"]["a"]["versions"]
    versions.append({**versions[-1], "effective": "2027-01-01", "last_verified": "2026-11-01"})
    data.federal("t", a=doc["rules"]["a"])
    assert findings(data, effective=date(2027, 1, 1)) == []
    assert findings(data, effective=date(2027, 1, 2)) == [
        "t.a: the source's effective date 2027-01-02 is after the latest curated version (2027-01-01) and its "
        "last verification — re-read it; a new version may be needed"
    ]


def a_run() -> RefreshRun:
    changed = SourceOutcome(
        "ncd", "https://example.gov/ncd", "changed", 200, "content changed (+1 / -1 lines)", ["federal.ncd"]
    )
    changed.diff = {"lines_added": 1, "lines_removed": 1, "added_sample": ["new"], "removed_sample": ["old"]}
    changed.facts_before = CandidateFacts(extractor="x", effective=date(2020, 1, 1), limits=["12 visits"])
    changed.facts_after = CandidateFacts(extractor="x", effective=date(2025, 1, 1), limits=["12 visits"])
    changed.findings = ["federal.ncd: look"]
    changed.reports_change = True
    changed.change_seen = SEEN
    failed = SourceOutcome("aetna", "https://example.com/a", "failed", None, "HTTP 503", [])
    skipped = SourceOutcome("bcbs", "https://example.com/b", "skipped", None, "robots.txt disallows", ["x.y"])
    unchanged = SourceOutcome(
        "va", "https://example.gov/va", "unchanged", 304, "not modified (304)", ["federal.va"]
    )
    started = datetime(2026, 12, 6, 9, 5, tzinfo=UTC)
    return RefreshRun([changed, failed, skipped, unchanged], started, datetime(2026, 12, 6, 9, 6, tzinfo=UTC))


REPORT = """# Source refresh — 2026-12-06 09:05 UTC

This report lists what changed in the sources behind the dataset. Nothing in `data/` was modified:
re-read each changed source, update the rules it backs if needed, then stamp them with
`coverage-lookup verify RULE_ID`.

| outcome | sources |
|---|---|
| changed | 1 |
| unchanged | 1 |
| failed | 1 |
| skipped | 1 |

## Changed

### `ncd`

- url: <https://example.gov/ncd>
- http status: 200
- detail: content changed (+1 / -1 lines)
- rules citing it: `federal.ncd`
- text diff: +1 / -1 lines
    - added: new
    - removed: old
- extracted facts (before → after):
    - document_id: None → None
    - effective: '2020-01-01' → '2025-01-01' **(changed)**
    - reviewed: None → None
    - next_review: None → None
    - limits: ['12 visits'] → ['12 visits']
    - covered: [] → []
    - experimental: [] → []
- to check: federal.ncd: look

## Failed

### `aetna`

- url: <https://example.com/a>
- http status: -
- detail: HTTP 503
- rules citing it: (none)

## Skipped

### `bcbs`

- url: <https://example.com/b>
- http status: -
- detail: robots.txt disallows
- rules citing it: `x.y`
"""


def test_the_report_word_for_word() -> None:
    markdown, _ = render_report(a_run())
    assert markdown == REPORT


def test_the_report_payload_carries_every_field() -> None:
    _, payload = render_report(a_run())
    assert (payload["started"], payload["finished"]) == (
        "2026-12-06T09:05:00+00:00",
        "2026-12-06T09:06:00+00:00",
    )
    assert payload["counts"] == {"changed": 1, "unchanged": 1, "failed": 1, "skipped": 1}
    first = payload["sources"][0]
    assert first["rules"] == ["federal.ncd"] and first["findings"] == ["federal.ncd: look"]
    assert first["facts_before"]["effective"] == "2020-01-01"
    assert first["facts_after"]["effective"] == "2025-01-01"
    assert (first["reports_change"], first["change_seen"]) == (True, "2026-12-01T10:00:00+00:00")
    assert payload["sources"][1]["facts_before"] is None
    json.dumps(payload)  # plain JSON: dates already text


def test_the_report_is_filed_under_its_start_time(tmp_path: Path) -> None:
    md, js = write_report(Store(tmp_path), a_run())
    assert md.name.startswith("refresh-20261206T090500Z-") and md.suffix == ".md"
    assert js.name == md.name.removesuffix(".md") + ".json"


def test_an_unreported_change_whose_text_is_gone_is_diffed_against_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    state = SourceState(id="ncd", url="https://example.gov/ncd", kind="html", last_changed=SEEN)
    state.content_hash, state.reported_hash = "new", "old"
    store.texts_dir.joinpath("ncd").mkdir(parents=True)
    store.texts_dir.joinpath("ncd", "old.txt").write_text("a\nb\n", encoding="utf-8")
    out = SourceOutcome(id="ncd", url=state.url, outcome="failed", http_status=None, detail="HTTP 503")
    _add_unreported(out, state, store, None)  # neither this run's text nor a stored one for "new"
    assert out.diff == diff_summary("a\nb\n", "")


def test_a_change_never_reported_gets_no_line_counts(tmp_path: Path) -> None:
    assert unreported(tmp_path, "changed", "content changed", reported=False).detail == "content changed"


def test_a_report_without_changes_still_lists_failures_and_skips() -> None:
    run = a_run()
    run.outcomes = [o for o in run.outcomes if o.outcome != "changed"]
    markdown, _ = render_report(run)
    assert "## Changed" not in markdown
    assert "## Failed\n\n### `aetna`" in markdown and "## Skipped\n\n### `bcbs`" in markdown


# --- one source checked, through refresh() with a scripted fetcher ---------------------------------


class ScriptedFetcher:
    """Answers each fetch with the next result; records the validators it was given."""

    def __init__(self, *results: FetchResult) -> None:
        self.results = list(results)
        self.asked: list[tuple[str, str, str | None, str | None]] = []

    def fetch(
        self, url: str, kind: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        self.asked.append((url, kind, etag, last_modified))
        return self.results.pop(0)


PAGE = b"<html><body><main><h1>Acupuncture</h1><p>Covered for chronic low back pain.</p></main></body></html>"
URL = "https://example.gov/ncd"


def test_a_first_fetch_keeps_the_document_its_status_and_a_history_entry(tmp_path: Path) -> None:
    store = Store(tmp_path)
    fetched = FetchResult(
        URL, "fetched", 200, "", PAGE, "text/html", '"v1"', "Tue, 01 Sep 2026 10:00:00 GMT", URL, 1, len(PAGE)
    )
    spec = SourceSpec(id="ncd", url=URL, kind="html")
    run = refresh([spec], store, FetchPolicy(), fetcher=ScriptedFetcher(fetched))  # type: ignore[arg-type]
    assert run.started.tzinfo is UTC
    assert (tmp_path / "documents" / "ncd.html").read_bytes() == PAGE  # the document as fetched, for review
    state = store.load("ncd")
    assert state is not None
    assert (state.http_status, state.etag, state.last_modified) == (
        200,
        '"v1"',
        "Tue, 01 Sep 2026 10:00:00 GMT",
    )
    assert state.history == [
        {"at": run.started.isoformat(), "outcome": "changed", "detail": "first time seen"}
    ]


def test_a_304_is_unchanged_and_sends_the_validators_it_was_given(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = FetchResult(URL, "fetched", 200, "", PAGE, "text/html", '"v1"', None, URL, 1, len(PAGE))
    again = FetchResult(URL, "not_modified", 304, "304 Not Modified", None, None, '"v1"', None, URL, 1, 0)
    fetcher = ScriptedFetcher(first, again)
    spec = SourceSpec(id="ncd", url=URL, kind="html")
    write_report(store, refresh([spec], store, FetchPolicy(), fetcher=fetcher))  # type: ignore[arg-type]
    run = refresh([spec], store, FetchPolicy(), fetcher=fetcher)  # type: ignore[arg-type]
    assert fetcher.asked[1] == (URL, "html", '"v1"', None)
    assert (run.outcomes[0].outcome, run.outcomes[0].detail) == ("unchanged", "not modified (304)")
    state = store.load("ncd")
    assert state is not None and state.http_status == 304
    assert state.history[-1] == {
        "at": run.started.isoformat(),
        "outcome": "unchanged",
        "detail": "not modified (304)",
    }


def test_an_unknown_extractor_is_refused_before_anything_is_fetched(tmp_path: Path) -> None:
    fetcher = ScriptedFetcher()
    spec = SourceSpec(id="ncd", url=URL, kind="html", extractor="no_such_extractor")
    with pytest.raises(ValueError) as e:
        refresh([spec], Store(tmp_path), FetchPolicy(), fetcher=fetcher)  # type: ignore[arg-type]
    assert str(e.value) == "source ncd: unknown extractor 'no_such_extractor'"
    assert fetcher.asked == []
