"""The local state directory of the scrapers: per-source metadata, document copies, reports, the lock.

Full copies of third-party documents live only here (never in the repository). Every write is atomic
(a temporary file in the same directory, fsync, rename, then fsync of the directory), so a refresh
killed midway leaves each source's previous state intact; a lock file keeps two refreshes from running
at once.

News cannot be lost: each source's state keeps the hash of the text last *seen* (``content_hash``)
apart from the hash last *reported* (``reported_hash``, the version a written report accounted for).
A report lists every source whose seen text differs from its reported one, and only once the report
files are atomically in place are those sources marked reported — so a refresh killed before its
report is written leaves its changes pending, and the next run reports them. The normalised text of
both versions is kept (``texts/<id>/<hash>.txt``) so that the diff is against the reported version.

Location: ``--state-dir``, else ``$COVERAGE_LOOKUP_HOME``, else the user data directory
(platformdirs, e.g. ``~/.local/share/coverage-lookup``).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

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
    # The version the last written report accounted for (None: never reported).
    reported_hash: str | None = None
    reported_facts: CandidateFacts | None = None
    reported_at: datetime | None = None
    reported_in: str | None = None  # the report's id

    @model_validator(mode="before")
    @classmethod
    def _from_before_reports_were_tracked(cls, data: Any) -> Any:
        """A state written before ``reported_hash`` existed was reported by the run that wrote it."""
        if isinstance(data, dict) and "reported_hash" not in data:
            data = {**data, "reported_hash": data.get("content_hash"), "reported_facts": data.get("facts")}
        return data

    @property
    def unreported(self) -> bool:
        """Seen but not yet in a written report."""
        return self.content_hash is not None and self.content_hash != self.reported_hash


def default_state_dir() -> Path:
    env = os.environ.get("COVERAGE_LOOKUP_HOME")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("coverage-lookup", appauthor=False))


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable. Skipped where directories cannot be opened (Windows)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename itself is still atomic
    finally:
        os.close(fd)


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
    fsync_dir(path.parent)


def new_report_id(stamp: str) -> str:
    """Unique even for two runs in the same second: the stamp, the process id and random bits."""
    return f"{stamp}-{os.getpid()}-{secrets.token_hex(4)}"


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources_dir = root / "sources"
        self.documents_dir = root / "documents"
        self.reports_dir = root / "reports"
        self.texts_dir = root / "texts"

    # -- lock -------------------------------------------------------------------------------------

    def lock(self, timeout: float = 0) -> Any:
        """A held lock for the duration of a refresh; raises RefreshLocked if another one runs."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / "refresh.lock"), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise RefreshLocked(
                f"another refresh holds {self.root / 'refresh.lock'}; wait for it to finish"
            ) from None
        return lock

    def remove_stale_temporaries(self, older_than: float = 3600.0) -> list[Path]:
        """Delete the hidden ``.*.tmp`` files a killed writer left behind (an atomic write that died
        before its rename), once they are older than ``older_than`` seconds so that no live writer's
        file is touched. Called by a refresh that holds the lock."""
        import time

        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        limit = time.time() - older_than
        for tmp in self.root.rglob(".*.tmp"):
            try:
                if tmp.is_file() and tmp.stat().st_mtime < limit:
                    tmp.unlink()
                    removed.append(tmp)
            except OSError:
                continue
        return removed

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

    def _text_path(self, source_id: str, digest: str) -> Path:
        return self.texts_dir / source_id / f"{digest}.txt"

    def save(self, state: SourceState, document: bytes | None = None, text: str | None = None) -> None:
        """Document and text first, metadata last: the metadata never points at content not yet written.
        ``text`` is the normalised text of ``state.content_hash``; texts of versions that are neither
        the seen nor the reported one are removed afterwards."""
        if document is not None:
            atomic_write(self.documents_dir / f"{state.id}.{state.kind}", document)
        if text is not None and state.content_hash is not None:
            atomic_write(self._text_path(state.id, state.content_hash), text.encode("utf-8"))
        state.history = state.history[-20:]
        atomic_write(self._meta_path(state.id), state.model_dump_json(indent=1).encode("utf-8"))
        keep = {f"{h}.txt" for h in (state.content_hash, state.reported_hash) if h}
        folder = self.texts_dir / state.id
        if folder.is_dir():
            for path in folder.glob("*.txt"):
                if path.name not in keep:
                    path.unlink(missing_ok=True)

    def text_for(self, source_id: str, digest: str | None) -> str | None:
        """The normalised text whose hash is ``digest`` (also found in the single-file layout of old)."""
        if not digest:
            return None
        try:
            return self._text_path(source_id, digest).read_text(encoding="utf-8")
        except OSError:
            pass
        from .normalize import content_hash

        try:
            legacy = (self.documents_dir / f"{source_id}.txt").read_text(encoding="utf-8")
        except OSError:
            return None
        return legacy if content_hash(legacy) == digest else None

    def text(self, source_id: str) -> str | None:
        """The normalised text last seen."""
        state = self.load(source_id)
        return self.text_for(source_id, state.content_hash) if state else None

    def write_report(self, stamp: str, markdown: str, payload: dict[str, Any]) -> tuple[Path, Path]:
        """Write the report under a name no other run uses, then mark what it lists as reported.

        The per-run files and ``latest.*`` are each written atomically (and the directory fsynced);
        only then does each source listed with ``reports_change`` get ``reported_hash`` set to the
        ``content_hash`` the report gave for it. A crash before that point leaves the changes pending
        (reported again next time: duplicated, never lost)."""
        report_id = new_report_id(stamp)
        payload = {**payload, "report_id": report_id}
        md = self.reports_dir / f"refresh-{report_id}.md"
        js = self.reports_dir / f"refresh-{report_id}.json"
        as_json = json.dumps(payload, indent=2, default=str).encode("utf-8")
        atomic_write(md, markdown.encode("utf-8"))
        atomic_write(js, as_json)
        atomic_write(self.reports_dir / "latest.md", markdown.encode("utf-8"))
        atomic_write(self.reports_dir / "latest.json", as_json)
        self.mark_reported(payload, report_id)
        return md, js

    def mark_reported(self, payload: dict[str, Any], report_id: str) -> list[str]:
        """Set ``reported_hash`` of every source the written report lists as changed; returns their ids.
        Done under the refresh lock; if another refresh holds it, nothing is marked (the changes are
        reported again by a later run)."""
        listed = [
            s
            for s in payload.get("sources", [])
            if isinstance(s, dict) and s.get("reports_change") and s.get("content_hash")
        ]
        if not listed:
            return []
        try:
            lock = self.lock(timeout=5)
        except RefreshLocked:
            return []
        marked: list[str] = []
        try:
            now = datetime.now(UTC)
            for entry in listed:
                state = self.load(str(entry["id"]))
                if state is None or state.content_hash is None:
                    continue
                digest = str(entry["content_hash"])
                if digest == state.content_hash:
                    state.reported_facts = state.facts
                else:  # a newer version was seen since: it stays pending
                    raw = entry.get("facts_after")
                    state.reported_facts = CandidateFacts.model_validate(raw) if raw else None
                state.reported_hash = digest
                state.reported_at = now
                state.reported_in = report_id
                self.save(state)
                marked.append(state.id)
        finally:
            lock.release()
        return marked
