"""The scrapers' state store, unit by unit: old-layout texts, report files and what they mark."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from coverage_lookup.sources.normalize import content_hash
from coverage_lookup.sources.store import SourceState, Store, new_report_id


def test_text_of_the_old_single_file_layout_is_found_only_when_its_hash_matches(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.documents_dir.mkdir(parents=True)
    text = "Acupuncture is covered for chronic low back pain.\n"
    (store.documents_dir / "ncd.txt").write_text(text, encoding="utf-8")
    assert store.text_for("ncd", content_hash(text)) == text
    assert store.text_for("ncd", content_hash(text + "more")) is None  # another version's hash
    assert store.text_for("other", content_hash(text)) is None
    assert store.text_for("ncd", None) is None


def test_text_of_a_source_never_seen_is_none(tmp_path: Path) -> None:
    assert Store(tmp_path).text("never") is None


def test_a_report_is_written_under_its_own_id_and_as_latest_and_marks_its_sources(tmp_path: Path) -> None:
    store = Store(tmp_path)
    digest = content_hash("new text")
    store.save(
        SourceState(id="ncd", url="https://example.org/ncd", kind="html", content_hash=digest),
        text="new text",
    )
    payload = {
        "when": date(2026, 12, 6),  # not JSON by itself: written as text
        "sources": [{"id": "ncd", "reports_change": True, "content_hash": digest}],
    }
    md, js = store.write_report("20261206T000000Z", "# Changes\n", payload)
    report_id = json.loads(js.read_text(encoding="utf-8"))["report_id"]
    assert report_id.startswith("20261206T000000Z-")
    assert md.name == f"refresh-{report_id}.md" and js.name == f"refresh-{report_id}.json"
    assert (store.reports_dir / "latest.md").read_text(encoding="utf-8") == "# Changes\n"
    latest = json.loads((store.reports_dir / "latest.json").read_text(encoding="utf-8"))
    assert latest["when"] == "2026-12-06" and latest["report_id"] == report_id
    state = store.load("ncd")
    assert state is not None and (state.reported_hash, state.reported_in) == (digest, report_id)


def test_a_report_without_sources_marks_nothing(tmp_path: Path) -> None:
    assert Store(tmp_path).mark_reported({"sources": []}, "r") == []
    assert Store(tmp_path).mark_reported({}, "r") == []


def test_report_ids_differ_within_one_second() -> None:
    ids = {new_report_id("20261206T000000Z") for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i.rsplit("-", 1)[1]) == 8 for i in ids)  # 4 random bytes


def test_marking_a_report_whose_source_changed_again_keeps_the_newer_version_pending(tmp_path: Path) -> None:
    from coverage_lookup.sources.extractors import CandidateFacts

    store = Store(tmp_path)
    seen_then, seen_now = content_hash("version 1"), content_hash("version 2")
    now_facts = CandidateFacts(extractor="generic", title="v2")
    store.save(
        SourceState(
            id="ncd", url="https://example.org/ncd", kind="html", content_hash=seen_now, facts=now_facts
        ),
        text="version 2",
    )
    reported = {
        "id": "ncd",
        "reports_change": True,
        "content_hash": seen_then,
        "facts_after": {"extractor": "generic", "title": "v1"},
    }
    skipped = {"id": "other", "content_hash": seen_then}  # listed but not reported as a change
    assert store.mark_reported({"sources": [reported, skipped, "junk"]}, "run-1") == ["ncd"]
    state = store.load("ncd")
    assert state is not None
    assert (state.reported_hash, state.reported_in) == (seen_then, "run-1")
    assert state.reported_facts == CandidateFacts(extractor="generic", title="v1")  # what the report said
    assert state.unreported  # version 2 is still to be reported
    assert state.reported_at is not None and state.reported_at.tzinfo is not None


def test_marking_the_version_seen_takes_its_facts(tmp_path: Path) -> None:
    from coverage_lookup.sources.extractors import CandidateFacts

    store = Store(tmp_path)
    digest = content_hash("only version")
    facts = CandidateFacts(extractor="generic", title="only")
    store.save(
        SourceState(id="ncd", url="https://example.org/ncd", kind="html", content_hash=digest, facts=facts)
    )
    store.mark_reported({"sources": [{"id": "ncd", "reports_change": True, "content_hash": digest}]}, "run-2")
    state = store.load("ncd")
    assert state is not None and state.reported_facts == facts and not state.unreported


def test_a_write_that_fails_leaves_a_temporary_the_cleanup_recognises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An atomic write's temporary is hidden and ends in .tmp, so that remove_stale_temporaries (and
    nothing else) finds what a killed writer leaves; a failed write removes its own."""
    import os

    from coverage_lookup.sources import store as store_module

    seen: list[str] = []
    real_replace = Path.replace

    def failing_replace(self: Path, _target: Path) -> Path:
        seen.append(self.name)
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", failing_replace)
    target = tmp_path / "sources" / "ncd.json"
    with pytest.raises(OSError):
        store_module.atomic_write(target, b"{}")
    monkeypatch.setattr(Path, "replace", real_replace)
    [name] = seen
    assert name.startswith(".ncd.json.") and name.endswith(".tmp")
    assert list(target.parent.iterdir()) == []  # the failed write removed its temporary
    # A temporary left by a killed writer: hidden, .tmp, older than the limit -> removed; a fresh one kept.
    old = target.parent / name
    old.write_bytes(b"{")
    os.utime(old, (1, 1))
    fresh = target.parent / ".other.json.abc.tmp"
    fresh.write_bytes(b"{")
    assert Store(tmp_path).remove_stale_temporaries() == [old]
    assert fresh.exists() and not old.exists()


def test_stale_means_older_than_the_limit(tmp_path: Path) -> None:
    import os
    import time

    store = Store(tmp_path)
    tmp = tmp_path / ".x.tmp"
    tmp.write_bytes(b"")
    os.utime(tmp, (time.time() - 3500, time.time() - 3500))
    assert store.remove_stale_temporaries() == []  # 58 minutes: a writer may still be alive
    assert store.remove_stale_temporaries(older_than=3000.0) == [tmp]


def test_history_keeps_the_last_twenty_outcomes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    state = SourceState(id="ncd", url="https://example.org/ncd", kind="html")
    state.history = [{"outcome": f"run {i}"} for i in range(25)]
    store.save(state)
    loaded = store.load("ncd")
    assert loaded is not None and [h["outcome"] for h in loaded.history] == [f"run {i}" for i in range(5, 25)]


def test_the_refresh_lock_is_one_file_in_the_state_folder(tmp_path: Path) -> None:
    from coverage_lookup.sources.store import RefreshLocked

    first = Store(tmp_path / "state" / "nested").lock()
    try:
        assert (tmp_path / "state" / "nested" / "refresh.lock").exists()
        with pytest.raises(RefreshLocked) as e:
            Store(tmp_path / "state" / "nested").lock()
        assert (
            str(e.value)
            == f"another refresh holds {tmp_path / 'state' / 'nested' / 'refresh.lock'}; wait for it to finish"
        )
    finally:
        first.release()


def test_the_default_state_folder_is_the_users_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_data_dir

    from coverage_lookup.sources.store import default_state_dir

    monkeypatch.delenv("COVERAGE_LOOKUP_HOME", raising=False)
    assert default_state_dir() == Path(user_data_dir("coverage-lookup", appauthor=False))
    monkeypatch.setenv("COVERAGE_LOOKUP_HOME", "/srv/coverage")
    assert default_state_dir() == Path("/srv/coverage")


def test_the_default_limit_for_a_stale_temporary_is_one_hour(tmp_path: Path) -> None:
    import os
    import time

    tmp = tmp_path / ".x.tmp"
    tmp.write_bytes(b"")
    then = time.time() - 3600.5  # half a second past the hour
    os.utime(tmp, (then, then))
    assert Store(tmp_path).remove_stale_temporaries() == [tmp]


def test_saving_a_new_version_prunes_texts_neither_current_nor_reported(tmp_path: Path) -> None:
    store = Store(tmp_path)
    state = SourceState(id="ncd", url="https://example.org/ncd", kind="html")
    texts = {name: f"version {name}\n" for name in ("a", "b", "c")}
    state.content_hash = content_hash(texts["a"])
    store.save(state, text=texts["a"])
    state.reported_hash = state.content_hash  # a curator saw version a
    for name in ("b", "c"):
        state.content_hash = content_hash(texts[name])
        store.save(state, text=texts[name])
    kept = sorted(p.name for p in (store.texts_dir / "ncd").iterdir())
    assert kept == sorted(f"{content_hash(texts[n])}.txt" for n in ("a", "c"))


def test_a_refresh_that_finds_the_lock_held_gives_up_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No waiting behind another refresh: the lock is tried once (timeout 0), then refused."""
    import filelock

    tried: list[float] = []
    real = filelock.FileLock

    def recording(path: str, timeout: float) -> filelock.BaseFileLock:
        tried.append(timeout)
        return real(path, timeout=timeout)

    monkeypatch.setattr(filelock, "FileLock", recording)
    Store(tmp_path).lock().release()
    assert tried == [0]


def test_a_temporary_exactly_at_the_limit_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    now = 1_700_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    at_limit, past = tmp_path / ".a.tmp", tmp_path / ".b.tmp"
    for path, age in ((at_limit, 3600), (past, 3601)):
        path.write_bytes(b"")
        os.utime(path, (now - age, now - age))
    assert Store(tmp_path).remove_stale_temporaries() == [past]
    assert at_limit.exists()


def test_a_reported_older_version_without_facts_is_marked_with_none(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save(
        SourceState(id="ncd", url="https://example.org/ncd", kind="html", content_hash=content_hash("v2"))
    )
    entry = {"id": "ncd", "reports_change": True, "content_hash": content_hash("v1"), "facts_after": None}
    assert store.mark_reported({"sources": [entry]}, "run-3") == ["ncd"]
    state = store.load("ncd")
    assert state is not None and (state.reported_hash, state.reported_facts) == (content_hash("v1"), None)


def test_a_listed_source_without_a_state_does_not_stop_the_marking(tmp_path: Path) -> None:
    store = Store(tmp_path)
    digest = content_hash("v1")
    store.save(SourceState(id="ncd", url="https://example.org/ncd", kind="html", content_hash=digest))
    gone = {"id": "aetna", "reports_change": True, "content_hash": digest}  # its state was removed
    entry = {"id": "ncd", "reports_change": True, "content_hash": digest}
    assert store.mark_reported({"sources": [gone, entry]}, "run-4") == ["ncd"]
