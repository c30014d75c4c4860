"""Crash safety of every durable write: faults injected inside the atomic write, and refreshes killed
(SIGKILL) in the middle of writing a state file, a text, a document or a report.

The fault tests patch the OS-level functions an atomic write goes through (the file object's
``write``, ``os.fsync``, ``os.replace``), not ``atomic_write`` itself, so they also hold for a
rewritten implementation. The kill tests run the refresh in a child process with a small driver
(``DRIVER``) that pauses inside one chosen write; the test then kills the child there. Everything
runs against 127.0.0.1.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from coverage_lookup.sources.fetch import FetchPolicy
from coverage_lookup.sources.normalize import content_hash
from coverage_lookup.sources.refresh import refresh, write_report
from coverage_lookup.sources.registry import SourceSpec
from coverage_lookup.sources.store import SourceState, Store, atomic_write
from coverage_lookup.sources.verify import stamp
from tests.conftest import TODAY
from tests.sources_support import http_server

ROOT = Path(__file__).resolve().parent.parent
FAST = FetchPolicy(
    per_host_concurrency=1, per_host_delay=0.0, read_timeout=5.0, connect_timeout=5.0, max_attempts=1
)
HAS_PROC_FD = Path("/proc/self/fd").is_dir()

needs_proc = pytest.mark.skipif(not HAS_PROC_FD, reason="needs /proc/self/fd to name an open file")


# -- fault injection inside the atomic write ---------------------------------------------------------


class FaultyFile:
    """A file object whose first ``write`` writes half the bytes (they reach the file) then fails."""

    def __init__(self, fh: Any, error: BaseException) -> None:
        self._fh = fh
        self._error = error

    def write(self, data: Any) -> int:
        raw = bytes(data)
        self._fh.write(raw[: len(raw) // 2])
        self._fh.flush()
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> FaultyFile:
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._fh.__exit__(*exc)


def _opened_for_writing(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def fail_writes_in(monkeypatch: pytest.MonkeyPatch, directory: Path, error: BaseException) -> None:
    """Every file opened for writing in ``directory`` — by ``os.fdopen`` (the temporary file of
    ``mkstemp``) or by ``open`` / ``Path.open`` (an in-place write) — fails halfway through its write."""
    directory = directory.resolve()
    real_open = builtins.open
    real_fdopen = os.fdopen

    def in_directory(path: str | os.PathLike[str]) -> bool:
        return Path(path).resolve().parent == directory

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(file, mode, *args, **kwargs)
        if isinstance(file, str | os.PathLike) and _opened_for_writing(mode) and in_directory(file):
            return FaultyFile(fh, error)
        return fh

    def fake_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_fdopen(fd, mode, *args, **kwargs)
        if _opened_for_writing(mode) and in_directory(Path(f"/proc/self/fd/{fd}").readlink()):
            return FaultyFile(fh, error)
        return fh

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "fdopen", fake_fdopen)


def inject(monkeypatch: pytest.MonkeyPatch, where: str, directory: Path, error: BaseException) -> None:
    """Make the atomic write fail at ``where``: ``write`` (halfway), ``fsync`` or ``rename``."""
    if where == "write":
        fail_writes_in(monkeypatch, directory, error)
    elif where == "fsync":

        def fsync(_fd: int) -> None:
            raise error

        monkeypatch.setattr(os, "fsync", fsync)
    else:

        def rename(*_args: Any, **_kwargs: Any) -> None:
            raise error

        monkeypatch.setattr(os, "replace", rename)  # Path.replace calls os.replace
        monkeypatch.setattr(os, "rename", rename)


def listing(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


NEW = b'{"new": "' + b"n" * 65536 + b'"}\n'  # big enough that half of it is a real partial write
OLD = b'{"old": true}\n' * 50


@needs_proc
@pytest.mark.parametrize("previous", [OLD, None], ids=["replacing", "creating"])
@pytest.mark.parametrize("error_type", [OSError, KeyboardInterrupt])
@pytest.mark.parametrize("where", ["write", "fsync", "rename"])
def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    error_type: type[BaseException],
    previous: bytes | None,
) -> None:
    """A disk-full write, a failing fsync, a refused rename — or an interrupt at that point: the target
    keeps its old bytes exactly (or still does not exist), the temporary file is gone, and the very
    error raised inside surfaces to the caller."""
    folder = tmp_path / "state" / "sources"
    folder.mkdir(parents=True)
    target = folder / "s.json"
    (folder / "other.json").write_bytes(b"{}")
    if previous is not None:
        target.write_bytes(previous)
    before = listing(folder)
    error = (
        OSError(errno.ENOSPC, f"injected failure at {where}")
        if error_type is OSError
        else KeyboardInterrupt(where)
    )
    with monkeypatch.context() as patch:
        inject(patch, where, folder, error)
        with pytest.raises(error_type) as raised:
            atomic_write(target, NEW)
    assert raised.value is error
    assert listing(folder) == before  # old bytes, no temporary file, nothing else touched
    atomic_write(target, NEW)  # the directory is left fit for the next write
    assert target.read_bytes() == NEW
    assert sorted(p.name for p in folder.iterdir()) == ["other.json", "s.json"]


def test_a_refused_directory_fsync_is_tolerated_as_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fsync_dir``: some filesystems refuse fsync on a directory; the rename is still atomic, so the
    write succeeds (the file's own fsync must still happen)."""
    import stat

    real = os.fsync
    synced: list[str] = []

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "injected: no fsync on directories here")
        synced.append("file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "f.json"
    target.write_bytes(OLD)
    atomic_write(target, NEW)
    assert target.read_bytes() == NEW and synced == ["file"]
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


@needs_proc
@pytest.mark.parametrize("where", ["write", "fsync", "rename"])
def test_a_failed_verify_stamp_leaves_the_data_file_intact(
    data: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """``coverage-lookup verify`` rewrites one scalar of a hand-edited data file: a write that fails
    at any point leaves the file byte for byte as it was, leaves no temporary file among the data
    files, and surfaces the error; a later stamp then works."""
    folder = data / "federal"
    path = folder / "medicare.yaml"
    before = listing(data)
    error = OSError(errno.EIO, f"injected failure at {where}")
    with monkeypatch.context() as patch:
        inject(patch, where, folder, error)
        with pytest.raises(OSError) as raised:
            stamp(data, "medicare.ncd_30_3_3", on=date(2026, 11, 28), today=TODAY)
    assert raised.value is error
    assert listing(data) == before
    stamp(data, "medicare.ncd_30_3_3", on=date(2026, 11, 28), today=TODAY)
    assert "last_verified: 2026-11-28" in path.read_text(encoding="utf-8")
    assert sorted(listing(data)) == sorted(before)  # no file added, none left over


# -- a refresh killed inside a write -------------------------------------------------------------------

# Run in a child process: installs a hook that pauses inside one chosen write (``mid-write``: after
# half of the bytes reached the file, whatever way it was opened; ``before-rename``: the temporary file
# is complete and fsynced, the rename not done), then refreshes sources a and b (one at a time, a
# first) and writes the report. The test kills the child while it waits in the hook.
DRIVER = r"""
import builtins, io, os, sys, time
from pathlib import Path

from coverage_lookup.sources.fetch import FetchPolicy
from coverage_lookup.sources.refresh import refresh, write_report
from coverage_lookup.sources.registry import SourceSpec
from coverage_lookup.sources.store import Store

mode, target_dir, name_part, nth, marker, state_dir, url_a, url_b = sys.argv[1:9]
target_dir = Path(target_dir).resolve()
nth = int(nth)
seen = [0]


def chosen(path):
    path = Path(path)
    if path.parent.resolve() != target_dir or name_part not in path.name:
        return False
    seen[0] += 1
    return seen[0] == nth


def pause():
    Path(marker).write_text(str(os.getpid()))
    time.sleep(120)
    os._exit(3)  # not reached: the test kills the process here


class Paused:
    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        data = bytes(data)
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        os.fsync(self._fh.fileno())
        pause()

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


def writing(mode):
    return any(c in mode for c in "wax+")


if mode == "mid-write":
    real_open, real_fdopen = builtins.open, os.fdopen

    def fake_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and writing(mode) and chosen(file):
            return Paused(fh)
        return fh

    def fake_fdopen(fd, mode="r", *args, **kwargs):
        fh = real_fdopen(fd, mode, *args, **kwargs)
        if writing(mode) and chosen(os.readlink(f"/proc/self/fd/{fd}")):
            return Paused(fh)
        return fh

    builtins.open = io.open = fake_open
    os.fdopen = fake_fdopen
else:
    real_replace, real_rename = os.replace, os.rename

    def fake_replace(src, dst, *args, **kwargs):
        if chosen(dst):
            pause()
        return real_replace(src, dst, *args, **kwargs)

    def fake_rename(src, dst, *args, **kwargs):
        if chosen(dst):
            pause()
        return real_rename(src, dst, *args, **kwargs)

    os.replace, os.rename = fake_replace, fake_rename

store = Store(Path(state_dir))
specs = [SourceSpec(id="a", url=url_a, kind="html"), SourceSpec(id="b", url=url_b, kind="html")]
run = refresh(specs, store, FetchPolicy(per_host_concurrency=1, per_host_delay=0, read_timeout=10))
write_report(store, run)
sys.exit(4)  # the hook never fired
"""


def page(text: str) -> bytes:
    return f"<html><body><main><p>{text}</p></main></body></html>".encode()


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    with http_server() as s:
        yield s


def serve_versions(server: HTTPServer) -> dict[str, int]:
    """Serve ``/a`` and ``/b`` as "A<n>" and "B<n>"; bump the returned ``n`` to change both."""
    version = {"n": 1}

    def route(sid: str) -> Callable[[Request], Response]:
        def handler(_request: Request) -> Response:
            return Response(page(f"{sid.upper()}{version['n']}"), content_type="text/html")

        return handler

    for sid in ("a", "b"):
        server.expect_request(f"/{sid}").respond_with_handler(route(sid))
    return version


def kill_inside_write(
    tmp_path: Path, server: HTTPServer, mode: str, target: Path, name_part: str, nth: int
) -> None:
    """Run the driver until it pauses inside the chosen write, then SIGKILL it there."""
    marker = tmp_path / "paused"
    errors = tmp_path / "child.err"
    argv = [mode, str(target), name_part, str(nth), str(marker), str(tmp_path / "state")]
    argv += [server.url_for("/a"), server.url_for("/b")]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists(), f"the child never paused in the write: {errors.read_text()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def temporaries(state_dir: Path) -> list[Path]:
    return sorted(p for p in state_dir.rglob("*") if p.is_file() and p.name.endswith(".tmp"))


def assert_consistent(state_dir: Path) -> dict[str, SourceState]:
    """Every state file parses in full (no half of one), each points only at texts that exist and
    match their hash, every report file parses, and leftover temporaries (a write killed before its
    rename) are hidden ``.*.tmp`` files that no reader of the store picks up."""
    store = Store(state_dir)
    states: dict[str, SourceState] = {}
    for path in sorted((state_dir / "sources").glob("*.json")):
        state = SourceState.model_validate_json(path.read_bytes())  # strict: raises on a torn file
        assert path.name == f"{state.id}.json"
        states[state.id] = state
        for digest in (state.content_hash, state.reported_hash):
            if digest:
                text = store.text_for(state.id, digest)
                assert text is not None and content_hash(text) == digest
    for path in sorted((state_dir / "reports").glob("*.json")):
        json.loads(path.read_bytes())
    for path in temporaries(state_dir):
        assert path.name.startswith(".")
        assert path not in set((state_dir / "sources").glob("*.json"))
        assert path not in set(path.parent.glob("*.txt")) | set(path.parent.glob("refresh-*.json"))
    assert store.all_states() == states  # the states themselves, not only their ids
    return states


PENDING_BOTH = {"a": ("A2", True), "b": ("B1", False)}

# (driver mode, folder of the write, part of its name, which matching write, after the kill:
#  id -> (text seen, unreported), b.json untouched, outcomes of the rerun)
KILL_POINTS = [
    pytest.param(
        "mid-write",
        "sources",
        "b.json",
        1,
        PENDING_BOTH,
        True,
        {"a": "changed", "b": "changed"},
        id="state-torn",
    ),
    pytest.param(
        "before-rename",
        "sources",
        "b.json",
        1,
        PENDING_BOTH,
        True,
        {"a": "changed", "b": "changed"},
        id="state-before-rename",
    ),
    pytest.param(
        "mid-write", "texts/b", "", 1, PENDING_BOTH, True, {"a": "changed", "b": "changed"}, id="text-torn"
    ),
    pytest.param(
        "mid-write",
        "documents",
        "b.html",
        1,
        PENDING_BOTH,
        True,
        {"a": "changed", "b": "changed"},
        id="document-torn",
    ),
    pytest.param(  # the second write of b.json: marking it reported once the report is in place
        "mid-write",
        "sources",
        "b.json",
        2,
        {"a": ("A2", False), "b": ("B2", True)},
        False,
        {"a": "unchanged", "b": "changed"},
        id="state-torn-while-marking-reported",
    ),
    pytest.param(
        "mid-write",
        "reports",
        "latest.json",
        1,
        {"a": ("A2", True), "b": ("B2", True)},
        False,
        {"a": "changed", "b": "changed"},
        id="report-torn",
    ),
]


@needs_proc
@pytest.mark.parametrize(("mode", "folder", "name_part", "nth", "after", "b_untouched", "rerun"), KILL_POINTS)
def test_killed_inside_a_write_leaves_whole_states_and_the_rerun_reports_the_changes(
    server: HTTPServer,
    tmp_path: Path,
    mode: str,
    folder: str,
    name_part: str,
    nth: int,
    after: dict[str, tuple[str, bool]],
    b_untouched: bool,
    rerun: dict[str, str],
) -> None:
    """The write-time twin of ``test_crash_midway_leaves_previous_state_intact`` (which kills during a
    fetch): a refresh SIGKILLed while a state, text, document or report file is half written (or
    written but not yet renamed). Every state is whole — the previous one or the new one — and
    consistent with its texts, the lock died with the process, the temporary file left behind is
    ignored, and the rerun lists every change not yet reported (a change is duplicated, never lost)."""
    version = serve_versions(server)
    state_dir = tmp_path / "state"
    store = Store(state_dir)
    specs = [SourceSpec(id=s, url=server.url_for(f"/{s}"), kind="html") for s in ("a", "b")]
    write_report(store, refresh(specs, store, FAST))
    b_before = (state_dir / "sources" / "b.json").read_bytes()
    assert not temporaries(state_dir)

    version["n"] = 2
    kill_inside_write(tmp_path, server, mode, state_dir / folder, name_part, nth)

    states = assert_consistent(state_dir)
    assert {sid: (store.text(sid), st.unreported) for sid, st in states.items()} == after
    if b_untouched:
        assert (state_dir / "sources" / "b.json").read_bytes() == b_before
    left = temporaries(state_dir)
    assert [p.parent for p in left] == [state_dir / folder]  # only the write that was killed
    if mode == "mid-write":  # the torn bytes went to the temporary file, never to the real one
        assert left[0].stat().st_size > 0
        if folder == "sources":
            with pytest.raises(ValueError):
                json.loads(left[0].read_bytes())

    run = refresh(specs, store, FAST)  # the lock is free again
    write_report(store, run)
    assert {o.id: o.outcome for o in run.outcomes} == rerun
    states = assert_consistent(state_dir)
    assert {sid: (store.text(sid), st.unreported) for sid, st in states.items()} == {
        "a": ("A2", False),
        "b": ("B2", False),
    }
    latest = json.loads((state_dir / "reports" / "latest.json").read_bytes())
    listed = {s["id"]: s for s in latest["sources"] if s["reports_change"]}
    assert listed.keys() == {sid for sid, outcome in rerun.items() if outcome == "changed"}
    for sid, entry in listed.items():
        assert entry["diff"]["removed_sample"] == [f"{sid.upper()}1"]
        assert entry["diff"]["added_sample"] == [f"{sid.upper()}2"]
    assert temporaries(state_dir) == left  # the stale temporary is still ignored by later runs


def test_a_refresh_removes_temporaries_a_killed_writer_left_behind(tmp_path: Path) -> None:
    """Stale hidden temp files (older than an hour) are removed under the lock; fresh ones are not."""
    import os
    import time

    from coverage_lookup.sources.store import Store

    store = Store(tmp_path / "state")
    (tmp_path / "state" / "sources").mkdir(parents=True)
    stale = tmp_path / "state" / "sources" / ".b.json.abc123.tmp"
    fresh = tmp_path / "state" / "sources" / ".c.json.def456.tmp"
    keep = tmp_path / "state" / "sources" / "b.json"
    for f in (stale, fresh, keep):
        f.write_bytes(b"{}")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    os.utime(keep, (old, old))
    assert store.remove_stale_temporaries() == [stale]
    assert not stale.exists() and fresh.exists() and keep.exists()
