"""Sessions: the sessions list, one session's details, and its breakout rooms as a child frame.

Each accepts a whole response (``{"data": …, "success": …}``), its ``data``, an official ``cloudflare``
SDK response model, or a list of any of those (one frame for the batch). Session details may be flat
under ``data`` (SDK) or under ``data.session`` (the reference's example).

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     sessions = rtk.sessions_frame(api.client().get_sessions())
    >>> sessions["created_at"].dtype
    datetime64[us, UTC]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rtk_frames.frames._coerce import (
    CoercionReport,
    flatten_record,
    make_frame,
    normalized,
    plain,
    records_to_columns,
    unwrap_items,
)

__all__ = ["breakout_rooms_frame", "session_frame", "sessions_frame"]

_BREAKOUT_KEY = "breakout_rooms"


def _session_items(payload: Any) -> list[dict]:
    return unwrap_items(payload, "sessions", single_keys=("session",))


def _session_record(item: dict) -> dict[str, Any]:
    record = _keyed(flatten_record(item, skip=(_BREAKOUT_KEY,)))
    rooms = plain(normalized(item).get(_BREAKOUT_KEY))
    record["breakout_rooms_count"] = len(rooms) if isinstance(rooms, list | tuple) else None
    return record


def _keyed(record: dict[str, Any]) -> dict[str, Any]:
    """The wire's ``id`` of a session (or breakout room) as ``session_id``, first."""
    return {"session_id": record.pop("id", None), **record}


def _sessions(payload: Any, name: str) -> pd.DataFrame:
    records = [_session_record(item) for item in _session_items(payload)]
    return make_frame(name, records_to_columns(records), report=CoercionReport(f"{name}_frame"))


def sessions_frame(payload: Any) -> pd.DataFrame:
    """One row per session of a ``get_sessions`` response (or a list of pages).

    Columns: ``session_id`` (the wire's ``id``), ``associated_id, meeting_display_name, status, type,
    organization_id, created_at, started_at, ended_at, updated_at, live_participants,
    max_concurrent_participants, minutes_consumed, breakout_rooms_count`` and any unknown fields after
    them (``meta`` flattened as ``meta_*``).

    Example:
        >>> page = {"data": {"sessions": [{"id": "s1", "started_at": "2023-02-01T10:50:00Z"}]},
        ...         "success": True}
        >>> sessions_frame(page)[["session_id", "started_at"]].iloc[0].tolist()
        ['s1', Timestamp('2023-02-01 10:50:00+0000', tz='UTC')]
    """
    return _sessions(payload, "sessions")


def session_frame(payload: Any) -> pd.DataFrame:
    """One row for a ``get_session_details`` response (flat under ``data`` or under ``data.session``).

    Same columns as :func:`sessions_frame`; the breakout rooms are counted in ``breakout_rooms_count``
    and listed by :func:`breakout_rooms_frame`.

    Example:
        >>> session_frame({"data": {"session": {"id": "s1", "breakout_rooms": [{}, {}]}}})[
        ...     "breakout_rooms_count"].tolist()
        [2]
    """
    return _sessions(payload, "session")


def breakout_rooms_frame(payload: Any) -> pd.DataFrame:
    """The breakout rooms of one or more sessions: one row per room, keyed by ``parent_session_id``.

    ``breakout_room_index`` is the room's position in its parent's list; the room's own fields follow
    with the session columns' names and dtypes (the room's own id is ``session_id``: a room is a session;
    unknown fields as extra columns).

    Example:
        >>> rooms = breakout_rooms_frame({"data": {"id": "s1", "breakout_rooms": [{"id": "r1"}]}})
        >>> rooms[["parent_session_id", "session_id"]].iloc[0].tolist(), int(rooms["breakout_room_index"][0])
        (['s1', 'r1'], 0)
    """
    records = []
    for item in _session_items(payload):
        session = normalized(item)
        rooms = plain(session.get(_BREAKOUT_KEY))
        if not isinstance(rooms, list | tuple):
            continue
        for index, room in enumerate(rooms):
            room = plain(room)
            record = _keyed(flatten_record(room) if isinstance(room, dict) else {"id": room})
            record["parent_session_id"] = session.get("id")
            record["breakout_room_index"] = index
            records.append(record)
    report = CoercionReport("breakout_rooms_frame")
    return make_frame("breakout_rooms", records_to_columns(records), report=report)
