"""Any JSON value in, a frame or a typed error out (issue 9).

Whatever the service sends, every flattener and every chat/transcript parser returns its frame (bad
values NA, counted in at most one ``CoercionWarning``) or raises an :class:`rtk_frames.RTKError` — never
anything else. Three sources of input:

- arbitrary JSON values (hypothesis ``recursive`` over null/bool/int of any size/float incl. inf and
  NaN/str, lists, dicts whose keys are often the wire's), as Python objects and as JSON bytes;
- mutations of every sample payload in ``data_samples/seed`` and ``data_samples/demo`` (keys dropped,
  nulled, retyped, renamed to camelCase, lists duplicated);
- arbitrary bytes, and mutated rendered files, for the file parsers.

A frame has its declared schema's columns first with their declared dtypes, and never more rows than
the input has objects / list elements (file parsers: lines or objects): rows are never invented. The
tests iterate over the flatteners generically (no key column is named here).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning, RTKError
from rtk_frames.sandbox.media import (
    TRANSCRIPT_FORMATS,
    TRANSCRIPT_GENERATIONS,
    render_chat_csv,
    render_transcript,
)
from rtk_frames.schemas import SCHEMAS
from tests.strategies import camel

ROOT = Path(__file__).resolve().parents[1]
# per flattener and per file parser, for each kind of input (lower it locally while iterating)
# each example goes to every flattener (every file parser): EXAMPLES examples per flattener
EXAMPLES = int(os.environ.get("RTK_ANY_JSON_EXAMPLES", "2000"))
# the mutation strategy draws a sample and a list of edits (more data than hypothesis' default budget
# expects from a strategy); the flatteners themselves are fast: too_slow would flag the strategy only
MUTATION_SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ANY_JSON_SETTINGS = settings(max_examples=EXAMPLES, deadline=None)

FLATTENERS: tuple[Callable[[Any], pd.DataFrame], ...] = (
    rtk.sessions_frame, rtk.session_frame, rtk.breakout_rooms_frame, rtk.participants_frame,
    rtk.participant_frame, rtk.peer_events_frame, rtk.quality_stats_frame, rtk.quality_segments_frame,
    rtk.peer_report_frame, rtk.peer_report_series_frame,
)
_PANDAS_DTYPE = {pa.string(): "str", pa.float64(): "float64", pa.int64(): "Int64", pa.bool_(): "boolean",
                 pa.timestamp("us", tz="UTC"): "datetime64[us, UTC]"}


# ------------------------------------------------------------------------------------------ checks
def assert_declared_frame(frame: Any, schema_name: str) -> None:
    """A DataFrame whose first columns are the declared schema's, with its dtypes; no object columns."""
    assert isinstance(frame, pd.DataFrame)
    schema = SCHEMAS[schema_name]
    dtypes = [str(dtype) for dtype in frame.dtypes]
    assert list(frame.columns[: len(schema)]) == schema.names
    assert dtypes[: len(schema)] == _declared_dtypes(schema_name)
    assert "object" not in dtypes
    assert frame.columns.is_unique


@functools.cache
def _declared_dtypes(schema_name: str) -> list[str]:
    return [_PANDAS_DTYPE[field.type] for field in SCHEMAS[schema_name]]


def nodes(value: Any) -> int:
    """How many objects and list elements a JSON value holds: no frame can have more rows."""
    if isinstance(value, dict):
        return 1 + sum(nodes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return len(value) + sum(nodes(v) for v in value)
    return 0


def frame_or_typed_error(call: Callable[[], pd.DataFrame], *, allowed: tuple[type[Warning], ...] = ()
                         ) -> pd.DataFrame | None:
    """The frame ``call`` returns (checking it warned at most one CoercionWarning and nothing else but
    ``allowed``), or ``None`` when it raised an RTKError. Any other exception fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = call()
        except RTKError as error:
            assert "Traceback" not in str(error)
            return None
    coercions = [w for w in caught if issubclass(w.category, CoercionWarning)]
    others = [str(w.message) for w in caught
              if not issubclass(w.category, CoercionWarning) and not issubclass(w.category, allowed)]
    assert len(coercions) <= 1, [str(w.message) for w in coercions]
    assert not others
    assert bool(coercions) == bool(frame.attrs["rtk_frames"]["coercions"])
    return frame


def check_flattener(flatten: Callable[[Any], pd.DataFrame], payload: Any, *,
                    bound: int) -> pd.DataFrame | None:
    frame = frame_or_typed_error(lambda: flatten(payload))
    if frame is not None:
        assert_declared_frame(frame, flatten.__name__.removesuffix("_frame"))
        assert len(frame) <= bound, (len(frame), bound)
    return frame


def json_bytes(value: Any) -> bytes:
    """The value as a body: orjson where it can (NaN/inf -> null), else the stdlib's (big integers
    exact, NaN/Infinity written as the non-JSON tokens a broken server might send)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


# ---------------------------------------------------------------------------------- arbitrary JSON
# keys the flatteners look for, in both spellings, plus any text: so random values reach deep paths
_WIRE_KEYS = sorted({
    "data", "success", "errors", "paging", "sessions", "session", "participants", "participant", "id",
    "peer_id", "peer_ids", "session_id", "breakout_rooms", "peer_events", "peer_stats", "peer_report",
    "quality_stats", "audio_stats", "video_stats", "quality", "metadata", "events", "device_info",
    "ip_information", "precall_network_information", "config", "timestamp", "created_at", "joined_at",
    "event_name", "type", "name", "audio_producer", "video_consumer", "audio_producer_cumulative",
    "packet_loss", "rtt", "throughtput", "bytes_sent", "jitter", "frame_width",
    *(name for schema in SCHEMAS.values() for name in schema.names[:12]),
})
_KEYS = st.one_of(st.sampled_from(_WIRE_KEYS), st.sampled_from(_WIRE_KEYS).map(camel), st.text(max_size=6))
_SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(),  # any size: beyond 2**63 and 2**64 too
    st.sampled_from([2**63, 2**64, -(2**64), 10**30, 10**400]),
    st.floats(),  # inf, -inf, NaN included
    st.text(max_size=12),
    st.sampled_from(["", " ", "2023-02-01T10:50:36.846Z", "1675248668039", "true", "NaN", "1e999", "{}"]),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(_KEYS, children, max_size=5)),
    max_leaves=20,
)


@ANY_JSON_SETTINGS
@given(value=JSON_VALUES, form=st.sampled_from(("object", "bytes", "enveloped")))
def test_any_json_value_gives_the_frame_or_a_typed_error(value: Any, form: str) -> None:
    """Every example goes to every flattener (drawing a value costs more than flattening it)."""
    forms = {"object": value, "bytes": json_bytes(value), "enveloped": {"success": True, "data": value}}
    payload = forms[form]
    for flatten in FLATTENERS:
        note(flatten.__name__)
        check_flattener(flatten, payload, bound=nodes(value))


@pytest.mark.parametrize("flatten", FLATTENERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("payload", [
    {"success": True, "data": ""}, {"success": True, "data": "abc"}, b"", b"not json", "{", b"[1, 2",
    b'{"success": true, "data": NaN}', 7, "x", [1, "x"], {"data": True}, {"success": True, "data": 0},
], ids=repr)
def test_a_body_that_is_not_data_is_a_payload_error(flatten: Callable[[Any], pd.DataFrame],
                                                     payload: Any) -> None:
    with pytest.raises(rtk.PayloadError):
        flatten(payload)


@pytest.mark.parametrize("flatten", FLATTENERS, ids=lambda f: f.__name__)
def test_integers_beyond_64_bits_anywhere_are_kept_or_counted(flatten: Callable[[Any], pd.DataFrame]) -> None:
    big = 2**64
    participant = {"id": "p1", "extra": big, "tags": [big, -big], "peer_events": [{"metadata": {"x": big}}],
                   "quality_stats": [{"peer_id": "peer-1", "audio_stats": [{"quality": big, "odd": big}]}],
                   "peer_report": {"quality": {"audio_producer": [{"bytes_sent": big, "rtt": big}]}}}
    for payload in ({"success": True, "data": {"participant": participant}},
                    {"success": True, "data": {"sessions": [{"id": "s1", "minutes_consumed": big,
                                                             "live_participants": 10**400}]}}):
        frame = check_flattener(flatten, payload, bound=nodes(payload))
        assert frame is not None
        text = frame.astype(str).to_numpy().ravel().tolist()
        if "extra" in frame:  # an unknown field beyond 64 bits keeps its digits, as text
            assert str(big) in text


# ---------------------------------------------------------------------------- mutated sample payloads
def _truncated(value: Any, keep: int = 2) -> Any:
    """The value with every list cut to its first ``keep`` items (small payloads keep the test fast)."""
    if isinstance(value, dict):
        return {k: _truncated(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_truncated(v, keep) for v in value[:keep]]
    return value


def _first(mapping: dict) -> Any:
    return next(iter(mapping.values()))


def sample_payloads() -> list[Any]:
    """Every seed body, and one entry of every demo file, as the service would send it where the demo
    file holds one endpoint's answers (keyed by session or peer id)."""
    seed = sorted((ROOT / "data_samples" / "seed").glob("*.json"))
    samples = [json.loads(path.read_text()) for path in seed]
    demo = {path.stem: json.loads(path.read_text())
            for path in sorted((ROOT / "data_samples" / "demo").glob("*.json"))}
    envelope = {"participant_details": "participant", "peer_reports": "participant",
                "participants": "participants"}
    for name, content in demo.items():
        if name == "sessions":
            samples.append({"success": True, "data": {"sessions": content}})
        elif name in envelope:
            samples.append({"success": True, "data": {envelope[name]: _first(content)}})
        elif name == "breakout_rooms":
            parent, rooms = next(iter(content.items()))
            samples.append({"success": True, "data": {"session": {"id": parent, "breakout_rooms": rooms}}})
        else:
            samples.append(content)
    return [_truncated(sample) for sample in samples]


SAMPLES = sample_payloads()


def _places(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every path (a tuple of keys/indices) to a value inside ``value``."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from _places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from _places(child, (*path, index))


def _parent(document: Any, path: tuple) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


MUTATIONS = ("drop", "null", "retype", "camel", "duplicate")


@st.composite
def mutated_samples(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        places = list(_places(document))
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, last = _parent(document, path), path[-1]
        mutation = draw(st.sampled_from(MUTATIONS))
        if mutation == "drop":
            del parent[last]
        elif mutation == "null":
            parent[last] = None
        elif mutation == "retype":
            old = parent[last]
            parent[last] = draw(st.one_of(
                _SCALARS, st.just([]), st.just({}), st.just(json.dumps(old)), st.just([old]),
                st.just({"value": old}),
            ))
        elif mutation == "camel" and isinstance(parent, dict):
            parent[camel(last)] = parent.pop(last)
        elif mutation == "duplicate" and isinstance(parent[last], list):
            parent[last] = parent[last] * draw(st.integers(2, 3))
    return document


@MUTATION_SETTINGS
@given(payload=mutated_samples(), as_bytes=st.booleans())
def test_mutated_sample_payloads_give_the_frame_or_a_typed_error(payload: Any, as_bytes: bool) -> None:
    """Every mutated sample goes to every flattener."""
    body = json_bytes(payload) if as_bytes else payload
    for flatten in FLATTENERS:
        note(flatten.__name__)
        check_flattener(flatten, body, bound=nodes(payload))


@pytest.mark.parametrize("flatten", FLATTENERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_camel_case_keys_give_the_same_rows_as_snake_case(flatten: Callable[[Any], pd.DataFrame],
                                                         index: int) -> None:
    sample = SAMPLES[index]
    snake = frame_or_typed_error(lambda: flatten(sample))
    camelled = frame_or_typed_error(lambda: flatten(_camel_keys(sample)))
    assert (snake is None) == (camelled is None)
    if snake is not None and camelled is not None:
        assert len(camelled) == len(snake)


# ------------------------------------------------------------------------------------- file parsers
def _utterances() -> list[dict]:
    content = json.loads((ROOT / "data_samples" / "demo" / "transcripts.json").read_text())
    return _first(content)[:3]


def _chats() -> list[dict]:
    content = json.loads((ROOT / "data_samples" / "demo" / "chats.json").read_text())
    return _first(content)[:3]


SESSION_START = "2026-11-16T12:59:00Z"
RENDERED_FILES = [render_chat_csv(_chats())] + [
    render_transcript(_utterances(), fmt, generation=generation, session_started_at=SESSION_START)
    for fmt in TRANSCRIPT_FORMATS for generation in TRANSCRIPT_GENERATIONS
]
PARSERS: dict[str, Callable[[bytes], pd.DataFrame]] = {
    "chat_frame": lambda raw: rtk.chat_frame(raw, session_id="s1"),
    **{f"transcript_frame[{fmt}]": (lambda raw, fmt=fmt: rtk.transcript_frame(
        raw, format=fmt, session_started_at=SESSION_START)) for fmt in (None, *TRANSCRIPT_FORMATS)},
}


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def _file_row_bound(raw: bytes) -> int:
    """A file cannot describe more rows than it has lines (universal newlines: ``\\r\\n``, a lone ``\\r`` and
    a lone ``\\n`` each end one, as the csv module reads them), nor (as JSON) more than it has objects."""
    return len(_LINE_BREAK.split(raw)) + raw.count(b"{")


def check_parser(name: str, raw: bytes) -> None:
    frame = frame_or_typed_error(lambda: PARSERS[name](raw), allowed=(UserWarning,))
    if frame is not None:
        assert_declared_frame(frame, "chat" if name == "chat_frame" else "transcript")
        assert len(frame) <= _file_row_bound(raw)


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(RENDERED_FILES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        edit = draw(st.sampled_from(("cut", "insert", "duplicate_line", "truncate")))
        if edit == "cut":
            del raw[at: at + draw(st.integers(1, 8))]
        elif edit == "insert":
            raw[at:at] = draw(st.one_of(st.binary(max_size=6), st.sampled_from(
                [b'"', b",", b"\r\n", b"\n\n", b"-->", b": ", b"{", b"]", b"\xff\xfe", b"1e999", b"NaN"])))
        elif edit == "duplicate_line":
            lines = raw.split(b"\n")
            pick = draw(st.integers(0, len(lines) - 1))
            lines.insert(pick, lines[pick])
            raw = bytearray(b"\n".join(lines))
        else:
            del raw[at:]
    return bytes(raw)


@ANY_JSON_SETTINGS
@given(raw=st.one_of(st.binary(max_size=200), JSON_VALUES.map(json_bytes), mutated_files()))
# a lone CR ends a CSV row too: five lines, five rows (a bound that counted only LF or only CR said four)
@example(raw=b"imestamp, Participant ID, Transcript\r\n2026-11-16T12:59:10.432Z,d6,Hi\r\n"
             b"2026-11-16T12:59:18.934Z,33,Could you repeat?\r\x00\n2")
def test_arbitrary_bytes_give_the_file_frame_or_a_typed_error(raw: bytes) -> None:
    """Every example goes to every file parser (chat, and transcripts sniffed or of each format)."""
    for name in PARSERS:
        note(name)
        check_parser(name, raw)
