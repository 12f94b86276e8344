"""The peer report (``get_participant_data_from_peer_id``): one wide row per peer, and its sample series.

:func:`peer_report_frame` flattens the cumulative blocks with their wire names
(``audio_producer_cumulative_packet_loss_10_or_greater_event_fraction``, ``…_quality_mos_p90``,
``…_rtt_avg`` in **ms**), the device / IP / pre-call blocks (from ``peer_report.metadata`` and
``peer_stats``) and the ``quality_stats`` totals. :func:`peer_report_series_frame` is the per-sample
lists (``quality.audio_producer`` … ``screenshare_video_consumer``) as one long frame with a ``stream``
column; per-sample ``rtt``/``jitter`` are in **seconds**, byte/packet counters are cumulative (Int64).

An SDK model is read through ``model_dump(by_alias=True)``; its ``api_10_or_greater…`` names are folded
back to the wire's ``10_or_greater…`` either way.

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     session_id = rtk.fetch_sessions(api.client())["session_id"][0]
    ...     peer_id = rtk.fetch_participants(api.client(), session_id)["participant_id"][0]
    ...     report = rtk.fetch_peer_report(api.client(), peer_id)
    >>> len(report)
    1
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rtk_frames.frames._coerce import (
    CoercionReport,
    Flat,
    flatten_record,
    normalized,
    plain,
    records_to_columns,
    stacked_samples,
)
from rtk_frames.frames.participants import participant_items
from rtk_frames.frames.quality import session_of
from rtk_frames.schemas.core import STREAMS

__all__ = ["peer_report_frame", "peer_report_series_frame"]

_CUMULATIVE_SUFFIX = "_cumulative"
# metadata blocks whose fields are renamed onto participant_frame's column names
_METADATA_AS = {
    "browser_metadata": "device_info",
    "device_info": "device_info",
    "ip_information": "ip_information",
}
_METADATA_SCALARS = ("sdk_name", "sdk_type", "sdk_version", "room_view_type")
_PEER_STATS_AS = {name: name for name in ("device_info", "ip_information", "precall_network_information")}


def _stream_order(stream: str) -> tuple[int, str]:
    """Known streams in the schema's order (audio/video producer/consumer, then screenshare), others after."""
    return (STREAMS.index(stream), "") if stream in STREAMS else (len(STREAMS), stream)


def _peer_id(participant: dict, peer_id: str | None) -> Any:
    if peer_id is not None:
        return peer_id
    if participant.get("peer_id") is not None:
        return participant["peer_id"]
    peer_ids = plain(normalized(participant.get("quality_stats")).get("peer_ids"))
    if isinstance(peer_ids, list | tuple) and len(peer_ids) == 1:
        return peer_ids[0]
    return None


def _fill(record: dict[str, Any], values: dict[str, Any]) -> None:
    """Add ``values`` to ``record`` without overwriting a value already there."""
    for key, value in values.items():
        if record.get(key) is None:
            record[key] = value


def _fill_block(
    record: dict[str, Any],
    block: Any,
    *,
    renamed: dict[str, str],
    prefix: str,
    scalars: tuple[str, ...] = (),
) -> None:
    """Add a report block's fields: sub-blocks in ``renamed`` under their new prefix (the participant
    frame's ``device_info_*`` …), ``scalars`` as they are, anything else under ``prefix``. Events are
    peer_events_frame's."""
    for key, value in normalized(block).items():
        value = plain(value)
        if key == "events" or value is None:
            continue
        if key in renamed and isinstance(value, dict):
            _fill(record, flatten_record(value, renamed[key]))
        elif key in scalars:
            _fill(record, {key: value})
        else:
            _fill(record, flatten_record({f"{prefix}_{key}": value}))


def _report_record(item: dict, peer_id: str | None, session_id: str | None) -> dict[str, Any]:
    participant = normalized(item)
    record = flatten_record(item, skip=("peer_report", "peer_stats", "quality_stats", "peer_events", "id"))
    record["session_id"] = session_of(participant, session_id)
    record["participant_id"] = participant.get("id")
    record["peer_id"] = _peer_id(participant, peer_id)
    report = normalized(participant.get("peer_report"))
    _fill_block(record, report.get("metadata"), renamed=_METADATA_AS, scalars=_METADATA_SCALARS,
                prefix="metadata")
    _fill_block(record, participant.get("peer_stats"), renamed=_PEER_STATS_AS, prefix="peer_stats")
    quality = normalized(report.get("quality"))
    for key, value in quality.items():
        value = plain(value)
        if isinstance(value, dict):
            _fill(record, flatten_record(value, key))
        elif not isinstance(value, list | tuple) and value is not None:
            _fill(record, {f"quality_{key}": value})
    totals = plain(participant.get("quality_stats"))
    if isinstance(totals, dict):
        _fill(record, flatten_record(totals, "quality_stats", skip=("audio_stats", "video_stats")))
    return record


def peer_report_rows(payload: Any, *, peer_id: str | None = None,
                      session_id: str | None = None) -> Flat:
    """The rows of :func:`peer_report_frame`, not yet built: ``.frame()`` gives the frame, ``.table()``
    the same rows as Arrow (what the dataset writes).

    Example:
        >>> payload = {"data": {"participant": {"id": "p1", "peer_report": {"quality": {}}}}}
        >>> peer_report_rows(payload).table().num_rows
        1
    """
    records = [_report_record(item, peer_id, session_id) for item in participant_items(payload)]
    return Flat("peer_report", records_to_columns(records), CoercionReport("peer_report_frame"))


def peer_report_frame(payload: Any, *, peer_id: str | None = None,
                      session_id: str | None = None) -> pd.DataFrame:
    """One wide row per peer report: identity, device/IP/pre-call blocks, cumulative metrics, totals.

    ``peer_id`` (the id the report was asked for) fills the ``peer_id`` column; without it the report's
    own ``peer_id`` or its single ``quality_stats.peer_ids`` entry is used; ``session_id`` fills the
    column when the report does not carry it. Columns such as
    ``audio_producer_cumulative_packet_loss_10_or_greater_event_fraction`` (0–1),
    ``audio_producer_cumulative_quality_mos_p90`` (1–5), ``audio_producer_cumulative_rtt_avg`` (ms),
    ``device_info_browser``, ``ip_information_country``, ``quality_stats_total_audio_packets`` (Int64).

    Example:
        >>> payload = {"data": {"participant": {"id": "p1", "peer_report": {"quality": {
        ...     "audio_producer_cumulative": {"packet_loss": {"10_or_greater_event_fraction": 0.25},
        ...                                   "rtt": {"avg": 42}}}}}}}
        >>> row = peer_report_frame(payload, peer_id="peer-1").iloc[0]
        >>> row["peer_id"], float(row["audio_producer_cumulative_packet_loss_10_or_greater_event_fraction"])
        ('peer-1', 0.25)
    """
    return peer_report_rows(payload, peer_id=peer_id, session_id=session_id).frame()


def peer_report_series_rows(payload: Any, *, peer_id: str | None = None,
                             session_id: str | None = None) -> Flat:
    """The rows of :func:`peer_report_series_frame`, not yet built: ``.frame()`` gives the frame,
    ``.table()`` the same rows as Arrow (what the dataset writes).

    Example:
        >>> report = {"quality": {"audio_producer": [{"rtt": 0.03}]}}
        >>> payload = {"data": {"participant": {"id": "p1", "peer_report": report}}}
        >>> peer_report_series_rows(payload).table().num_rows
        1
    """
    report = CoercionReport("peer_report_series_frame")
    runs: list[tuple[tuple[Any, Any, Any, str], Any]] = []  # ((session, participant, peer, stream), samples)
    for item in participant_items(payload):
        participant = normalized(item)
        this_peer = _peer_id(participant, peer_id)
        quality = normalized(normalized(participant.get("peer_report")).get("quality"))
        for stream in sorted(quality, key=_stream_order):  # the wire's key order is not a contract
            stream_samples = plain(quality[stream])
            if not stream.endswith(_CUMULATIVE_SUFFIX) and isinstance(stream_samples, list | tuple):
                runs.append(((session_of(participant, session_id), participant.get("id"), this_peer, stream),
                             stream_samples))
    return stacked_samples("peer_report_series", runs, ("session_id", "participant_id", "peer_id", "stream"),
                           report=report, aside={"peer_id": "remote_peer_id"})


def peer_report_series_frame(payload: Any, *, peer_id: str | None = None,
                             session_id: str | None = None) -> pd.DataFrame:
    """The report's per-sample lists as one long frame: ``session_id, participant_id, peer_id, stream,
    timestamp`` …

    ``stream`` is the list's name (``"audio_producer"``, ``"screenshare_video_consumer"`` …). A consumer
    sample's own ``peer_id`` (whose media it received) is ``remote_peer_id``. Counters (``bytes_*``,
    ``packets_*``, ``frames_encoded`` …) are cumulative since the stream started. ``session_id`` fills the
    column when the report does not carry it (the report's participant usually does).

    Example:
        >>> payload = {"data": {"participant": {"id": "p1", "peer_report": {"quality": {
        ...     "audio_producer": [{"timestamp": "2023-02-01T10:51:15Z", "rtt": 0.031, "bytes_sent": 2**60}],
        ...     "video_consumer": [{"timestamp": "2023-02-01T10:51:15Z", "peer_id": "peer-2"}]}}}}}
        >>> series = peer_report_series_frame(payload, peer_id="peer-1")
        >>> series[["stream", "remote_peer_id"]].to_dict("list")
        {'stream': ['audio_producer', 'video_consumer'], 'remote_peer_id': [nan, 'peer-2']}
        >>> int(series["bytes_sent"][0]) == 2**60
        True
    """
    return peer_report_series_rows(payload, peer_id=peer_id, session_id=session_id).frame()
