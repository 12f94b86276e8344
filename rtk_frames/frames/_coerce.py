"""Shared coercions for every flattener: unwrap payloads, normalise keys, parse values, build typed frames.

The contract is the pyarrow schema (``rtk_frames.schemas.SCHEMAS``): :func:`build_frame` turns raw Python
column lists into a DataFrame whose declared columns have exactly the declared dtypes, whatever arrived.
Bad values become NA and are *counted* in a :class:`CoercionReport`, which emits ONE
:class:`rtk_frames.CoercionWarning` per call. Rows are never dropped.

Policies (where the API reference is silent):

- ``""`` and ``null`` mean "no value": NA, not counted as a coercion.
- Timestamps: ISO 8601 with ``Z``, an offset, or a space instead of ``T``; naive ones are read as UTC
  (the API speaks UTC) without a warning; more than 6 fractional digits are truncated to microseconds;
  numbers (or numeric strings) are epoch seconds/milliseconds/microseconds by magnitude
  (< 1e11 s, < 1e14 ms, else µs). Stray quotes/whitespace (the seed's ``…846Z"``) are stripped and the
  value kept — counted as ``repaired``; anything else unparseable is NaT, counted.
- Numbers given as text (``"6.9"``) are read without a warning; booleans in a numeric column, or text that
  is not a number, are NA and counted. Integer columns (``Int64``) stay exact beyond 2**53; a
  non-integral value there is NA and counted.
- Flags accept booleans, 0/1 and the words true/false/yes/no/on/off/enabled/disabled/supported/
  unsupported (and ``webgl…`` capability strings as true).
- Text columns accept anything: numbers are written out, dicts/lists as compact JSON text.
- Unknown extra fields become extra columns after the declared ones (sorted): booleans -> ``boolean``,
  numbers -> ``float64`` (``Int64`` only when an integer exceeds 2**53), everything else -> ``str``
  (JSON text for lists/dicts).
  An extra column with no value at all is dropped (a ``null`` field carries nothing and keeps the column
  set independent of whether a serializer writes ``null`` or omits the key).
- Any JSON in, a frame or a :class:`rtk_frames.PayloadError` out: a body that is not JSON, or a scalar
  where a payload belongs (``{"success": true, "data": ""}``), is a PayloadError; integers of any size are
  kept (JSON text of lists/dicts keeps their digits) or NA and counted (beyond a column's range).
- Small frames (up to ``SMALL_FRAME_ROWS`` rows: one payload's wide row) are assembled in pandas
  directly, the columns of one type coerced and converted together; larger ones go through
  ``pyarrow.Table.to_pandas``. Both give the same frame (``tests/test_frames_fast_path.py``).

Example:
    >>> import pyarrow as pa
    >>> report = CoercionReport("demo")
    >>> schema = pa.schema([("t", pa.timestamp("us", "UTC"))])
    >>> df = build_frame({"t": ["2023-02-01T10:50:36.846Z\\""]}, schema, report=report)
    >>> str(df["t"][0]), report.as_dict()
    ('2023-02-01 10:50:36.846000+00:00', {'t: repaired timestamp: stray characters stripped': 1})
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.internals import create_dataframe_from_blocks  # type: ignore[import-not-found]  # not in pandas-stubs

from rtk_frames.errors import CoercionWarning, PayloadError
from rtk_frames.schemas import SCHEMAS

__all__ = [
    "CoercionReport",
    "Flat",
    "arrow_to_frame",
    "build_frame",
    "build_table",
    "flatten_record",
    "normalize_key",
    "parse_timestamps",
    "plain",
    "records_to_columns",
    "repeat_text",
    "unwrap_items",
]

UTC_MICROS = pa.timestamp("us", tz="UTC")
_INT64_MAX = 2**63 - 1
_FLOAT_EXACT_MAX = 2**53  # integers up to here survive a float64 exactly
_REPAIRED = "repaired"

# --------------------------------------------------------------------------------------------------
# Coercion accounting


class CoercionReport:
    """Counts values coerced to NA (and values repaired) per ``(column, reason)`` for one frame build.

    Example:
        >>> r = CoercionReport("participants_frame")
        >>> r.add("joined_at", "unparseable timestamp", 2)
        >>> r.as_dict()
        {'joined_at: unparseable timestamp': 2}
    """

    def __init__(self, frame: str) -> None:
        self.frame = frame
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, column: str, reason: str, count: int = 1) -> None:
        """Record ``count`` values of ``column`` set to NA because of ``reason``."""
        if count > 0:
            key = (column, reason)
            self._counts[key] = self._counts.get(key, 0) + int(count)

    def update(self, other: CoercionReport) -> None:
        """Add ``other``'s counts to these."""
        for (column, reason), count in other._counts.items():
            self.add(column, reason, count)

    def add_repair(self, column: str, reason: str, count: int = 1) -> None:
        """Record ``count`` values of ``column`` that were malformed but repaired (kept, not NA)."""
        self.add(column, f"{_REPAIRED} {reason}", count)

    def __bool__(self) -> bool:
        return bool(self._counts)

    def as_dict(self) -> dict[str, int]:
        """``{"column: reason": count}`` — small and JSON-safe (it goes into ``df.attrs``)."""
        return {f"{col}: {reason}": n for (col, reason), n in self._counts.items()}

    def message(self) -> str:
        """The one-line summary used by :meth:`warn`."""
        na = [(c, r, n) for (c, r), n in self._counts.items() if not r.startswith(_REPAIRED)]
        cut = len(_REPAIRED) + 1
        fixed = [(c, r[cut:], n) for (c, r), n in self._counts.items() if r.startswith(_REPAIRED)]
        parts = []
        if na:
            total = sum(n for _, _, n in na)
            listed = ", ".join(f"{c} ×{n} ({r})" for c, r, n in na)
            parts.append(f"{total} value{'s' if total != 1 else ''} set to NA: {listed}")
        if fixed:
            total = sum(n for _, _, n in fixed)
            listed = ", ".join(f"{c} ×{n} ({r})" for c, r, n in fixed)
            parts.append(f"{total} value{'s' if total != 1 else ''} repaired: {listed}")
        return f"{self.frame}: " + "; ".join(parts)

    def warn(self, stacklevel: int = 3) -> None:
        """Emit ONE :class:`rtk_frames.CoercionWarning` if anything was counted."""
        if self._counts:
            warnings.warn(self.message(), CoercionWarning, stacklevel=stacklevel)


# --------------------------------------------------------------------------------------------------
# Payload unwrapping and key normalisation

_KEY_ALIASES = {
    "throughtput": "throughput",
    "effective_networktype": "effective_network_type",
    "r_t_t": "rtt",
    "backend_r_t_t": "backend_rtt",
}
_SUFFIX_ALIASES = (("_r_t_t", "_rtt"), ("_throughtput", "_throughput"), ("_networktype", "_network_type"))
_ACRONYM_RUN = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_HUMP = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z_]+")
_SDK_NUMERIC_PREFIX = re.compile(r"^api_(?=\d)")


@lru_cache(maxsize=4096)
def normalize_key(key: str) -> str:
    """A wire key as a snake_case column-name part (camelCase, dots, the wire's typos folded).

    Example:
        >>> [normalize_key(k) for k in ["joinedAt", "throughtput", "backend_r_t_t", "api_10_or_greater"]]
        ['joined_at', 'throughput', 'backend_rtt', '10_or_greater']
    """
    text = str(key)
    text = _ACRONYM_RUN.sub(r"\1_\2", text)
    text = _CAMEL_HUMP.sub(r"\1_\2", text)
    text = _NON_WORD.sub("_", text).strip("_").lower()
    text = re.sub(r"_+", "_", text)
    text = _SDK_NUMERIC_PREFIX.sub("", text)
    text = _KEY_ALIASES.get(text, text)
    for wrong, right in _SUFFIX_ALIASES:
        if text.endswith(wrong):
            text = text[: -len(wrong)] + right
    return text


_WIRE_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})  # what JSON decodes to: plain


def plain(payload: Any) -> Any:
    """Turn an official ``cloudflare`` SDK response model into plain JSON-like Python (wire key names).

    ``model_dump(by_alias=True, exclude_unset=True)`` brings back the wire names and only the fields the
    wire sent (``10_or_greater_event_fraction`` rather
    than ``api_10_or_greater_event_fraction``). Dicts, lists and scalars pass through unchanged.
    """
    if type(payload) in _WIRE_TYPES:  # (the common case, first: this runs for every value of a payload)
        return payload
    dump = getattr(payload, "model_dump", None)
    if callable(dump) and not isinstance(payload, dict | list):
        return dump(by_alias=True, exclude_unset=True)
    return payload


def _loads(body: bytes | bytearray | memoryview | str) -> Any:
    """A JSON body as Python; text that is not JSON is a :class:`rtk_frames.PayloadError`."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        size = len(body)
        raise PayloadError(f"the payload is not JSON ({size} bytes/characters; {exc})") from None


def unwrap_items(payload: Any, *list_keys: str, single_keys: Sequence[str] = ()) -> list[dict]:
    """The item dicts in a payload: a whole response, its ``data``, an SDK model, a JSON body (bytes or
    text), or a list of any of them.

    ``list_keys`` name a list under ``data`` (``"sessions"``); ``single_keys`` name one item under
    ``data`` (``"session"``, ``"participant"``). A dict that is neither is itself the item; an empty one
    is nothing, and so is ``null``. An error answer (``"success": false``), a body that is not JSON, or a
    scalar where a payload belongs (``"data": ""``, a number in a list of pages) raises
    :class:`rtk_frames.PayloadError`: the service sent something other than data, and no frame can say so.
    Items of a listed array that are not objects are skipped (``null`` is no item).

    Example:
        >>> unwrap_items({"data": {"sessions": [{"id": "a"}]}, "success": True}, "sessions")
        [{'id': 'a'}]
        >>> unwrap_items({"success": True, "data": ""}, "sessions")
        Traceback (most recent call last):
        rtk_frames.errors.PayloadError: the payload's data is a str (''), not an object or a list
    """
    payload = plain(payload)
    if isinstance(payload, bytes | bytearray | memoryview | str):  # a saved or just-received JSON body
        payload = _loads(payload)
    return _unwrap(payload, list_keys, tuple(single_keys), "the payload")


def _unwrap(payload: Any, list_keys: tuple[str, ...], single_keys: tuple[str, ...], where: str) -> list[dict]:
    payload = plain(payload)
    if payload is None:
        return []
    if isinstance(payload, list | tuple):
        items: list[dict] = []
        for index, part in enumerate(payload):
            items.extend(_unwrap(part, list_keys, single_keys, f"{where}[{index}]"))
        return items
    if not isinstance(payload, dict):
        shown = _json_text(payload) if not isinstance(payload, str) else repr(payload)
        raise PayloadError(f"{where} is a {type(payload).__name__} ({shown[:40]}), not an object or a list")
    if not payload:
        return []
    if payload.get("success") is False:
        errors = _json_text(payload.get("errors"))[:200]
        raise PayloadError(f"the payload is an error answer, not data: {errors}")
    if "data" not in payload and "success" in payload:
        return []
    if "data" in payload and (
        "success" in payload or "paging" in payload or "errors" in payload or len(payload) == 1
    ):
        return _unwrap(payload["data"], list_keys, single_keys, "the payload's data")
    for key in list_keys:
        if key in payload:
            inner = plain(payload[key])
            if isinstance(inner, list | tuple):
                return [item for item in map(plain, inner) if isinstance(item, dict)]
            return []
    for key in single_keys:
        inner = payload.get(key)
        if isinstance(inner, dict) or (inner is not None and hasattr(inner, "model_dump")):
            return [plain(inner)]
    if list_keys and not single_keys and set(payload) <= {"paging"}:
        return []
    return [payload]


def flatten_record(
    obj: Mapping[str, Any],
    prefix: str = "",
    *,
    out: dict[str, Any] | None = None,
    skip: Iterable[str] = (),
) -> dict[str, Any]:
    """Flatten nested dicts into ``{"a_b_c": value}`` with normalised keys; lists become JSON text.

    ``skip`` names (normalised) keys of ``obj`` itself to leave out (child lists handled elsewhere).

    Example:
        >>> flatten_record({"deviceInfo": {"isMobile": True}, "tags": [1, 2]})
        {'device_info_is_mobile': True, 'tags': '[1,2]'}
    """
    result: dict[str, Any] = {} if out is None else out
    skipped = set(skip) if skip else ()
    for raw_key, value in obj.items():
        key, name = _NAMES.get((prefix, raw_key)) or _name(prefix, raw_key)
        if skipped and key in skipped:
            continue
        kind: type | None = type(value)
        if kind not in _WIRE_TYPES:  # an SDK model (or anything else) as plain JSON-like values
            value = plain(value)
            kind = dict if isinstance(value, dict) else list if isinstance(value, list | tuple) else None
        if kind is dict:
            if value:
                flatten_record(value, name, out=result)
            elif name not in result:
                result[name] = None
        elif kind is list:
            result[name] = _json_text(value) if value else None
        elif value is not None or name not in result:
            result[name] = value
    return result


# (prefix, wire key) -> (its normalised key, its column name): a payload's keys repeat in every item
_NAMES: dict[tuple[str, Any], tuple[str, str]] = {}
_NAMES_MAX = 65_536


def _name(prefix: str, raw_key: Any) -> tuple[str, str]:
    key = normalize_key(raw_key)
    named = (key, f"{prefix}_{key}" if prefix else key)
    if len(_NAMES) >= _NAMES_MAX:  # (a stream of ever-new keys cannot grow it without bound)
        _NAMES.clear()
    _NAMES[(prefix, raw_key)] = named
    return named


def records_to_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    """Row dicts -> ``{column: values}`` over the union of keys (absent -> ``None``)."""
    count = len(records)
    columns: dict[str, list] = {}
    for row, rec in enumerate(records):  # one pass over the values: wide records come in few rows
        for name, value in rec.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = [None] * count
            column[row] = value
    return columns


def normalized(obj: Any) -> dict[str, Any]:
    """One level of a wire object with normalised keys (``{}`` for anything that is not an object).

    When two spellings of one key arrive together (``peerId`` and ``peer_id``) the first non-null wins.
    """
    obj = plain(obj)
    if not isinstance(obj, dict):
        return {}
    keys = tuple(obj)
    if _NORMAL_KEYS.get(keys):  # every key already normal (so no two spellings): a plain copy
        return dict(obj)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = normalize_key(key)
        if out.get(name) is None:
            out[name] = value
    if len(_NORMAL_KEYS) >= _NORMAL_KEYS_MAX:
        _NORMAL_KEYS.clear()
    _NORMAL_KEYS[keys] = len(out) == len(keys) and all(normalize_key(key) == key for key in keys)
    return out


# a payload's key tuples -> whether normalising changes none of them (payloads come in few shapes)
_NORMAL_KEYS: dict[tuple[Any, ...], bool] = {}
_NORMAL_KEYS_MAX = 1024


def _add_column(columns: dict[str, Any], name: str, values: list) -> None:
    """Add a column; when ``name`` is already there (two spellings of one key), fill its gaps instead:
    the first non-null wins."""
    if name not in columns:
        columns[name] = values
        return
    target = columns[name]
    if isinstance(target, pa.Array):
        target = columns[name] = target.to_pylist()
    for i, value in enumerate(values):
        if target[i] is None:
            target[i] = value


# a schema's (name, type) pairs and name -> type map, read once per schema object: walking a 200-field
# pa.Schema costs ~0.3 ms, hashing one ~0.2 ms, so the cache is keyed by identity (the entry holds the
# schema, so its id cannot be reused while cached); schemas made on the fly beyond the first 256 are not
# cached
_SCHEMA_FIELDS: dict[int, tuple[pa.Schema, tuple[tuple[str, pa.DataType], ...], dict[str, pa.DataType]]] = {}
_SCHEMA_CACHE_SIZE = 256


def _fields_of(schema: pa.Schema) -> tuple[tuple[tuple[str, pa.DataType], ...], dict[str, pa.DataType]]:
    cached = _SCHEMA_FIELDS.get(id(schema))
    if cached is None or cached[0] is not schema:
        fields = tuple((field.name, field.type) for field in schema)
        cached = (schema, fields, dict(fields))
        if len(_SCHEMA_FIELDS) < _SCHEMA_CACHE_SIZE:
            _SCHEMA_FIELDS[id(schema)] = cached
    return cached[1], cached[2]


_FAST_VALUE_TYPES = frozenset({str, int, float, type(None)})


def _struct_fast_path(
    rows: Sequence[dict], raw_keys: set, schema: pa.Schema | None
) -> tuple[dict[str, pa.Array], set]:
    """Convert the declared text/float/timestamp fields of flat sample dicts in one Arrow call.

    Only when every value is a plain str/int/float/None and the keys are already normalised; Arrow raises
    on a wrong-typed value (text in a number field, a number in a text field), and then the caller
    takes the per-key path for everything. Returns (columns, keys still to do).
    """
    if schema is None or not rows:
        return {}, raw_keys
    fast: list[pa.Field] = []
    declared_types = _fields_of(schema)[1]
    for key in raw_keys:
        declared = declared_types.get(key) if isinstance(key, str) else None
        if declared is None or normalize_key(key) != key:
            continue
        if pa.types.is_floating(declared):
            fast.append(pa.field(key, pa.float64()))
        elif pa.types.is_string(declared) or pa.types.is_timestamp(declared):
            fast.append(pa.field(key, pa.string()))
    if not fast:
        return {}, raw_keys
    value_types = set(map(type, chain.from_iterable(map(dict.values, rows))))
    if not value_types <= _FAST_VALUE_TYPES:
        return {}, raw_keys
    try:
        struct = pa.array(rows, type=pa.struct(fast))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        return {}, raw_keys
    columns = {field.name: struct.field(i) for i, field in enumerate(fast)}
    return columns, raw_keys - set(columns)


def sample_columns(
    samples: Sequence[Any], *, report: CoercionReport, schema: pa.Schema | None = None
) -> dict[str, Any]:
    """Columns of a list of (mostly flat) sample dicts, fast.

    With ``schema``, the declared number/text/timestamp fields of clean flat samples are converted in one
    Arrow call (values come back as Arrow arrays); everything else takes one ``dict.get`` pass per key
    (Python lists). Keys are normalised (two spellings of one key merge, first non-null wins); nested
    objects are flattened with ``_``; an item that is not an object still makes a row (all NA), counted.

    Example:
        >>> sample_columns([{"frameWidth": 640}, {"frame_width": 320, "codec": {"name": "opus"}}],
        ...                report=CoercionReport("demo"))
        {'frame_width': [640, 320], 'codec_name': [None, 'opus']}
    """
    rows = samples
    if set(map(type, rows)) - {dict}:
        rows = [plain(s) for s in rows]
        report.add("sample", "not an object", sum(1 for s in rows if not isinstance(s, dict)))
        rows = [s if isinstance(s, dict) else {} for s in rows]
    raw_keys = set().union(*rows) if rows else set()
    columns: dict[str, Any]
    columns, raw_keys = _struct_fast_path(rows, raw_keys, schema)
    for raw_key in sorted(raw_keys, key=str):
        _add_column(columns, normalize_key(raw_key), [s.get(raw_key) for s in rows])
    nested_names = [n for n, v in columns.items() if isinstance(v, list) and dict in set(map(type, v))]
    for name in nested_names:
        nested = columns.pop(name)
        flat = [flatten_record(v, name) if isinstance(v, dict) else {} for v in nested]
        for sub_name, sub_values in records_to_columns(flat).items():
            _add_column(columns, sub_name, sub_values)
        if any(v is not None and not isinstance(v, dict) for v in nested):  # a scalar where an object was
            columns.setdefault(name, [None if isinstance(v, dict) else v for v in nested])
    return columns


def repeat_text(values: Sequence[Any], counts: Sequence[int]) -> pa.Array:
    """A text column where ``values[i]`` repeats ``counts[i]`` times, built in Arrow (no per-row Python).

    Example:
        >>> repeat_text(["a", 7], [2, 1]).to_pylist()
        ['a', 'a', '7']
    """
    distinct = _texts(list(values))
    positions = np.repeat(np.arange(len(distinct), dtype=np.int64), np.asarray(counts, dtype=np.int64))
    return distinct.take(pa.array(positions))


def make_frame(
    name: str,
    columns: Mapping[str, Sequence[Any]],
    *,
    report: CoercionReport,
) -> pd.DataFrame:
    """Build the frame ``name`` from its schema in ``SCHEMAS``, then warn once and set provenance."""
    frame = build_frame(columns, SCHEMAS[name], report=report)
    return finish(frame, report)


def make_table(
    name: str,
    columns: Mapping[str, Sequence[Any]],
    *,
    report: CoercionReport,
) -> pa.Table:
    """:func:`make_frame`'s frame as an Arrow table (see :func:`build_table`), with the same one warning.

    Example:
        >>> make_table("quality_stats", {"quality": [90]}, report=CoercionReport("demo")).num_rows
        1
    """
    table = build_table(columns, SCHEMAS[name], report=report)
    if report:
        report.warn(stacklevel=_first_caller_outside_the_package())
    return table


@dataclass(frozen=True)
class Flat:
    """A flattener's rows before they are built: the frame's name in ``SCHEMAS``, its raw columns and
    the coercions counted so far. :meth:`frame` builds the DataFrame (what the public flatteners
    return), :meth:`table` the same rows as Arrow (what the dataset writes). Build it once.

    Example:
        >>> flat = Flat("quality_stats", {"quality": [90]}, CoercionReport("demo"))
        >>> flat.table().column("quality").to_pylist(), flat.frame()["quality"].tolist()
        ([90.0], [90.0])
    """

    name: str
    columns: Mapping[str, Sequence[Any]]
    report: CoercionReport

    def frame(self) -> pd.DataFrame:
        """The typed DataFrame (see :func:`make_frame`)."""
        return make_frame(self.name, self.columns, report=self.report)

    def table(self) -> pa.Table:
        """The same rows as an Arrow table (see :func:`make_table`)."""
        return make_table(self.name, self.columns, report=self.report)

    def __len__(self) -> int:
        return max(map(len, self.columns.values()), default=0)

    @classmethod
    def joined(cls, parts: Sequence[Flat]) -> Flat:
        """The rows of several calls of one flattener, one after another, to be built as one (a column
        that a part lacks is NA on its rows), their coercions counted together. Built, they are the rows
        one call over all the parts' payloads gives (tests/test_dataset_tables.py).

        Example:
            >>> a = Flat("quality_stats", {"quality": [90]}, CoercionReport("demo"))
            >>> b = Flat("quality_stats", {"kind": ["audio"]}, CoercionReport("demo"))
            >>> Flat.joined([a, b]).columns
            {'quality': [90, None], 'kind': [None, 'audio']}
        """
        if not parts:
            raise ValueError("Flat.joined needs at least one part")
        if len(parts) == 1:
            return parts[0]
        report = CoercionReport(parts[0].report.frame)
        names: dict[str, None] = {}
        for part in parts:
            report.update(part.report)
            names.update(dict.fromkeys(part.columns))
        sizes = [len(part) for part in parts]
        columns = {name: _joined_column([part.columns.get(name) for part in parts], sizes) for name in names}
        return cls(parts[0].name, columns, report)


def _joined_column(pieces: Sequence[Sequence[Any] | None], sizes: Sequence[int]) -> Sequence[Any]:
    """One column of :meth:`Flat.joined`: Arrow arrays of one type stay Arrow (a missing piece is nulls),
    anything else becomes one list (a missing piece is ``None``s)."""
    types = {piece.type for piece in pieces if isinstance(piece, pa.Array)}
    if len(types) == 1 and all(piece is None or isinstance(piece, pa.Array) for piece in pieces):
        arrow_type = types.pop()
        return pa.concat_arrays([piece if isinstance(piece, pa.Array) else pa.nulls(size, arrow_type)
                                 for piece, size in zip(pieces, sizes, strict=True)])
    values: list[Any] = []
    for piece, size in zip(pieces, sizes, strict=True):
        if piece is None:
            values.extend([None] * size)
        elif isinstance(piece, pa.Array | pa.ChunkedArray):
            values.extend(piece.to_pylist())
        else:
            values.extend(piece)
    return values


def stacked_samples(
    name: str,
    runs: Sequence[tuple[tuple[Any, ...], Sequence[Any]]],
    context: Sequence[str],
    *,
    report: CoercionReport,
    aside: Mapping[str, str] | None = None,
) -> Flat:
    """The rows of the long frame ``name``: sample lists stacked; ``runs`` are ``(context values,
    samples)``, the context values (one per name in ``context``) repeated on each of the run's sample rows.

    A sample's own copy of a context field is kept aside, not lost: as ``aside[column]``, else
    ``sample_<column>``. Samples go through :func:`sample_columns` with the frame's schema (the fast path);
    the context columns are repeated in Arrow.

    Example:
        >>> runs = [(("p1", "audio"), [{"quality": 90}, {"quality": 80}]), (("p1", "video"), [{"kind": 2}])]
        >>> df = stacked_samples("quality_stats", runs, ("participant_id", "kind"),
        ...                      report=CoercionReport("demo")).frame()
        >>> df[["participant_id", "kind", "quality", "sample_kind"]].values.tolist()
        [['p1', 'audio', 90.0, nan], ['p1', 'audio', 80.0, nan], ['p1', 'video', nan, 2.0]]
    """
    samples = list(chain.from_iterable(run_samples for _, run_samples in runs))
    columns: dict[str, Any] = sample_columns(samples, report=report, schema=SCHEMAS[name])
    aside = aside or {}
    for column in context:
        if column in columns:
            columns[aside.get(column, f"sample_{column}")] = columns.pop(column)
    counts = [len(run_samples) for _, run_samples in runs]
    small = len(samples) <= SMALL_FRAME_ROWS
    for position, column in enumerate(context):
        values = [run_values[position] for run_values, _ in runs]
        if small and set(map(type, values)) <= {str, type(None)}:  # coerced with the other text columns
            columns[column] = [value for value, count in zip(values, counts, strict=True)
                               for _ in range(count)]
        else:
            columns[column] = repeat_text(values, counts)
    return Flat(name, columns, report)


def _canonical(value: Any) -> Any:
    """Integral floats as ints (``0.0`` -> ``0``), recursively: the wire's ``0`` and an SDK's ``0.0``
    give the same JSON text."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= _FLOAT_EXACT_MAX:
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(plain(v)) for v in value]
    return value


def _json_safe(value: Any) -> Any:
    """What orjson cannot write, made writable: integers beyond 64 bits as their digits (text), keys
    as text, anything else unknown as ``str``. Non-finite floats are written as ``null`` either way."""
    if isinstance(value, bool) or value is None or isinstance(value, float | str):
        return value
    if isinstance(value, int):
        return value if -_INT64_MAX - 1 <= value <= 2**64 - 1 else _int_text(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(plain(v)) for v in value]
    return str(value)


def _int_text(value: int) -> str:
    """An integer's digits; one too long for Python to write out (> 4,300 digits) as ``~1e+5000``: its
    magnitude, not its digits."""
    try:
        return str(value)
    except ValueError:
        digits = value.bit_length() * math.log10(2)
        return f"{'-' if value < 0 else ''}~1e+{int(digits)}"


def _json_text(value: Any) -> str:
    """Compact JSON text of a list/dict value (for text columns; never an object column)."""
    value = _canonical(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, a key or value orjson does not know
        return orjson.dumps(_json_safe(value), option=orjson.OPT_NON_STR_KEYS).decode()


# --------------------------------------------------------------------------------------------------
# Value coercions

_ISO_STRICT = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$"
_NUMERIC_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_EPOCH_S_LIMIT = 1e11  # below: epoch seconds; below 1e14: milliseconds; else microseconds
_EPOCH_MS_LIMIT = 1e14
_STRAY = " \t\r\n\"'`"
_FRACTION_TOO_LONG = re.compile(r"(\.\d{6})\d+")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _epoch_to_datetime(number: float) -> dt.datetime | None:
    if not math.isfinite(number):
        return None
    if abs(number) < _EPOCH_S_LIMIT:
        micros = number * 1e6
    elif abs(number) < _EPOCH_MS_LIMIT:
        micros = number * 1e3
    else:
        micros = number
    try:
        return _EPOCH + dt.timedelta(microseconds=round(micros))
    except OverflowError:
        return None


def _parse_iso(text: str) -> dt.datetime | None:
    text = _FRACTION_TOO_LONG.sub(r"\1", text)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _parse_one_timestamp(value: Any) -> tuple[dt.datetime | None, str | None]:
    """(datetime or None, outcome) where outcome is None (clean), "repaired" or "bad"."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, "bad"
    if isinstance(value, int | float):
        number, _ = _number_or_none(value)
        parsed = _epoch_to_datetime(number) if number is not None else None
        return parsed, None if parsed is not None else "bad"
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)), None
    if not isinstance(value, str):
        return None, "bad"
    text = value.strip()
    if not text:
        return None, None
    if _NUMERIC_TEXT.match(text):
        parsed = _epoch_to_datetime(float(text))
        return parsed, None if parsed is not None else "bad"
    parsed = _parse_iso(text)
    if parsed is not None:
        return parsed, None
    stripped = value.strip(_STRAY)
    if stripped and stripped != text:
        parsed = _parse_iso(stripped)
        if parsed is not None:
            return parsed, _REPAIRED
    return None, "bad"


def _timestamps_slow(values: Sequence[Any] | pa.Array, column: str, report: CoercionReport) -> pa.Array:
    if isinstance(values, pa.Array):  # Arrow text (the sample fast path): parse its Python strings
        values = values.to_pylist()
    out: list[dt.datetime | None] = []
    bad = repaired = 0
    for value in values:
        parsed, outcome = _parse_one_timestamp(value)
        if outcome == "bad":
            bad += 1
        elif outcome == _REPAIRED:
            repaired += 1
        out.append(parsed)
    report.add(column, "unparseable timestamp", bad)
    report.add_repair(column, "timestamp: stray characters stripped", repaired)
    return pa.array(out, type=UTC_MICROS)


def _timestamps_arrow(values: Sequence[Any] | pa.Array, column: str, report: CoercionReport) -> pa.Array:
    """Whole-column parse in Arrow's C++; only the values that fail the strict form go the slow way."""
    if isinstance(values, pa.Array):
        text = values
    else:
        types = set(map(type, values))
        if not types <= {str, type(None)}:
            return _timestamps_slow(values, column, report)
        text = pa.array(values, type=pa.string())
    try:  # the common case: every value is ISO 8601 with a zone -> one C++ cast, done
        return text.cast(UTC_MICROS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    strict = pc.match_substring_regex(text, _ISO_STRICT)
    strict = pc.fill_null(strict, True)
    if pc.all(strict).as_py():
        try:
            return text.cast(UTC_MICROS)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _timestamps_slow(values, column, report)
    clean_text = pc.if_else(strict, text, pa.scalar(None, pa.string()))
    try:
        parsed = clean_text.cast(UTC_MICROS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _timestamps_slow(values, column, report)
    odd_positions = np.flatnonzero(~np.asarray(strict.to_numpy(zero_copy_only=False), dtype=bool))
    repaired = _timestamps_slow(text.take(pa.array(odd_positions)).to_pylist(), column, report)
    merged = parsed.to_pylist() if len(odd_positions) * 4 > len(text) else None
    if merged is not None:
        for pos, val in zip(odd_positions, repaired.to_pylist(), strict=True):
            merged[pos] = val
        return pa.array(merged, type=UTC_MICROS)
    # few odd values: scatter them into the parsed column without a Python pass over everything
    indices = np.arange(len(text))
    indices[odd_positions] = len(text) + np.arange(len(odd_positions))
    combined = pa.concat_arrays([parsed, repaired])
    return combined.take(pa.array(indices))


def parse_timestamps(values: Sequence[Any], *, column: str, report: CoercionReport) -> pd.Series:
    """Parse a column of wire timestamps to ``datetime64[us, UTC]``; failures NaT and counted.

    Example:
        >>> r = CoercionReport("demo")
        >>> raw = ["2023-02-01T10:51:08.039Z", "1675248668039", "oops", ""]
        >>> [str(v) for v in parse_timestamps(raw, column="t", report=r)]
        ['2023-02-01 10:51:08.039000+00:00', '2023-02-01 10:51:08.039000+00:00', 'NaT', 'NaT']
        >>> r.as_dict()
        {'t: unparseable timestamp': 1}
    """
    array = _timestamps_arrow(list(values), column, report)
    return pd.Series(array.to_pandas(), name=column).astype("datetime64[us, UTC]")


def _per_value(
    values: Sequence[Any],
    convert: Any,
    arrow_type: pa.DataType,
    column: str,
    reason: str,
    report: CoercionReport,
) -> pa.Array:
    """The slow path: convert value by value (``convert`` -> (value, ok)), counting the failures."""
    out = []
    bad = 0
    for value in values:
        converted, ok = convert(value)
        bad += not ok
        out.append(converted)
    report.add(column, reason, bad)
    return pa.array(out, type=arrow_type, from_pandas=True)


def _number_or_none(value: Any) -> tuple[float | None, bool]:
    """(number, ok). ``ok`` is False when a non-empty value is not a number."""
    if value is None:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        try:
            return float(value), True
        except OverflowError:  # an integer beyond float64's range (~1.8e308)
            return None, False
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None, True
        if text.lower() in ("nan", "null", "none"):
            return None, True
        try:
            return float(text), True
        except ValueError:
            return None, False
    return None, False


def _floats(values: Sequence[Any], column: str, report: CoercionReport) -> pa.Array:
    types = set(map(type, values))
    if types <= {float, int, type(None)}:
        try:
            return pa.array(values, type=pa.float64(), from_pandas=True)
        except (pa.ArrowInvalid, OverflowError, TypeError):
            pass
    return _per_value(values, _number_or_none, pa.float64(), column, "not a number", report)




def _integer_or_none(value: Any) -> tuple[int | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int):
        return (value, True) if -_INT64_MAX - 1 <= value <= _INT64_MAX else (None, False)
    if isinstance(value, float):
        if math.isnan(value):
            return None, True
        if math.isfinite(value) and value.is_integer() and -_INT64_MAX - 1 <= value <= _INT64_MAX:
            return int(value), True
        return None, False
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in ("nan", "null", "none"):
            return None, True
        if re.fullmatch(r"[+-]?\d+", text):
            return _integer_or_none(int(text)) if len(text) < 30 else (None, False)
        number, ok = _number_or_none(text)
        return _integer_or_none(number) if ok else (None, False)
    return None, False


def _integers(values: Sequence[Any], column: str, report: CoercionReport) -> pa.Array:
    types = set(map(type, values))
    if types <= {int, type(None)}:
        try:
            return pa.array(values, type=pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            pass
    elif types <= {int, float, type(None)}:  # whole numbers sent as floats (``12.0``), read in C: NaN is
        try:  # null; a fraction, an infinity or an int beyond 2**53 fails the cast and goes value by value
            return pc.cast(pa.array(values, type=pa.float64(), from_pandas=True), pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            pass
    return _per_value(values, _integer_or_none, pa.int64(), column, "not an integer", report)


_TRUE_WORDS = {"true", "t", "yes", "y", "1", "on", "enabled", "supported", "available"}
_FALSE_WORDS = {"false", "f", "no", "n", "0", "off", "disabled", "unsupported", "unavailable", "none"}


def _flag_or_none(value: Any) -> tuple[bool | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, bool):
        return value, True
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value), True
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None, True
        if text in _TRUE_WORDS or text.startswith("webgl"):
            return True, True
        if text in _FALSE_WORDS:
            return False, True
    return None, False


# the wire's usual spellings, read in one dict lookup per value (a CSV column is all text)
_FLAG_WORDS = {"true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False,
               "": None}


def _flags(values: Sequence[Any], column: str, report: CoercionReport) -> pa.Array:
    types = set(map(type, values))
    if str in types:
        lookup = _FLAG_WORDS.get
        values = [lookup(v, v) if type(v) is str else v for v in values]
        types = set(map(type, values))
    if types <= {bool, type(None)}:
        return pa.array(values, type=pa.bool_())
    return _per_value(values, _flag_or_none, pa.bool_(), column, "not a boolean", report)


def _text_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, int):
        return _int_text(value)
    value = plain(value)
    if isinstance(value, dict | list | tuple):
        return _json_text(value)
    return str(value)


def _texts(values: Sequence[Any]) -> pa.Array:
    types = set(map(type, values))
    if types <= {str, type(None)}:
        return pa.array(values, type=pa.string())
    return pa.array([_text_of(v) for v in values], type=pa.string())


def coerce_array(
    values: Sequence[Any], arrow_type: pa.DataType, *, column: str, report: CoercionReport
) -> pa.Array:
    """Coerce one raw column to ``arrow_type`` (timestamp[us, UTC], float64, int64, bool or string)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if values.type == arrow_type:
            return values
        if pa.types.is_null(values.type):
            return pa.nulls(len(values), type=arrow_type)
        if pa.types.is_string(values.type) and pa.types.is_timestamp(arrow_type):
            return _timestamps_arrow(values, column, report)
        values = values.to_pylist()
    values = values if isinstance(values, list) else list(values)
    if pa.types.is_timestamp(arrow_type):
        return _timestamps_arrow(values, column, report)
    if pa.types.is_floating(arrow_type):
        return _floats(values, column, report)
    if pa.types.is_integer(arrow_type):
        return _integers(values, column, report)
    if pa.types.is_boolean(arrow_type):
        return _flags(values, column, report)
    return _texts(values)


def extra_array(values: Sequence[Any]) -> pa.Array:
    """An unknown column's values typed as a frame types them: numbers float64 (int64 when too big for a
    float to hold), flags bool, anything else or mixed text (objects as JSON text); all-null -> null.
    pandas' missing markers (``NA``, ``NaT``, a float NaN) are null.

    Example:
        >>> extra_array([False, "yes", None, pd.NA]).to_pylist(), extra_array([1, 2.5]).type
        (['false', 'yes', None, None], DataType(double))
    """
    values = [None if value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
              else value for value in values]
    arrow_type = _infer_extra(values)
    if arrow_type is None:
        return pa.nulls(len(values))
    return coerce_array(values, arrow_type, column="extra", report=CoercionReport("extra_array"))


def _infer_extra(values: Sequence[Any]) -> pa.DataType | None:
    types = set(map(type, values)) - {type(None)}
    if not types:
        return None
    if types == {bool}:
        return pa.bool_()
    if types <= {int, float}:
        # numbers are float64 (an SDK model turns the wire's 0 into 0.0: same column either way) unless
        # an integer is too big for a float to hold exactly
        big = [v for v in values if type(v) is int and abs(v) > _FLOAT_EXACT_MAX]
        if not big:
            return pa.float64()
        fits = types == {int} and all(abs(v) <= _INT64_MAX for v in big)
        return pa.int64() if fits else pa.string()
    return pa.string()


_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
# up to this many rows a frame is assembled column by column in pandas (a one-row, 200-column frame in
# ~1 ms instead of ~5 ms through ``Table.to_pandas``, whose fixed cost is per column); above it, the Arrow
# table's conversion is faster. Both give the same frame, dtypes included (tests/test_frames_any_json.py).
SMALL_FRAME_ROWS = 64
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default ``str``
_UTC_MICROS_DTYPE = pd.DatetimeTZDtype("us", "UTC")
_EXTENSION_DTYPES = {pa.string(): _TEXT, pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
                     UTC_MICROS: _UTC_MICROS_DTYPE}


# value types each coercion converts in one Arrow call, value by value alike: columns of one declared type
# whose values are all of these are coerced together in the small-frame path
_CLEAN_TYPES = {pa.float64(): frozenset({float, int, type(None)}), pa.int64(): frozenset({int, type(None)}),
                pa.bool_(): frozenset({bool, type(None)}), pa.string(): frozenset({str, type(None)}),
                UTC_MICROS: frozenset({str, type(None)})}


def _coerce_together(group: list[tuple[str, Any]], arrow_type: pa.DataType, n_rows: int,
                     report: CoercionReport) -> pa.Array:
    """The columns of one type coerced into one Arrow array, one column after the other.

    Clean value lists (see ``_CLEAN_TYPES``) go through :func:`coerce_array` in one call; when that call
    has anything to count (a bad or repaired value), or a column is already an Arrow array, each column
    is coerced on its own, so the report names the right column.
    """
    clean = _CLEAN_TYPES.get(arrow_type, frozenset())
    lists = [values for _, values in group if values is not None]
    if (len(group) > 1 and all(type(values) is list for values in lists)
            and set(map(type, chain.from_iterable(lists))) <= clean):
        flat = list(chain.from_iterable([None] * n_rows if v is None else v for _, v in group))
        scratch = CoercionReport(report.frame)
        together = coerce_array(flat, arrow_type, column="", report=scratch)
        if not scratch:
            return together
    arrays = [pa.nulls(n_rows, type=arrow_type) if values is None
              else coerce_array(values, arrow_type, column=name, report=report) for name, values in group]
    return pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]


@lru_cache(maxsize=256)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    """The columns' Index for a column set, built once (making a text Index costs more than copying one)."""
    return pd.Index(names, dtype=_TEXT)


def _coerced_by_type(specs: Sequence[tuple[str, pa.DataType, Any]], n_rows: int,
                     report: CoercionReport) -> Iterator[tuple[pa.DataType, list[int], pa.Array]]:
    """``(type, positions, array)`` per Arrow type of ``specs``: the columns at ``positions``, of that
    type, coerced together (:func:`_coerce_together`) into one array, one column after the other."""
    by_type: dict[pa.DataType, list[int]] = {}
    for position, (_, arrow_type, _) in enumerate(specs):
        by_type.setdefault(arrow_type, []).append(position)
    for arrow_type, positions in by_type.items():
        yield arrow_type, positions, _coerce_together([(specs[p][0], specs[p][2]) for p in positions],
                                                      arrow_type, n_rows, report)


def _small_frame(specs: Sequence[tuple[str, pa.DataType, Any]], n_rows: int,
                 report: CoercionReport) -> pd.DataFrame:
    """The frame ``Table.to_pandas`` would give, built in pandas directly (the small-payload fast path).

    The fixed cost of a coercion or a conversion is per call, not per value, so the columns of one type
    are coerced and converted together (one Arrow array, one conversion to pandas). The frame is then
    assembled from blocks (``pd.api.internals.create_dataframe_from_blocks``): the float64 and the
    timestamp columns each become one 2-D block as they are (no stacking copy), the extension columns
    (``str``, ``Int64``, ``boolean``) one block per column, cut from their type's array (views, no
    copies). ``specs`` are ``(name, Arrow type, raw values or None)``.
    """
    blocks: list[tuple[Any, np.ndarray]] = []
    placements = np.arange(len(specs), dtype=np.intp)  # a column's placement: a one-item view of these
    for arrow_type, positions, together in _coerced_by_type(specs, n_rows, report):
        dtype = _EXTENSION_DTYPES.get(arrow_type)
        if dtype is None:  # float64: one (columns, rows) block
            values = together.to_numpy(zero_copy_only=False, writable=True)
            blocks.append((values.reshape(len(positions), n_rows), np.array(positions, dtype=np.intp)))
            continue
        converted = dtype.__from_arrow__(together)  # type: ignore[attr-defined]  # pandas-stubs lack it
        if dtype is _UTC_MICROS_DTYPE:  # a DatetimeArray is 2-D capable: one block as well
            blocks.append((converted.reshape(len(positions), n_rows), np.array(positions, dtype=np.intp)))
            continue
        for k, position in enumerate(positions):
            blocks.append((converted[k * n_rows:(k + 1) * n_rows], placements[position:position + 1]))
    names = _column_index(tuple(name for name, _, _ in specs)).copy()  # a copy: ``.name`` is settable
    return create_dataframe_from_blocks(blocks, index=pd.RangeIndex(n_rows), columns=names)


def build_frame(
    columns: Mapping[str, Sequence[Any]],
    schema: pa.Schema,
    *,
    report: CoercionReport,
) -> pd.DataFrame:
    """Build the typed DataFrame of ``schema`` from raw column lists; unknown columns kept after, sorted.

    A column's values are a list of raw Python values (any types) or an Arrow array (used as is when it
    already has the declared type; Arrow text is parsed in C++ for a timestamp column).

    Every declared column is present with its declared dtype (an absent one is all-NA); bad values are
    NA and counted in ``report`` (call ``report.warn()`` once afterwards). Dtypes: timestamps
    ``datetime64[us, UTC]``, text ``str``, float64, ``Int64``, ``boolean``.

    Example:
        >>> import pyarrow as pa
        >>> schema = pa.schema([("id", pa.string()), ("duration", pa.float64())])
        >>> df = build_frame({"id": ["a"], "extra_flag": [True]}, schema, report=CoercionReport("demo"))
        >>> df.dtypes.astype(str).to_dict()
        {'id': 'str', 'duration': 'float64', 'extra_flag': 'boolean'}
    """
    n_rows, specs = _specs(columns, schema)
    if n_rows <= SMALL_FRAME_ROWS:
        frame = _small_frame(specs, n_rows, report)
    else:
        frame = arrow_to_frame(_specs_table(specs, n_rows, report, together=False))
    frame.attrs = {"rtk_frames": {"frame": report.frame, "coercions": report.as_dict()}}
    return frame


def build_table(
    columns: Mapping[str, Sequence[Any]],
    schema: pa.Schema,
    *,
    report: CoercionReport,
) -> pa.Table:
    """The Arrow table of :func:`build_frame`'s frame, built without pandas: the same columns, in the same
    order, the same values and the same coercions counted (timestamps ``timestamp[us, UTC]``, text
    ``string``, ``float64`` with nulls for NA, ``int64``, ``bool``). For code that writes Arrow (the
    dataset's sync): a frame and its conversion back cost more than the coercions themselves.

    Example:
        >>> import pyarrow as pa
        >>> schema = pa.schema([("id", pa.string()), ("duration", pa.float64())])
        >>> table = build_table({"id": ["a"], "duration": ["x"]}, schema, report=CoercionReport("demo"))
        >>> table.to_pydict(), table.schema.field("duration").type
        ({'id': ['a'], 'duration': [None]}, DataType(double))
    """
    n_rows, specs = _specs(columns, schema)
    return _specs_table(specs, n_rows, report, together=n_rows <= SMALL_FRAME_ROWS)


def _specs(columns: Mapping[str, Sequence[Any]],
           schema: pa.Schema) -> tuple[int, list[tuple[str, pa.DataType, Any]]]:
    """The row count and ``(name, Arrow type, raw values or None)`` of every column to build: the
    declared ones in order, then the unknown ones with a value (sorted, their type inferred)."""
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    n_rows = lengths.pop() if lengths else 0
    declared_fields, declared = _fields_of(schema)
    specs: list[tuple[str, pa.DataType, Any]] = [(name, arrow_type, columns.get(name))
                                                 for name, arrow_type in declared_fields]
    for name in sorted(columns.keys() - declared.keys()):
        values = list(columns[name])
        extra_type = _infer_extra(values)
        if extra_type is not None:
            specs.append((name, extra_type, values))
    return n_rows, specs


def _specs_table(specs: Sequence[tuple[str, pa.DataType, Any]], n_rows: int, report: CoercionReport, *,
                 together: bool) -> pa.Table:
    """The columns of ``specs`` coerced into one Arrow table; ``together``: the columns of one type in
    one coercion (see :func:`_coerce_together`), cut into zero-copy slices."""
    arrays: list[Any] = [None] * len(specs)
    if together:
        for _, positions, joined in _coerced_by_type(specs, n_rows, report):
            for k, position in enumerate(positions):
                arrays[position] = joined.slice(k * n_rows, n_rows)
    else:
        arrays = [pa.nulls(n_rows, type=arrow_type) if values is None
                  else coerce_array(values, arrow_type, column=name, report=report)
                  for name, arrow_type, values in specs]
    return pa.Table.from_arrays(arrays, schema=_arrow_schema(tuple((name, t) for name, t, _ in specs)))


@lru_cache(maxsize=256)
def _arrow_schema(fields: tuple[tuple[str, pa.DataType], ...]) -> pa.Schema:
    return pa.schema([pa.field(name, arrow_type) for name, arrow_type in fields])


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of the schemas' types as a frame with the declared pandas dtypes (``Int64`` and
    ``boolean`` for ``int64``/``bool``; timestamps kept in microseconds and UTC whatever pyarrow/pandas
    chose): what :func:`build_frame` gives for its large frames, and the dataset's reader for its rows.

    Example:
        >>> arrow_to_frame(pa.table({"n": pa.array([1, None], pa.int64())}))["n"].dtype
        Int64Dtype()
    """
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and str(frame[field.name].dtype) != "datetime64[us, UTC]":
            frame[field.name] = frame[field.name].astype("datetime64[us, UTC]")
    return frame


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _first_caller_outside_the_package(caller_level: int = 2) -> int:
    """The ``stacklevel`` that points at the first frame outside rtk_frames: the user's line, whether
    they called a flattener or a ``fetch_*`` function. ``caller_level`` is the stacklevel of our caller
    in the warning to come: 2 when it calls :meth:`CoercionReport.warn`, 1 when it warns itself."""
    frame: Any = sys._getframe(1)  # a FrameType, then its f_back: None past the outermost
    level = caller_level
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level - 1 if frame is None else level


def finish(frame: pd.DataFrame, report: CoercionReport) -> pd.DataFrame:
    """Emit the report's one warning (if any, pointing at the user's line) and refresh the frame's
    provenance attrs."""
    frame.attrs = {"rtk_frames": {"frame": report.frame, "coercions": report.as_dict()}}
    if report:
        report.warn(stacklevel=_first_caller_outside_the_package())
    return frame
