"""Reliability of the dataset path (issue 10): a cache that cannot lie or crash, loading that survives
one bad file, and a cost that grows linearly with the question."""

from __future__ import annotations

import os
import pickle
import shutil
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from coverage_lookup import api, check, dataset
from coverage_lookup.dataset import CacheWarning, Dataset, load_dataset
from coverage_lookup.errors import DataError, InputError
from tests.conftest import DATA, TODAY


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of data/ with a private, empty cache directory and an empty memo."""
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(api, "_datasets", {})
    yield copy


def cache_file(tmp_path: Path) -> Path:
    files = list((tmp_path / "cache").glob("dataset-*.bin"))
    assert len(files) == 1, files
    return files[0]


def summary(ds: Dataset, rule: str = "medicare.ncd_30_3_3") -> str:
    return str(ds.rules[rule].rule.versions[-1].summary)


NCD = "federal/medicare.yaml"
WORD = "Part B covers acupuncture"


def edit(data: Path, rel: str, old: str, new: str) -> None:
    path = data / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def loads_without_warning(data: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        return load_dataset(data, strict=False)


class TestCacheSeesEveryEdit:
    def test_an_edit_during_a_load_is_seen_by_the_next(
        self, data: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(dataset, "_after_snapshot", lambda: edit(data, NCD, WORD, WORD.upper()))
        first = load_dataset(data, strict=False)  # parses the snapshot taken before the edit
        assert WORD in summary(first)
        monkeypatch.setattr(dataset, "_after_snapshot", None)
        second = loads_without_warning(data)
        assert WORD.upper() in summary(second)

    def test_a_same_size_edit_with_its_mtime_put_back_is_seen(self, data: Path) -> None:
        load_dataset(data, strict=False)
        path = data / NCD
        before = path.stat()
        edit(data, NCD, "Part B covers", "Part B COVERS")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
        assert "Part B COVERS" in summary(loads_without_warning(data))

    def test_the_cache_does_not_depend_on_the_date(self, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        load_dataset(data, today=TODAY)
        calls: list[int] = []
        real = dataset._load_uncached

        def counted(snap: dataset.Snapshot) -> Dataset:
            calls.append(1)
            return real(snap)

        monkeypatch.setattr(dataset, "_load_uncached", counted)
        load_dataset(data, today=date(2027, 3, 1))
        load_dataset(data)
        assert calls == []


class TestDamagedCache:
    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda b: b[:11], id="11-bytes"),
            pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
            pytest.param(
                lambda b: b[:200] + bytes(x ^ 0xFF for x in b[200:203]) + b[203:], id="flipped-bytes"
            ),
            pytest.param(
                lambda b: b[:82] + b"\x80\x05\x95" + (2**62).to_bytes(8, "little") + b[93:], id="bogus-frame"
            ),
            pytest.param(lambda b: b[:8] + b"\x00\x01" + b[10:], id="other-format"),
            pytest.param(lambda _: b"not a cache at all", id="garbage"),
        ],
    )
    def test_damage_costs_one_rebuild_and_one_warning(
        self, data: Path, tmp_path: Path, damage: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fresh = load_dataset(data, strict=False)
        path = cache_file(tmp_path)
        path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
        decoded: list[int] = []
        real_loads = pickle.loads

        def counted(payload: bytes) -> object:
            decoded.append(1)
            return real_loads(payload)

        monkeypatch.setattr(pickle, "loads", counted)
        with pytest.warns(CacheWarning, match="rebuilding"):
            again = load_dataset(data, strict=False)
        assert decoded == []  # damaged bytes never reach the unpickler
        assert summary(again) == summary(fresh)
        assert summary(loads_without_warning(data)) == summary(fresh)  # rebuilt: the next load is clean

    def test_a_valid_checksum_over_foreign_content_is_a_miss(self, data: Path, tmp_path: Path) -> None:
        load_dataset(data, strict=False)
        path = cache_file(tmp_path)
        raw = path.read_bytes()
        payload = pickle.dumps({"not": "a dataset"})
        h = dataset._hasher()
        h.update(payload)
        path.write_bytes(raw[:42] + h.digest() + len(payload).to_bytes(8, "big") + payload)
        with pytest.warns(CacheWarning, match="unexpected content"):
            assert WORD in summary(load_dataset(data, strict=False))

    def test_an_unreadable_cache_directory_is_no_crash(
        self, data: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(data / NCD))  # a file, not a directory
        with pytest.warns(CacheWarning, match="cannot read it"):
            assert WORD in summary(load_dataset(data, strict=False))


class TestToday:
    def test_a_today_before_the_data_is_answered_with_a_warning(self) -> None:
        d = check(
            coverage="medicare",
            diagnosis="M54.50",
            provider="physician",
            service_date="2024-03-01",
            today=date(2026, 1, 1),
        )
        assert d.status == "covered"
        assert d.freshness.age_days == 0
        assert any("earlier than the data's last verification" in w for w in d.warnings)

    def test_strict_loads_still_refuse_future_dates(self) -> None:
        with pytest.raises(DataError, match="in the future"):
            load_dataset(DATA, today=date(2026, 1, 1), use_cache=False)

    def test_the_memo_is_bounded(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(api, "_datasets", {})

        def fake(directory: Path, strict: bool) -> Dataset:
            assert not strict
            return Dataset(directory, {}, {}, ())

        monkeypatch.setattr(api, "load_dataset", fake)
        for i in range(10):
            api.get_dataset(tmp_path / str(i))
        assert len(api._datasets) <= api._MEMO_SIZE
        assert tmp_path / "9" in api._datasets


class TestOneBadFile:
    def test_a_yml_file_is_an_error_not_silence(self, data: Path) -> None:
        (data / "state_policies" / "CA.yaml").rename(data / "state_policies" / "CA.yml")
        with pytest.raises(DataError, match=r"state_policies/CA\.yml: not read .* rename it to CA\.yaml"):
            load_dataset(data, use_cache=False)
        d = check(coverage="medicaid", state="CA", diagnosis="M54.50", data_dir=data, today=TODAY)
        assert any("data/state_policies/CA.yml" in w for w in d.warnings)
        assert d.status == "unknown"
        other = check(coverage="medicaid", state="NY", diagnosis="M54.50", data_dir=data, today=TODAY)
        assert not any("CA.yml" in w for w in other.warnings)

    def test_a_json_file_in_a_rules_folder_is_an_error(self, data: Path) -> None:
        (data / "payers" / "extra.json").write_text("{}", encoding="utf-8")
        with pytest.raises(DataError, match=r"payers/extra\.json: not read"):
            load_dataset(data, use_cache=False)

    def test_a_broken_payer_file_does_not_stop_a_medicare_check(self, data: Path) -> None:
        edit(
            data, "payers/aetna.yaml", "    layer: payer_policy", "    layer: payer_policy\n    colour: blue"
        )
        with pytest.raises(DataError, match=r"aetna\.yaml"):
            load_dataset(data, use_cache=False)
        d = check(
            coverage="medicare",
            diagnosis="M54.50",
            provider="physician",
            service_date="2024-03-01",
            data_dir=data,
            today=TODAY,
        )
        assert d.status == "covered"
        assert not any("could not be read" in w for w in d.warnings)
        a = check(
            coverage="large_group",
            payer="aetna",
            condition="neck pain",
            service_date="2024-03-01",
            data_dir=data,
            today=TODAY,
        )
        assert any("data/payers/aetna.yaml" in w and "colour" in w for w in a.warnings)

    def test_schema_errors_give_file_line_and_column(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        shutil.copytree(DATA, data)
        path = data / "payers" / "aetna.yaml"
        lines = path.read_text(encoding="utf-8").splitlines()
        at = next(i for i, line in enumerate(lines) if line == "    layer: payer_policy")
        lines.insert(at + 1, "    colour: blue")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(DataError) as err:
            load_dataset(data, use_cache=False)
        assert f"payers/aetna.yaml:{at + 2}:5: rules.acupuncture_policy.colour" in str(err.value)

    def test_conditions_are_needed_by_every_check(self, data: Path) -> None:
        edit(data, "conditions.yaml", "conditions:", "conditionz:")
        with pytest.raises(DataError, match=r"conditions\.yaml"):
            check(coverage="medicare", diagnosis="M54.50", data_dir=data, today=TODAY)


CODES = ["M54.50", "M54.41", "M54.42", "M54.16", "M54.17", "M51.16", "M51.17", "G43.909", "M79.7",
         "M17.11", "M17.12", "R51.9", "N94.6"]  # fmt: skip


class TestCost:
    def test_duplicate_diagnoses_count_once(self) -> None:
        d = check(
            coverage="medicare",
            diagnosis=["M54.50", "m54.50", "M5450"],
            provider="physician",
            service_date="2024-03-01",
            today=TODAY,
        )
        assert [x.code for x in d.diagnoses] == ["M54.50"]

    def test_more_than_twelve_diagnoses_are_refused(self) -> None:
        codes = CODES
        check(
            coverage="medicare",
            diagnosis=codes[:12],
            provider="physician",
            service_date="2024-03-01",
            today=TODAY,
        )
        with pytest.raises(InputError, match="at most 12 diagnosis codes"):
            check(
                coverage="medicare",
                diagnosis=codes,
                provider="physician",
                service_date="2024-03-01",
                today=TODAY,
            )

    def test_work_grows_linearly_with_the_diagnoses(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[str] = []
        real = Dataset.conditions_of

        def counted(self: Dataset, code: str) -> list[str]:
            calls.append(code)
            return real(self, code)

        monkeypatch.setattr(Dataset, "conditions_of", counted)
        codes = CODES[:12]

        def cost(n: int) -> int:
            calls.clear()
            check(
                coverage="large_group",
                state="CA",
                payer="aetna",
                diagnosis=codes[:n],
                service_date="2024-03-01",
                today=TODAY,
            )
            return len(calls)

        one, twelve = cost(1), cost(12)
        assert twelve <= 12 * one + 12, (one, twelve)
