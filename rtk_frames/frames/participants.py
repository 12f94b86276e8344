"""Participants: the participants list, one participant's details (one wide row), and peer events.

Inputs: a whole response, its ``data``, an official ``cloudflare`` SDK response model, or a list of any of
them. Both documented shapes are read: the SDK's (``peer_events``) and the reference's example
(``peer_stats`` with ``device_info``, ``ip_information``, ``precall_network_information``, ``events``).

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     session_id = rtk.fetch_sessions(api.client())["session_id"][0]
    ...     people = rtk.participants_frame(api.client().get_session_participants(session_id))
    >>> str(people["joined_at"].dtype)
    'datetime64[us, UTC]'
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
    unwrap_items,
)

__all__ = ["participant_frame", "participants_frame", "peer_events_frame"]

# blocks of a participant that are child tables elsewhere (or the wide blocks of participant_frame)
_CHILD_BLOCKS = ("peer_events", "peer_stats", "peer_report", "quality_stats")


def participant_items(payload: Any) -> list[dict]:
    """The participant objects in a participants list, a participant-details or a peer-report payload."""
    return unwrap_items(payload, "participants", single_keys=("participant",))


def _count(value: Any) -> int | None:
    value = plain(value)
    return len(value) if isinstance(value, list | tuple) else None


def _base_record(item: dict, session_id: str | None) -> dict[str, Any]:
    record = flatten_record(item, skip=_CHILD_BLOCKS)
    record = {"participant_id": record.pop("id", None), **record}  # the wire's `id`
    if record.get("session_id") is None and session_id is not None:
        record["session_id"] = session_id
    return record


def participants_rows(payload: Any, *, session_id: str | None = None) -> Flat:
    """The rows of :func:`participants_frame`, not yet built: ``.frame()`` gives the frame, ``.table()``
    the same rows as Arrow (what the dataset writes).

    Example:
        >>> page = {"data": {"participants": [{"id": "p1"}, {"id": "p2"}]}}
        >>> len(participants_rows(page, session_id="s1"))
        2
    """
    records = []
    for item in participant_items(payload):
        record = _base_record(item, session_id)
        record["peer_events_count"] = _count(normalized(item).get("peer_events"))
        records.append(record)
    return Flat("participants", records_to_columns(records), CoercionReport("participants_frame"))


def participants_frame(payload: Any, *, session_id: str | None = None) -> pd.DataFrame:
    """One row per participant of a ``get_session_participants`` response (or a list of pages).

    Columns: ``participant_id`` (the wire's ``id``, also the peer id), ``session_id, user_id,
    custom_participant_id, display_name, preset_name, joined_at, left_at, created_at, updated_at,
    duration`` (minutes), ``peer_events_count`` (when peer events were included; the events themselves
    are in :func:`peer_events_frame`), then unknown fields.
    ``session_id`` fills the column when the payload does not carry it.

    Example:
        >>> page = {"data": {"participants": [{"id": "p1", "duration": "6.9263"}]}, "success": True}
        >>> row = participants_frame(page, session_id="s1").iloc[0]
        >>> row["participant_id"], row["session_id"], float(row["duration"])
        ('p1', 's1', 6.9263)
    """
    return participants_rows(payload, session_id=session_id).frame()


def _peer_stats_record(peer_stats: Any) -> dict[str, Any]:
    stats = normalized(peer_stats)
    record: dict[str, Any] = {}
    for key, value in stats.items():
        if key == "events":
            continue
        value = plain(value)
        if key == "config" and isinstance(value, dict | list):
            record[key] = value  # kept whole: text column, JSON
        elif isinstance(value, dict):  # device_info, ip_information, precall_network_information, …
            flatten_record(value, key, out=record)
        else:
            record[key] = value
    return record


def participant_rows(payload: Any, *, session_id: str | None = None) -> Flat:
    """The rows of :func:`participant_frame`, not yet built: ``.frame()`` gives the frame, ``.table()``
    the same rows as Arrow (what the dataset writes).

    Example:
        >>> payload = {"data": {"participant": {"id": "p1"}}}
        >>> participant_rows(payload).table().num_rows
        1
    """
    records = []
    for item in participant_items(payload):
        fields = normalized(item)
        record = _base_record(item, session_id)
        stats = fields.get("peer_stats")
        record.update(_peer_stats_record(stats))
        events = fields.get("peer_events")
        if events is None:
            events = normalized(stats).get("events")
        record["peer_events_count"] = _count(events)
        record["quality_segments_count"] = _count(fields.get("quality_stats"))
        records.append(record)
    return Flat("participant", records_to_columns(records), CoercionReport("participant_frame"))


def participant_frame(payload: Any, *, session_id: str | None = None) -> pd.DataFrame:
    """One wide row per participant of a ``get_session_participant_details`` response.

    The participant's columns, then ``role, status, config``, ``device_info_*``, ``ip_information_*``,
    ``precall_network_information_*`` (the wire's ``throughtput`` and ``effective_networktype`` folded
    into ``throughput`` and ``effective_network_type``), ``peer_events_count`` and
    ``quality_segments_count``. The time series are in :func:`rtk_frames.quality_stats_frame`.

    Example:
        >>> details = {"data": {"participant": {"id": "p1", "peer_stats": {
        ...     "device_info": {"browser": "Chrome", "webgl_support": "true"},
        ...     "precall_network_information": {"throughtput": 870}}}}}
        >>> row = participant_frame(details).iloc[0]
        >>> row["device_info_browser"], bool(row["device_info_webgl_support"])
        ('Chrome', True)
        >>> float(row["precall_network_information_throughput"])
        870.0
    """
    return participant_rows(payload, session_id=session_id).frame()


# --------------------------------------------------------------------------------------------- events
# an event's own participant_id holds a user id in the demo data and the sandbox (undocumented): it is
# kept as event_user_id, not as a key column; participant_id is always the enclosing participant's id
_SDK_EVENT_RENAMES = {"id": "event_id", "event_name": "event", "created_at": "timestamp",
                      "participant_id": "event_user_id"}
_STATS_EVENT_RENAMES = {"type": "event", "name": "event", "participant_id": "event_user_id"}


def _event_rows(item: dict, session_id: str | None) -> list[dict[str, Any]]:
    fields = normalized(item)
    participant_id = fields.get("id")
    context = {"session_id": fields.get("session_id") or session_id}
    report_block = normalized(fields.get("peer_report"))
    sources = [
        ("peer_events", fields.get("peer_events"), _SDK_EVENT_RENAMES),
        ("peer_stats", normalized(fields.get("peer_stats")).get("events"), _STATS_EVENT_RENAMES),
        ("peer_report", normalized(report_block.get("metadata")).get("events"), _STATS_EVENT_RENAMES),
    ]
    rows = []
    for source, events, renames in sources:
        events = plain(events)
        if not isinstance(events, list | tuple):
            continue
        for event in events:
            flat = flatten_record(plain(event)) if isinstance(plain(event), dict) else {"event": event}
            row = {renames.get(key, key): value for key, value in flat.items()}
            row["participant_id"] = participant_id
            if row.get("session_id") is None:
                row["session_id"] = context["session_id"]
            row["source"] = source
            rows.append(row)
    return rows


def peer_events_rows(payload: Any, *, session_id: str | None = None) -> Flat:
    """The rows of :func:`peer_events_frame`, not yet built: ``.frame()`` gives the frame, ``.table()``
    the same rows as Arrow (what the dataset writes).

    Example:
        >>> payload = {"data": {"participant": {"id": "p1", "peer_events": [{"event_name": "PEER_JOINING"}]}}}
        >>> peer_events_rows(payload).table().num_rows
        1
    """
    rows = [row for item in participant_items(payload) for row in _event_rows(item, session_id)]
    return Flat("peer_events", records_to_columns(rows), CoercionReport("peer_events_frame"))


def peer_events_frame(payload: Any, *, session_id: str | None = None) -> pd.DataFrame:
    """Connection lifecycle events: one row per event, with its ``timestamp``, ``event`` name and ``source``.

    Sources: ``"peer_events"`` (SDK: ``created_at`` -> ``timestamp``, ``event_name`` -> ``event``,
    ``id`` -> ``event_id``; its own undocumented ``participant_id``, a user id in the data seen so far,
    -> ``event_user_id``), ``"peer_stats"``
    (``peer_stats.events``: ``type`` -> ``event``) and ``"peer_report"`` (``peer_report.metadata.events``:
    ``name`` -> ``event``). Event metadata is flattened into extra columns
    (``metadata_connection_info_rtt`` …). ``participant_id`` is the enclosing participant's ``id`` (it
    joins to ``participants_frame``'s ``participant_id``); ``session_id`` fills rows whose event and
    participant carry none. Works on participants lists, participant details and peer
    reports.

    Example:
        >>> details = {"data": {"participant": {"id": "p1", "peer_events": [
        ...     {"event_name": "PEER_JOINING", "created_at": "2023-02-01T10:50:36Z"}]}}}
        >>> peer_events_frame(details)[["participant_id", "source", "event"]].iloc[0].tolist()
        ['p1', 'peer_events', 'PEER_JOINING']
    """
    return peer_events_rows(payload, session_id=session_id).frame()
