"""Reading a fleet dataset: ``open_dataset(root)`` -> tables as typed DataFrames, and SQL over DuckDB.

The dataset is plain hive-partitioned parquet, so any reader works on ``ROOT/<table>`` (pandas, pyarrow,
DuckDB, Polars, Dask, Spark). :class:`FleetDataset` adds the declared dtypes, partition pruning by day,
and a DuckDB connection with one view per table.

Example:
    >>> import tempfile
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> from rtk_frames.dataset.sync import sync_dataset
    >>> root = tempfile.mkdtemp()
    >>> with serve(Dataset.from_samples()) as api:
    ...     _ = sync_dataset(api.client(), root, progress=False)
    >>> ds = open_dataset(root)
    >>> stats = ds.table("quality_stats", columns=["session_id", "participant_id", "quality"])
    >>> int(ds.sql("SELECT count(*) AS n FROM quality_stats")["n"][0]) == len(stats)
    True
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from rtk_frames.dataset.state import STAGING_DIR, STATE_FILE, StateStore, try_root_lock
from rtk_frames.dataset.sync import utc_window
from rtk_frames.dataset.tables import PARTITION_COLUMN, PARTITION_SCHEMA, TABLES, table_schema, to_pandas
from rtk_frames.dataset.write import recover
from rtk_frames.errors import RTKError

__all__ = ["DatasetOverview", "FleetDataset", "open_dataset"]


def _day(ts: pd.Timestamp | None, *, end: bool) -> dt.date | None:
    """The partition day bound for a UTC ``start``/``end`` (end exclusive: a midnight end excludes its
    day)."""
    if ts is None:
        return None
    day = ts.date()
    if end and ts != ts.normalize():
        day += dt.timedelta(days=1)
    return day


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class DatasetOverview:
    """What a fleet dataset holds (:meth:`FleetDataset.overview`): sessions by status (``complete``,
    ``live`` when last seen, ``failed``), the first and last day (``YYYY-MM-DD``), when the last sync
    finished, and the rows of each table that has any."""

    sessions: int
    by_status: dict[str, int]
    first_day: str | None
    last_day: str | None
    last_sync: pd.Timestamp | None
    rows: dict[str, int]


class FleetDataset:
    """A fleet dataset on disk (made by :func:`open_dataset`).

    Example:
        >>> import tempfile
        >>> ds = FleetDataset(tempfile.mkdtemp())
        >>> ds.table("sessions").empty, "quality_stats" in ds.tables
        (True, True)
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._duck: Any = None

    def __repr__(self) -> str:
        """What a notebook shows: the sessions kept, their days, the last sync and each table's rows
        (from the sync state, in milliseconds: no data file is opened)."""
        head = f"FleetDataset({str(self.root)!r})"
        try:
            overview = self.overview()
        except sqlite3.Error as exc:  # a repr must not raise
            return f"{head}: its sync state cannot be read now ({exc})"
        if overview is None:
            return f"{head}: no sync has written here yet"
        by_status = ", ".join(f"{n:,} {status}" for status, n in overview.by_status.items())
        days = f" from {overview.first_day} to {overview.last_day}" if overview.first_day else ""
        synced = f", last synced {overview.last_sync:%Y-%m-%d %H:%M} UTC" if overview.last_sync else ""
        status = f" ({by_status})" if by_status else ""
        lines = [f"{head}: {overview.sessions:,} sessions{days}{status}{synced}"]
        counts = ", ".join(f"{table} {n:,}" for table, n in overview.rows.items()) or "none yet"
        lines += textwrap.wrap(f"rows: {counts}", width=100, initial_indent="  ", subsequent_indent="    ")
        return "\n".join(lines)

    def overview(self) -> DatasetOverview | None:
        """What the dataset holds, from the sync state (``None`` where no sync has written). Read-only:
        safe while a sync runs.

        Example:
            >>> import tempfile
            >>> FleetDataset(tempfile.mkdtemp()).overview() is None
            True
        """
        if not (self.root / STATE_FILE).exists():
            return None
        with StateStore.open_read_only(self.root) as state:
            held = state.holdings()
        by_status, stored, synced = held["by_status"], held["rows"], held["last_sync"]
        return DatasetOverview(
            sessions=sum(by_status.values()), by_status=by_status, first_day=held["first_day"],
            last_day=held["last_day"],
            last_sync=None if synced is None else pd.Timestamp(synced).tz_convert("UTC"),
            rows={table: int(stored[table]) for table in TABLES if stored.get(table)})

    @property
    def tables(self) -> list[str]:
        """The table names (every table exists; one no sync has written yet is empty)."""
        return list(TABLES)

    def files(self, table: str) -> list[Path]:
        """The table's parquet files, as any directory reader sees them."""
        table_schema(table)  # an unknown name is a KeyError here
        return sorted((self.root / table).glob(f"{PARTITION_COLUMN}=*/*.parquet"))

    def _arrow_dataset(self, table: str) -> pads.Dataset:
        schema = table_schema(table)
        files = [str(p) for p in self.files(table)]
        partitioning = pads.partitioning(PARTITION_SCHEMA, flavor="hive")
        full = pa.schema([*schema, *PARTITION_SCHEMA])
        return pads.dataset(files, schema=full, format="parquet", partitioning=partitioning,
                            partition_base_dir=str(self.root / table))

    def table(self, name: str, *, start: Any = None, end: Any = None, columns: Sequence[str] | None = None,
              filters: Any = None) -> pd.DataFrame:
        """Rows of table ``name`` as a DataFrame with the declared dtypes.

        Args:
            start, end: sessions that started on days overlapping ``[start, end)`` (UTC; partition
                pruning: only those days' files are read).
            columns: the columns to read (default: all declared columns and ``extras``; ``"date"``, the
                partition day, on request).
            filters: a row filter: pyarrow's DNF list (``[("kind", "=", "audio")]``, or a list of such
                lists for OR) or a ``pyarrow.compute`` expression.

        Example:
            >>> import tempfile
            >>> chat = FleetDataset(tempfile.mkdtemp()).table("chat", columns=["session_id", "text"])
            >>> chat.dtypes.astype(str).tolist()
            ['str', 'str']
        """
        dataset = self._arrow_dataset(name)
        expression = None
        start_ts, end_ts = utc_window(start, end)
        low, high = _day(start_ts, end=False), _day(end_ts, end=True)
        date = pads.field(PARTITION_COLUMN)
        if low is not None:
            expression = date >= pa.scalar(low, pa.date32())
        if high is not None:
            upper = date < pa.scalar(high, pa.date32())
            expression = upper if expression is None else expression & upper
        if filters is not None:
            row_filter = (filters if isinstance(filters, pads.Expression)
                          else pq.filters_to_expression(filters))
            expression = row_filter if expression is None else expression & row_filter
        wanted = list(columns) if columns is not None else list(table_schema(name).names)
        unknown = [c for c in wanted if c not in dataset.schema.names]
        if unknown:
            raise KeyError(f"table {name!r} has no column(s) {unknown}")
        try:
            data = dataset.to_table(columns=wanted, filter=expression)
        except pa.ArrowInvalid as exc:  # a filter on a column the table lacks: say which, not the schema
            missing = re.search(r"FieldRef\.Name\(([^)]*)\)", str(exc))
            if missing is None:
                raise
            raise KeyError(f"table {name!r} has no column {missing.group(1)!r} (named in filters)") from None
        return to_pandas(data)

    # ---------------------------------------------------------------- DuckDB

    @property
    def duckdb(self) -> Any:
        """The DuckDB connection (in memory, made on first use) with a view per table. A view reads the
        table's files as they are at each query (a later sync's rows included); a table that had no
        file when the connection was made is an empty view of its declared columns until reopened."""
        if self._duck is None:
            import duckdb

            con = duckdb.connect()
            for name in TABLES:
                files = self.files(name)
                if files:
                    if any(ch in str(self.root) for ch in "*?[{"):  # DuckDB would read it as a pattern
                        source = "[" + ", ".join(_quoted(str(p)) for p in files) + "]"
                    else:
                        source = _quoted(str(self.root / name / f"{PARTITION_COLUMN}=*" / "*.parquet"))
                    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({source}, "
                                "hive_partitioning = true, union_by_name = true)")
                else:  # no file yet: an empty view of the declared columns
                    empty = pa.schema([*table_schema(name), *PARTITION_SCHEMA]).empty_table()
                    con.register(f"_empty_{name}", empty)
                    con.execute(f"CREATE VIEW {name} AS SELECT * FROM _empty_{name}")
            self._duck = con
        return self._duck

    def sql(self, query: str, *params: Any) -> pd.DataFrame:
        """Run ``query`` in DuckDB (a view per table, e.g. ``FROM quality_stats``); returns a DataFrame.

        Example:
            >>> import tempfile
            >>> FleetDataset(tempfile.mkdtemp()).sql("SELECT count(*) AS n FROM sessions")["n"].tolist()
            [0]
        """
        relation = self.duckdb.execute(query, list(params) if params else None)
        return relation.df()

    def close(self) -> None:
        if self._duck is not None:
            self._duck.close()
            self._duck = None


def _needs_recovery(path: Path) -> bool:
    """Did a sync die mid-commit? (checked without the lock: only then is the lock taken, briefly)"""
    staging = path / STAGING_DIR
    if staging.is_dir() and any(staging.iterdir()):
        return True
    with StateStore.open(path, create=False) as state:
        return state.pending_files() != ([], [])


def open_dataset(root: str | os.PathLike[str]) -> FleetDataset:
    """Open the fleet dataset at ``root`` (made by :func:`rtk_frames.sync_dataset`).

    When no sync is running, a commit that a killed sync left half-published is finished first (file
    renames and deletes only; no network), so what this reader and every other reader sees is exactly
    the committed rows.

    Example:
        >>> import tempfile
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> import rtk_frames as rtk
        >>> root = tempfile.mkdtemp()
        >>> with serve(Dataset.from_samples()) as api:
        ...     _ = rtk.sync_dataset(api.client(), root, progress=False)
        >>> ds = rtk.open_dataset(root)
        >>> len(ds.table("sessions")) == int(ds.sql("SELECT count(*) FROM sessions").iloc[0, 0])
        True
    """
    path = Path(root)
    if not path.is_dir():
        raise RTKError(f"no dataset at {path} (run rtk-frames sync first)")
    if (path / STATE_FILE).exists() and _needs_recovery(path):
        with try_root_lock(path) as got:
            if got:
                with StateStore.open(path, create=False) as state:
                    recover(path, state)
    return FleetDataset(path)
