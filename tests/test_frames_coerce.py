"""The shared coercions: timestamps, numbers, flags, keys, payload unwrapping, extras, the one warning."""

from __future__ import annotations

import warnings

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtk_frames.errors import CoercionWarning, PayloadError
from rtk_frames.frames._coerce import (
    CoercionReport,
    build_frame,
    normalize_key,
    parse_timestamps,
    unwrap_items,
)

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert(UTC) if pd.Timestamp(text).tzinfo else pd.Timestamp(text, tz=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2023-02-01T10:51:08.039Z", "2023-02-01T10:51:08.039Z"),
    ("2023-02-01T12:51:08.039+02:00", "2023-02-01T10:51:08.039Z"),
    ("2023-02-01 10:51:08.039Z", "2023-02-01T10:51:08.039Z"),
    ("2023-02-01T10:51:08", "2023-02-01T10:51:08Z"),  # naive: the API speaks UTC
    ("2023-02-01T10:51:08.123456789Z", "2023-02-01T10:51:08.123456Z"),  # ns truncated to µs
    (1675248668039, "2023-02-01T10:51:08.039Z"),  # epoch milliseconds
    ("1675248668039", "2023-02-01T10:51:08.039Z"),  # ... as text
    (1675248668, "2023-02-01T10:51:08Z"),  # epoch seconds
])
def test_timestamp_spellings_name_the_same_instant_without_a_warning(raw, expected):
    report = CoercionReport("t")
    parsed = parse_timestamps([raw], column="t", report=report)
    assert parsed.tolist() == [ts(expected)]
    assert str(parsed.dtype) == "datetime64[us, UTC]"
    assert report.as_dict() == {}


def test_the_seeds_stray_quote_is_repaired_and_counted_as_a_repair():
    report = CoercionReport("participants_frame")
    parsed = parse_timestamps(['2023-02-01T10:50:36.846Z"'], column="joined_at", report=report)
    assert parsed.tolist() == [ts("2023-02-01T10:50:36.846Z")]
    assert report.as_dict() == {"joined_at: repaired timestamp: stray characters stripped": 1}


def test_empty_and_null_timestamps_are_nat_and_not_counted_but_garbage_is():
    report = CoercionReport("t")
    parsed = parse_timestamps(["", None, "timestamp", "2023-13-45T99:00:00Z", True], column="t",
                              report=report)
    assert parsed.isna().all()
    assert report.as_dict() == {"t: unparseable timestamp": 3}


def test_one_garbage_value_in_a_long_clean_column_changes_only_that_value():
    clean = [f"2023-02-01T10:{m:02d}:00.000Z" for m in range(60)] * 100
    dirty = [*clean]
    dirty[1234] = "garbage"
    report = CoercionReport("t")
    good = parse_timestamps(clean, column="t", report=CoercionReport("t"))
    bad = parse_timestamps(dirty, column="t", report=report)
    assert bad.isna().sum() == 1 and pd.isna(bad[1234])
    pd.testing.assert_series_equal(bad.drop(index=1234), good.drop(index=1234))
    assert report.as_dict() == {"t: unparseable timestamp": 1}


def test_one_warning_per_call_lists_every_column_and_reason():
    schema = pa.schema([("t", pa.timestamp("us", UTC)), ("q", pa.float64()), ("n", pa.int64())])
    report = CoercionReport("quality_stats_frame")
    build_frame({"t": ["x", "y", "2023-02-01T10:50:36.846Z"], "q": ["fast", 1, 2], "n": [1.5, 2, 3]}, schema,
                report=report)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.warn()
    assert len(caught) == 1 and caught[0].category is CoercionWarning
    assert str(caught[0].message) == (
        "quality_stats_frame: 4 values set to NA: t ×2 (unparseable timestamp), "
        "q ×1 (not a number), n ×1 (not an integer)")


def test_nothing_counted_means_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CoercionReport("clean").warn()


def test_numbers_as_text_are_read_and_integers_stay_exact_beyond_2_to_the_53():
    schema = pa.schema([("x", pa.float64()), ("n", pa.int64())])
    frame = build_frame({"x": ["6.9263", 7], "n": [2**53 + 1, str(2**62 + 3)]}, schema,
                        report=CoercionReport("d"))
    assert frame["x"].tolist() == [6.9263, 7.0]
    assert [int(v) for v in frame["n"]] == [2**53 + 1, 2**62 + 3]
    assert str(frame["n"].dtype) == "Int64"


@pytest.mark.parametrize(("raw", "expected"), [
    (True, True), ("false", False), ("webgl2", True), ("supported", True), (0, False), ("maybe", None),
])
def test_flags_accept_booleans_words_and_webgl_capability_text(raw, expected):
    frame = build_frame({"f": [raw]}, pa.schema([("f", pa.bool_())]), report=CoercionReport("d"))
    assert str(frame["f"].dtype) == "boolean"
    assert (None if pd.isna(frame["f"][0]) else bool(frame["f"][0])) == expected


def test_text_columns_take_any_value_and_lists_become_json_text():
    frame = build_frame({"id": [123, 4.0, True, {"a": [1, 2]}, None]}, pa.schema([("id", pa.string())]),
                        report=CoercionReport("d"))
    assert frame["id"].tolist()[:4] == ["123", "4", "true", '{"a":[1,2]}']
    assert pd.isna(frame["id"][4])


def test_unknown_columns_come_after_the_declared_ones_sorted_with_best_effort_dtypes():
    schema = pa.schema([("id", pa.string())])
    frame = build_frame(
        {"zeta": [1, 2.5], "alpha": ["a", None], "flag": [True, None], "tags": ["[1,2]", None],
         "all_null": [None, None], "id": ["x", "y"]}, schema, report=CoercionReport("d"))
    assert list(frame.columns) == ["id", "alpha", "flag", "tags", "zeta"]
    assert frame.dtypes.astype(str).to_dict() == {"id": "str", "alpha": "str", "flag": "boolean",
                                                  "tags": "str", "zeta": "float64"}


def test_an_absent_declared_column_is_all_na_of_its_dtype():
    schema = pa.schema([("a", pa.timestamp("us", UTC)), ("b", pa.int64()), ("c", pa.string())])
    frame = build_frame({"b": [1, 2]}, schema, report=CoercionReport("d"))
    assert frame["a"].isna().all() and str(frame["a"].dtype) == "datetime64[us, UTC]"
    assert frame["c"].isna().all() and str(frame["c"].dtype) == "str"


@pytest.mark.parametrize(("wire", "column"), [
    ("joinedAt", "joined_at"), ("throughtput", "throughput"),
    ("effective_networktype", "effective_network_type"),
    ("r_t_t", "rtt"), ("backend_r_t_t", "backend_rtt"), ("IPInformation", "ip_information"),
    ("10_or_greater_event_fraction", "10_or_greater_event_fraction"),
    ("api_10_or_greater_event_fraction", "10_or_greater_event_fraction"), ("a.b", "a_b"),
])
def test_wire_keys_become_snake_case_column_parts(wire, column):
    assert normalize_key(wire) == column


def test_payloads_unwrap_from_a_response_its_data_or_a_list_of_them():
    session = {"id": "s1"}
    assert unwrap_items({"data": {"session": session}, "success": True}, "sessions",
                        single_keys=("session",)) == [session]
    assert unwrap_items({"data": session, "success": True}, "sessions", single_keys=("session",)) == [session]
    page = {"data": {"sessions": [session, {"id": "s2"}]}, "paging": {"total_count": 2}, "success": True}
    assert unwrap_items([page, page["data"]], "sessions") == [session, {"id": "s2"}] * 2
    assert unwrap_items({"data": None, "success": True}, "sessions") == []


def test_an_error_answer_is_a_payload_error_not_a_row_and_empty_answers_are_no_rows():
    with pytest.raises(PayloadError, match="Session not found"):
        error = {"code": 404, "message": "Session not found"}
        unwrap_items({"success": False, "errors": [error]}, "sessions")
    assert unwrap_items({}, "sessions") == []
    assert unwrap_items({"success": True}, "sessions") == []
    body = b'{"data": {"sessions": [{"id": "a"}]}, "success": true}'
    assert unwrap_items(body, "sessions") == [{"id": "a"}]


# --- the fast paths of flatten_record and normalized against their plain definitions ---------------------

def _flatten_reference(obj, prefix="", out=None, skip=()):
    """flatten_record as first written: normalise every key, then recurse, JSON-text lists."""
    from rtk_frames.frames._coerce import _json_text, plain

    result = {} if out is None else out
    for raw_key, value in obj.items():
        key = normalize_key(raw_key)
        if key in set(skip):
            continue
        name = f"{prefix}_{key}" if prefix else key
        value = plain(value)
        if isinstance(value, dict):
            if value:
                _flatten_reference(value, name, result)
            elif name not in result:
                result[name] = None
        elif isinstance(value, list | tuple):
            result[name] = _json_text(value) if value else None
        elif value is not None or name not in result:
            result[name] = value
    return result


def _normalized_reference(obj):
    out = {}
    for key, value in obj.items():
        name = normalize_key(key)
        if out.get(name) is None:
            out[name] = value
    return out


_KEYS = st.sampled_from(["id", "peerId", "peer_id", "deviceInfo", "device_info", "isMobile", "a.b", "x",
                         "API_10_or_greater", "throughtput", "backend_r_t_t", "ok"])
_SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
_JSON = st.recursive(_SCALAR,
                     lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
                     | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(obj=st.dictionaries(_KEYS, _JSON, max_size=6), prefix=st.sampled_from(["", "p", "quality_stats"]),
       skip=st.sampled_from([(), ("peer_id",), ("device_info", "id")]))
def test_flatten_record_and_normalized_are_their_plain_definitions(obj, prefix, skip):
    from rtk_frames.frames._coerce import flatten_record, normalized

    for _ in range(2):  # the second time from the name caches
        ours, reference = flatten_record(obj, prefix, skip=skip), _flatten_reference(obj, prefix, skip=skip)
        assert ours == reference and list(ours) == list(reference)
        assert normalized(obj) == _normalized_reference(obj)
        assert list(normalized(obj)) == list(_normalized_reference(obj))


_NUMBER = (st.none() | st.integers() | st.integers(min_value=-2**64, max_value=2**64)
           | st.floats() | st.sampled_from([0.0, -0.0, 12.0, 2.0**53, 2.0**63, -2.0**63, 1e300]))


@settings(max_examples=400, deadline=None)
@given(values=st.lists(_NUMBER | st.booleans() | st.sampled_from(["7", " 8 ", "x", ""]), max_size=12),
       kind=st.sampled_from(["int64", "float64"]))
def test_numeric_columns_read_in_c_equal_the_value_by_value_reading(values, kind):
    """The fast paths (whole columns of ints and floats converted by Arrow) give exactly the values and
    the counts of reading each value on its own, the definition: integral floats become integers, NaN is
    missing, a fraction, an infinity or an out-of-range value is missing and counted."""
    from rtk_frames.frames._coerce import (
        _integer_or_none,
        _number_or_none,
        _per_value,
        coerce_array,
    )

    arrow_type = pa.int64() if kind == "int64" else pa.float64()
    convert, reason = (_integer_or_none, "not an integer") if kind == "int64" else (_number_or_none,
                                                                                       "not a number")
    fast, slow = CoercionReport("fast"), CoercionReport("slow")
    ours = coerce_array(list(values), arrow_type, column="c", report=fast)
    reference = _per_value(list(values), convert, arrow_type, "c", reason, slow)
    assert ours.type == arrow_type
    assert ours.to_pylist() == reference.to_pylist()
    assert fast.as_dict() == slow.as_dict()
