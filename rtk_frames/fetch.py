"""fetch_* = one client call (paging included) + one flattener. Nothing else lives here.

Every ``fetch_*`` returning a frame takes ``raw=False``; with ``raw=True`` it returns
``FrameWithRaw(frame, raw)`` where ``raw`` is exactly what the API sent: the response dict, the list of
page dicts for paged listings, or the :class:`rtk_frames.client.DownloadedFile` (bytes + the JSON that
named its URL) for chat and transcripts.

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
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from rtk_frames.frames.media import chat_frame, transcript_frame
from rtk_frames.frames.participants import participant_frame, participants_frame
from rtk_frames.frames.peer_report import peer_report_frame
from rtk_frames.frames.quality import quality_stats_frame
from rtk_frames.frames.sessions import session_frame, sessions_frame

if TYPE_CHECKING:
    from rtk_frames.client import Client

__all__ = [
    "FrameWithRaw",
    "fetch_chat",
    "fetch_participant",
    "fetch_participants",
    "fetch_peer_report",
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


class FrameWithRaw(NamedTuple):
    """A frame and the raw API answer it was built from (``fetch_*(…, raw=True)``).

    Example:
        >>> import pandas as pd
        >>> result = FrameWithRaw(pd.DataFrame({"id": ["a"]}), {"success": True})
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
        >>> set(ended["status"]) <= {"ENDED"}
        True
    """
    pages = list(client.paginate("get_sessions", per_page=per_page, max_pages=max_pages, status=status,
                                 start_time=start_time, end_time=end_time, associated_id=associated_id,
                                 search=search, sort_by=sort_by, sort_order=sort_order))
    return _result(sessions_frame(pages), pages, raw)


def fetch_session(
    client: Client, session_id: str, *, include_breakout_rooms: bool = False, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """One session's details as a one-row :func:`session_frame` (rooms counted in ``breakout_rooms_count``).

    For the rooms themselves: ``rtk.breakout_rooms_frame(fetch_session(…, raw=True).raw)``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     one = rtk.fetch_session(api.client(), sid)
        >>> one["session_id"].tolist() == [sid]
        True
    """
    payload = client.get_session_details(session_id, include_breakout_rooms=include_breakout_rooms or None)
    return _result(session_frame(payload), payload, raw)


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
    raw: bool = False,
) -> pd.DataFrame | FrameWithRaw:
    """Every participant of a session (all pages) as :func:`participants_frame`, ``session_id`` filled in.

    With ``include_peer_events=True`` the events are counted in ``peer_events_count``; get them as rows
    with ``rtk.peer_events_frame(fetch_participants(…, include_peer_events=True, raw=True).raw)``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     people = rtk.fetch_participants(api.client(), sid)
        >>> set(people["session_id"]) == {sid}
        True
    """
    pages = list(client.paginate("get_session_participants", per_page=per_page, session_id=session_id,
                                 view=view, include_peer_events=include_peer_events or None, search=search,
                                 sort_by=sort_by, sort_order=sort_order))
    return _result(participants_frame(pages, session_id=session_id), pages, raw)


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
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     pid = rtk.fetch_participants(api.client(), sid)["participant_id"][0]
        ...     row = rtk.fetch_participant(api.client(), sid, pid)
        >>> row["participant_id"].tolist() == [pid]
        True
    """
    payload = client.get_session_participant_details(session_id, participant_id, filters=filters)
    return _result(participant_frame(payload, session_id=session_id), payload, raw)


def fetch_quality_stats(
    client: Client, session_id: str, participant_id: str, *, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A participant's quality time series (audio and video samples) as :func:`quality_stats_frame`.

    The per-segment summaries of the same answer: ``rtk.quality_segments_frame(….raw)`` with ``raw=True``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     pid = rtk.fetch_participants(api.client(), sid)["participant_id"][0]
        ...     stats = rtk.fetch_quality_stats(api.client(), sid, pid)
        >>> set(stats["participant_id"]) <= {pid}
        True
    """
    payload = client.get_session_participant_details(session_id, participant_id,
                                                     filters=list(QUALITY_STATS_FILTERS))
    return _result(quality_stats_frame(payload, session_id=session_id), payload, raw)


def fetch_peer_report(
    client: Client, peer_id: str, *, filters: str | Iterable[str] | None = None, raw: bool = False
) -> pd.DataFrame | FrameWithRaw:
    """A peer's report as one wide row (:func:`peer_report_frame`), ``peer_id`` filled in.

    The per-sample series of the same answer: ``rtk.peer_report_series_frame(….raw, peer_id=peer_id)``.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     peer = rtk.fetch_participants(api.client(), sid)["participant_id"][0]
        ...     report = rtk.fetch_peer_report(api.client(), peer)
        >>> report["peer_id"].tolist() == [peer]
        True
    """
    payload = client.get_participant_data_from_peer_id(peer_id, filters=filters)
    return _result(peer_report_frame(payload, peer_id=peer_id), payload, raw)


def fetch_chat(client: Client, session_id: str, *, raw: bool = False) -> pd.DataFrame | FrameWithRaw:
    """The session's chat export, downloaded and parsed (:func:`rtk_frames.chat_frame`).

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     chat = rtk.fetch_chat(api.client(), sid)
        >>> "text" in chat.columns
        True
    """
    downloaded = client.download_session_file("chat", session_id)
    return _result(chat_frame(downloaded.content, session_id=session_id), downloaded, raw)


def fetch_transcript(
    client: Client,
    session_id: str,
    *,
    format: str = "CSV",
    session_started_at: str | dt.datetime | pd.Timestamp | None = None,
    raw: bool = False,
) -> pd.DataFrame | FrameWithRaw:
    """The session's transcript in ``format`` (CSV, JSON, SRT, VTT), downloaded and parsed.

    Utterance times are offsets from the session's start; to place them in UTC the session's
    ``started_at`` is needed: pass ``session_started_at`` or it is asked from the API (one more call).

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     words = rtk.fetch_transcript(api.client(), sid, format="VTT")
        >>> "text" in words.columns
        True
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
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
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
        >>> with serve(Dataset.from_samples()) as api:
        ...     sid = rtk.fetch_sessions(api.client())["session_id"][0]
        ...     rtk.generate_summary(api.client(), sid) is None
        True
    """
    client.generate_summary_of_transcripts(session_id)
