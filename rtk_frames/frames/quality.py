"""Call quality from participant details: per-sample time series and per-segment summaries.

``quality_stats`` in participant details is a list of segments (one per peer connection), each with
``audio_stats`` and ``video_stats`` sample lists (~7 s apart). :func:`quality_stats_frame` is one long
frame of every sample (``kind`` = ``"audio"``/``"video"``, each row carrying its segment's ``peer_id``);
:func:`quality_segments_frame` is one row per segment with its summary metrics. A peer report's
``quality_stats`` (one object with ``peer_ids``) is read as one segment.

Built for volume: samples are collected as column lists in one pass per key and coerced in Arrow;
no per-row pandas (see ``benchmarks/flatten.py``).

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     people = rtk.fetch_participants(api.client(), rtk.fetch_sessions(api.client())["session_id"][0])
    ...     first = people.iloc[0]
    ...     stats = rtk.fetch_quality_stats(api.client(), first["session_id"], first["participant_id"])
    >>> sorted(stats["kind"].unique())
    ['audio', 'video']
"""

from __future__ import annotations

from collections.abc import Iterator
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

__all__ = ["quality_segments_frame", "quality_stats_frame"]

KINDS = ("audio", "video")
_CONTEXT_COLUMNS = ("session_id", "participant_id", "peer_id", "kind")


def session_of(participant: dict, session_id: str | None) -> Any:
    """The participant's own ``session_id`` when the payload has one, else the caller's (or ``None``)."""
    own = participant.get("session_id")
    return own if own is not None else session_id


def _segments(participant: dict, report: CoercionReport) -> Iterator[tuple[int, dict, Any]]:
    """(index, normalised segment, its peer id) for each quality segment of one participant; a segment
    that is not an object is counted (and read as an empty one)."""
    blocks = plain(participant.get("quality_stats"))
    if isinstance(blocks, dict):
        blocks = [blocks]
    if not isinstance(blocks, list | tuple):
        return
    for index, block in enumerate(blocks):
        if not isinstance(plain(block), dict):
            report.add("quality_stats", "segment not an object")
        segment = normalized(block)
        peer_id = segment.get("peer_id")
        if peer_id is None:
            peer_ids = plain(segment.get("peer_ids"))
            if isinstance(peer_ids, list | tuple) and len(peer_ids) == 1:
                peer_id = peer_ids[0]
            else:
                peer_id = participant.get("peer_id")
        yield index, segment, peer_id


def quality_stats_rows(payload: Any, *, session_id: str | None = None) -> Flat:
    """The rows of :func:`quality_stats_frame`, not yet built: ``.frame()`` gives the frame, ``.table()``
    the same rows as Arrow (what the dataset writes).

    Example:
        >>> segments = [{"audio_stats": [{"quality": 91}]}]
        >>> payload = {"data": {"participant": {"id": "p1", "quality_stats": segments}}}
        >>> quality_stats_rows(payload).table().num_rows
        1
    """
    report = CoercionReport("quality_stats_frame")
    runs: list[tuple[tuple[Any, Any, Any, str], Any]] = []  # ((session, participant, peer, kind), samples)
    for item in participant_items(payload):
        participant = normalized(item)
        for _, segment, peer_id in _segments(participant, report):
            for kind in KINDS:
                kind_samples = plain(segment.get(f"{kind}_stats"))
                if isinstance(kind_samples, list | tuple):
                    runs.append(((session_of(participant, session_id), participant.get("id"), peer_id,
                                  kind), kind_samples))
    return stacked_samples("quality_stats", runs, _CONTEXT_COLUMNS, report=report)


def quality_stats_frame(payload: Any, *, session_id: str | None = None) -> pd.DataFrame:
    """One row per quality sample (audio and video) of participant details' ``quality_stats``.

    Columns: ``session_id, participant_id, peer_id, kind, timestamp, quality`` (0–100), ``jitter`` (ms),
    ``packets_lost, concealment_events, frame_width, frame_height, frames_per_second, frames_dropped``
    (audio rows have NA video metrics and vice versa), then unknown sample fields. A list of payloads
    gives one frame for the batch. ``session_id`` fills the column when the payload does not carry it
    (participant details don't: :func:`rtk_frames.fetch_quality_stats` passes it).

    Example:
        >>> details = {"data": {"participant": {"id": "p1", "quality_stats": [{"peer_id": "peer-1",
        ...     "audio_stats": [{"timestamp": "2023-02-01T10:51:15Z", "quality": 91, "jitter": 2.5}],
        ...     "video_stats": [{"timestamp": "2023-02-01T10:51:15Z", "quality": 80, "frame_width": 640}]}]}}}
        >>> quality_stats_frame(details, session_id="s1")[["session_id", "kind", "quality"]].to_dict("list")
        {'session_id': ['s1', 's1'], 'kind': ['audio', 'video'], 'quality': [91.0, 80.0]}
    """
    return quality_stats_rows(payload, session_id=session_id).frame()


def quality_segments_rows(payload: Any, *, session_id: str | None = None) -> Flat:
    """The rows of :func:`quality_segments_frame`, not yet built: ``.frame()`` gives the frame, ``.table()``
    the same rows as Arrow (what the dataset writes).

    Example:
        >>> payload = {"data": {"participant": {"id": "p1", "quality_stats": [{"average_quality": 87.5}]}}}
        >>> quality_segments_rows(payload).table().num_rows
        1
    """
    records = []
    report = CoercionReport("quality_segments_frame")
    for item in participant_items(payload):
        participant = normalized(item)
        for index, segment, peer_id in _segments(participant, report):
            record = flatten_record(segment, skip=[f"{kind}_stats" for kind in KINDS])
            for kind in KINDS:
                kind_samples = plain(segment.get(f"{kind}_stats"))
                record[f"{kind}_samples_count"] = (
                    len(kind_samples) if isinstance(kind_samples, list | tuple) else None
                )
            record.update(session_id=session_of(participant, session_id),
                          participant_id=participant.get("id"), peer_id=peer_id, segment_index=index)
            records.append(record)
    return Flat("quality_segments", records_to_columns(records), report)


def quality_segments_frame(payload: Any, *, session_id: str | None = None) -> pd.DataFrame:
    """One row per ``quality_stats`` segment: its summary metrics and how many samples it holds.

    Columns: ``session_id, participant_id, peer_id, segment_index, start, end, average_quality`` (0–100),
    ``audio_bandwidth, video_bandwidth`` (kbit/s), ``audio_packet_loss, video_packet_loss`` (%),
    ``audio_samples_count, video_samples_count``, then unknown segment fields. ``session_id`` fills the
    column when the payload does not carry it.

    Example:
        >>> details = {"data": {"participant": {"id": "p1", "quality_stats": [
        ...     {"peer_id": "peer-1", "average_quality": "87.5", "audio_stats": [{}, {}]}]}}}
        >>> row = quality_segments_frame(details).iloc[0]
        >>> row["peer_id"], float(row["average_quality"]), int(row["audio_samples_count"])
        ('peer-1', 87.5, 2)
    """
    return quality_segments_rows(payload, session_id=session_id).frame()
