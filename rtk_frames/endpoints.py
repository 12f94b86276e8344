"""The Sessions API's endpoints as data: one row per endpoint drives the client, paging, fetchers, exports.

Each :class:`Endpoint` row names the official SDK's method, the HTTP method and path template, its query
parameters (and how each is written on the wire), where a listing's items and paging live, the download
URL it answers with, and what it feeds downstream: the ``fetch_*`` functions, the flatteners and their
schemas. :mod:`rtk_frames.client` builds its raw methods from these rows; :meth:`Client.paginate` reads
``items_key``; ``rtk_frames/__init__.py`` exports every fetcher and flattener named here.

Downstream names are written as ``"module:function"`` strings on purpose: the client imports this module
and must never import pandas, and ``import rtk_frames`` stays lazy. A test resolves every string.

Adding an endpoint: one row here, its flattener in ``rtk_frames/frames/``, its schema in
``rtk_frames/schemas/``, and (when a frame needs more than "call + flatten") its ``fetch_*`` function.

Example:
    >>> from rtk_frames.endpoints import ENDPOINTS
    >>> ENDPOINTS["get_session_participants"].path
    '/sessions/{session_id}/participants'
    >>> ENDPOINTS["get_session_participants"].items_key
    'participants'
    >>> [p.name for p in ENDPOINTS["get_session_participant_details"].query]
    ['filters', 'include_peer_events']
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["ENDPOINTS", "Endpoint", "Param", "exports"]

#: how a query value is written: ``str`` as given; ``int``; ``bool`` as ``true``/``false``; ``time`` as
#: ISO 8601 UTC (naive means UTC); ``csv`` as one comma-joined string without spaces
ParamKind = Literal["str", "int", "bool", "time", "csv"]
_PATH_FIELD = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Param:
    """One query parameter: its wire name, how it is serialised, and the values the API accepts.

    Example:
        >>> Param("status", choices=("LIVE", "ENDED")).annotation
        "Literal['LIVE', 'ENDED'] | None"
    """

    name: str
    kind: ParamKind = "str"
    choices: tuple[str, ...] = ()

    @property
    def annotation(self) -> str:
        """The Python type a raw method's keyword takes (as text, for its signature)."""
        if self.choices:
            base = f"Literal[{', '.join(repr(choice) for choice in self.choices)}]"
        else:
            base = {"str": "str", "int": "int", "bool": "bool", "time": "str | dt.datetime | dt.date",
                    "csv": "str | Iterable[str]"}[self.kind]
        return f"{base} | None"


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of the Sessions API, as data.

    Attributes:
        name: the official ``cloudflare`` SDK's method name (the client's raw method).
        method: ``"GET"`` or ``"POST"``.
        path: the template under ``/accounts/{account_id}/realtime/kit/{app_id}``; each ``{field}`` is a
            positional argument of the raw method, percent-encoded as one path segment.
        summary: one line for the raw method's docstring.
        query: the query parameters (keyword-only arguments of the raw method).
        items_key: for listings, the list under ``data`` that :meth:`Client.paginate` pages through
            (``page_no``/``per_page``; ``paging`` at the top level, or under ``data`` in the seed).
        download_keys: for endpoints that answer with a presigned URL, its spellings under ``data``.
        fetchers: the ``fetch_*`` functions built on this endpoint (``"module:name"``).
        frames: the flatteners of its answer (``"module:name"``), each with the schema of the same name
            minus ``_frame`` in :data:`rtk_frames.schemas.SCHEMAS`.
        example_first: a raw method the generated docstring example calls first (same arguments).
    """

    name: str
    method: Literal["GET", "POST"]
    path: str
    summary: str
    query: tuple[Param, ...] = ()
    items_key: str | None = None
    download_keys: tuple[str, ...] = ()
    fetchers: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    example_first: str | None = None

    @property
    def path_fields(self) -> tuple[str, ...]:
        """The path template's fields, in order (the raw method's positional arguments).

        Example:
            >>> ENDPOINTS["get_session_participant_details"].path_fields
            ('session_id', 'participant_id')
        """
        return tuple(_PATH_FIELD.findall(self.path))

    @property
    def schemas(self) -> tuple[str, ...]:
        """The names of the schemas its frames follow (``sessions_frame`` -> ``"sessions"``)."""
        return tuple(frame.rpartition(":")[2].removesuffix("_frame") for frame in self.frames)


_PAGING = (Param("page_no", "int"), Param("per_page", "int"))
_SORT_ORDER = Param("sort_order", choices=("ASC", "DESC"))
_PEER_EVENTS = Param("include_peer_events", "bool")
_FILTERS = Param("filters", "csv")
_FETCH = "rtk_frames.fetch"
_SESSIONS = "rtk_frames.frames.sessions"
_PARTICIPANTS = "rtk_frames.frames.participants"
_QUALITY = "rtk_frames.frames.quality"
_PEER_REPORT = "rtk_frames.frames.peer_report"
_MEDIA = "rtk_frames.frames.media"

_ROWS = (
    Endpoint(
        "get_sessions", "GET", "/sessions", "one page of the app's sessions (``data.sessions``)",
        query=(Param("associated_id"), Param("end_time", "time"), _PAGING[0], Param("participants", "csv"),
               _PAGING[1], Param("search"), Param("sort_by", choices=("minutesConsumed", "createdAt")),
               _SORT_ORDER, Param("start_time", "time"), Param("status", choices=("LIVE", "ENDED"))),
        items_key="sessions",
        fetchers=(f"{_FETCH}:fetch_sessions",),
        frames=(f"{_SESSIONS}:sessions_frame",),
    ),
    Endpoint(
        "get_session_details", "GET", "/sessions/{session_id}",
        "one session (flat under ``data``, or ``data.session`` in the seed)",
        query=(Param("include_breakout_rooms", "bool"),),
        fetchers=(f"{_FETCH}:fetch_session", f"{_FETCH}:fetch_breakout_rooms"),
        frames=(f"{_SESSIONS}:session_frame", f"{_SESSIONS}:breakout_rooms_frame"),
    ),
    Endpoint(
        "get_session_participants", "GET", "/sessions/{session_id}/participants",
        "one page of a session's participants (``data.participants``)",
        query=(_PEER_EVENTS, _PAGING[0], _PAGING[1], Param("search"),
               Param("sort_by", choices=("joinedAt", "duration")), _SORT_ORDER,
               Param("view", choices=("raw", "consolidated"))),
        items_key="participants",
        fetchers=(f"{_FETCH}:fetch_participants", f"{_FETCH}:fetch_peer_events"),
        frames=(f"{_PARTICIPANTS}:participants_frame", f"{_PARTICIPANTS}:peer_events_frame"),
    ),
    Endpoint(
        "get_session_participant_details", "GET", "/sessions/{session_id}/participants/{participant_id}",
        "one participant in depth: device, IP, pre-call network, quality stats (``filters`` selects)",
        query=(_FILTERS, _PEER_EVENTS),
        fetchers=(f"{_FETCH}:fetch_participant", f"{_FETCH}:fetch_quality_stats",
                  f"{_FETCH}:fetch_quality_segments"),
        frames=(f"{_PARTICIPANTS}:participant_frame", f"{_QUALITY}:quality_stats_frame",
                f"{_QUALITY}:quality_segments_frame", f"{_PARTICIPANTS}:peer_events_frame"),
    ),
    Endpoint(
        "get_session_chat", "GET", "/sessions/{session_id}/chat",
        "the chat export's download URL (``data.chat_download_url``)",
        download_keys=("chat_download_url", "chatDownloadUrl"),
        fetchers=(f"{_FETCH}:fetch_chat",),
        frames=(f"{_MEDIA}:chat_frame",),
    ),
    Endpoint(
        "get_session_transcripts", "GET", "/sessions/{session_id}/transcript",
        "the transcript's download URL, in ``format`` (``data.transcript_download_url``)",
        query=(Param("format", choices=("SRT", "VTT", "JSON", "CSV")),),
        download_keys=("transcript_download_url", "transcriptDownloadUrl"),
        fetchers=(f"{_FETCH}:fetch_transcript",),
        frames=(f"{_MEDIA}:transcript_frame",),
    ),
    Endpoint(
        "get_session_summary", "GET", "/sessions/{session_id}/summary",
        "the AI summary's download URL (``data.summaryDownloadUrl``); NotFoundError before one is generated",
        download_keys=("summary_download_url", "summaryDownloadUrl"),
        fetchers=(f"{_FETCH}:fetch_summary",),
        example_first="generate_summary_of_transcripts",
    ),
    Endpoint(
        "generate_summary_of_transcripts", "POST", "/sessions/{session_id}/summary",
        "start generating the session's summary (a POST: never retried once sent)",
        fetchers=(f"{_FETCH}:generate_summary",),
    ),
    Endpoint(
        "get_participant_data_from_peer_id", "GET", "/sessions/peer-report/{peer_id}",
        "a peer's report (``data.participant.peer_report``); a participant row's id is its peer id",
        query=(_FILTERS, _PEER_EVENTS),
        fetchers=(f"{_FETCH}:fetch_peer_report", f"{_FETCH}:fetch_peer_report_series"),
        frames=(f"{_PEER_REPORT}:peer_report_frame", f"{_PEER_REPORT}:peer_report_series_frame"),
    ),
)

#: every endpoint by its SDK method name, in the SDK's order
ENDPOINTS: Mapping[str, Endpoint] = {row.name: row for row in _ROWS}


def exports() -> Iterator[tuple[str, str]]:
    """``(public name, module)`` for every fetcher and flattener the table names, each once, in order.

    Example:
        >>> dict(exports())["fetch_quality_segments"]
        'rtk_frames.fetch'
    """
    seen: set[str] = set()
    for row in ENDPOINTS.values():
        for target in (*row.fetchers, *row.frames):
            module, _, name = target.partition(":")
            if name not in seen:
                seen.add(name)
                yield name, module
