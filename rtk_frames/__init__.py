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
from rtk_frames.endpoints import exports as _endpoint_exports
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

# public name -> module that defines it (leaf modules, imported on first use): the ONE list of exports.
# Every fetcher and flattener comes from the endpoint table (rtk_frames.endpoints); the rest is named here.
_LAZY: dict[str, str] = {
    "Client": "rtk_frames.client",
    "FrameWithRaw": "rtk_frames.fetch",
    "fetch_frames": "rtk_frames.fetch",
    **dict(_endpoint_exports()),  # fetch_* (client call + flattener) and *_frame (payload -> DataFrame)
    # joins and conversation analysis
    "join_chat": "rtk_frames.conversation",
    "join_transcript": "rtk_frames.conversation",
    "talk_time": "rtk_frames.conversation",
    "chat_activity": "rtk_frames.conversation",
    # a whole session, and the one analysis pipeline
    "Session": "rtk_frames.session",
    "collect_session": "rtk_frames.session",
    "Analysis": "rtk_frames.analysis",
    "analyse": "rtk_frames.analysis",
    # the kept fleet dataset
    "sync_dataset": "rtk_frames.dataset.sync",
    "open_dataset": "rtk_frames.dataset.read",
    "analyse_dataset": "rtk_frames.dataset.fleet",
}
_SUBMODULES = {"client", "endpoints", "errors", "ratelimit", "fetch", "frames", "schemas", "conversation",
               "session", "analysis", "export", "plots", "progress", "report", "sync", "sandbox", "cli",
               "dataset"}

__all__ = [  # the errors, then _LAZY's order
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
    *_LAZY,
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


if TYPE_CHECKING:  # for IDEs and type checkers: the same names, imported eagerly (tests check they match)
    from rtk_frames.analysis import Analysis, analyse
    from rtk_frames.client import Client
    from rtk_frames.conversation import chat_activity, join_chat, join_transcript, talk_time
    from rtk_frames.dataset.fleet import analyse_dataset
    from rtk_frames.dataset.read import open_dataset
    from rtk_frames.dataset.sync import sync_dataset
    from rtk_frames.fetch import (
        FrameWithRaw,
        fetch_breakout_rooms,
        fetch_chat,
        fetch_frames,
        fetch_participant,
        fetch_participants,
        fetch_peer_events,
        fetch_peer_report,
        fetch_peer_report_series,
        fetch_quality_segments,
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
    from rtk_frames.session import Session, collect_session
