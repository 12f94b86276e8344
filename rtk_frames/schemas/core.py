"""Schemas of the API frames (sessions, participants, quality, peer report). Owned by the frames module.

Each schema is the column/dtype contract of one frame, declared columns in order. A column that
identifies an entity is named for it in every frame (``session_id``, ``participant_id``, ``peer_id``,
``user_id``, ``message_id``; never a bare ``id``), and every per-session frame has ``session_id``.
Arrow types map to pandas dtypes as: ``string`` -> ``str``, ``timestamp[us, UTC]`` -> ``datetime64[us, UTC]``,
``float64`` -> ``float64`` (metrics), ``int64`` -> ``Int64`` (counters, exact beyond 2**53),
``bool`` -> ``boolean``.

Example:
    >>> from rtk_frames.schemas.core import SCHEMAS
    >>> SCHEMAS["quality_stats"].names[:4]
    ['session_id', 'participant_id', 'peer_id', 'kind']
"""

from __future__ import annotations

import pyarrow as pa

TEXT = pa.string()
TIME = pa.timestamp("us", tz="UTC")
METRIC = pa.float64()
COUNT = pa.int64()
FLAG = pa.bool_()


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


def _prefixed(prefix: str, fields: list[tuple[str, pa.DataType]]) -> list[tuple[str, pa.DataType]]:
    return [(f"{prefix}_{name}", dtype) for name, dtype in fields]


# ---------------------------------------------------------------------------------------------- sessions
_SESSION_FIELDS: list[tuple[str, pa.DataType]] = [
    ("session_id", TEXT),  # the wire's `id`
    ("associated_id", TEXT),
    ("meeting_display_name", TEXT),
    ("status", TEXT),
    ("type", TEXT),
    ("organization_id", TEXT),
    ("created_at", TIME),
    ("started_at", TIME),
    ("ended_at", TIME),
    ("updated_at", TIME),
    ("live_participants", COUNT),
    ("max_concurrent_participants", COUNT),
    ("minutes_consumed", METRIC),
]
SESSIONS = _schema(*_SESSION_FIELDS, ("breakout_rooms_count", COUNT))
# a room is a session: its own id is `session_id`, its parent's `parent_session_id`
BREAKOUT_ROOMS = _schema(("parent_session_id", TEXT), ("breakout_room_index", COUNT), *_SESSION_FIELDS)

# ---------------------------------------------------------------------------------------------- participants
_PARTICIPANT_FIELDS: list[tuple[str, pa.DataType]] = [
    ("participant_id", TEXT),  # the wire's `id` (also the peer id in this API)
    ("session_id", TEXT),
    ("user_id", TEXT),
    ("custom_participant_id", TEXT),
    ("display_name", TEXT),
    ("preset_name", TEXT),
    ("joined_at", TIME),
    ("left_at", TIME),
    ("created_at", TIME),
    ("updated_at", TIME),
    ("duration", METRIC),  # minutes
]
PARTICIPANTS = _schema(*_PARTICIPANT_FIELDS, ("peer_events_count", COUNT))

DEVICE_INFO_FIELDS: list[tuple[str, pa.DataType]] = [
    ("browser", TEXT),
    ("browser_version", TEXT),
    ("engine", TEXT),
    ("user_agent", TEXT),
    ("os", TEXT),
    ("os_version", TEXT),
    ("is_mobile", FLAG),
    ("cpus", METRIC),
    ("memory", METRIC),
    ("sdk_name", TEXT),
    ("sdk_version", TEXT),
    ("webgl_support", FLAG),
]
IP_INFORMATION_FIELDS: list[tuple[str, pa.DataType]] = [
    ("ipv4", TEXT),
    ("city", TEXT),
    ("region", TEXT),
    ("country", TEXT),
    ("timezone", TEXT),
    ("ip_location", TEXT),
    ("org", TEXT),
    ("portal", TEXT),
    ("asn_asn", TEXT),
]
PRECALL_FIELDS: list[tuple[str, pa.DataType]] = [
    ("rtt", METRIC),  # ms
    ("backend_rtt", METRIC),  # ms
    ("jitter", METRIC),  # ms
    ("fractional_loss", METRIC),  # 0-1
    ("throughput", METRIC),  # kbit/s
    ("effective_network_type", TEXT),
    ("reflexive_connectivity", FLAG),
    ("relay_connectivity", FLAG),
    ("turn_connectivity", FLAG),
]
_PEER_BLOCKS = [
    *_prefixed("device_info", DEVICE_INFO_FIELDS),
    *_prefixed("ip_information", IP_INFORMATION_FIELDS),
    *_prefixed("precall_network_information", PRECALL_FIELDS),
]
PARTICIPANT = _schema(
    *_PARTICIPANT_FIELDS,
    ("role", TEXT),
    ("status", TEXT),
    ("config", TEXT),
    *_PEER_BLOCKS,
    ("peer_events_count", COUNT),
    ("quality_segments_count", COUNT),
)

PEER_EVENTS = _schema(
    ("session_id", TEXT),
    ("participant_id", TEXT),  # the enclosing participant's `id`
    ("peer_id", TEXT),
    ("source", TEXT),  # "peer_events" | "peer_stats" | "peer_report"
    ("timestamp", TIME),
    ("event", TEXT),
    ("event_id", TEXT),
    ("minutes_consumed", METRIC),
    ("preset_view_type", TEXT),
    ("socket_session_id", TEXT),
    ("updated_at", TIME),
)

# ---------------------------------------------------------------------------------------------- quality
QUALITY_STATS = _schema(
    ("session_id", TEXT),
    ("participant_id", TEXT),
    ("peer_id", TEXT),
    ("kind", TEXT),  # "audio" | "video"
    ("timestamp", TIME),
    ("quality", METRIC),  # 0-100
    ("jitter", METRIC),  # ms
    ("packets_lost", METRIC),  # in the sample's interval
    ("concealment_events", METRIC),
    ("frame_width", METRIC),
    ("frame_height", METRIC),
    ("frames_per_second", METRIC),
    ("frames_dropped", METRIC),
)
QUALITY_SEGMENTS = _schema(
    ("session_id", TEXT),
    ("participant_id", TEXT),
    ("peer_id", TEXT),
    ("segment_index", COUNT),
    ("start", TIME),
    ("end", TIME),
    ("average_quality", METRIC),
    ("audio_bandwidth", METRIC),  # kbit/s
    ("audio_packet_loss", METRIC),  # %
    ("video_bandwidth", METRIC),
    ("video_packet_loss", METRIC),
    ("audio_samples_count", COUNT),
    ("video_samples_count", COUNT),
)

# ---------------------------------------------------------------------------------------------- peer report
STREAMS = (
    "audio_producer",
    "audio_consumer",
    "video_producer",
    "video_consumer",
    "screenshare_audio_producer",
    "screenshare_audio_consumer",
    "screenshare_video_producer",
    "screenshare_video_consumer",
)
_DISTRIBUTION = ["avg", "p50", "p75", "p90"]
_LOSS = ["5_or_greater_event_fraction", "10_or_greater_event_fraction", "25_or_greater_event_fraction",
         "50_or_greater_event_fraction", "avg"]
_LATENCY = ["100ms_or_greater_event_fraction", "250ms_or_greater_event_fraction",
            "500ms_or_greater_event_fraction", "avg"]


def _cumulative_metrics(stream: str) -> list[str]:
    names = [f"packet_loss_{s}" for s in _LOSS] + [f"quality_mos_{s}" for s in _DISTRIBUTION]
    if stream.endswith("producer"):
        names += [f"rtt_{s}" for s in _LATENCY]
    if stream.endswith("consumer"):
        names += [f"jitter_buffer_delay_{s}" for s in _LATENCY]
    if "video" in stream:
        names += [f"frame_per_second_{s}" for s in _DISTRIBUTION]
        names += [f"frame_width_{s}" for s in _DISTRIBUTION]
        names += ["issues_no_video_fraction", "issues_poor_resolution_fraction"]
        if stream.endswith("producer"):
            names += [
                "issues_bandwidth_quality_limitation_fraction",
                "issues_cpu_quality_limitation_fraction",
                "issues_quality_limitation_fraction",
                "high_negative_feedback_fraction",
                "key_frames_encoded_fraction",
            ]
        else:
            names += ["issues_lag_fraction", "key_frames_decoded_fraction"]
    return names


CUMULATIVE_COLUMNS: list[str] = [
    f"{stream}_cumulative_{metric}" for stream in STREAMS for metric in _cumulative_metrics(stream)
]
QUALITY_TOTALS_FIELDS: list[tuple[str, pa.DataType]] = [
    ("start", TIME),
    ("end", TIME),
    ("average_quality", METRIC),
    ("audio_bandwidth", METRIC),
    ("video_bandwidth", METRIC),
    ("first_audio_packet_received", TIME),
    ("last_audio_packet_received", TIME),
    ("first_video_packet_received", TIME),
    ("last_video_packet_received", TIME),
    ("total_audio_packets", COUNT),
    ("total_audio_packets_lost", COUNT),
    ("total_video_packets", COUNT),
    ("total_video_packets_lost", COUNT),
    ("peer_ids", TEXT),  # JSON list
]
PEER_REPORT = _schema(
    ("session_id", TEXT),
    ("participant_id", TEXT),
    ("peer_id", TEXT),
    ("user_id", TEXT),
    ("custom_participant_id", TEXT),
    ("display_name", TEXT),
    ("role", TEXT),
    ("joined_at", TIME),
    ("left_at", TIME),
    ("created_at", TIME),
    ("updated_at", TIME),
    ("duration", METRIC),
    ("sdk_name", TEXT),
    ("sdk_type", TEXT),
    ("sdk_version", TEXT),
    ("room_view_type", TEXT),
    *_PEER_BLOCKS,
    *[(name, METRIC) for name in CUMULATIVE_COLUMNS],
    *_prefixed("quality_stats", QUALITY_TOTALS_FIELDS),
)

PEER_REPORT_SERIES = _schema(
    ("session_id", TEXT),
    ("participant_id", TEXT),
    ("peer_id", TEXT),
    ("stream", TEXT),
    ("timestamp", TIME),
    ("mos_quality", METRIC),  # 1-5
    ("rtt", METRIC),  # seconds
    ("jitter", METRIC),  # seconds
    ("packets_lost", COUNT),  # cumulative since the stream started
    ("packets_sent", COUNT),
    ("packets_received", COUNT),
    ("bytes_sent", COUNT),
    ("bytes_received", COUNT),
    ("concealment_events", COUNT),
    ("jitter_buffer_delay", METRIC),
    ("jitter_buffer_emitted_count", COUNT),
    ("frame_width", METRIC),
    ("frame_height", METRIC),
    ("frames_per_second", METRIC),
    ("frames_encoded", COUNT),
    ("frames_decoded", COUNT),
    ("frames_dropped", COUNT),
    ("key_frames_encoded", COUNT),
    ("key_frames_decoded", COUNT),
    ("fir_count", COUNT),
    ("pli_count", COUNT),
    ("quality_limitation_reason", TEXT),
    ("quality_limitation_resolution_changes", METRIC),
    ("quality_limitation_durations_bandwidth", METRIC),
    ("quality_limitation_durations_cpu", METRIC),
    ("quality_limitation_durations_none", METRIC),
    ("quality_limitation_durations_other", METRIC),
    ("remote_peer_id", TEXT),  # a consumer sample's `peer_id`: whose media was received
    ("producer_id", TEXT),
    ("consumer_id", TEXT),
    ("mid", TEXT),
    ("ssrc", COUNT),
)

SCHEMAS: dict[str, pa.Schema] = {
    "sessions": SESSIONS,
    "session": SESSIONS,
    "breakout_rooms": BREAKOUT_ROOMS,
    "participants": PARTICIPANTS,
    "participant": PARTICIPANT,
    "peer_events": PEER_EVENTS,
    "quality_stats": QUALITY_STATS,
    "quality_segments": QUALITY_SEGMENTS,
    "peer_report": PEER_REPORT,
    "peer_report_series": PEER_REPORT_SERIES,
}
