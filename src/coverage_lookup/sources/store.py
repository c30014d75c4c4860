"""The local state directory of the scrapers: per-source metadata, document copies, reports, the lock.

Full copies of third-party documents live only here (never in the repository). Every write is atomic
(a temporary file in the same directory, fsync, then rename), so a refresh killed midway leaves each
source's previous state intact; a lock file keeps two refreshes from running at once.

Location: ``--state-dir``, else ``$COVERAGE_LOOKUP_HOME``, else the user data directory
(platformdirs, e.g. ``~/.local/share/coverage-lookup``).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .extractors import CandidateFacts


class RefreshLocked(Exception):
    pass


class SourceState(BaseModel):
    id: str
    url: str
    kind: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_checked: datetime | None = None
    last_changed: datetime | None = None
    last_outcome: str | None = None
    last_detail: str | None = None
    http_status: int | None = None
    facts: CandidateFacts | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)  # last outcomes, newest last (bounded)


def default_state_dir() -> Path:
    env = os.environ.get("COVERAGE_LOOKUP_HOME")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("coverage-lookup", appauthor=False))


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources_dir = root / "sources"
        self.documents_dir = root / "documents"
        self.reports_dir = root / "reports"

    # -- lock -------------------------------------------------------------------------------------

    def lock(self) -> Any:
        """A held lock for the duration of a refresh; raises RefreshLocked if another one runs."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / "refresh.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RefreshLocked(
                f"another refresh holds {self.root / 'refresh.lock'}; wait for it to finish"
            ) from None
        return lock

    # -- per-source state ---------------------------------------------------------------------------

    def _meta_path(self, source_id: str) -> Path:
        return self.sources_dir / f"{source_id}.json"

    def load(self, source_id: str) -> SourceState | None:
        path = self._meta_path(source_id)
        try:
            return SourceState.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError):
            return None  # an unreadable state is treated as never seen (the next fetch is unconditional)

    def all_states(self) -> dict[str, SourceState]:
        out: dict[str, SourceState] = {}
        if self.sources_dir.is_dir():
            for path in sorted(self.sources_dir.glob("*.json")):
                state = self.load(path.stem)
                if state is not None:
                    out[state.id] = state
        return out

    def save(self, state: SourceState, document: bytes | None = None, text: str | None = None) -> None:
        """Document and text first, metadata last: the metadata never points at content not yet written."""
        if document is not None:
            atomic_write(self.documents_dir / f"{state.id}.{state.kind}", document)
        if text is not None:
            atomic_write(self.documents_dir / f"{state.id}.txt", text.encode("utf-8"))
        state.history = state.history[-20:]
        atomic_write(self._meta_path(state.id), state.model_dump_json(indent=1).encode("utf-8"))

    def text(self, source_id: str) -> str | None:
        try:
            return (self.documents_dir / f"{source_id}.txt").read_text(encoding="utf-8")
        except OSError:
            return None

    def write_report(self, stamp: str, markdown: str, payload: dict[str, Any]) -> tuple[Path, Path]:
        md = self.reports_dir / f"refresh-{stamp}.md"
        js = self.reports_dir / f"refresh-{stamp}.json"
        atomic_write(md, markdown.encode("utf-8"))
        atomic_write(js, json.dumps(payload, indent=2, default=str).encode("utf-8"))
        atomic_write(self.reports_dir / "latest.md", markdown.encode("utf-8"))
        atomic_write(
            self.reports_dir / "latest.json", json.dumps(payload, indent=2, default=str).encode("utf-8")
        )
        return md, js
