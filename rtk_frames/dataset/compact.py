"""Compaction: merge a partition's small files (one per sync commit) into few large ones, crash-safely.

Each partition (table, day) is rewritten as one :class:`rtk_frames.dataset.write.Commit`: the merged
file(s) are written to the staging area first, one SQLite transaction makes them the partition's files
and the old ones obsolete, then the new files are moved in and the old ones deleted — readers see the
old files or the new ones, never both once the commit is published (see ``docs/DESIGN.md``). Rows are
streamed batch by batch, so memory is bounded by a batch, not by the partition.

A sync compacts any partition it leaves with more than :data:`COMPACT_MAX_FILES` files; ``rtk-frames
compact ROOT`` (:func:`compact_dataset`) brings every partition down to one file per
:data:`TARGET_FILE_ROWS` rows.

Example:
    >>> import tempfile
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> from rtk_frames.dataset.sync import sync_dataset
    >>> root = tempfile.mkdtemp()
    >>> with serve(Dataset.from_samples()) as api:
    ...     _ = sync_dataset(api.client(), root, progress=False)
    >>> compact_dataset(root).partitions_compacted >= 0
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rtk_frames._display import plural
from rtk_frames.dataset.state import StateStore, root_lock
from rtk_frames.dataset.tables import table_schema
from rtk_frames.dataset.write import Commit, recover

__all__ = ["COMPACT_MAX_FILES", "TARGET_FILE_ROWS", "CompactionSummary", "compact_dataset",
           "compact_partitions"]

#: a sync compacts a partition left with more files than this
COMPACT_MAX_FILES = 8
#: rows per compacted file (a day of a big fleet's quality samples spans several files)
TARGET_FILE_ROWS = 2_000_000
BATCH_ROWS = 65_536


@dataclass
class CompactionSummary:
    """What :func:`compact_dataset` did."""

    root: str
    partitions_compacted: int = 0
    files_before: int = 0
    files_after: int = 0

    def __repr__(self) -> str:
        if not self.partitions_compacted:
            return (f"compaction of {self.root}: nothing to do ({plural(self.files_before, 'file')}, "
                    "every partition already in as few files as its rows need)")
        return (f"compaction of {self.root}: {plural(self.partitions_compacted, 'partition')} compacted, "
                f"{plural(self.files_before, 'file')} -> {self.files_after:,}")


def _batches(root: Path, table: str, files: list[str]) -> Iterator[pa.RecordBatch]:
    """The files' rows batch by batch, conformed to the table's schema (older files may lack a column)."""
    schema = table_schema(table)
    for relative in files:
        for batch in pq.ParquetFile(root / relative).iter_batches(batch_size=BATCH_ROWS):
            if batch.num_rows:
                yield pa.RecordBatch.from_arrays(
                    [batch.column(f.name).cast(f.type) if f.name in batch.schema.names
                     else pa.nulls(batch.num_rows, f.type) for f in schema], schema=schema)


def _partition_rows(state: StateStore, table: str, date: str) -> int:
    row = state.db.execute("SELECT COALESCE(SUM(rows), 0) FROM files WHERE tbl = ? AND date = ?"
                           " AND state IN ('live', 'staged')", (table, date)).fetchone()
    return int(row[0])


def compact_partitions(root: str | os.PathLike[str], state: StateStore, run_id: int | None, *,
                       max_files: int, target_rows: int = TARGET_FILE_ROWS) -> int:
    """Compact every partition with more than ``max_files`` files (and more than its rows need);
    returns the number of files removed. Call with the root's lock held.

    Example:
        >>> import tempfile
        >>> from rtk_frames.dataset.state import StateStore
        >>> with StateStore.open(tempfile.mkdtemp()) as state:
        ...     compact_partitions(state.root, state, None, max_files=1)
        0
    """
    root = Path(root)
    removed = 0
    for table, date, n_files in state.partitions():
        if n_files <= max_files:  # the common case, decided without counting rows (a year: ~4,000 partitions)
            continue
        if n_files <= math.ceil(_partition_rows(state, table, date) / target_rows):
            continue
        files = state.live_files(table, date)
        commit = Commit(root, state, run_id)
        commit.add_batches(table, date, _batches(root, table, files), max_rows_per_file=target_rows)
        for relative in files:
            commit.drop(relative)
        written = len(commit.new_files)
        commit.apply()
        removed += len(files) - written
    return removed


def compact_dataset(root: str | os.PathLike[str], *, max_files: int = 1,
                    target_rows: int = TARGET_FILE_ROWS) -> CompactionSummary:
    """Compact the dataset at ``root``: every partition ends with at most ``max(max_files,
    ceil(rows / target_rows))`` files. Refuses (``DatasetLockedError``) while a sync runs.

    Example:
        >>> import tempfile
        >>> compact_dataset(tempfile.mkdtemp()).files_after
        0
    """
    path = Path(root)
    summary = CompactionSummary(root=str(path))
    with root_lock(path, what="compaction"), StateStore.open(path) as state:
        recover(path, state)
        before = state.partitions()
        summary.files_before = sum(n for _, _, n in before)
        run_id = state.start_run("compact", {"max_files": max_files, "target_rows": target_rows})
        compact_partitions(path, state, run_id, max_files=max_files, target_rows=target_rows)
        after = state.partitions()
        summary.files_after = sum(n for _, _, n in after)
        counts = {(t, d): n for t, d, n in after}
        summary.partitions_compacted = sum(1 for t, d, n in before if counts.get((t, d), 0) < n)
        state.finish_run(run_id, {"files_before": summary.files_before, "files_after": summary.files_after})
    return summary
