"""Properties of every API flattener over generated API-shaped payloads (tests/strategies.py).

Whatever arrives — missing, null, extra, wrong-typed fields, either key spelling — a flattener never
raises, makes one row per item, keeps its declared columns and dtypes, warns at most once, round-trips
through parquet, gives a batch equal to the concat of its singles, and reads an SDK model like the dict.
"""

from __future__ import annotations

import dataclasses
import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from cloudflare.types.realtime_kit import (
    SessionGetParticipantDataFromPeerIDResponse,
    SessionGetSessionDetailsResponse,
    SessionGetSessionParticipantDetailsResponse,
    SessionGetSessionParticipantsResponse,
    SessionGetSessionsResponse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning
from rtk_frames.frames._coerce import CoercionReport, build_frame, sample_columns
from rtk_frames.schemas import SCHEMAS
from tests import strategies as gen

SEED_DIR = Path(__file__).resolve().parents[1] / "data_samples" / "seed"
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclasses.dataclass(frozen=True)
class Case:
    frame: Callable[[Any], pd.DataFrame]
    schema: str
    payloads: Callable[..., st.SearchStrategy[gen.Generated]]
    model: type
    rows: str = ""
    examples: int = 25  # wide frames (hundreds of columns) are slow to round-trip: fewer examples

    @property
    def rows_key(self) -> str:
        return self.rows or self.schema

    def __str__(self) -> str:
        return f"{self.frame.__name__}[{self.payloads.__name__}]"


CASES = [
    Case(rtk.sessions_frame, "sessions", gen.sessions_payloads, SessionGetSessionsResponse),
    Case(rtk.session_frame, "session", gen.session_details_payloads, SessionGetSessionDetailsResponse),
    Case(rtk.breakout_rooms_frame, "breakout_rooms", gen.session_details_payloads,
         SessionGetSessionDetailsResponse),
    Case(rtk.participants_frame, "participants", gen.participants_payloads,
         SessionGetSessionParticipantsResponse),
    Case(rtk.peer_events_frame, "peer_events", gen.participants_payloads,
         SessionGetSessionParticipantsResponse),
    Case(rtk.participant_frame, "participant", gen.participant_details_payloads,
         SessionGetSessionParticipantDetailsResponse, examples=12),
    Case(rtk.quality_stats_frame, "quality_stats", gen.participant_details_payloads,
         SessionGetSessionParticipantDetailsResponse),
    Case(rtk.quality_segments_frame, "quality_segments", gen.participant_details_payloads,
         SessionGetSessionParticipantDetailsResponse),
    Case(rtk.peer_events_frame, "peer_events", gen.participant_details_payloads,
         SessionGetSessionParticipantDetailsResponse),
    Case(rtk.peer_report_frame, "peer_report", gen.peer_report_payloads,
         SessionGetParticipantDataFromPeerIDResponse, examples=8),
    Case(rtk.peer_report_series_frame, "peer_report_series", gen.peer_report_payloads,
         SessionGetParticipantDataFromPeerIDResponse),
    Case(rtk.peer_events_frame, "peer_events", gen.peer_report_payloads,
         SessionGetParticipantDataFromPeerIDResponse),
]
_PANDAS_DTYPE = {pa.string(): "str", pa.float64(): "float64", pa.int64(): "Int64", pa.bool_(): "boolean",
                 pa.timestamp("us", tz="UTC"): "datetime64[us, UTC]"}


def flatten_quietly(case: Case, payload: Any) -> tuple[pd.DataFrame, list[warnings.WarningMessage]]:
    """Build the frame, collecting warnings; anything but a CoercionWarning fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = case.frame(payload)
    others = [w for w in caught if not issubclass(w.category, CoercionWarning)]
    assert not others, [str(w.message) for w in others]
    return frame, caught


def declared(frame: pd.DataFrame, schema: str) -> pd.DataFrame:
    return frame[SCHEMAS[schema].names]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_any_payload_gives_the_declared_frame(case: Case) -> None:
    @settings(SETTINGS, max_examples=case.examples)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        generated = data.draw(case.payloads(messy=True))
        frame, caught = flatten_quietly(case, generated.payload)

        assert len(frame) == generated.rows[case.rows_key]
        assert len(caught) <= 1  # one warning per call, whatever the number of bad values
        schema = SCHEMAS[case.schema]
        assert list(frame.columns[: len(schema)]) == schema.names
        assert {name: str(frame[name].dtype) for name in schema.names} == {
            f.name: _PANDAS_DTYPE[f.type] for f in schema}
        extras = list(frame.columns[len(schema):])
        assert extras == sorted(extras)
        assert all(str(frame[name].dtype) != "object" for name in frame.columns)
        assert all("." not in name for name in frame.columns)
        provenance = frame.attrs["rtk_frames"]
        assert provenance["frame"] == f"{case.frame.__name__}"
        assert bool(caught) == bool(provenance["coercions"])
        assert len(json.dumps(frame.attrs)) < 4096

        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(buffer.getvalue())), frame)

    check()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_batch_equals_the_concat_of_its_singles(case: Case) -> None:
    @settings(SETTINGS, max_examples=case.examples)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        batch = data.draw(st.lists(case.payloads(messy=True), min_size=1, max_size=3))
        payloads = [g.payload for g in batch]
        whole, _ = flatten_quietly(case, payloads)
        singles = [flatten_quietly(case, p)[0] for p in payloads]

        expected = pd.concat([declared(s, case.schema) for s in singles], ignore_index=True)
        pd.testing.assert_frame_equal(declared(whole, case.schema), expected)
        n_declared = len(SCHEMAS[case.schema])
        assert set(whole.columns[n_declared:]) == {c for s in singles for c in s.columns[n_declared:]}

    check()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_sdk_model_reads_like_its_dict(case: Case) -> None:
    @settings(SETTINGS, max_examples=case.examples)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        generated = data.draw(case.payloads(messy=False, sdk=True))
        model = case.model.model_validate(generated.payload)
        from_dict, _ = flatten_quietly(case, generated.payload)
        from_model, _ = flatten_quietly(case, model)
        pd.testing.assert_frame_equal(from_model, from_dict)

    check()


# ------------------------------------------------------------------------------------ value coercions
_GARBAGE_NUMBERS = {"n/a", "fast", "1,5"}


@SETTINGS
@given(values=st.lists(gen.numbers(messy=True), max_size=30))
def test_a_number_is_na_exactly_when_it_was_missing_or_garbage_and_only_garbage_is_counted(values):
    report = CoercionReport("numbers")
    frame = build_frame({"x": values}, pa.schema([("x", pa.float64())]), report=report)

    garbage = [isinstance(v, bool) or v in _GARBAGE_NUMBERS for v in values]
    missing = [v is None or v == "" for v in values]
    assert frame["x"].isna().tolist() == [g or m for g, m in zip(garbage, missing, strict=True)]
    assert report.as_dict().get("x: not a number", 0) == sum(garbage)
    numeric = [float(v) for v, g, m in zip(values, garbage, missing, strict=True) if not (g or m)]
    assert frame["x"].dropna().tolist() == numeric


@SETTINGS
@given(values=st.lists(gen.counters(messy=False), max_size=20))
def test_big_counters_stay_exact_beyond_2_to_the_53(values):
    frame = build_frame({"n": values}, pa.schema([("n", pa.int64())]), report=CoercionReport("n"))
    assert [None if pd.isna(v) else int(v) for v in frame["n"]] == [
        None if v is None else int(v) for v in values]


@SETTINGS
@given(moments=st.lists(gen.iso_timestamps(), max_size=20), junk_at=st.integers(0, 20))
def test_iso_timestamps_parse_to_the_instant_they_name(moments, junk_at):
    values = [*moments]
    values.insert(min(junk_at, len(values)), "garbage")
    report = CoercionReport("t")
    parsed = rtk.frames._coerce.parse_timestamps(values, column="t", report=report)

    assert str(parsed.dtype) == "datetime64[us, UTC]"
    expected = [pd.NaT if v == "garbage" else pd.Timestamp(v.replace(" ", "T")).tz_convert("UTC")
                for v in values]
    assert parsed.tolist() == expected
    assert report.as_dict() == {"t: unparseable timestamp": 1}


# ------------------------------------------------------------------------------------ the seed examples
SEED_CASES = [
    ("get_sessions", rtk.sessions_frame, 1), ("get_session_details", rtk.session_frame, 1),
    ("get_session_details", rtk.breakout_rooms_frame, 1),
    ("get_session_participants", rtk.participants_frame, 2),
    ("get_session_participant_details", rtk.participant_frame, 1),
    ("get_session_participant_details", rtk.quality_stats_frame, 2),
    ("get_session_participant_details", rtk.quality_segments_frame, 1),
    ("get_session_participant_details", rtk.peer_events_frame, 1),
    ("get_participant_data_from_peer_id", rtk.peer_report_frame, 1),
    ("get_participant_data_from_peer_id", rtk.peer_report_series_frame, 8),  # 8 sample lists of [{}] / [{…}]
    ("get_participant_data_from_peer_id", rtk.peer_events_frame, 2),  # peer_stats.events + metadata.events
    ("get_participant_data_from_peer_id", rtk.quality_stats_frame, 2),  # quality_stats.{audio,video}_stats
]


@pytest.mark.parametrize(("name", "frame", "rows"), SEED_CASES,
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_seed_example_flattens_into_its_declared_frame(name, frame, rows):
    payload = json.loads((SEED_DIR / f"{name}.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoercionWarning)  # the seed's placeholder times are not times
        result = frame(payload)
    schema = SCHEMAS[result.attrs["rtk_frames"]["frame"].removesuffix("_frame")]
    assert len(result) == rows
    assert list(result.columns[: len(schema)]) == schema.names


_CLEAN_SAMPLE = st.fixed_dictionaries({}, optional={
    "timestamp": st.one_of(gen.iso_timestamps(), st.none()), "quality": gen.numbers(messy=False, sdk=True),
    "jitter": gen.numbers(messy=False, sdk=True), "frame_width": gen.numbers(messy=False, sdk=True)})


@SETTINGS
@given(samples=st.one_of(
    st.lists(_CLEAN_SAMPLE, max_size=12),  # the fast path's case: declared keys, plain values
    st.lists(st.one_of(gen._audio_sample(messy=True, sdk=False), gen._video_sample(messy=True, sdk=False),
                       _CLEAN_SAMPLE), max_size=12)))
def test_the_arrow_fast_path_gives_exactly_what_the_per_value_path_gives(samples):
    schema = SCHEMAS["quality_stats"]
    fast_report, slow_report = CoercionReport("fast"), CoercionReport("slow")
    fast = build_frame(sample_columns(samples, report=fast_report, schema=schema), schema, report=fast_report)
    slow = build_frame(sample_columns(samples, report=slow_report), schema, report=slow_report)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast_report.as_dict() == slow_report.as_dict()
