"""The source registry: every citation URL in ``data/`` is a source; ``data/sources.yaml`` can declare
a source's kind and a structured extractor (and sources that no rule cites yet)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..dataset import SOURCES_FILE, Dataset, read_yaml
from ..errors import DataError, InputError

Kind = Literal["html", "pdf", "json", "zip"]
KINDS: tuple[str, ...] = ("html", "pdf", "json", "zip")


class SourceSpec(BaseModel):
    """One document to re-check."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    kind: Kind | None = None  # None: inferred from the URL
    extractor: str | None = None
    rules: list[str] = Field(default_factory=list)  # rule ids (or conditions.<name>) that cite it
    titles: list[str] = Field(default_factory=list)

    @property
    def resolved_kind(self) -> str:
        return self.kind or infer_kind(self.url)

    @property
    def host(self) -> str:
        return host_key(self.url)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    sources: list[SourceSpec]


def host_key(url: str) -> str:
    """host:port — the unit of politeness (concurrency and delay are per host:port)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def infer_kind(url: str) -> str:
    path = urlsplit(url).path.lower()
    if path.endswith(".pdf"):
        return "pdf"
    if path.endswith(".zip"):
        return "zip"
    if path.endswith(".json") or "/api/" in path or urlsplit(url).hostname in {"api.coverage.cms.gov"}:
        return "json"
    return "html"


def source_id_for(url: str) -> str:
    """A stable id for an undeclared source: the host, then a short hash of the whole URL."""
    host = re.sub(r"[^a-z0-9]+", "-", (urlsplit(url).hostname or "source").lower()).strip("-")
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return f"{host[:60]}-{digest}"


def _citing(ds: Dataset) -> dict[str, tuple[list[str], list[str]]]:
    """url -> (rule ids, titles) over every version of every rule, the condition sets and code history."""
    out: dict[str, tuple[list[str], list[str]]] = {}

    def add(url: str, owner: str, title: str) -> None:
        rules, titles = out.setdefault(url, ([], []))
        if owner not in rules:
            rules.append(owner)
        if title not in titles:
            titles.append(title)

    for rid, lr in sorted(ds.rules.items()):
        for v in lr.rule.versions:
            for c in v.citations:
                add(c.url, rid, c.title)
    for name, cset in sorted(ds.conditions.items()):
        for c in cset.citations:
            add(c.url, f"conditions.{name}", c.title)
    for change in ds.code_history:
        for c in change.citations:
            add(c.url, f"code_history.{change.effective.isoformat()}", c.title)
    return out


def load_declared(path: Path) -> list[SourceSpec]:
    if not path.exists():
        return []
    try:
        return SourcesFile.model_validate(read_yaml(path)).sources
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise DataError([f"{path.name}: {loc}: {first['msg']}"]) from None


def build_registry(ds: Dataset) -> list[SourceSpec]:
    """Every cited URL, merged with the declarations in ``data/sources.yaml``; sorted by id."""
    declared = {s.url: s for s in load_declared(ds.data_dir / SOURCES_FILE)}
    for s in declared.values():
        bad = [r for r in s.rules if r not in ds.rules]
        if bad:
            raise DataError(
                [f"{SOURCES_FILE}: source {s.id}: unknown rule ids {bad} — see `coverage-lookup rules`"]
            )
    citing = _citing(ds)
    specs: dict[str, SourceSpec] = {}
    for url in sorted(set(citing) | set(declared)):
        rules, titles = citing.get(url, ([], []))
        base = declared.get(url)
        spec = (
            base.model_copy(update={"rules": sorted(set(base.rules) | set(rules)), "titles": titles})
            if base
            else SourceSpec(id=source_id_for(url), url=url, rules=rules, titles=titles)
        )
        if spec.id in specs:
            raise DataError([f"{SOURCES_FILE}: source id {spec.id!r} is used twice — make it unique"])
        specs[spec.id] = spec
    return sorted(specs.values(), key=lambda s: s.id)


def load_sources_file(path: Path) -> list[SourceSpec]:
    """``refresh --sources FILE``: a JSON or YAML list of ``{id, url, kind}`` checked instead of the registry."""
    import json

    if not path.is_file():
        raise InputError("sources", str(path), "give a JSON or YAML file listing {id, url, kind}")
    text = path.read_text(encoding="utf-8")
    try:
        raw: Any = json.loads(text) if path.suffix.lower() == ".json" else read_yaml(path)
    except (ValueError, DataError) as exc:
        raise InputError("sources", str(path), f"not valid JSON/YAML ({exc})") from None
    if isinstance(raw, dict) and "sources" in raw:
        raw = raw["sources"]
    if not isinstance(raw, list) or not raw:
        raise InputError("sources", str(path), "the file must hold a non-empty list of {id, url, kind}")
    specs: list[SourceSpec] = []
    for i, item in enumerate(raw):
        try:
            specs.append(SourceSpec.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "entry"
            raise InputError(
                f"sources[{i}].{loc}",
                first.get("input"),
                f"{first['msg']}; each entry needs id (lowercase), url (http/https) and kind ({', '.join(KINDS)})",
            ) from None
    ids = [s.id for s in specs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError("sources", ", ".join(dupes), "source ids must be unique")
    return specs
