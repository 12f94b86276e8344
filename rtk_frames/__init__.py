"""rtk_frames: the Cloudflare RealtimeKit Sessions API as tidy pandas DataFrames.

The public surface is flat (``rtk.fetch_sessions(...)``) and loaded lazily, so ``import rtk_frames``
stays fast and does not pull in pandas/matplotlib until a name that needs them is used.

Example:
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     sessions = rtk.fetch_sessions(api.client())
    >>> list(sessions.columns[:3])
    ['session_id', 'associated_id', 'meeting_display_name']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rtk_frames._version import __version__
from rtk_frames.errors import (
    APIError,
    AuthenticationError,
    CoercionWarning,
    NotFoundError,
    PayloadError,
    RateLimitError,
    RTKError,
    ServerError,
    TransportError,
)

# public name -> module that defines it (leaf modules, imported on first use)
_LAZY: dict[str, str] = {
    "Client": "rtk_frames.client",
    # fetch: client call + flattener
    "fetch_sessions": "rtk_frames.fetch",
    "fetch_session": "rtk_frames.fetch",
    "fetch_participants": "rtk_frames.fetch",
    "fetch_participant": "rtk_frames.fetch",
    "fetch_quality_stats": "rtk_frames.fetch",
    "fetch_peer_report": "rtk_frames.fetch",
    "fetch_chat": "rtk_frames.fetch",
    "fetch_transcript": "rtk_frames.fetch",
    "fetch_summary": "rtk_frames.fetch",
    "generate_summary": "rtk_frames.fetch",
    # flatteners: payload -> DataFrame
    "sessions_frame": "rtk_frames.frames.sessions",
    "session_frame": "rtk_frames.frames.sessions",
    "breakout_rooms_frame": "rtk_frames.frames.sessions",
    "participants_frame": "rtk_frames.frames.participants",
    "participant_frame": "rtk_frames.frames.participants",
    "peer_events_frame": "rtk_frames.frames.participants",
    "quality_stats_frame": "rtk_frames.frames.quality",
    "quality_segments_frame": "rtk_frames.frames.quality",
    "peer_report_frame": "rtk_frames.frames.peer_report",
    "peer_report_series_frame": "rtk_frames.frames.peer_report",
    "chat_frame": "rtk_frames.frames.media",
    "transcript_frame": "rtk_frames.frames.media",
    # joins and conversation analysis
    "join_chat": "rtk_frames.conversation",
    "join_transcript": "rtk_frames.conversation",
    "talk_time": "rtk_frames.conversation",
    "chat_activity": "rtk_frames.conversation",
}
_SUBMODULES = {"client", "errors", "ratelimit", "fetch", "frames", "schemas", "conversation", "quality",
               "export", "plots", "report", "sync", "sandbox", "cli"}

__all__ = [  # noqa: RUF022 - grouped as in _LAZY
    "APIError",
    "AuthenticationError",
    "CoercionWarning",
    "NotFoundError",
    "PayloadError",
    "RTKError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "__version__",
    "Client",
    "fetch_sessions",
    "fetch_session",
    "fetch_participants",
    "fetch_participant",
    "fetch_quality_stats",
    "fetch_peer_report",
    "fetch_chat",
    "fetch_transcript",
    "fetch_summary",
    "generate_summary",
    "sessions_frame",
    "session_frame",
    "breakout_rooms_frame",
    "participants_frame",
    "participant_frame",
    "peer_events_frame",
    "quality_stats_frame",
    "quality_segments_frame",
    "peer_report_frame",
    "peer_report_series_frame",
    "chat_frame",
    "transcript_frame",
    "join_chat",
    "join_transcript",
    "talk_time",
    "chat_activity",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"rtk_frames.{name}")
    raise AttributeError(f"module 'rtk_frames' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


if TYPE_CHECKING:  # for IDEs and type checkers: the same names, imported eagerly
    from rtk_frames.client import Client
    from rtk_frames.conversation import chat_activity, join_chat, join_transcript, talk_time
    from rtk_frames.fetch import (
        fetch_chat,
        fetch_participant,
        fetch_participants,
        fetch_peer_report,
        fetch_quality_stats,
        fetch_session,
        fetch_sessions,
        fetch_summary,
        fetch_transcript,
        generate_summary,
    )
    from rtk_frames.frames.media import chat_frame, transcript_frame
    from rtk_frames.frames.participants import participant_frame, participants_frame, peer_events_frame
    from rtk_frames.frames.peer_report import peer_report_frame, peer_report_series_frame
    from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame
    from rtk_frames.frames.sessions import breakout_rooms_frame, session_frame, sessions_frame
