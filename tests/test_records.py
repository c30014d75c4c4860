"""The plain answer records (engine, CLI) and the pydantic answer models (API) must stay in step,
and the cached dataset (plain attribute records) must answer exactly as the freshly validated one."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coverage_lookup import api, models, records
from coverage_lookup.dataset import Plain, _cache_path, default_data_dir, load_dataset
from tests.conftest import TODAY

RECORD_CLASSES = [
    obj
    for obj in vars(records).values()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == records.__name__
]


def test_every_record_has_its_model() -> None:
    assert (
        len(RECORD_CLASSES) == 16
    )  # incl. the plan records (PlanOut, CostShareOut, PlanLimitOut, PlanCountOut) and AlternativeOut
    for rec in RECORD_CLASSES:
        model = getattr(models, rec.__name__)
        assert issubclass(model, models.Out)
        rec_fields = {f.name: f for f in dataclasses.fields(rec)}
        assert set(rec_fields) == set(model.model_fields), rec.__name__
        for name, info in model.model_fields.items():
            f = rec_fields[name]
            rec_default: Any = (
                f.default
                if f.default is not dataclasses.MISSING
                else (f.default_factory() if f.default_factory is not dataclasses.MISSING else "required")
            )
            model_default = "required" if info.is_required() else info.get_default(call_default_factory=True)
            assert rec_default == model_default, f"{rec.__name__}.{name}"


QUERIES: list[dict[str, Any]] = [
    {"coverage": cov, "diagnosis": dx, "provider": prov, "service_date": when}
    for cov, dx, prov, when in itertools.product(
        ["medicare", "medicare_advantage", "medicaid", "tricare", "va", "fehb", "individual"],
        ["M54.50", "M54.41", "G43.909", None],
        ["physician", "licensed_acupuncturist"],
        ["2019-06-01", "2024-03-01"],
    )
] + [{"coverage": "fehb", "plan_id": "fep_blue_focus", "service_date": "2023-05-01", "diagnosis": "M54.50"}]


STATE_AND_PAYER_PLACES: list[tuple[str, str, dict[str, Any]]] = [
    ("medicaid", "CA", {}),
    ("medicaid", "OH", {"age": 12}),
    ("small_group", "CO", {}),
    ("individual", "NM", {}),
    ("self_funded", "CA", {}),
    ("workers_comp", "WA", {}),
    ("large_group", "NY", {"payer": "aetna"}),
    ("large_group", "CA", {"payer": "Kaiser", "visits_used": 30}),
]
STATE_AND_PAYER_QUERIES: list[dict[str, Any]] = [
    {"coverage": cov, "state": st, "condition": cond, "service_date": when, **extra}
    for cov, st, extra in STATE_AND_PAYER_PLACES
    for cond in ["sciatica", "chronic low back pain", "migraine"]
    for when in ["2012-05-01", "2015-03-01", "2024-03-01"]
]


def _pydantic_objects(obj: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """Every pydantic model reachable from ``obj`` through attributes, lists, tuples and dicts."""
    from pydantic import BaseModel

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, BaseModel):
        yield obj
        return
    if isinstance(obj, dict):
        children: Iterable[Any] = obj.values()
    elif isinstance(obj, list | tuple):
        children = obj
    elif isinstance(obj, Plain) or dataclasses.is_dataclass(obj):
        children = vars(obj).values()
    else:
        return
    for child in children:
        yield from _pydantic_objects(child, seen)


@pytest.mark.parametrize("queries", [QUERIES, STATE_AND_PAYER_QUERIES], ids=["federal", "states-and-payers"])
def test_cached_dataset_answers_like_the_fresh_one(
    queries: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path))
    data = default_data_dir().resolve()
    fresh = load_dataset(data, today=TODAY, use_cache=False)
    assert not list(tmp_path.iterdir())
    load_dataset(data, today=TODAY)  # a miss: validates afresh and writes the cache
    assert [p.name for p in tmp_path.iterdir()] == [_cache_path(data).name]
    cached = load_dataset(data, today=TODAY)
    # Served from the cache: plain records all the way down, no pydantic model anywhere.
    assert all(isinstance(lr.rule, Plain) for lr in cached.rules.values())
    assert all(isinstance(c, Plain) for c in cached.conditions.values())
    assert next(_pydantic_objects(cached), None) is None
    assert next(_pydantic_objects(fresh), None) is not None
    assert set(cached.rules) == set(fresh.rules) and cached.unavailable == fresh.unavailable
    answers = []
    for ds in (fresh, cached):
        monkeypatch.setattr(api, "_datasets", {None: ds})
        answers.append([dataclasses.asdict(api.determine(**q, today=TODAY)) for q in queries])
    assert answers[0] == answers[1]
    assert len({a["status"] for a in answers[0]}) >= 3  # the queries reach more than one kind of answer


def test_check_returns_the_validated_model() -> None:
    q = {"coverage": "medicare", "diagnosis": "M54.50", "provider": "physician", "service_date": "2024-03-01"}
    d = api.check(**q, today=TODAY)  # type: ignore[arg-type]
    assert isinstance(d, models.Determination)
    assert d.model_dump() == dataclasses.asdict(api.determine(**q, today=TODAY))  # type: ignore[arg-type]


def test_cli_check_does_not_import_pydantic(tmp_path: Path) -> None:
    """The cold-start design (bench/cold_start.py): a cached human-readable check stays off pydantic."""
    code = (
        "import sys, io, contextlib\n"
        "from coverage_lookup.cli import main\n"
        "argv = ['check', '--coverage', 'medicare', '--dx', 'M54.50', '--provider', 'physician',"
        " '--date', '2024-03-01']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(argv)\n"
        "    main(argv)\n"
        "print(sorted(m for m in sys.modules if m.startswith('pydantic')))\n"
    )
    env = {**os.environ, "COVERAGE_LOOKUP_CACHE": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)  # fills the cache
    r = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
    assert r.stdout.strip() == "[]"
