"""The dataset's schema-drift policy, as properties: any frame in, exactly the table's schema out.

Declared columns keep their values in their declared types; a declared column the frame lacks is null;
every other column's non-null values survive, per row, as JSON in ``extras``; ``session_id`` is filled.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtk_frames as rtk
from rtk_frames.dataset.tables import EXTRAS_COLUMN, TABLES, conform, frame_to_arrow, table_schema, to_pandas
from tests.test_frames_any_json import mutated_samples  # (imported outside any @given)

_VALUES = {
    pa.string(): st.one_of(st.none(), st.text(max_size=8)),
    pa.float64(): st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
    pa.int64(): st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    pa.bool_(): st.one_of(st.none(), st.booleans()),
    pa.timestamp("us", tz="UTC"): st.one_of(st.none(), st.integers(0, 4_000_000_000_000_000)),
}
_EXTRA_KINDS = [st.integers(-(2**53), 2**53), st.text(max_size=6), st.booleans(),
                st.floats(allow_nan=False, allow_infinity=False)]  # an extra column holds one type


@st.composite
def tables_with_drift(draw):
    table = draw(st.sampled_from(TABLES))
    schema = table_schema(table)
    declared = [f for f in schema if f.name != EXTRAS_COLUMN]
    kept = draw(st.lists(st.sampled_from(declared), unique_by=lambda f: f.name, max_size=8))
    extras = draw(st.lists(st.from_regex(r"new_[a-z]{1,6}", fullmatch=True), unique=True, max_size=3))
    n = draw(st.integers(0, 4))
    columns = {f.name: pa.array([draw(_VALUES[f.type]) for _ in range(n)], type=f.type) for f in kept}
    for name in extras:
        values = st.one_of(st.none(), draw(st.sampled_from(_EXTRA_KINDS)))
        columns[name] = pa.array([draw(values) for _ in range(n)])
    return table, pa.table(columns) if columns else pa.table({"_": pa.nulls(n)}).drop(["_"]), extras


@settings(max_examples=300, deadline=None)
@given(tables_with_drift(), st.one_of(st.none(), st.text(min_size=1, max_size=5)))
def test_conform_gives_the_table_schema_and_loses_no_value(drawn, session_id):
    table, data, extras = drawn
    out = conform(data, table, session_id=session_id)
    schema = table_schema(table)
    assert out.schema.equals(schema) and out.num_rows == data.num_rows
    for field in schema:
        if field.name == EXTRAS_COLUMN:
            continue
        if field.name in data.column_names and field.name != "session_id":
            assert out.column(field.name).to_pylist() == data.column(field.name).to_pylist()
        elif field.name not in data.column_names and field.name != "session_id":
            assert out.column(field.name).null_count == data.num_rows
    if session_id is not None:
        assert out.column("session_id").null_count == 0
    for row, text in enumerate(out.column(EXTRAS_COLUMN).to_pylist()):
        expected = {name: data.column(name)[row].as_py() for name in extras
                    if data.column(name)[row].as_py() is not None}
        assert (json.loads(text) if text is not None else {}) == expected


def test_a_frame_round_trips_through_the_dataset_types():
    frame = pd.DataFrame({
        "session_id": pd.Series(["s1", None], dtype="str"),
        "participant_id": pd.Series(["p1", "p2"], dtype="str"),
        "timestamp": pd.Series(pd.to_datetime(["2026-11-16T10:00:00Z", None], utc=True)).astype(
            "datetime64[us, UTC]"),
        "quality": [80.5, None],
        "later_field": [7, None],
    })
    data = frame_to_arrow(frame, "quality_stats", session_id="s9")
    back = to_pandas(data)
    assert back["session_id"].tolist() == ["s1", "s9"]
    assert back["timestamp"].dtype == "datetime64[us, UTC]" and back["quality"].dtype == "float64"
    assert back[EXTRAS_COLUMN].tolist()[0] == '{"later_field": 7.0}' and pd.isna(back[EXTRAS_COLUMN][1])


_MICROS = st.lists(st.one_of(st.none(), st.integers(0, 4_000_000_000_000_000)))
_FRAME_COLUMNS = {
    "float64": st.lists(st.one_of(st.none(), st.floats(width=64))),  # NaN and inf included
    "str": st.lists(st.one_of(st.none(), st.text(max_size=6))),
    "Int64": st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))),
    "boolean": st.lists(st.one_of(st.none(), st.booleans())),
    "datetime64[us, UTC]": _MICROS,
    "datetime64[ns, Europe/Berlin]": _MICROS,
    "datetime64[us, dateutil/Europe/Berlin]": _MICROS,  # a zone pyarrow names its own way
    "object": st.lists(st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3))),
}


@st.composite
def typed_frames(draw):
    n = draw(st.integers(0, 5))
    kinds = draw(st.lists(st.sampled_from(sorted(_FRAME_COLUMNS)), max_size=8))
    columns = {}
    for position, kind in enumerate(kinds):
        values = (draw(_FRAME_COLUMNS[kind]) + [None] * n)[:n]
        if kind.startswith("datetime64"):
            series = pd.Series(pd.to_datetime(pd.array(values, dtype="Int64"), unit="us", utc=True))
        elif kind == "float64":
            series = pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
        else:
            series = pd.Series(values, dtype=kind)
        name = f"c{position}_{kind.split('[')[0].lower()}"
        columns[name] = series if kind == "object" else series.astype(kind)
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


@settings(max_examples=300, deadline=None)
@given(typed_frames())
def test_the_fast_frame_conversion_equals_table_from_pandas(frame):
    """``frame_to_arrow``'s own frame -> Arrow step (float64 columns as one block) gives exactly what
    ``pa.Table.from_pandas`` gives: same columns, types, values and nulls (NaN -> null included). Where
    that fails (an object column of mixed kinds), the column is typed as a frame types an unknown one."""
    from rtk_frames.dataset.tables import _frame_arrow
    from rtk_frames.frames._coerce import extra_array

    try:
        expected = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a mixed object column (pandas joined several frames)
        ours = _frame_arrow(frame)  # does not fail: that column is typed as a frame types an unknown one
        assert ours.column_names == list(frame.columns) and ours.num_rows == len(frame)
        for name in frame.columns:
            try:
                want = pa.Table.from_pandas(frame[[name]], preserve_index=False).column(0).combine_chunks()
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                want = extra_array([None if v is None or v is pd.NA or v != v else v for v in frame[name]])
            assert ours.column(name).combine_chunks().equals(want), name
        return
    assert _frame_arrow(frame).equals(expected)


@settings(max_examples=100, deadline=None)
@given(typed_frames())
def test_column_arrays_are_the_columns_whichever_way_pandas_gives_them(frame):
    """The arrays ``_frame_arrow`` reads (pandas' own column iterator) are the columns, in order, with
    their dtypes: the same as the one-by-one fallback for a pandas without that iterator."""
    from rtk_frames.dataset.tables import _column_arrays, _column_arrays_one_by_one

    fast, slow = _column_arrays(frame), _column_arrays_one_by_one(frame)
    assert len(fast) == len(slow) == frame.shape[1]
    for (name, column), a, b in zip(frame.items(), fast, slow, strict=True):
        assert a.dtype == b.dtype == column.dtype
        assert pd.Series(a, dtype=column.dtype).equals(column.reset_index(drop=True)), name
        assert pd.Series(b, dtype=column.dtype).equals(column.reset_index(drop=True)), name


def test_frames_with_different_columns_join_in_arrow_as_pandas_would_join_them(sample_api):
    """A commit's events come from details answers and peer reports (different columns): joined run by
    run in Arrow, the rows, their order, every column and the extras JSON are what one pandas concat and
    one conversion give."""
    from rtk_frames.dataset.batch import _as_arrow

    client = sample_api.client()
    session_id = client.get_sessions()["data"]["sessions"][0]["id"]
    people = [p["id"] for p in client.get_session_participants(session_id)["data"]["participants"]]
    details = [client.get_session_participant_details(session_id, p, include_peer_events=True)
               for p in people]
    reports = [client.get_participant_data_from_peer_id(p) for p in people]
    from_details = rtk.peer_events_frame(details).assign(session_id=session_id)
    from_reports = rtk.peer_events_frame(reports).assign(session_id=session_id)
    assert list(from_details.columns) != list(from_reports.columns)
    assert len(from_details) and len(from_reports)
    frames = [from_details, from_reports, from_details.head(3)]
    joined = _as_arrow(frames, "peer_events")
    assert joined.equals(frame_to_arrow(pd.concat(frames, ignore_index=True), "peer_events"))
    assert joined.num_rows == sum(map(len, frames))


# the flatteners whose rows the sync builds as Arrow, and the dataset table each fills
_ARROW_ROWS = {"participants_frame": "participants", "participant_frame": "participant_details",
               "peer_events_frame": "peer_events",
               "quality_stats_frame": "quality_stats", "quality_segments_frame": "quality_segments",
               "peer_report_frame": "peer_reports", "peer_report_series_frame": "peer_report_series"}


@pytest.mark.parametrize("frame_name", sorted(_ARROW_ROWS))
def test_the_syncs_arrow_rows_are_the_in_memory_frames_rows(frame_name):
    """The sync builds these flatteners' rows as Arrow (``X_rows(...).table()``), never as a frame. In
    the dataset's schema they must be exactly what the frame converts to, extras JSON included, for the
    sample payloads and for any mutation of them (``tests/test_frames_any_json.py``'s)."""
    import importlib
    import warnings

    from hypothesis import HealthCheck

    from rtk_frames.errors import RTKError
    from tests.test_frames_any_json import SAMPLES, mutated_samples

    frame_fn = getattr(rtk, frame_name)
    rows_fn = getattr(importlib.import_module(frame_fn.__module__), frame_name.replace("_frame", "_rows"))
    table = _ARROW_ROWS[frame_name]

    def both(payload):
        out = []
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            for build in (lambda: conform(rows_fn(payload).table(), table),
                          lambda: frame_to_arrow(frame_fn(payload), table)):
                try:
                    out.append(build())
                except RTKError as error:
                    out.append(type(error))
        return out

    stored = 0
    for sample in SAMPLES:
        arrow, converted = both(sample)
        assert arrow == converted if not isinstance(arrow, pa.Table) else arrow.equals(converted), frame_name
        stored += arrow.num_rows if isinstance(arrow, pa.Table) else 0
    assert stored, f"no sample gives {frame_name} rows: the check would be empty"

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(payload=mutated_samples())
    def check(payload):
        arrow, converted = both(payload)
        if isinstance(arrow, pa.Table):
            assert arrow.equals(converted), (arrow.to_pydict(), converted.to_pydict())
        else:
            assert arrow == converted

    check()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_participant_lists_built_together_are_the_frames_rows(data):
    """The sync keeps each session's participant list as rows not yet built and builds a commit's lists
    together (``Flat.joined``): the rows, their order, every column and the extras JSON are those of each
    session's frame, joined by pandas and converted. Payloads: the samples and any mutation of them."""
    import warnings

    from rtk_frames.dataset.batch import _as_arrow
    from rtk_frames.errors import RTKError
    from rtk_frames.frames.participants import participants_rows

    pages = data.draw(st.lists(mutated_samples(), min_size=1, max_size=4))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            parts = [(participants_rows(page, session_id=f"s{i}"),
                      rtk.participants_frame(page, session_id=f"s{i}")) for i, page in enumerate(pages)]
        except RTKError:  # not a participant list: neither way gives rows
            return
        joined = _as_arrow([rows for rows, _ in parts], "participants")
        expected = frame_to_arrow(pd.concat([frame for _, frame in parts], ignore_index=True), "participants")
    assert joined.num_rows == sum(len(frame) for _, frame in parts)
    assert joined.equals(expected), (joined.to_pydict(), expected.to_pydict())


@pytest.mark.parametrize("part", ["core", "peer_reports"])
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_answers_made_rows_one_by_one_and_built_together_are_one_calls_rows(part, data):
    """The writer makes each session's answers rows as it arrives, and an absorb builds many sessions'
    rows together (``Flat.joined``, Arrow arrays and lists mixed): the tables must be those of one
    flattener call over all the answers, for the samples and any mutation of them."""
    import warnings

    from rtk_frames.dataset.batch import ROWS_OF_PART, built
    from rtk_frames.errors import RTKError
    from rtk_frames.frames._coerce import Flat

    rows_of = ROWS_OF_PART[part]
    payloads = data.draw(st.lists(mutated_samples(), min_size=1, max_size=4))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            one_by_one = [rows_of([payload]) for payload in payloads]
            expected = built(rows_of(payloads))
        except RTKError:  # a body no flattener reads: the session fails either way
            return
        together = built({name: Flat.joined([rows[name] for rows in one_by_one]) for name in one_by_one[0]})
    assert together.keys() == expected.keys()
    for table, rows in together.items():
        assert rows.equals(expected[table]), (table, rows.to_pydict(), expected[table].to_pydict())


@pytest.mark.parametrize("part", ["core", "peer_reports"])
def test_every_pair_of_sample_answers_built_together_is_one_calls_rows(part):
    """The same, exhaustively over ordered pairs of the sample answers (and all of them at once): pairs
    whose samples columns come as Arrow arrays (the fast path) and as lists meet here."""
    import itertools
    import warnings

    from rtk_frames.dataset.batch import ROWS_OF_PART, built
    from rtk_frames.errors import RTKError
    from rtk_frames.frames._coerce import Flat
    from tests.test_frames_any_json import SAMPLES

    rows_of = ROWS_OF_PART[part]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        readable = []
        for sample in SAMPLES:
            try:
                readable.append((sample, rows_of([sample])))
            except RTKError:
                continue
        groups = [list(pair) for pair in itertools.permutations(readable, 2)] + [readable]
        arrow_columns = 0
        for group in groups:
            one_by_one = [rows for _, rows in group]
            together = built({name: Flat.joined([rows[name] for rows in one_by_one])
                              for name in one_by_one[0]})
            expected = built(rows_of([sample for sample, _ in group]))
            for table, rows in together.items():
                assert rows.equals(expected[table]), (table, rows.to_pydict(), expected[table].to_pydict())
            arrow_columns += sum(isinstance(values, pa.Array) for rows in one_by_one for flat in rows.values()
                                 for values in flat.columns.values())
    assert arrow_columns, "no Arrow-array columns met: the check would miss that path"


def test_frames_whose_unknown_field_changes_kind_between_sessions_join_without_failing():
    """Two sessions' frames with an unknown field that is a flag in one and text in the other: pandas
    joins them into a mixed object column, which Arrow alone cannot convert. The commit must not fail:
    the column is typed as one frame types such a column (text), and every row keeps its value."""
    from rtk_frames.dataset.batch import _as_arrow

    def frame(participant_id, is_final, session_id):
        page = {"data": {"participants": [{"id": participant_id, "isFinal": is_final}]}}
        return rtk.participants_frame(page, session_id=session_id)

    a, b = frame("p1", True, "s1"), frame("p2", "maybe", "s2")
    assert a["is_final"].dtype != b["is_final"].dtype
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        pa.Table.from_pandas(pd.concat([a, b], ignore_index=True)[["is_final"]])
    joined = _as_arrow([a, b], "participants")
    assert joined.column("session_id").to_pylist() == ["s1", "s2"]
    assert [json.loads(e)["is_final"] for e in joined.column(EXTRAS_COLUMN).to_pylist()] == ["true", "maybe"]


@pytest.mark.parametrize("rows", [10, 200_000])
def test_small_files_are_snappy_big_ones_zstd_and_both_read_back_exactly(tmp_path, rows):
    """Arrow's zstd codec costs a context per page (about doubling a small wide file's write time), so a
    file under SMALL_FILE_BYTES is snappy; a bigger one keeps zstd's smaller size. Either way the rows
    read back exactly."""
    from rtk_frames.dataset.write import (
        PARQUET_COMPRESSION,
        SMALL_FILE_BYTES,
        SMALL_FILE_COMPRESSION,
        write_parquet,
    )

    data = pa.table({"session_id": [f"s{i % 97}" for i in range(rows)],
                     "value": pa.array([i * 0.5 for i in range(rows)], pa.float64())})
    target = tmp_path / "one.parquet"
    write_parquet(data, target)
    codecs = {pq.ParquetFile(target).metadata.row_group(0).column(i).compression for i in range(2)}
    small = data.nbytes < SMALL_FILE_BYTES
    assert codecs == {(SMALL_FILE_COMPRESSION if small else PARQUET_COMPRESSION).upper()}
    assert small == (rows == 10)
    assert pq.read_table(target).equals(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["2026-11-16", "2026-11-17", "2026-12-31", "2027-01-01"]), max_size=40))
def test_rows_handed_to_the_commit_go_to_their_day_none_lost_none_invented_in_their_order(days):
    from rtk_frames.dataset.batch import _by_day

    rows = pa.table({"n": list(range(len(days))), "day": days})
    grouped = _by_day(rows, pa.array(days, pa.string()))
    assert [day for day, _ in grouped] == sorted(set(days))  # each day once, in order
    for day, part in grouped:
        assert part.column("day").to_pylist() == [day] * part.num_rows
        assert part.column("n").to_pylist() == [n for n, d in enumerate(days) if d == day]  # their order
    assert sum(part.num_rows for _, part in grouped) == len(days)
