"""fetch_* = one client call (paging included) + one flattener. Nothing else lives here.

Every ``fetch_*`` returning a frame takes ``raw=False``; with ``raw=True`` it returns
``FrameWithRaw(frame, raw)`` where ``raw`` is exactly what the API sent: the response dict, the list of
page dicts for paged listings, or the :class:`rtk_frames.client.DownloadedFile` (bytes + the JSON that
named its URL) for chat and transcripts. Type checkers know which: ``raw=True`` -> ``FrameWithRaw``,
otherwise ``pandas.DataFrame``.

**Several frames from one request.** One answer often holds several frames (participant details hold
the participant row, its quality samples and segments, and its events; a peer report holds the cumulative
row and the series). :func:`fetch_frames` makes one request and applies every flattener its row of
:data:`rtk_frames.endpoints.ENDPOINTS` names, or keep the answer with ``raw=True`` and flatten it again::

    row, details = rtk.fetch_participant(client, sid, pid, filters=["quality_stats"], raw=True)
    samples = rtk.quality_stats_frame(details, session_id=sid)

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     sessions, pages = rtk.fetch_sessions(api.client(), raw=True)
    >>> len(sessions) == sum(len(p["data"]["sessions"]) for p in pages)
    True
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import pandas as pd

from rtk_frames.endpoints import ENDPOINTS
from rtk_frames.frames.media import chat_frame, transcript_frame
from rtk_frames.frames.participants import participant_frame, participants_frame, peer_events_frame
from rtk_frames.frames.peer_report import peer_report_frame, peer_report_series_frame
from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame
from rtk_frames.frames.sessions import breakout_rooms_frame, session_frame, sessions_frame

if TYPE_CHECKING:
    from rtk_frames.client import Client

__all__ = [
    "FrameWithRaw",
    "fetch_breakout_rooms",
    "fetch_chat",
    "fetch_frames",
    "fetch_participant",
    "fetch_participants",
    "fetch_peer_events",
    "fetch_peer_report",
    "fetch_peer_report_series",
    "fetch_quality_segments",
    "fetch_quality_stats",
    "fetch_session",
    "fetch_sessions",
    "fetch_summary",
    "fetch_transcript",
    "generate_summary",
]

#: the participant-details filter that asks for the quality time series (plus what a reader needs with it)
QUALITY_STATS_FILTERS = ("quality_stats",)
_UTF8_BOM = "\ufeff"
#: what a fetcher may know about its answer and pass on to a flattener that takes it
_CONTEXT_KEYWORDS = ("session_id", "peer_id")
TranscriptFormat = Literal["CSV", "JSON", "SRT", "VTT"]


class FrameWithRaw(NamedTuple):
    """A frame and the raw API answer it was built from (``fetch_*(…, raw=True)``).

    Example:
        >>> import pandas as pd
        >>> result = FrameWithRaw(pd.DataFrame({"session_id": ["a"]}), {"success": True})
        >>> frame, raw = result
        >>> raw["success"], result
        (True, FrameWithRaw(frame=<DataFrame 1 rows x 1 columns>, raw=<dict>))
    """

    frame: pd.DataFrame
    raw: Any

    def __repr__(self) -> str:  # a notebook cell showing this should not print every raw page
        rows, columns = self.frame.shape
        raw = f"<{len(self.raw)} pages>" if isinstance(self.raw, list) else f"<{type(self.raw).__name__}>"
        return f"FrameWithRaw(frame=<DataFrame {rows} rows x {columns} columns>, raw={raw})"


def _result(frame: pd.DataFrame, raw_payload: Any, raw: bool) -> pd.DataFrame | FrameWithRaw:
    return FrameWithRaw(frame, raw_payload) if raw else frame


@functools.cache
def _accepted_context(flattener: Callable[..., pd.DataFrame]) -> frozenset[str]:
    parameters = inspect.signature(flattener).parameters
    return frozenset(name for name in _CONTEXT_KEYWORDS if name in parameters)


def _flatten(flattener: Callable[..., pd.DataFrame], payload: Any, **context: str | None) -> pd.DataFrame:
    """``flattener(payload)`` with the ids the fetcher knows (``session_id``, ``peer_id``) passed on to a
    flattener that takes them: the one place that decides, for fetchers and :func:`fetch_frames` alike."""
    accepted = _accepted_context(flattener)
    return flattener(payload, **{k: v for k, v in context.items() if k in accepted and v is not None})


@functools.cache
def _resolve(target: str) -> Callable[..., pd.DataFrame]:
    module, _, name = target.partition(":")
    function: Callable[..., pd.DataFrame] = getattr(importlib.import_module(module), name)
    return function


def _pages(client: Client, endpoint: str, *, per_page: int, max_pages: int | None,
           **params: Any) -> list[dict[str, Any]]:
    return list(client.paginate(endpoint, per_page=per_page, max_pages=max_pages, **params))


@overload
def fetch_sessions(
    client: Client, *, status: str | None = ..., start_time: str | dt.datetime | None = ...,
    end_time: str | dt.datetime | None = ..., associated_id: str | None = ..., search: str | None = ...,
    sort_by: str | None = ..., sort_order: str | None = ..., per_page: int = ..., max_pages: int | None = ...,
    raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_sessions(
    client: Client, *, status: str | None = ..., start_time: str | dt.datetime | None = ...,
    end_time: str | dt.datetime | None = ..., associated_id: str | None = ..., search: str | None = ...,
    sort_by: str | None = ..., sort_order: str | None = ..., per_page: int = ..., max_pages: int | None = ...,
    raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_sessions(
    client: Client, *, status: str | None = ..., start_time: str | dt.datetime | None = ...,
    end_time: str | dt.datetime | None = ..., associated_id: str | None = ..., search: str | None = ...,
    sort_by: str | None = ..., sort_order: str | None = ..., per_page: int = ..., max_pages: int | None = ...,
    raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_sessions(
    client: Client,
    *,
    status: str | None = None,
    start_time: str | dt.datetime | None = None,
    end_time: str | dt.datetime | None = None,
    associated_id: str | None = None,
    search: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    per_page: int = 100,
    max_pages: int | None = None,
    raw: bool = False,
) -> pd.DataFrame | FrameWithRaw:
    """Every session matching the filters (all pages, or ``max_pages``) as :func:`sessions_frame`.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     ended = rtk.fetch_sessions(api.client(), status="ENDED")
        >>> set(ended["status"]) <= {"ENDED"}, ended["session_id"].is_unique
        (True, True)
    """
    pages = _pages(client, "get_sessions", per_page=per_page, max_pages=max_pages, status=status,
                   start_time=start_time, end_time=end_time, associated_id=associated_id, search=search,
                   sort_by=sort_by, sort_order=sort_order)
    return _result(_flatten(sessions_frame, pages), pages, raw)


@overload
def fetch_session(client: Client, session_id: str, *, include_breakout_rooms: bool = ...,
                  raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_session(client: Client, session_id: str, *, include_breakout_rooms: bool = ...,
                  raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_session(client: Client, session_id: str, *, include_breakout_rooms: bool = ...,
                  raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_session(
    client: Client, session_id: str, *, include_breakout_rooms: bool = False, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """One session's details as a one-row :func:`session_frame` (rooms counted in ``breakout_rooms_count``).

    The rooms themselves: :func:`fetch_breakout_rooms`.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> with serve(ds) as api:
        ...     one = rtk.fetch_session(api.client(), sid)
        >>> one["session_id"].tolist() == [sid]
        True
    """
    payload = client.get_session_details(session_id, include_breakout_rooms=include_breakout_rooms or None)
    return _result(_flatten(session_frame, payload, session_id=session_id), payload, raw)


@overload
def fetch_breakout_rooms(client: Client, session_id: str, *, raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_breakout_rooms(client: Client, session_id: str, *, raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_breakout_rooms(client: Client, session_id: str, *, raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_breakout_rooms(
    client: Client, session_id: str, *, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A session's breakout rooms, one row per room (:func:`breakout_rooms_frame`; none: an empty frame).

    One request: the session's details with ``include_breakout_rooms=true``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> parent = next(iter(ds.breakout_rooms))
        >>> with serve(ds) as api:
        ...     rooms = rtk.fetch_breakout_rooms(api.client(), parent)
        >>> set(rooms["parent_session_id"]) == {parent}, len(rooms) == len(ds.breakout_rooms[parent])
        (True, True)
    """
    payload = client.get_session_details(session_id, include_breakout_rooms=True)
    return _result(_flatten(breakout_rooms_frame, payload, session_id=session_id), payload, raw)


@overload
def fetch_participants(
    client: Client, session_id: str, *, view: str | None = ..., include_peer_events: bool = ...,
    search: str | None = ..., sort_by: str | None = ..., sort_order: str | None = ..., per_page: int = ...,
    max_pages: int | None = ..., raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_participants(
    client: Client, session_id: str, *, view: str | None = ..., include_peer_events: bool = ...,
    search: str | None = ..., sort_by: str | None = ..., sort_order: str | None = ..., per_page: int = ...,
    max_pages: int | None = ..., raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_participants(
    client: Client, session_id: str, *, view: str | None = ..., include_peer_events: bool = ...,
    search: str | None = ..., sort_by: str | None = ..., sort_order: str | None = ..., per_page: int = ...,
    max_pages: int | None = ..., raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_participants(
    client: Client,
    session_id: str,
    *,
    view: str | None = None,
    include_peer_events: bool = False,
    search: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    per_page: int = 100,
    max_pages: int | None = None,
    raw: bool = False,
) -> pd.DataFrame | FrameWithRaw:
    """Every participant of a session (all pages, or ``max_pages``) as :func:`participants_frame`.

    With ``include_peer_events=True`` the events are counted in ``peer_events_count``; the events as
    rows: :func:`fetch_peer_events`.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> with serve(ds) as api:
        ...     people = rtk.fetch_participants(api.client(), sid)
        >>> set(people["session_id"]) == {sid}, people["participant_id"].is_unique
        (True, True)
    """
    pages = _pages(client, "get_session_participants", per_page=per_page, max_pages=max_pages,
                   session_id=session_id, view=view, include_peer_events=include_peer_events or None,
                   search=search, sort_by=sort_by, sort_order=sort_order)
    return _result(_flatten(participants_frame, pages, session_id=session_id), pages, raw)


@overload
def fetch_peer_events(client: Client, session_id: str, *, per_page: int = ..., max_pages: int | None = ...,
                      raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_peer_events(client: Client, session_id: str, *, per_page: int = ..., max_pages: int | None = ...,
                      raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_peer_events(client: Client, session_id: str, *, per_page: int = ..., max_pages: int | None = ...,
                      raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_peer_events(
    client: Client, session_id: str, *, per_page: int = 100, max_pages: int | None = None, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """Every participant's connection lifecycle events in a session, one row per event
    (:func:`peer_events_frame`), from the participants listing with ``include_peer_events=true``.

    One participant's events come with its details: ``fetch_frames(client,
    "get_session_participant_details", sid, pid, include_peer_events=True)["peer_events"]``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> with serve(ds) as api:
        ...     events = rtk.fetch_peer_events(api.client(), sid)
        >>> set(events["session_id"]) == {sid}, set(events["source"])
        (True, {'peer_events'})
    """
    pages = _pages(client, "get_session_participants", per_page=per_page, max_pages=max_pages,
                   session_id=session_id, include_peer_events=True)
    return _result(_flatten(peer_events_frame, pages, session_id=session_id), pages, raw)


@overload
def fetch_participant(client: Client, session_id: str, participant_id: str, *,
                      filters: str | Iterable[str] | None = ...,
                      raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_participant(client: Client, session_id: str, participant_id: str, *,
                      filters: str | Iterable[str] | None = ..., raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_participant(client: Client, session_id: str, participant_id: str, *,
                      filters: str | Iterable[str] | None = ...,
                      raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_participant(
    client: Client,
    session_id: str,
    participant_id: str,
    *,
    filters: str | Iterable[str] | None = None,
    raw: bool = False,
) -> pd.DataFrame | FrameWithRaw:
    """One participant's details as one wide row (:func:`participant_frame`): device, IP, pre-call network.

    ``filters`` is passed to the API as is (e.g. ``["device_info", "precall_network_information"]``).

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> pid = ds.participants[sid][0]["id"]
        >>> with serve(ds) as api:
        ...     row = rtk.fetch_participant(api.client(), sid, pid)
        >>> row["participant_id"].tolist() == [pid], row["session_id"].tolist() == [sid]
        (True, True)
    """
    payload = client.get_session_participant_details(session_id, participant_id, filters=filters)
    return _result(_flatten(participant_frame, payload, session_id=session_id), payload, raw)


def _quality_details(client: Client, session_id: str, participant_id: str) -> dict[str, Any]:
    return client.get_session_participant_details(session_id, participant_id,
                                                  filters=list(QUALITY_STATS_FILTERS))


@overload
def fetch_quality_stats(client: Client, session_id: str, participant_id: str, *,
                        raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_quality_stats(client: Client, session_id: str, participant_id: str, *,
                        raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_quality_stats(client: Client, session_id: str, participant_id: str, *,
                        raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_quality_stats(
    client: Client, session_id: str, participant_id: str, *, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A participant's quality time series (audio and video samples) as :func:`quality_stats_frame`.

    The per-segment summaries of the same answer: :func:`fetch_quality_segments`, or both from one
    request with ``fetch_frames(client, "get_session_participant_details", sid, pid,
    filters=["quality_stats"])``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> pid = ds.participants[sid][0]["id"]
        >>> with serve(ds) as api:
        ...     stats = rtk.fetch_quality_stats(api.client(), sid, pid)
        >>> set(stats["participant_id"]) <= {pid}, set(stats["session_id"]) <= {sid}
        (True, True)
    """
    payload = _quality_details(client, session_id, participant_id)
    return _result(_flatten(quality_stats_frame, payload, session_id=session_id), payload, raw)


@overload
def fetch_quality_segments(client: Client, session_id: str, participant_id: str, *,
                           raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_quality_segments(client: Client, session_id: str, participant_id: str, *,
                           raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_quality_segments(client: Client, session_id: str, participant_id: str, *,
                           raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_quality_segments(
    client: Client, session_id: str, participant_id: str, *, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A participant's quality segments, one row per segment with its summary metrics
    (:func:`quality_segments_frame`); the same request as :func:`fetch_quality_stats`.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> pid = next(p["id"] for p in ds.participants[sid]
        ...            if ds.details.get(p["id"], {}).get("quality_stats"))
        >>> with serve(ds) as api:
        ...     segments = rtk.fetch_quality_segments(api.client(), sid, pid)
        >>> len(segments) == len(ds.details[pid]["quality_stats"]), set(segments["participant_id"]) == {pid}
        (True, True)
    """
    payload = _quality_details(client, session_id, participant_id)
    return _result(_flatten(quality_segments_frame, payload, session_id=session_id), payload, raw)


@overload
def fetch_peer_report(client: Client, peer_id: str, *, filters: str | Iterable[str] | None = ...,
                      raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_peer_report(client: Client, peer_id: str, *, filters: str | Iterable[str] | None = ...,
                      raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_peer_report(client: Client, peer_id: str, *, filters: str | Iterable[str] | None = ...,
                      raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_peer_report(
    client: Client, peer_id: str, *, filters: str | Iterable[str] | None = None, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A peer's report as one wide row (:func:`peer_report_frame`), ``peer_id`` filled in.

    The per-sample series of the same answer: :func:`fetch_peer_report_series`, or both from one request
    with ``fetch_frames(client, "get_participant_data_from_peer_id", peer_id)``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> peer = next(iter(ds.peer_reports))
        >>> with serve(ds) as api:
        ...     report = rtk.fetch_peer_report(api.client(), peer)
        >>> report["peer_id"].tolist() == [peer]
        True
    """
    payload = client.get_participant_data_from_peer_id(peer_id, filters=filters)
    return _result(_flatten(peer_report_frame, payload, peer_id=peer_id), payload, raw)


@overload
def fetch_peer_report_series(client: Client, peer_id: str, *, filters: str | Iterable[str] | None = ...,
                             raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_peer_report_series(client: Client, peer_id: str, *, filters: str | Iterable[str] | None = ...,
                             raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_peer_report_series(client: Client, peer_id: str, *, filters: str | Iterable[str] | None = ...,
                             raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_peer_report_series(
    client: Client, peer_id: str, *, filters: str | Iterable[str] | None = None, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A peer report's per-sample lists as one long frame, one row per sample and ``stream``
    (:func:`peer_report_series_frame`); the same request as :func:`fetch_peer_report`.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> peer = next(iter(ds.peer_reports))
        >>> with serve(ds) as api:
        ...     series = rtk.fetch_peer_report_series(api.client(), peer)
        >>> set(series["peer_id"]) == {peer}, "audio_producer" in set(series["stream"])
        (True, True)
    """
    payload = client.get_participant_data_from_peer_id(peer_id, filters=filters)
    return _result(_flatten(peer_report_series_frame, payload, peer_id=peer_id), payload, raw)


def fetch_frames(client: Client, endpoint: str, *ids: str, per_page: int = 100, max_pages: int | None = None,
                 **params: Any) -> dict[str, pd.DataFrame]:
    """Every frame of one answer: one request (all pages of a listing), then each flattener that the
    endpoint's row in :data:`rtk_frames.endpoints.ENDPOINTS` names, keyed by schema name.

    ``ids`` fill the endpoint's path (e.g. ``session_id, participant_id``); ``params`` are its query
    parameters. The ids the request names are passed on to the flatteners that take them.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> pid = ds.participants[sid][0]["id"]
        >>> with serve(ds) as api:
        ...     frames = rtk.fetch_frames(api.client(), "get_session_participant_details", sid, pid,
        ...                               filters=["quality_stats"], include_peer_events=True)
        ...     asked = [r.endpoint for r in api.request_log]
        >>> sorted(frames)
        ['participant', 'peer_events', 'quality_segments', 'quality_stats']
        >>> asked
        ['get_session_participant_details']
    """
    row = ENDPOINTS.get(endpoint)
    if row is None or not row.frames or row.download_keys:
        choices = sorted(name for name, r in ENDPOINTS.items() if r.frames and not r.download_keys)
        raise ValueError(f"fetch_frames() takes one of {choices}, not {endpoint!r}")
    if len(ids) != len(row.path_fields):
        raise TypeError(f"{endpoint} needs {len(row.path_fields)} ids ({', '.join(row.path_fields)}), "
                        f"got {len(ids)}")
    known = dict(zip(row.path_fields, ids, strict=True))
    payload: Any
    if row.items_key:
        payload = _pages(client, endpoint, per_page=per_page, max_pages=max_pages, **known, **params)
    else:
        payload = getattr(client, endpoint)(*ids, **params)
    context = {name: known.get(name) for name in _CONTEXT_KEYWORDS}
    return {schema: _flatten(_resolve(target), payload, **context)
            for target, schema in zip(row.frames, row.schemas, strict=True)}


@overload
def fetch_chat(client: Client, session_id: str, *, raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_chat(client: Client, session_id: str, *, raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_chat(client: Client, session_id: str, *, raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_chat(client: Client, session_id: str, *, raw: bool = False) -> pd.DataFrame | FrameWithRaw:
    """The session's chat export, downloaded and parsed (:func:`rtk_frames.chat_frame`).

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> with serve(ds) as api:
        ...     chat = rtk.fetch_chat(api.client(), sid)
        >>> "text" in chat.columns, set(chat["session_id"]) == {sid}
        (True, True)
    """
    downloaded = client.download_session_file("chat", session_id)
    return _result(_flatten(chat_frame, downloaded.content, session_id=session_id), downloaded, raw)


@overload
def fetch_transcript(client: Client, session_id: str, *, format: TranscriptFormat = ...,
                     session_started_at: str | dt.datetime | pd.Timestamp | None = ...,
                     raw: Literal[False] = ...) -> pd.DataFrame: ...
@overload
def fetch_transcript(client: Client, session_id: str, *, format: TranscriptFormat = ...,
                     session_started_at: str | dt.datetime | pd.Timestamp | None = ...,
                     raw: Literal[True]) -> FrameWithRaw: ...
@overload
def fetch_transcript(client: Client, session_id: str, *, format: TranscriptFormat = ...,
                     session_started_at: str | dt.datetime | pd.Timestamp | None = ...,
                     raw: bool) -> pd.DataFrame | FrameWithRaw: ...
def fetch_transcript(
    client: Client,
    session_id: str,
    *,
    format: TranscriptFormat = "JSON",
    session_started_at: str | dt.datetime | pd.Timestamp | None = None,
    raw: bool = False,
) -> pd.DataFrame | FrameWithRaw:
    """The session's transcript in ``format`` (JSON by default; CSV, SRT, VTT), downloaded and parsed.

    JSON is the default because it is the form with each utterance's end time: ``talk_time`` on it is
    measured, while on the CSV forms (start times only) it has to estimate every utterance's length.

    Utterance times are offsets from the session's start; to place them in UTC the session's
    ``started_at`` is needed: pass ``session_started_at`` or it is asked from the API (one more call).

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> with serve(ds) as api:
        ...     words = rtk.fetch_transcript(api.client(), sid, format="VTT")
        >>> "text" in words.columns, set(words["session_id"]) == {sid}
        (True, True)
    """
    if session_started_at is None:
        started = session_frame(client.get_session_details(session_id))["started_at"]
        session_started_at = started.iloc[0] if len(started) and pd.notna(started.iloc[0]) else None
    downloaded = client.download_session_file("transcript", session_id, format=format)
    frame = transcript_frame(downloaded.content, format=format, session_started_at=session_started_at,
                             session_id=session_id)
    return _result(frame, downloaded, raw)


def fetch_summary(client: Client, session_id: str) -> str:
    """The session's AI summary as text (UTF-8, a BOM removed). NotFoundError if none was generated.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> sid = ds.sessions[0]["id"]
        >>> with serve(ds) as api:
        ...     rtk.generate_summary(api.client(), sid)
        ...     isinstance(rtk.fetch_summary(api.client(), sid), str)
        True
    """
    downloaded = client.download_session_file("summary", session_id)
    return downloaded.content.decode("utf-8", errors="replace").removeprefix(_UTF8_BOM)


def generate_summary(client: Client, session_id: str) -> None:
    """Ask the service to generate the session's summary from its transcript (read it with fetch_summary).

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> ds = Dataset.from_samples()
        >>> with serve(ds) as api:
        ...     rtk.generate_summary(api.client(), ds.sessions[0]["id"]) is None
        True
    """
    client.generate_summary_of_transcripts(session_id)
