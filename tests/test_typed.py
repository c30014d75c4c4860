"""The library as a developer imports it: typed (PEP 561), its public names listed, its answer model
self-describing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import coverage_lookup
from coverage_lookup import Determination, check

DOWNSTREAM = """
from coverage_lookup import Determination, InputError, Query, check


def status_of(dx: str) -> str:
    try:
        d: Determination = check("medicare", diagnosis=dx, provider="physician")
    except InputError as e:
        return e.field
    q = Query(coverage="medicaid", state="CA", condition="sciatica")
    reveal_type(check)
    return d.status + check(q).summary
"""


def test_a_downstream_project_type_checks_under_mypy_strict(tmp_path: Path) -> None:
    (tmp_path / "use.py").write_text(DOWNSTREAM)
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-> coverage_lookup.models.Determination" in r.stdout  # check is typed, not Any
    assert (Path(coverage_lookup.__file__).parent / "py.typed").is_file()


def test_public_names_are_listed() -> None:
    public = [n for n in dir(coverage_lookup) if not n.startswith("_")]
    assert public == ["CoverageLookupError", "DataError", "Determination", "InputError", "Query", "check"]
    assert set(coverage_lookup.__all__) == {*public, "__version__"}


def test_the_answer_model_documents_every_field() -> None:
    schema = Determination.model_json_schema()
    undocumented = [name for name, prop in schema["properties"].items() if not prop.get("description")]
    assert undocumented == []


def test_check_documents_every_parameter() -> None:
    doc = check.__doc__ or ""
    for name in check.__code__.co_varnames[: check.__code__.co_argcount + check.__code__.co_kwonlyargcount]:
        assert f"{name}:" in doc, name
    assert "licensed_acupuncturist" in doc  # the default provider is stated
