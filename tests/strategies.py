"""Hypothesis strategies for API-shaped payloads (the seed examples' and SDK 5.9.0 models' shapes).

Each strategy draws a :class:`Generated` — the payload plus how many rows each frame must have — with
missing, ``null``, extra and (when ``messy``) wrong-typed fields, camelCase or snake_case keys, and the
wire's typos (``throughtput``, ``effective_networktype``, ``r_t_t``). With ``sdk=True`` every value is
one the official SDK's models accept (so ``Model.model_validate(payload)`` succeeds): no wrong types,
snake_case keys, the SDK's literals, ids as text, integers below 2**53.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import strategies as st

EPOCH_2023_MS = 1_675_248_000_000
_ID_CHARS = "abcdef0123456789-"


@dataclasses.dataclass
class Generated:
    """A generated payload and the row count each frame built from it must have."""

    payload: Any
    rows: dict[str, int]


def camel(key: str) -> str:
    """``joined_at`` -> ``joinedAt`` (keys starting with a digit are left alone)."""
    if key[:1].isdigit():
        return key
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# ---------------------------------------------------------------------------------------------- values
def iso_timestamps() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1),
                           timezones=st.just(dt.UTC))
    def render(moment: dt.datetime, style: int) -> str:
        text = moment.isoformat(timespec="milliseconds")
        if style == 0:
            return text.replace("+00:00", "Z")
        if style == 1:
            return text.replace("T", " ").replace("+00:00", "Z")
        if style == 2:
            shifted = moment.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
            return shifted.isoformat(timespec="microseconds")
        return text
    return st.builds(render, moments, st.integers(0, 3))


def timestamps(*, messy: bool, sdk: bool = False) -> st.SearchStrategy[Any]:
    good = iso_timestamps()
    if sdk:
        return st.one_of(good, st.none())
    epoch_ms = st.integers(EPOCH_2023_MS, EPOCH_2023_MS + 10**10)
    options = [good, good, st.none(), epoch_ms, epoch_ms.map(str)]
    if messy:
        options += [st.just(""), st.sampled_from(["not a time", "2023-13-45T99:00:00Z", "timestamp"]),
                    good.map(lambda t: t + '"'), st.booleans()]
    return st.one_of(options)


def numbers(*, messy: bool, sdk: bool = False) -> st.SearchStrategy[Any]:
    ints = st.integers(0, 10_000)
    floats = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
    if sdk:
        return st.one_of(ints, floats, st.none())
    options = [ints, floats, st.none(), floats.map(repr)]
    if messy:
        options += [st.sampled_from(["n/a", "fast", "1,5"]), st.booleans(), st.just("")]
    return st.one_of(options)


def counters(*, messy: bool, sdk: bool = False) -> st.SearchStrategy[Any]:
    """Cumulative counters: sometimes beyond 2**53 (not under the SDK, whose models hold floats)."""
    if sdk:
        return st.one_of(st.integers(0, 2**40), st.none())
    options = [st.integers(0, 2**40), st.integers(2**53, 2**62), st.none(), st.integers(0, 10**6).map(str)]
    if messy:
        options += [st.just("lots"), st.floats(0.5, 10.5).filter(lambda v: not v.is_integer())]
    return st.one_of(options)


def texts(*, messy: bool, sdk: bool = False) -> st.SearchStrategy[Any]:
    words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ÄéЖ中-_", min_size=1, max_size=10)
    if sdk:
        return st.one_of(words, st.none())
    options = [words, st.none()]
    if messy:
        options += [st.integers(0, 999), st.booleans()]
    return st.one_of(options)


def ids(*, sdk: bool = False) -> st.SearchStrategy[Any]:
    text_ids = st.text(alphabet=_ID_CHARS, min_size=4, max_size=12)
    return text_ids if sdk else st.one_of(text_ids, text_ids, st.integers(1, 10**6))


def flags(*, messy: bool, sdk: bool = False) -> st.SearchStrategy[Any]:
    if sdk:
        return st.one_of(st.booleans(), st.none())
    options = [st.booleans(), st.none(), st.sampled_from(["true", "false", "webgl2", "supported"])]
    if messy:
        options += [st.sampled_from(["maybe", "?"])]
    return st.one_of(options)


# ---------------------------------------------------------------------------------------------- records
@st.composite
def record(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], *, sdk: bool,
           required: tuple[str, ...] = (), extras: bool = True) -> dict[str, Any]:
    """A dict with some of ``fields`` (each may be missing, null or a value), maybe extra fields, and
    (not under ``sdk``) snake_case or camelCase keys."""
    out: dict[str, Any] = {}
    for key, strategy in fields.items():
        if key in required or draw(st.integers(0, 4)) > 0:
            out[key] = draw(strategy)
    if extras and draw(st.booleans()):
        # each extra name has one type everywhere, so a batch and its singles agree on its dtype
        out["note_extra"] = draw(st.text(alphabet="xyz ", max_size=5))
        out["score_extra"] = draw(st.floats(0, 100, allow_nan=False))
        if not sdk:
            out["tags_extra"] = draw(st.lists(st.integers(0, 9), max_size=3))
            out["nested_extra"] = {"level": draw(st.integers(0, 3))}
    if not sdk and draw(st.integers(0, 3)) == 0:
        out = {camel(k): v for k, v in out.items()}
    return out


def _session_fields(messy: bool, sdk: bool) -> dict[str, st.SearchStrategy[Any]]:
    ts = timestamps(messy=messy, sdk=sdk)
    return {
        "id": ids(sdk=sdk), "associated_id": ids(sdk=sdk),
        "meeting_display_name": texts(messy=messy, sdk=sdk),
        "status": st.sampled_from(["LIVE", "ENDED"]), "type": st.sampled_from(["meeting", "livestream"]),
        "organization_id": ids(sdk=sdk), "created_at": ts, "started_at": ts, "ended_at": ts,
        "updated_at": ts, "live_participants": numbers(messy=messy, sdk=sdk).map(_int_if_number),
        "max_concurrent_participants": numbers(messy=messy, sdk=sdk).map(_int_if_number),
        "minutes_consumed": numbers(messy=messy, sdk=sdk),
    }


def _int_if_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) else value


_SDK_SESSION_REQUIRED = (
    "id", "associated_id", "created_at", "live_participants", "max_concurrent_participants",
    "meeting_display_name", "minutes_consumed", "organization_id", "started_at", "status", "type",
    "updated_at",
)


@st.composite
def sessions_payloads(draw: st.DrawFn, *, messy: bool = True, sdk: bool = False) -> Generated:
    """A ``get_sessions`` response (or its ``data``), each session maybe with breakout rooms and ``meta``."""
    fields = _session_fields(messy, sdk)
    if sdk:  # the SDK's DataSession requires these, non-null
        count = st.integers(0, 500)
        fields = {**fields, "created_at": iso_timestamps(), "started_at": iso_timestamps(),
                  "updated_at": iso_timestamps(), "live_participants": count,
                  "max_concurrent_participants": count, "minutes_consumed": st.floats(0, 1e4),
                  "meeting_display_name": st.text(alphabet="abc xyz", max_size=8)}
    sessions = draw(st.lists(record(fields, sdk=sdk, required=_SDK_SESSION_REQUIRED if sdk else ()),
                             max_size=4))
    rooms = 0
    for session in sessions:
        if draw(st.booleans()):
            room_list = draw(st.lists(record(_session_fields(messy, sdk), sdk=sdk, extras=False), max_size=2))
            session["breakout_rooms"] = room_list
            rooms += len(room_list)
        if not sdk and draw(st.booleans()):
            session["meta"] = {"title": draw(texts(messy=False))}
    payload: Any = {"data": {"sessions": sessions}, "success": True}
    if draw(st.booleans()):
        payload["paging"] = {"start_offset": 1, "end_offset": len(sessions), "total_count": len(sessions)}
    if not sdk and draw(st.booleans()):
        payload = payload["data"]
    return Generated(payload, {"sessions": len(sessions), "breakout_rooms": rooms})


@st.composite
def session_details_payloads(draw: st.DrawFn, *, messy: bool = True, sdk: bool = False) -> Generated:
    """A ``get_session_details`` response: flat under ``data`` (SDK) or under ``data.session`` (seed)."""
    inner = draw(sessions_payloads(messy=messy, sdk=sdk).filter(lambda g: g.rows["sessions"] >= 1))
    sessions = inner.payload["data"]["sessions"] if "data" in inner.payload else inner.payload["sessions"]
    session = sessions[0]
    rooms = len(session.get("breakout_rooms") or [])
    data = {"session": session} if (not sdk and draw(st.booleans())) else session
    rows = 1 if data else 0  # ``"data": {}`` holds no session at all
    return Generated({"data": data, "success": True}, {"session": rows, "breakout_rooms": rooms})


def _participant_fields(messy: bool, sdk: bool) -> dict[str, st.SearchStrategy[Any]]:
    ts = timestamps(messy=messy, sdk=sdk)
    return {
        "id": ids(sdk=sdk), "user_id": ids(sdk=sdk), "custom_participant_id": ids(sdk=sdk),
        "display_name": texts(messy=messy, sdk=sdk), "preset_name": texts(messy=messy, sdk=sdk),
        "joined_at": ts, "left_at": ts, "created_at": ts, "updated_at": ts,
        "duration": numbers(messy=messy, sdk=sdk),
    }


def _peer_events(messy: bool, sdk: bool) -> st.SearchStrategy[list[dict]]:
    event = record({
        "id": ids(sdk=sdk), "created_at": timestamps(messy=messy, sdk=sdk),
        "event_name": st.sampled_from(["PEER_CREATED", "PEER_JOINING", "PEER_LEAVING"]),
        "minutes_consumed": numbers(messy=messy, sdk=sdk), "peer_id": ids(sdk=sdk),
        "preset_view_type": st.sampled_from(["GROUP_CALL", "WEBINAR"]), "session_id": ids(sdk=sdk),
        "socket_session_id": ids(sdk=sdk), "updated_at": timestamps(messy=messy, sdk=sdk),
    }, sdk=sdk, extras=False)
    return st.lists(event, max_size=3)


@st.composite
def participants_payloads(draw: st.DrawFn, *, messy: bool = True, sdk: bool = False) -> Generated:
    """A ``get_session_participants`` page (paging under ``data`` as in the seed, or on top)."""
    people = draw(st.lists(record(_participant_fields(messy, sdk), sdk=sdk), max_size=5))
    events = 0
    for person in people:
        if draw(st.integers(0, 3)) == 0:
            person["peer_events"] = draw(_peer_events(messy, sdk))
            events += len(person["peer_events"])
    data: dict[str, Any] = {"participants": people}
    payload: dict[str, Any] = {"data": data, "success": True}
    paging = {"start_offset": 1, "end_offset": len(people), "total_count": len(people)}
    if draw(st.booleans()):
        (payload if sdk else data)["paging"] = paging
    return Generated(payload, {"participants": len(people), "peer_events": events})


def _audio_sample(messy: bool, sdk: bool) -> st.SearchStrategy[dict]:
    num = numbers(messy=messy, sdk=sdk)
    return record({"timestamp": timestamps(messy=messy, sdk=sdk), "quality": num, "jitter": num,
                   "packets_lost": num, "concealment_events": num}, sdk=sdk, extras=False)


def _video_sample(messy: bool, sdk: bool) -> st.SearchStrategy[dict]:
    num = numbers(messy=messy, sdk=sdk)
    return record({"timestamp": timestamps(messy=messy, sdk=sdk), "quality": num, "jitter": num,
                   "packets_lost": num, "frame_width": num, "frame_height": num, "frames_per_second": num,
                   "frames_dropped": num}, sdk=sdk, extras=False)


@st.composite
def quality_segment(draw: st.DrawFn, *, messy: bool, sdk: bool) -> tuple[dict, int]:
    num = numbers(messy=messy, sdk=sdk)
    segment = draw(record({
        "peer_id": ids(sdk=sdk), "start": timestamps(messy=messy, sdk=sdk),
        "end": timestamps(messy=messy, sdk=sdk), "average_quality": num, "audio_bandwidth": num,
        "audio_packet_loss": num, "video_bandwidth": num, "video_packet_loss": num,
    }, sdk=sdk))
    samples = 0
    for kind, sample in (("audio", _audio_sample), ("video", _video_sample)):
        if draw(st.integers(0, 4)) > 0:
            items = draw(st.lists(sample(messy, sdk), max_size=6))
            segment[f"{kind}_stats" if sdk or draw(st.booleans()) else camel(f"{kind}_stats")] = items
            samples += len(items)
    return segment, samples


def _peer_stats(messy: bool, sdk: bool) -> st.SearchStrategy[dict]:
    num = numbers(messy=messy, sdk=sdk)
    device = record({"browser": texts(messy=messy, sdk=sdk), "browser_version": texts(messy=messy, sdk=sdk),
                     "cpus": num, "is_mobile": flags(messy=messy, sdk=sdk), "memory": num,
                     "os": texts(messy=messy, sdk=sdk), "webgl_support": flags(messy=messy, sdk=sdk)},
                    sdk=sdk, extras=False)
    ip = record({"city": texts(messy=messy, sdk=sdk), "country": texts(messy=messy, sdk=sdk),
                 "ipv4": texts(messy=messy, sdk=sdk)}, sdk=sdk, extras=False)
    precall = st.fixed_dictionaries({}, optional={
        "backend_rtt": num, "rtt": num, "jitter": num, "fractional_loss": num,
        "throughtput": num, "effective_networktype": texts(messy=messy, sdk=sdk),
        "turn_connectivity": flags(messy=messy, sdk=sdk)})
    events = st.lists(st.fixed_dictionaries(
        {"timestamp": timestamps(messy=messy, sdk=sdk), "type": texts(messy=False)},
        optional={"metadata": st.fixed_dictionaries({"connection_info": st.fixed_dictionaries(
            {}, optional={"r_t_t": num, "backend_r_t_t": num})})}), max_size=3)
    return st.fixed_dictionaries({}, optional={
        "device_info": st.one_of(device, st.none()), "ip_information": st.one_of(ip, st.none()),
        "precall_network_information": st.one_of(precall, st.none()), "events": events,
        "status": texts(messy=messy, sdk=sdk), "config": texts(messy=messy, sdk=sdk)})


@st.composite
def participant_details_payloads(draw: st.DrawFn, *, messy: bool = True, sdk: bool = False) -> Generated:
    """A ``get_session_participant_details`` response: SDK shape (``peer_events``) and/or the seed's
    (``peer_stats``, ``quality_stats`` segments with audio/video samples)."""
    person = draw(record(_participant_fields(messy, sdk), sdk=sdk))
    rows = {"participant": 1, "quality_stats": 0, "quality_segments": 0, "peer_events": 0}
    if draw(st.booleans()):
        person["peer_events"] = draw(_peer_events(messy, sdk))
        rows["peer_events"] += len(person["peer_events"])
    if draw(st.booleans()):
        stats = draw(_peer_stats(messy, sdk))
        person["peer_stats"] = stats
        rows["peer_events"] += len(stats.get("events", []))
    if draw(st.integers(0, 3)) > 0:
        segments = draw(st.lists(quality_segment(messy=messy, sdk=sdk), max_size=3))
        person["quality_stats"] = [segment for segment, _ in segments]
        rows["quality_segments"] = len(segments)
        rows["quality_stats"] = sum(count for _, count in segments)
    return Generated({"data": {"participant": person}, "success": True}, rows)


_STREAM_SAMPLE_FIELDS = ("bytes_sent", "bytes_received", "packets_sent", "packets_lost", "ssrc")


@st.composite
def peer_report_payloads(draw: st.DrawFn, *, messy: bool = True, sdk: bool = False) -> Generated:
    """A ``get_participant_data_from_peer_id`` response with cumulative blocks and per-sample lists."""
    num = numbers(messy=messy, sdk=sdk)
    person = draw(record(_participant_fields(messy, sdk), sdk=sdk))
    person.pop("preset_name", None)
    quality: dict[str, Any] = {}
    series = 0
    streams = st.sampled_from(["audio_producer", "video_consumer", "screenshare_video_producer"])
    for stream in draw(st.lists(streams, unique=True, max_size=3)):
        fields = {"timestamp": timestamps(messy=messy, sdk=sdk), "jitter": num, "mos_quality": num,
                  **{name: counters(messy=messy, sdk=sdk) for name in _STREAM_SAMPLE_FIELDS}}
        if stream.endswith("producer"):
            fields["rtt"] = num
        else:
            fields["peer_id"] = ids(sdk=sdk)
        samples = draw(st.lists(record(fields, sdk=sdk, extras=False), max_size=4))
        quality[stream] = samples
        series += len(samples)
        quality[f"{stream}_cumulative"] = {
            "packet_loss": draw(st.fixed_dictionaries({}, optional={
                "10_or_greater_event_fraction": num, "avg": num})),
            "quality_mos": draw(st.fixed_dictionaries({}, optional={"avg": num, "p90": num})),
        }
    metadata = {"browser_metadata": draw(st.fixed_dictionaries({}, optional={
        "browser": texts(messy=messy, sdk=sdk), "webgl_support": flags(messy=messy, sdk=sdk)})),
        "events": draw(st.lists(st.fixed_dictionaries({"name": texts(messy=False),
                                                       "timestamp": timestamps(messy=messy, sdk=sdk)}),
                                max_size=2))}
    person["peer_report"] = {"metadata": metadata, "quality": quality}
    totals = draw(st.fixed_dictionaries({}, optional={
        "total_audio_packets": counters(messy=messy, sdk=sdk), "average_quality": num,
        "peer_ids": st.lists(ids(sdk=True), min_size=1, max_size=2)}))
    if totals:
        person["quality_stats"] = totals
    rows = {"peer_report": 1, "peer_report_series": series, "peer_events": len(metadata["events"])}
    return Generated({"data": {"participant": person}, "success": True}, rows)
