"""The sync state of a dataset root, in SQLite (``ROOT/_state.sqlite``), and the root's single-writer lock.

Tables (one transaction per change, so the state on disk is always one that a sync committed):

- ``sessions``: per session: its partition ``date``; ``status`` (``complete``, ``live`` = LIVE when last
  listed, ``failed`` + ``error``); ``fingerprint`` of its listing row (a change means: fetch again);
  ``parts`` stored (``core`` = participants + details, ``peer_reports``, ``chat``, ``transcripts``);
  ``transcript_pending`` / ``transcript_attempts``; ``requests`` spent on it over all runs;
  ``fetched_at`` (UTC ISO).
- ``files``: every data file, by path relative to the root, with its table, date, rows, bytes and
  ``state``: ``staged`` (committed, still to be renamed from ``_staging/`` into its table directory),
  ``live`` (in place) or ``obsolete`` (replaced, still to be deleted).
- ``file_sessions``: which sessions have rows in which file (and how many).
- ``runs``: one row per sync or compaction, with its options and summary (JSON).

The lock is ``fcntl.flock`` on ``ROOT/_sync.lock``: the kernel drops it when the process ends, however it
ends (SIGKILL included), so a killed sync never leaves the root locked.

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> with StateStore.open(root) as state:
    ...     state.session("nope") is None
    True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtk_frames.errors import RTKError

__all__ = ["LOCK_FILE", "STAGING_DIR", "STATE_FILE", "DatasetLockedError", "KnownSessions",
           "NotADatasetError", "SessionState", "StateStore", "check_dataset_root", "root_lock",
           "try_root_lock", "utc_now"]

STATE_FILE = "_state.sqlite"
LOCK_FILE = "_sync.lock"
STAGING_DIR = "_staging"
SCHEMA_VERSION = "1"

_DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sessions(
    session_id TEXT PRIMARY KEY,
    date TEXT,
    status TEXT NOT NULL,
    fingerprint TEXT,
    parts TEXT NOT NULL DEFAULT '',
    transcript_pending INTEGER NOT NULL DEFAULT 0,
    transcript_attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    requests INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT,
    fetched_at TEXT,
    run_id INTEGER
);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY,
    tbl TEXT NOT NULL,
    date TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('staged', 'live', 'obsolete')),
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    created_at TEXT,
    run_id INTEGER
);
CREATE INDEX IF NOT EXISTS files_by_partition ON files(tbl, date);
CREATE TABLE IF NOT EXISTS file_sessions(
    path TEXT NOT NULL,
    session_id TEXT NOT NULL,
    rows INTEGER NOT NULL,
    PRIMARY KEY (path, session_id)
);
CREATE INDEX IF NOT EXISTS file_sessions_by_session ON file_sessions(session_id);
CREATE TABLE IF NOT EXISTS runs(
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    options TEXT,
    summary TEXT
);
"""


class DatasetLockedError(RTKError):
    """Another sync (or compaction) holds the dataset root."""


class NotADatasetError(RTKError):
    """The directory holds no fleet dataset (no ``_state.sqlite``): nothing to read, and, when it holds
    other files, nowhere a sync or compaction may write its tables."""


def utc_now() -> str:
    """The current UTC time as ISO text (seconds).

    Example:
        >>> utc_now().endswith("+00:00")
        True
    """
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SessionState:
    """One session's row of the ``sessions`` state table."""

    session_id: str
    date: str | None
    status: str
    fingerprint: str | None
    parts: frozenset[str]
    transcript_pending: bool
    transcript_attempts: int
    error: str | None
    requests: int
    fetched_at: str | None


class StateStore:
    """The SQLite state of one dataset root (use :meth:`open`; a context manager).

    Example:
        >>> import tempfile
        >>> with StateStore.open(tempfile.mkdtemp()) as state:
        ...     state.live_files("sessions")
        []
    """

    def __init__(self, root: Path, connection: sqlite3.Connection) -> None:
        self.root = root
        self.db = connection

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, create: bool = True) -> StateStore:
        """Open (and with ``create``, make) the state database of ``root``."""
        path = Path(root)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not (path / STATE_FILE).exists():
            raise NotADatasetError(f"{path} is not a dataset root (no {STATE_FILE}); run rtk-frames sync "
                                   "first")
        db = sqlite3.connect(path / STATE_FILE, isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut, like the fsynced files
        db.execute("PRAGMA foreign_keys=ON")
        if create:
            db.executescript(_DDL)
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                       (SCHEMA_VERSION,))
        return cls(path, db)

    @classmethod
    def open_read_only(cls, root: str | os.PathLike[str]) -> StateStore:
        """The state database of ``root``, read-only: no lock, no schema change, and (WAL) readable while
        a sync writes. Its file must exist."""
        path = Path(root)
        db = sqlite3.connect(f"{(path / STATE_FILE).resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on an exception)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---------------------------------------------------------------- sessions

    def session(self, session_id: str) -> SessionState | None:
        row = self.db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                              (session_id,)).fetchone()
        return None if row is None else _session_state(row)

    def sessions(self) -> dict[str, SessionState]:
        """Every session's state (all of the table: a sync reads only what it needs, see
        :class:`KnownSessions`)."""
        rows = self.db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions").fetchall()
        return {row[0]: _session_state(row) for row in rows}

    # ---------------------------------------------------------------- files

    def live_files(self, table: str, date: str | None = None) -> list[str]:
        """Relative paths of ``table``'s committed files (optionally of one date), sorted."""
        query = "SELECT path FROM files WHERE tbl = ? AND state IN ('live', 'staged')"
        params: tuple[Any, ...] = (table,)
        if date is not None:
            query += " AND date = ?"
            params += (date,)
        return sorted(row[0] for row in self.db.execute(query, params))

    def files_of_sessions(self, session_ids: Iterable[str], tables: Iterable[str] | None = None
                          ) -> list[tuple[str, str, str]]:
        """(path, table, date) of the committed files holding rows of any of ``session_ids``."""
        found: dict[str, tuple[str, str, str]] = {}
        wanted = set(tables) if tables is not None else None
        for chunk, marks in _id_chunks(dict.fromkeys(session_ids)):
            for path, tbl, date in self.db.execute(
                    "SELECT DISTINCT f.path, f.tbl, f.date FROM file_sessions fs"
                    " JOIN files f ON f.path = fs.path"
                    f" WHERE fs.session_id IN ({marks}) AND f.state IN ('live', 'staged')", chunk):
                if wanted is None or tbl in wanted:
                    found[path] = (path, tbl, date)
        return sorted(found.values())

    def partitions(self) -> list[tuple[str, str, int]]:
        """(table, date, number of committed files) for every partition."""
        return list(self.db.execute(
            "SELECT tbl, date, COUNT(*) FROM files WHERE state IN ('live', 'staged') GROUP BY tbl, date"
            " ORDER BY tbl, date"))

    def holdings(self) -> dict[str, Any]:
        """What the dataset holds, by the state: ``by_status`` (``{status: sessions}``, most first),
        ``first_day`` and ``last_day``, ``last_sync`` (when the last sync finished, ISO text) and ``rows``
        (``{table: rows}`` of its committed files)."""
        query = self.db.execute
        first, last = query("SELECT min(date), max(date) FROM sessions").fetchone()
        return {
            "by_status": dict(query("SELECT status, count(*) FROM sessions GROUP BY 1 ORDER BY 2 DESC")),
            "first_day": first,
            "last_day": last,
            "last_sync": query("SELECT max(finished_at) FROM runs WHERE kind = 'sync'").fetchone()[0],
            "rows": dict(query("SELECT tbl, sum(rows) FROM files WHERE state IN ('live', 'staged')"
                               " GROUP BY tbl")),
        }

    def pending_files(self) -> tuple[list[str], list[str]]:
        """(staged paths, obsolete paths): a commit's file moves not yet done."""
        staged = [r[0] for r in self.db.execute("SELECT path FROM files WHERE state = 'staged'")]
        obsolete = [r[0] for r in self.db.execute("SELECT path FROM files WHERE state = 'obsolete'")]
        return staged, obsolete

    # ---------------------------------------------------------------- runs

    def start_run(self, kind: str, options: dict[str, Any]) -> int:
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO runs(kind, started_at, options) VALUES (?, ?, ?)",
                                (kind, utc_now(), json.dumps(options, default=str, sort_keys=True)))
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, summary: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?",
                       (utc_now(), json.dumps(summary, default=str, sort_keys=True), run_id))


_SESSION_COLUMNS = ("session_id, date, status, fingerprint, parts, transcript_pending, transcript_attempts, "
                    "error, requests, fetched_at")
#: ids per ``IN (...)`` query (well under SQLite's limit on parameters)
_IDS_PER_QUERY = 500


def _id_chunks(ids: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """``ids`` in chunks of :data:`_IDS_PER_QUERY`, each with its ``?,?,…`` placeholders."""
    ids = list(ids)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start:start + _IDS_PER_QUERY]
        yield chunk, ",".join("?" * len(chunk))


class KnownSessions:
    """The sessions' state as it was when this was made, read session by session as asked: a sync looks
    up the sessions it lists and the rooms it finds, not the whole table (a dataset of 100,000 sessions
    takes over a second to read in full, a day's 40 sessions a millisecond). It reads through its own
    read-only connection in one read transaction, so every row is as of its making (WAL), whatever is
    committed meanwhile. Use it from the thread that made it; a context manager.

    Example:
        >>> import tempfile
        >>> with StateStore.open(tempfile.mkdtemp()) as state, KnownSessions(state.root) as known:
        ...     known.get("not-synced-yet") is None
        True
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        uri = f"{(Path(root) / STATE_FILE).resolve().as_uri()}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        self._db.execute("BEGIN")
        self._db.execute("SELECT 1 FROM sessions LIMIT 1").fetchall()  # the snapshot is taken here
        self._cache: dict[str, SessionState | None] = {}

    def get(self, session_id: str) -> SessionState | None:
        """The session's state, or None when the dataset had never seen it."""
        if session_id not in self._cache:
            self.preload([session_id])
        return self._cache[session_id]

    def preload(self, session_ids: Iterable[str]) -> None:
        """Read these sessions' states in a few queries (a listing's sessions, before they are planned)."""
        for chunk, marks in _id_chunks(sid for sid in dict.fromkeys(session_ids) if sid not in self._cache):
            self._cache.update(dict.fromkeys(chunk))
            query = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id IN ({marks})"
            for row in self._db.execute(query, chunk):
                self._cache[row[0]] = _session_state(row)

    def dated(self, first: str | None, last: str | None) -> list[SessionState]:
        """The sessions whose date (``YYYY-MM-DD``) is in ``[first, last]`` (``None``: unbounded)."""
        rows = self._db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE date IS NOT NULL"
                                " AND (? IS NULL OR date >= ?) AND (? IS NULL OR date <= ?)",
                                (first, first, last, last)).fetchall()
        found = [_session_state(row) for row in rows]
        self._cache.update((st.session_id, st) for st in found)
        return found

    def close(self) -> None:
        self._db.close()  # ends the read transaction

    def __enter__(self) -> KnownSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _session_state(row: tuple[Any, ...]) -> SessionState:
    return SessionState(
        session_id=row[0], date=row[1], status=row[2], fingerprint=row[3],
        parts=frozenset(p for p in (row[4] or "").split(",") if p),
        transcript_pending=bool(row[5]), transcript_attempts=int(row[6]), error=row[7],
        requests=int(row[8]), fetched_at=row[9])


SHOWN_STRANGERS = 3  # files named in the error of a directory that holds no dataset


def check_dataset_root(root: str | os.PathLike[str], *, what: str = "sync") -> None:
    """Refuse (:class:`NotADatasetError`) a ``root`` that is not a new or empty directory, nor a dataset's
    root: a sync writes its tables and state beside whatever is there, so a mistyped path (a home
    directory, a project's) would fill it unnoticed. A root holding only the lock (a first sync killed
    before it made its state) is a new one.

    Example:
        >>> import pathlib, tempfile
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> check_dataset_root(root)  # empty: fine
        >>> _ = (root / "notes.txt").write_text("mine")
        >>> check_dataset_root(root)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rtk_frames.dataset.state.NotADatasetError: ... holds notes.txt but no rtk_frames dataset ...
    """
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise NotADatasetError(f"{path} is a file, not a directory: a {what} needs a directory for its "
                               "tables")
    if not path.is_dir() or (path / STATE_FILE).exists():
        return
    strangers = sorted(entry.name for entry in path.iterdir() if entry.name != LOCK_FILE)
    if strangers:
        shown = strangers[:SHOWN_STRANGERS]
        if len(strangers) > len(shown):
            shown.append(f"{len(strangers) - len(shown):,} more")
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
        raise NotADatasetError(
            f"{path} holds {listed} but no rtk_frames dataset (no {STATE_FILE}): a {what} writes its "
            "tables beside them. Give a new or empty directory, or the root of an existing dataset")


@contextlib.contextmanager
def root_lock(root: str | os.PathLike[str], *, what: str = "sync") -> Iterator[None]:
    """Hold the root's single-writer lock; another holder makes this a :class:`DatasetLockedError`.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> with root_lock(root):
        ...     try:
        ...         with root_lock(root):
        ...             pass
        ...     except DatasetLockedError as exc:
        ...         print(type(exc).__name__)
        DatasetLockedError
    """
    if os.name != "posix":  # flock, pread/pwrite and directory fsyncs (rtk_frames.dataset.write)
        raise RTKError("writing a fleet dataset (sync, compaction) needs a POSIX system (Linux, macOS); "
                       "any parquet reader can still read one, on any system")
    import fcntl

    path = Path(root)
    check_dataset_root(path, what=what)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise DatasetLockedError(
                f"another rtk-frames sync or compaction is running on {path}"
                + (f" ({holder})" if holder else "") + "; wait for it to finish (the lock is released "
                "when that process exits, even if it is killed)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} pid {os.getpid()} since {utc_now()}".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def try_root_lock(root: str | os.PathLike[str]) -> Iterator[bool]:
    """Like :func:`root_lock` but yields ``False`` instead of raising when the root is busy.

    Example:
        >>> import tempfile
        >>> with try_root_lock(tempfile.mkdtemp()) as got:
        ...     got
        True
    """
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(root_lock(root, what="recovery"))
        got = True
    except DatasetLockedError:
        got = False
    with stack:
        yield got
