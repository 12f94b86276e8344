"""A whole session fetched at once: :func:`collect_session` → :class:`Session` (frames + what was missing).

Beside :mod:`rtk_frames.fetch` (one request → one frame), this makes every request one session needs —
the session, its participants, each participant's details, the peer reports, chat, transcript and
summary — a few at a time (:func:`map_concurrently`), and keeps going when an optional part is missing.

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     client = api.client()
    ...     session = rtk.collect_session(client, rtk.fetch_sessions(client)["session_id"][0])
    >>> sorted(session.frames())[:3]
    ['chat', 'participant_details', 'participants']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pandas as pd

from rtk_frames import fetch
from rtk_frames._display import summary_repr
from rtk_frames.client.ratelimit import ctrl_c_ends_waits
from rtk_frames.errors import AuthenticationError, NotFoundError, RTKError
from rtk_frames.frames.participants import participant_frame, peer_events_frame
from rtk_frames.frames.peer_report import peer_report_series_frame
from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame
from rtk_frames.frames.sessions import breakout_rooms_frame

if TYPE_CHECKING:
    from rtk_frames.client import Client

__all__ = ["DEFAULT_WORKERS", "SESSION_FRAMES", "Session", "collect_session", "map_concurrently"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_WORKERS = 4  # concurrent API calls: they wait on the network, not the CPU; the Client is thread-safe
#: the frames of a :class:`Session`, in the order they are written
SESSION_FRAMES = ("session", "participants", "participant_details", "quality_stats", "quality_segments",
                  "peer_events", "peer_report", "peer_report_series", "chat", "transcript")


def map_concurrently(fn: Callable[[T], R], items: Iterable[T], *, workers: int = DEFAULT_WORKERS) -> list[R]:
    """``[fn(x) for x in items]`` on a small thread pool (for I/O-bound API calls), results in input
    order; the first exception is raised. ``workers=1`` runs in this thread.

    Example:
        >>> map_concurrently(lambda x: x * x, [1, 2, 3])
        [1, 4, 9]
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="rtk-frames")
    with ctrl_c_ends_waits():  # a notebook's Ctrl-C also wakes the workers waiting for the rate budget
        try:
            futures = [pool.submit(fn, item) for item in items]
            return [future.result() for future in futures]
        finally:  # on Ctrl-C (or an error) drop the queued calls and do not wait for the running ones
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, eq=False)
class Session:
    """Every frame of one session; ``None`` where the API had nothing.

    ``participant_details`` is ``participant_frame`` (one wide row per participant: device, IP, pre-call
    network); ``data_gaps`` says in words what is missing and why; ``source`` is where it came from (the
    API's base URL). Frozen: make a changed copy with ``dataclasses.replace``.

    Example:
        >>> s = Session("s1", pd.DataFrame({"session_id": ["s1"]}), pd.DataFrame({"participant_id": ["p"]}))
        >>> sorted(s.frames()), s.data_gaps
        (['participants', 'session'], ())
    """

    session_id: str
    session: pd.DataFrame
    participants: pd.DataFrame
    participant_details: pd.DataFrame | None = None
    quality_stats: pd.DataFrame | None = None
    quality_segments: pd.DataFrame | None = None
    peer_events: pd.DataFrame | None = None
    peer_report: pd.DataFrame | None = None
    peer_report_series: pd.DataFrame | None = None
    chat: pd.DataFrame | None = None
    transcript: pd.DataFrame | None = None
    summary: str | None = None
    data_gaps: Sequence[str] = field(default_factory=tuple)
    source: str = ""

    __repr__ = summary_repr  # a frame's shape per line, not every frame in full

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_gaps", tuple(self.data_gaps))  # a frozen record: no shared list

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames that are there, by name (what ``render_session_report`` writes as parquet)."""
        frames = {name: getattr(self, name) for name in SESSION_FRAMES}
        return {name: frame for name, frame in frames.items() if frame is not None}


def _attempt(what: str, session_id: str, call: Callable[[], T]) -> tuple[T | None, str | None]:
    """``(call(), None)``, or ``(None, gap)`` when a typed API failure (404, 5xx, …) means missing data."""
    try:
        return call(), None
    except NotFoundError as exc:
        return None, f"{what}: not available for session {session_id} (HTTP 404: {exc.message})"
    except AuthenticationError:
        raise  # a wrong token is not a data gap
    except RTKError as exc:
        return None, f"{what}: could not be fetched ({type(exc).__name__}: {exc})"


def _optional(what: str, session_id: str, gaps: list[str], call: Callable[[], T]) -> T | None:
    """Run ``call``; a 404 (or any other typed API failure) becomes ``None`` and a line in ``gaps``."""
    value, gap = _attempt(what, session_id, call)
    if gap is not None:
        gaps.append(gap)
    return value


def _optional_each(what: str, session_id: str, gaps: list[str], ids: Sequence[str],
                   call: Callable[[str], T], workers: int) -> list[tuple[str, T]]:
    """``call`` for every id, ``workers`` at a time; ``(id, value)`` pairs for the ones that answered."""
    results = map_concurrently(lambda i: _attempt(f"{what} {i}", session_id, lambda: call(i)), ids,
                               workers=workers)
    gaps.extend(gap for _, gap in results if gap is not None)
    return [(i, value) for i, (value, gap) in zip(ids, results, strict=True)
            if gap is None and value is not None]


def breakout_rooms_note(details: Any) -> str | None:
    """The data-gaps note for a session whose details name breakout rooms (their participants and
    quality are not the session's: each room is a session of its own); ``None`` without rooms.

    Example:
        >>> note = breakout_rooms_note({"data": {"id": "s1", "breakout_rooms": [{"id": "r1"}, {"id": "r2"}]}})
        >>> note.split(":")[:2]
        ['breakout rooms', ' 2 (r1, r2)']
        >>> breakout_rooms_note({"data": {"id": "s1", "breakout_rooms": []}}) is None
        True
    """
    rooms = breakout_rooms_frame(details)
    if not len(rooms):
        return None
    ids = ", ".join(str(v) for v in rooms["session_id"].tolist() if not pd.isna(v)) or "without ids"
    return (f"breakout rooms: {len(rooms)} ({ids}): who was in them, and their call quality there, is not "
            "in this session's data; each room is a session of its own (report it by its id; "
            "rtk-frames sync --breakout-rooms keeps the rooms in the fleet dataset)")


def collect_session(client: Client, session_id: str, *, peer_reports: bool = True,
                    transcript_format: Literal["CSV", "JSON", "SRT", "VTT"] = "JSON",
                    workers: int = DEFAULT_WORKERS) -> Session:
    """Fetch every frame of one session: the session, its participants, each participant's details
    (device, network, quality samples and segments, peer events), the peer reports (per peer id;
    ``workers`` calls at a time), chat, transcript and summary. A missing chat/transcript/summary/peer
    report (404, or a 5xx after retries) is ``None`` with a note in ``data_gaps``; a missing session
    raises ``NotFoundError`` and a rejected token ``AuthenticationError``. The transcript is asked as
    JSON by default: unlike the CSV forms, it carries each utterance's end time (exact talk time).

    Example:
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     client = api.client()
        ...     sid = client.get_sessions()["data"]["sessions"][0]["id"]
        ...     session = collect_session(client, sid)
        >>> session.session.loc[0, "session_id"] == sid
        True
    """
    gaps: list[str] = []
    session, answer = fetch.fetch_session(client, session_id, include_breakout_rooms=True, raw=True)
    rooms_note = breakout_rooms_note(answer)  # the same request names the rooms: nothing more is asked
    if rooms_note:
        gaps.append(rooms_note)
    participants = fetch.fetch_participants(client, session_id)
    participant_ids = list(participants["participant_id"].dropna().unique())
    details = _optional_each("participant details", session_id, gaps, participant_ids,
                             lambda pid: client.get_session_participant_details(session_id, pid,
                                                                                include_peer_events=True),
                             workers)
    payloads = [payload for _, payload in details]
    frames: dict[str, Any] = {}
    if payloads:
        frames["participant_details"] = participant_frame(payloads, session_id=session_id)
        frames["quality_stats"] = quality_stats_frame(payloads, session_id=session_id)
        frames["quality_segments"] = quality_segments_frame(payloads, session_id=session_id)
        frames["peer_events"] = peer_events_frame(payloads, session_id=session_id)
    if peer_reports:
        peers = _peer_ids(*(frames.get(n) for n in ("quality_segments", "quality_stats", "peer_events")))
        reports = _optional_each("peer report", session_id, gaps, peers,
                                 lambda peer: fetch.fetch_peer_report(client, peer, raw=True), workers)
        if reports:  # one answer per peer id: its series flattened with the id it was asked for
            frames["peer_report"] = pd.concat([report.frame for _, report in reports], ignore_index=True)
            frames["peer_report_series"] = pd.concat(
                [peer_report_series_frame(report.raw, peer_id=peer, session_id=session_id)
                 for peer, report in reports],
                ignore_index=True)
    frames["chat"] = _optional("chat", session_id, gaps, lambda: fetch.fetch_chat(client, session_id))
    started_at = session["started_at"].iloc[0] if len(session) else None  # fetch_transcript would ask again
    frames["transcript"] = _optional(
        "transcript", session_id, gaps,
        lambda: fetch.fetch_transcript(client, session_id, format=transcript_format,
                                       session_started_at=started_at))
    frames["summary"] = _optional("summary", session_id, gaps,
                                  lambda: fetch.fetch_summary(client, session_id))
    return Session(session_id=session_id, session=session, participants=participants, data_gaps=gaps,
                   source=getattr(client, "base_url", ""), **frames)


def _peer_ids(*frames: pd.DataFrame | None) -> list[str]:
    ids: list[str] = []
    for frame in frames:
        if frame is not None and "peer_id" in frame.columns:
            ids.extend(frame["peer_id"].dropna().astype("str").tolist())
    return list(dict.fromkeys(ids))
