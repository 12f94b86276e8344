"""The small-payload fast path of ``build_frame`` gives exactly the frame of the Arrow path.

Frames of up to ``SMALL_FRAME_ROWS`` rows are assembled in pandas directly (columns of one type coerced
and converted together); larger ones go through ``pyarrow.Table.to_pandas``. Whatever the values, both
paths must give the same frame — values, dtypes, column order, index — and count the same coercions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtk_frames.errors import RTKError
from rtk_frames.frames import _coerce
from rtk_frames.frames._coerce import CoercionReport, build_frame, build_table
from tests.test_frames_any_json import FLATTENERS, JSON_VALUES, SAMPLES, mutated_samples

UTC_MICROS = pa.timestamp("us", tz="UTC")
TYPES = [pa.string(), pa.float64(), pa.int64(), pa.bool_(), UTC_MICROS]


@contextlib.contextmanager
def small_frame_rows(limit: int) -> Iterator[None]:
    saved = _coerce.SMALL_FRAME_ROWS
    _coerce.SMALL_FRAME_ROWS = limit
    try:
        yield
    finally:
        _coerce.SMALL_FRAME_ROWS = saved


def both_paths(build: Callable[[], Any]) -> tuple[Any, Any]:
    """(fast path result, Arrow path result) of ``build``; an exception is a result too."""
    results = []
    for limit in (10**9, -1):
        with small_frame_rows(limit), warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                results.append(build())
            except RTKError as error:
                results.append(type(error))
    return results[0], results[1]


def assert_same(fast: Any, arrow: Any) -> None:
    if isinstance(fast, pd.DataFrame) and isinstance(arrow, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, arrow, check_exact=True)
        assert fast.attrs == arrow.attrs  # the same coercions counted, per column
        assert list(fast.columns) == list(arrow.columns)
    else:
        assert fast == arrow


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**63), 2**63 - 1), st.floats(),
    st.text(max_size=6), st.sampled_from(["", "1.5", "true", "no", "7", "2**64", "NaN", "1e999"]),
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.isoformat(timespec="microseconds") + "Z"),
    st.sampled_from(["2023-02-01T10:50:36.846Z\"", "2023-02-01 10:50:36Z", "2023-02-01T10:50:36+05:30",
                     "2023-02-01T10:50:36.1234567Z", "1675248636846", "2023-02-30T00:00:00Z"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@st.composite
def raw_columns(draw: st.DrawFn) -> tuple[dict[str, list[Any]], pa.Schema]:
    n_rows = draw(st.integers(0, 6))
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=8))
    schema = pa.schema([(f"c{i}", t) for i, t in enumerate(types)])
    columns: dict[str, list[Any]] = {}
    for name in schema.names + [f"x{i}" for i in range(draw(st.integers(0, 3)))]:
        if draw(st.integers(0, 4)) == 0:
            continue  # an absent column
        homogeneous = draw(st.booleans())
        value = _VALUES if not homogeneous else st.shared(_VALUES, key=name)
        columns[name] = draw(st.lists(value, min_size=n_rows, max_size=n_rows))
    return columns, schema


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_columns())
def test_the_fast_path_gives_exactly_the_arrow_paths_frame(
        drawn: tuple[dict[str, list[Any]], pa.Schema]) -> None:
    columns, schema = drawn

    def build() -> pd.DataFrame:
        return build_frame(columns, schema, report=CoercionReport("demo"))

    assert_same(*both_paths(build))


@pytest.mark.parametrize("flatten", FLATTENERS, ids=lambda f: f.__name__)
def test_every_flattener_gives_the_same_frame_either_way(flatten: Callable[[Any], pd.DataFrame]) -> None:
    for sample in SAMPLES:
        assert_same(*both_paths(lambda sample=sample: flatten(sample)))

    @settings(max_examples=100, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(payload=st.one_of(mutated_samples(), JSON_VALUES))
    def check(payload: Any) -> None:
        assert_same(*both_paths(lambda: flatten(payload)))

    check()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_columns(), st.booleans())
def test_the_arrow_table_holds_exactly_the_frames_rows(drawn: tuple[dict[str, list[Any]], pa.Schema],
                                                       small: bool) -> None:
    """``build_table`` (what the dataset's sync writes, no pandas on the way) gives the frame's columns,
    values, declared types and counted coercions, on either size path."""
    columns, schema = drawn
    results = []
    with small_frame_rows(10**9 if small else -1), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for build in (build_table, build_frame):
            report = CoercionReport("demo")
            try:
                results.append((build(columns, schema, report=report), report.as_dict()))
            except RTKError as error:
                results.append((type(error), None))
    (table, table_counts), (frame, frame_counts) = results
    if not isinstance(frame, pd.DataFrame):
        assert table == frame
        return
    assert isinstance(table, pa.Table)
    assert table_counts == frame_counts
    assert table.column_names == list(frame.columns)
    assert [table.schema.field(f.name).type for f in schema] == list(schema.types)
    pd.testing.assert_frame_equal(_coerce.arrow_to_frame(table), frame,
                                  check_exact=True)
