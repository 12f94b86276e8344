"""The dataset's tables and files: names, declared schemas, the schema-drift policy, partition paths.

Each table is one frame's rows from many sessions, stored as hive-partitioned parquet under
``ROOT/<table>/date=YYYY-MM-DD/`` (the session's UTC start date) with the frame's declared pyarrow schema
from :data:`rtk_frames.schemas.SCHEMAS`, plus:

- ``session_id`` (first, when the frame's schema lacks it): every table row names its session;
- ``extras`` (last, text): **the schema-drift policy**. A file holds the declared columns only, in their
  declared types, so files written by different runs and versions combine under one schema. Columns a
  flattener kept beyond the declared ones (fields the service added, event metadata) are not lost: they
  go, per row, into ``extras`` as a JSON object of that row's non-null extra values (NA when none).
  A column that becomes declared in a later version is simply NA in older files.

Example:
    >>> from rtk_frames.dataset.tables import TABLES, table_schema
    >>> TABLES[:3]
    ('sessions', 'participants', 'participant_details')
    >>> table_schema("quality_stats").names[0], table_schema("quality_stats").names[-1]
    ('session_id', 'extras')
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtk_frames.frames._coerce import arrow_to_frame, extra_array
from rtk_frames.schemas import SCHEMAS

__all__ = [
    "EXTRAS_COLUMN",
    "PARTITION_COLUMN",
    "PARTITION_SCHEMA",
    "TABLES",
    "TABLE_FRAMES",
    "conform",
    "frame_to_arrow",
    "partition_dir",
    "table_schema",
    "to_pandas",
]

#: table name -> the frame (SCHEMAS key) whose rows it holds
TABLE_FRAMES: dict[str, str] = {
    "sessions": "sessions",
    "participants": "participants",
    "participant_details": "participant",
    "quality_stats": "quality_stats",
    "quality_segments": "quality_segments",
    "peer_reports": "peer_report",
    "peer_report_series": "peer_report_series",
    "peer_events": "peer_events",
    "chat": "chat",
    "transcripts": "transcript",
    "breakout_rooms": "breakout_rooms",
}
TABLES: tuple[str, ...] = tuple(TABLE_FRAMES)
EXTRAS_COLUMN = "extras"
PARTITION_COLUMN = "date"
PARTITION_SCHEMA = pa.schema([pa.field(PARTITION_COLUMN, pa.date32())])


def _check_table(table: str) -> None:
    if table not in TABLE_FRAMES:
        raise KeyError(f"unknown table {table!r}; the tables are {', '.join(TABLES)}")


@functools.cache
def table_schema(table: str) -> pa.Schema:
    """The schema every file of ``table`` is written with: ``session_id``, the frame's declared columns,
    ``extras``.

    Example:
        >>> table_schema("chat").field("created_at").type
        TimestampType(timestamp[us, tz=UTC])
    """
    _check_table(table)
    declared = SCHEMAS[TABLE_FRAMES[table]]
    fields = list(declared)
    if "session_id" not in declared.names:
        fields.insert(0, pa.field("session_id", pa.string()))
    fields.append(pa.field(EXTRAS_COLUMN, pa.string()))
    return pa.schema(fields)


@functools.cache
def _declared_names(table: str) -> frozenset[str]:
    return frozenset(table_schema(table).names)


def partition_dir(root: str | Path, table: str, date: str) -> Path:
    """``ROOT/<table>/date=<YYYY-MM-DD>``.

    Example:
        >>> partition_dir("/data/fleet", "chat", "2026-11-16").as_posix()
        '/data/fleet/chat/date=2026-11-16'
    """
    _check_table(table)
    dt.date.fromisoformat(date)  # a bad date is a ValueError here, not a stray directory
    return Path(root) / table / f"{PARTITION_COLUMN}={date}"


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# what json.dumps(..., sort_keys=True, default=str) would build anew for every row
_EXTRAS_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def _extras_json(extras: pa.Table) -> pa.Array:
    """Each row's non-null undeclared values as one JSON object (keys sorted), null when it has none.
    Column by column: most extras columns are null in most rows (a row at a time converted them all)."""
    absent = object()
    names: list[str] = []
    columns: list[list[Any]] = []
    for name, column in zip(extras.column_names, extras.columns, strict=True):
        if column.null_count == len(column):
            continue
        convert = pa.types.is_temporal(column.type) or pa.types.is_floating(column.type)
        names.append(name)
        columns.append([absent if v is None else _json_value(v) if convert else v
                        for v in column.to_pylist()])
    out: list[str | None] = [None] * extras.num_rows
    for row, values in enumerate(zip(*columns, strict=True)):
        kept = {name: value for name, value in zip(names, values, strict=True) if value is not absent}
        if kept:
            out[row] = _EXTRAS_ENCODER.encode(kept)
    return pa.array(out, type=pa.string())


def conform(data: pa.Table, table: str, *, session_id: str | None = None) -> pa.Table:
    """An Arrow table as ``table``'s schema: declared columns cast to their types (absent ones null),
    the others folded into ``extras`` as JSON (the drift policy); ``session_id`` fills a missing or null
    ``session_id``.

    Example:
        >>> import pyarrow as pa
        >>> t = conform(pa.table({"participant_id": ["p"], "new_field": [3]}), "quality_stats",
        ...             session_id="s1")
        >>> t.column("session_id").to_pylist(), t.column("extras").to_pylist()
        (['s1'], ['{"new_field": 3}'])
    """
    schema = table_schema(table)
    declared = _declared_names(table)
    n = data.num_rows
    names = set(data.column_names)
    arrays = []
    for field in schema:
        if field.name == EXTRAS_COLUMN:
            extra = [c for c in data.column_names if c not in declared and c != PARTITION_COLUMN]
            if extra and n:
                array = _extras_json(data.select(extra))
            elif EXTRAS_COLUMN in names:
                array = data.column(EXTRAS_COLUMN).cast(pa.string())
            else:
                array = pa.nulls(n, pa.string())
        elif field.name in names:
            array = data.column(field.name)
            if array.type != field.type:
                array = (pa.nulls(n, field.type) if pa.types.is_null(array.type)
                         else array.cast(field.type))
        else:
            array = pa.nulls(n, field.type)
        if field.name == "session_id" and session_id is not None and array.null_count:
            array = pc.fill_null(array, pa.scalar(session_id, pa.string()))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)


def frame_to_arrow(frame: pd.DataFrame, table: str, *, session_id: str | None = None) -> pa.Table:
    """``frame`` as an Arrow table of ``table``'s schema (see :func:`conform`).

    Example:
        >>> import pandas as pd
        >>> t = frame_to_arrow(pd.DataFrame({"participant_id": ["p"], "new_field": [3]}), "quality_stats",
        ...                    session_id="s1")
        >>> t.column("session_id").to_pylist(), t.column("extras").to_pylist()
        (['s1'], ['{"new_field": 3}'])
    """
    return conform(_frame_arrow(frame), table, session_id=session_id)


def _frame_arrow(frame: pd.DataFrame) -> pa.Table:
    """``pa.Table.from_pandas(frame, preserve_index=False)`` without its pandas metadata, several times
    faster on wide frames: the columns' arrays are read without a Series each (a Series costs ~40 us and
    a deep copy of the frame's ``attrs``), the float64 columns (most of a peer report's 200+) leave as
    one Arrow array cut into zero-copy slices, the others through their own ``__arrow_array__``
    (``Table.from_pandas`` spends ~0.15 ms of bookkeeping per column that the dataset never uses).
    Frames it was not written for (duplicate or non-text column names) take the general path."""
    names = list(frame.columns)
    if len(set(names)) != len(names) or not all(isinstance(name, str) for name in names):
        return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    values = _column_arrays(frame)
    arrays: list[pa.Array | None] = [None] * len(names)
    floats = [k for k, column in enumerate(values)
              if isinstance(column, np.ndarray) and column.dtype == np.float64]
    if floats:
        n_rows = len(frame)
        block = pa.array(np.concatenate([values[k] for k in floats]), from_pandas=True)  # NaN -> null
        for slot, k in enumerate(floats):
            arrays[k] = block.slice(slot * n_rows, n_rows)
    for k, column in enumerate(values):
        if arrays[k] is None:
            arrays[k] = _column_arrow(column)
    return pa.Table.from_arrays(arrays, names=names)


def _column_arrays(frame: pd.DataFrame) -> list[Any]:
    """Each column's array (numpy or pandas extension array), in order, without building a Series per
    column: pandas' own ``_iter_column_arrays`` (what ``itertuples`` uses) when this pandas has it,
    else ``frame.iloc[:, k].array``.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": [1.5], "n": pd.array([1], "Int64")})
        >>> [type(a).__name__ for a in _column_arrays(frame)]
        ['ndarray', 'IntegerArray']
    """
    iterate = getattr(frame, "_iter_column_arrays", None)
    if iterate is not None:
        return list(iterate())
    return _column_arrays_one_by_one(frame)


def _column_arrays_one_by_one(frame: pd.DataFrame) -> list[Any]:
    columns = (frame.iloc[:, k] for k in range(frame.shape[1]))
    return [c.array if isinstance(c.dtype, pd.api.extensions.ExtensionDtype) else c.to_numpy()
            for c in columns]


def _column_arrow(values: Any) -> pa.Array:
    """One column's pandas array as Arrow, as ``Table.from_pandas`` converts it."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # no __arrow_array__; as objects it is ~50x slower
        if str(values.tz) != "UTC":  # other zones: pyarrow's own naming of them (dateutil, pytz ...)
            return pa.array(pd.Series(values, copy=False), from_pandas=True)
        unit = values.unit
        naive = np.asarray(values.tz_localize(None), dtype=f"datetime64[{unit}]")
        return pa.array(naive, type=pa.timestamp(unit, tz="UTC"), from_pandas=True)
    if hasattr(values, "__arrow_array__"):
        return pa.array(values)
    try:
        return pa.array(np.asarray(values), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # an object column of mixed kinds (an unknown field that is a flag in one session's frame and
        # text in another's, joined by pandas): typed as one frame types such a column
        return extra_array(values)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table read from the dataset as a DataFrame with the declared pandas dtypes: ``str``,
    ``datetime64[us, UTC]``, ``float64``, ``Int64``, ``boolean`` (the partition ``date``, when asked
    for, as ``datetime.date`` values).

    Example:
        >>> import pyarrow as pa
        >>> to_pandas(pa.table({"n": pa.array([1, None], pa.int64())}))["n"].dtype
        Int64Dtype()
    """
    return arrow_to_frame(table)
