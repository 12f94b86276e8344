"""Atomic changes to a dataset root: stage new files, commit them in SQLite, then move them into place.

The protocol of one :class:`Commit` (the crash-safety argument is in ``docs/DESIGN.md``):

1. every new file is written to ``ROOT/_staging/`` (outside the table directories, and ``_``-prefixed:
   no reader ever sees it) and fsynced;
2. **one SQLite transaction** records the new files (``staged``, under their final paths), marks the
   files they replace ``obsolete`` and writes the sessions' new state: this is the commit point;
3. each staged file is renamed into ``ROOT/<table>/date=…/`` (atomic on one filesystem), obsolete files
   are deleted, directories fsynced, and a second transaction marks the moves done.

A crash before 2 leaves only orphans in ``_staging`` (deleted by the next run); a crash after 2 leaves
moves that :func:`recover` (run first by every sync, compaction and ``open_dataset``) finishes. Either
way the dataset ends as if the commit had happened entirely or not at all.

Example:
    >>> import tempfile, pyarrow as pa
    >>> from rtk_frames.dataset.state import StateStore
    >>> from rtk_frames.dataset.tables import frame_to_arrow
    >>> import pandas as pd
    >>> root = tempfile.mkdtemp()
    >>> with StateStore.open(root) as state:
    ...     commit = Commit(root, state)
    ...     rows = frame_to_arrow(pd.DataFrame({"session_id": ["s1"]}), "chat")
    ...     path = commit.add("chat", "2026-11-16", rows)
    ...     _ = commit.apply()
    ...     state.live_files("chat")  # doctest: +ELLIPSIS
    ['chat/date=2026-11-16/part-...parquet']
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rtk_frames.dataset.state import STAGING_DIR, StateStore, utc_now
from rtk_frames.dataset.tables import TABLES, partition_dir, table_schema

__all__ = ["PARQUET_COMPRESSION", "SMALL_FILE_BYTES", "SMALL_FILE_COMPRESSION", "Commit", "file_compression",
           "read_file", "recover", "staging_path", "write_parquet"]

#: data files are zstd-compressed (the smallest files) ...
PARQUET_COMPRESSION = "zstd"
#: ... except a file of less data than this (Arrow's in-memory size), written with snappy: Arrow's zstd
#: codec sets up a new compression context for every page, two per column (~13 µs each), which doubles
#: the write time of a small wide file (a day of 40 calls: 80 peer reports, 219 columns, 10.6 ms against
#: 4.9 ms) to save 10–25 % of a few hundred KB; compaction writes what it merges as zstd once it is big
SMALL_FILE_BYTES = 1 << 20
SMALL_FILE_COMPRESSION = "snappy"
IO_THREADS = 4


def staging_path(root: Path, relative: str) -> Path:
    """Where the file that will live at ``ROOT/relative`` waits before its commit is published."""
    return root / STAGING_DIR / relative.replace("/", "--")


def file_compression(data: pa.Table) -> str:
    """The codec a data file holding ``data`` is written with (see :data:`SMALL_FILE_BYTES`).

    Example:
        >>> file_compression(pa.table({"a": [1.0] * 10})), file_compression(pa.table({"a": [1.0] * 200_000}))
        ('snappy', 'zstd')
    """
    return PARQUET_COMPRESSION if data.nbytes >= SMALL_FILE_BYTES else SMALL_FILE_COMPRESSION


def write_parquet(data: pa.Table, target: Path) -> None:
    """Write ``data`` as one parquet file at ``target`` (not fsynced). A small file is encoded in memory
    and written in one call: Arrow's file sink asks the OS for its position (``lseek``) at every page.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "one.parquet"
        >>> write_parquet(pa.table({"a": [1, 2]}), target)
        >>> pq.read_table(target).column("a").to_pylist()
        [1, 2]
    """
    compression = file_compression(data)
    if compression == PARQUET_COMPRESSION:
        pq.write_table(data, target, compression=compression)
        return
    sink = pa.BufferOutputStream()
    pq.write_table(data, sink, compression=compression)
    with open(target, "wb") as file:
        file.write(sink.getvalue())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path) -> set[Path]:
    """Make ``directory`` and its missing parents; returns the directories whose entries changed (the
    parent of each one made), which must be fsynced for the new ones to survive a power cut (POSIX
    makes no promise for a new directory's entry until its parent is fsynced).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> sorted(p.relative_to(root).as_posix() for p in make_dirs(root / "a" / "b")), make_dirs(root / "a")
        (['.', 'a'], set())
    """
    missing: list[Path] = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    changed: set[Path] = set()
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # (one writer holds the root: only a stray process)
            path.mkdir()
            changed.add(path.parent)
    return changed


_io_pool: ThreadPoolExecutor | None = None
_io_pool_lock = threading.Lock()


def _forget_io_pool() -> None:  # a forked child has the pool object but not its threads
    global _io_pool
    _io_pool = None


os.register_at_fork(after_in_child=_forget_io_pool)


def _io_threads() -> ThreadPoolExecutor:
    """The few threads that write files and fsync (they wait on the disk or run Arrow's encoder, which
    releases the GIL). Kept for the next call: starting 4 threads costs ~2 ms, twice a commit."""
    global _io_pool
    with _io_pool_lock:
        if _io_pool is None:
            _io_pool = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="rtk-io")
        return _io_pool


def _in_parallel(fn: Callable[[Any], Any], items: list[Any]) -> None:
    """``fn`` over ``items`` on the IO threads."""
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    for _ in _io_threads().map(fn, items):
        pass


def _rows_per_session(session_ids: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """``{session_id: rows}`` of a data file's ``session_id`` column (counted in Arrow, not per row).

    Example:
        >>> _rows_per_session(pa.array(["s1", "s2", "s1"]))
        {'s1': 2, 's2': 1}
    """
    counts = pc.value_counts(session_ids)
    return {str(session): int(n) for session, n in zip(counts.field("values").to_pylist(),
                                                       counts.field("counts").to_pylist(), strict=True)}


def read_file(root: Path, relative: str) -> pa.Table:
    """One data file as an Arrow table of its table's schema (no partition column)."""
    table = relative.split("/", 1)[0]
    return pq.read_table(root / relative, schema=table_schema(table))


@dataclass
class _NewFile:
    relative: str
    table: str
    date: str
    rows: int
    bytes: int
    sessions: dict[str, int]


@dataclass
class Commit:
    """One atomic change: files added, files dropped, session state rows upserted.

    Build it with :meth:`add`, :meth:`drop`, :meth:`drop_sessions` and :meth:`set_session`, then
    :meth:`apply` it (or let it go: nothing of an unapplied commit is ever visible).
    """

    root: Path | str
    state: StateStore
    run_id: int | None = None
    new_files: list[_NewFile] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)
    session_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    removals: dict[str, set[str]] = field(default_factory=dict)
    writing: list[Future[str | None]] = field(default_factory=list)  # files being written (write_soon)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        _in_parallel(_fsync_path, sorted(make_dirs(self.root / STAGING_DIR)))

    def __bool__(self) -> bool:
        return bool(self.new_files or self.dropped or self.session_rows or self.removals or self.writing)

    def add(self, table: str, date: str, data: pa.Table) -> str | None:
        """Write ``data`` (already of ``table``'s schema) as one new file of partition ``date``."""
        if data.num_rows == 0:
            return None
        assert isinstance(self.root, Path)
        relative = self._new_name(table, date)
        target = staging_path(self.root, relative)
        schema = table_schema(table)  # rows built for the table already have it: a cast would copy
        write_parquet(data if data.schema.equals(schema, check_metadata=True) else data.cast(schema), target)
        _fsync_path(target)
        self.new_files.append(_NewFile(relative, table, date, data.num_rows, target.stat().st_size,
                                       _rows_per_session(data.column("session_id"))))
        return relative

    def write_soon(self, table: str, date: str, data: pa.Table) -> None:
        """Start writing ``data`` (of ``table``'s schema) as one new file of partition ``date`` on the IO
        threads, while the caller goes on (builds the next table); :meth:`apply` waits for it."""
        if data.num_rows:
            self.writing.append(_io_threads().submit(self.add, table, date, data))

    def add_batches(self, table: str, date: str, batches: Iterable[pa.RecordBatch], *,
                    max_rows_per_file: int) -> int:
        """Stream ``batches`` into new files of at most ``max_rows_per_file`` rows each (bounded memory);
        returns the number of files written."""
        assert isinstance(self.root, Path)
        schema = table_schema(table)
        written = 0
        writer: pq.ParquetWriter | None = None
        current: _NewFile | None = None
        target: Path | None = None
        counts: Counter[str] = Counter()

        def close() -> None:
            nonlocal writer, current, written
            if writer is None or current is None or target is None:
                return
            writer.close()
            _fsync_path(target)
            current.bytes = target.stat().st_size
            current.sessions = dict(counts)
            self.new_files.append(current)
            written += 1
            writer, current = None, None
            counts.clear()

        for batch in batches:
            offset = 0
            while offset < batch.num_rows:
                if writer is None:
                    relative = self._new_name(table, date)
                    target = staging_path(self.root, relative)
                    writer = pq.ParquetWriter(target, schema, compression=PARQUET_COMPRESSION)
                    current = _NewFile(relative, table, date, 0, 0, {})
                assert current is not None
                piece = batch.slice(offset, max_rows_per_file - current.rows)
                writer.write_table(pa.Table.from_batches([piece]).cast(schema))
                counts.update(_rows_per_session(piece.column(schema.get_field_index("session_id"))))
                current.rows += piece.num_rows
                offset += piece.num_rows
                if current.rows >= max_rows_per_file:
                    close()
        close()
        return written

    def _new_name(self, table: str, date: str) -> str:
        assert isinstance(self.root, Path)
        name = f"part-{self.run_id or 0:05d}-{uuid.uuid4().hex[:16]}.parquet"
        return partition_dir(self.root, table, date).relative_to(self.root).joinpath(name).as_posix()

    def drop(self, relative: str) -> None:
        """Remove a committed file (its rows leave the dataset when the commit applies)."""
        self.dropped.add(relative)

    def drop_sessions(self, session_ids: set[str], tables: set[str] | None = None) -> None:
        """Remove every committed row of ``session_ids`` (from ``tables``, default all) when the commit
        applies: the files holding them are rewritten without those rows (copy-on-write) and dropped.
        Rows added by this same commit are not touched."""
        for table in tables if tables is not None else TABLES:
            self.removals.setdefault(table, set()).update(session_ids)

    def _rewrite_removals(self) -> None:
        assert isinstance(self.root, Path)
        removals = {table: ids for table, ids in self.removals.items() if ids}
        self.removals = {}
        if not removals:
            return
        everyone = set().union(*removals.values())
        for relative, table, date in self.state.files_of_sessions(everyone, set(removals)):
            if relative in self.dropped:
                continue
            data = read_file(self.root, relative)
            value_set = pa.array(sorted(removals[table]), type=pa.string())
            keep = data.filter(pc.invert(pc.is_in(data.column("session_id"), value_set=value_set)))
            if keep.num_rows == data.num_rows:
                continue
            self.add(table, date, keep)
            self.drop(relative)

    def set_session(self, session_id: str, **values: Any) -> None:
        """Upsert the session's state row (columns of the ``sessions`` state table)."""
        self.session_rows.setdefault(session_id, {}).update(values)

    def apply(self) -> int:
        """Wait for the files being written (:meth:`write_soon`), commit (one SQLite transaction) and
        publish (renames, deletes); returns the number of files added."""
        assert isinstance(self.root, Path)
        if not self:
            return 0
        self._rewrite_removals()
        writing, self.writing = self.writing, []
        wait(writing)  # every file, also when one failed: none is left being written after we return
        for future in writing:
            future.result()  # a failed write (a full disk) fails the commit: nothing of it is visible
        added = len(self.new_files)
        _fsync_path(self.root / STAGING_DIR)
        now = utc_now()
        with self.state.transaction() as db:
            for f in self.new_files:
                db.execute("INSERT INTO files(path, tbl, date, state, rows, bytes, created_at, run_id)"
                           " VALUES (?, ?, ?, 'staged', ?, ?, ?, ?)",
                           (f.relative, f.table, f.date, f.rows, f.bytes, now, self.run_id))
                db.executemany("INSERT INTO file_sessions(path, session_id, rows) VALUES (?, ?, ?)",
                               [(f.relative, sid, n) for sid, n in f.sessions.items()])
            for relative in self.dropped:
                db.execute("UPDATE files SET state = 'obsolete' WHERE path = ?", (relative,))
            for session_id, values in self.session_rows.items():
                _upsert_session(db, session_id, values)
        self.new_files, self.dropped, self.session_rows = [], set(), {}
        publish(self.root, self.state)
        return added


def _upsert_session(db: Any, session_id: str, values: dict[str, Any]) -> None:
    values = dict(values)
    if "parts" in values and not isinstance(values["parts"], str):
        values["parts"] = ",".join(sorted(values["parts"]))
    for flag in ("transcript_pending",):
        if flag in values:
            values[flag] = int(bool(values[flag]))
    add_requests = int(values.pop("add_requests", 0))
    exists = db.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    if exists is None:
        values.setdefault("status", "failed")
        values.setdefault("first_seen", utc_now())
        columns = ["session_id", *values, "requests"]
        db.execute(f"INSERT INTO sessions({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   (session_id, *values.values(), add_requests))
    else:
        assignments = [f"{k} = ?" for k in values] + ["requests = requests + ?"]
        db.execute(f"UPDATE sessions SET {', '.join(assignments)} WHERE session_id = ?",
                   (*values.values(), add_requests, session_id))


def publish(root: Path, state: StateStore) -> tuple[int, int]:
    """Finish committed moves: rename staged files into place, delete obsolete ones; returns the counts."""
    staged, obsolete = state.pending_files()
    partitions: set[Path] = set()
    parents: set[Path] = set()  # of directories made here: their new entries must be fsynced too
    for relative in staged:
        source, target = staging_path(root, relative), root / relative
        parents |= make_dirs(target.parent)
        if source.exists():
            os.replace(source, target)
        elif not target.exists():
            raise FileNotFoundError(f"committed file {relative} is neither staged nor in place: the dataset "
                                    f"at {root} lost a file (was {source} deleted by hand?)")
        partitions.add(target.parent)
    for relative in obsolete:
        with contextlib.suppress(FileNotFoundError):
            (root / relative).unlink()
        partitions.add((root / relative).parent)
    _in_parallel(_fsync_path, sorted(d for d in partitions | parents if d.exists()))
    if staged or obsolete:
        with state.transaction() as db:
            db.execute("UPDATE files SET state = 'live' WHERE state = 'staged'")
            db.execute("DELETE FROM file_sessions"
                       " WHERE path IN (SELECT path FROM files WHERE state = 'obsolete')")
            db.execute("DELETE FROM files WHERE state = 'obsolete'")
    for directory in partitions:  # tidy: a partition left without files goes
        with contextlib.suppress(OSError):
            directory.rmdir()
    return len(staged), len(obsolete)


def recover(root: str | os.PathLike[str], state: StateStore) -> dict[str, int]:
    """Finish an interrupted commit and delete uncommitted leftovers; call with the root's lock held.

    Example:
        >>> import tempfile
        >>> from rtk_frames.dataset.state import StateStore
        >>> root = tempfile.mkdtemp()
        >>> with StateStore.open(root) as state:
        ...     recover(root, state)
        {'moved': 0, 'deleted': 0, 'orphans': 0}
    """
    path = Path(root)
    moved, deleted = publish(path, state)
    orphans = 0
    staging = path / STAGING_DIR
    if staging.is_dir():
        for leftover in staging.iterdir():  # written by a commit that never reached its transaction
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                orphans += 1
    return {"moved": moved, "deleted": deleted, "orphans": orphans}
