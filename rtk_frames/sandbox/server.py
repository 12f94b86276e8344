"""The sandbox HTTP server: the RealtimeKit Sessions API on 127.0.0.1, over real HTTP.

Nine endpoints under ``/client/v4/accounts/{account_id}/realtime/kit/{app_id}/sessions…`` with Bearer
auth, paging, filters, error envelopes like the real service's (Cloudflare's for auth/routing/rate
limits, RealtimeKit's for unknown ids and bad queries), presigned download URLs into the sandbox's own
``/bucket/…`` that expire on the sandbox clock, injected faults and an optional rate limit.

This module shares no code with :mod:`rtk_frames.client` or :mod:`rtk_frames.frames`: it is their
opponent in tests.

Choices where the reference is silent (change them here, in one place):

- Order of checks: route (404 Cloudflare 7003 / 405) -> Bearer token (401, Cloudflare 10000) -> account
  and app ids (404, Cloudflare 7003) -> query values (400) -> ids (404, RealtimeKit envelope).
- Paging: ``page_no`` from 1, ``per_page`` default 20, at most 1000; offsets are 1-based and inclusive
  (the reference's example: 2 items -> ``start_offset`` 1, ``end_offset`` 2); a page past the end is
  empty with ``end_offset = start_offset - 1``.
- Default order: sessions newest ``created_at`` first; participants earliest ``joined_at`` first.
- ``participants`` (sessions list): comma-separated ids; a session matches when one of its participant
  rows has that peer id, ``user_id`` or ``custom_participant_id``.
- ``view=consolidated``: one row per ``user_id`` (their first row), ``duration`` summed over their rows
  in the session and its breakout rooms, ``joined_at`` the earliest, ``left_at`` the latest (null while
  any row is still in the call).
- ``filters`` keeps only the named ``peer_stats`` blocks and keeps ``quality_stats`` (and, in the peer
  report, ``peer_report.quality``) only when ``quality_stats`` is named.
- Breakout rooms are sessions of their own (details, participants, peer reports work) but are not
  listed by ``GET sessions``; ``include_breakout_rooms=true`` embeds them in the parent's details.
- Rate limit: a fixed window on the sandbox clock, counting API requests only (not downloads).
- Downloads: ``/bucket/{account}/{app}/{session}/{chat.csv|transcript.{csv,json,srt,vtt}|summary.txt}``
  signed with HMAC-SHA256 over path, ``X-Amz-Date`` and ``X-Amz-Expires``.

Example:
    >>> import requests
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     url = f"{api.base_url}/accounts/{api.account_id}/realtime/kit/{api.app_id}/sessions"
    ...     body = requests.get(url, headers={"Authorization": f"Bearer {api.api_token}"}).json()
    >>> body["success"], body["paging"]["total_count"]
    (True, 3)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import shlex
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson

from rtk_frames.sandbox.dataset import Dataset, samples_dir
from rtk_frames.sandbox.faults import FaultInjector, Faults
from rtk_frames.sandbox.synthetic import summary_text

__all__ = ["API_PREFIX", "ENDPOINTS", "RequestRecord", "SandboxAPI", "describe", "run_forever", "serve"]

API_PREFIX = "/client/v4"
BUCKET_PREFIX = "/bucket/"
FLAVORS = ("sdk", "seed")
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000
PARTICIPANT_FILTERS = (
    "device_info",
    "ip_information",
    "precall_network_information",
    "events",
    "quality_stats",
)
PEER_STATS_BLOCKS = ("device_info", "ip_information", "precall_network_information", "events")
TRANSCRIPT_FORMATS = {
    "CSV": ("csv", "text/csv; charset=utf-8"),
    "JSON": ("json", "application/json"),
    "SRT": ("srt", "application/x-subrip; charset=utf-8"),
    "VTT": ("vtt", "text/vtt; charset=utf-8"),
}
HTML_502_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    "</center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
ENDPOINTS = (
    "get_sessions",
    "get_session_details",
    "get_session_participants",
    "get_session_participant_details",
    "get_session_chat",
    "get_session_transcripts",
    "get_session_summary",
    "generate_summary_of_transcripts",
    "get_participant_data_from_peer_id",
)
# (method, path regex under .../realtime/kit/{app_id}/, endpoint); peer-report before sessions/{id}
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("GET", r"sessions", "get_sessions"),
        ("GET", r"sessions/peer-report/(?P<peer_id>[^/]+)", "get_participant_data_from_peer_id"),
        ("GET", r"sessions/(?P<session_id>[^/]+)", "get_session_details"),
        ("GET", r"sessions/(?P<session_id>[^/]+)/participants", "get_session_participants"),
        (
            "GET",
            r"sessions/(?P<session_id>[^/]+)/participants/(?P<participant_id>[^/]+)",
            "get_session_participant_details",
        ),
        ("GET", r"sessions/(?P<session_id>[^/]+)/chat", "get_session_chat"),
        ("GET", r"sessions/(?P<session_id>[^/]+)/transcript", "get_session_transcripts"),
        ("GET", r"sessions/(?P<session_id>[^/]+)/summary", "get_session_summary"),
        ("POST", r"sessions/(?P<session_id>[^/]+)/summary", "generate_summary_of_transcripts"),
    )
)
API_PATH = re.compile(
    r"^/client/v4/accounts/(?P<account_id>[^/]+)/realtime/kit/(?P<app_id>[^/]+)/(?P<rest>.+?)/?$"
)


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received (downloads included). ``status`` 0 = connection dropped.

    ``endpoint`` is the SDK method name, ``"download"`` for the bucket, ``"unknown"`` for an unknown
    route and ``"method_not_allowed"`` for a known path with the wrong method.
    """

    method: str
    path: str
    query: dict[str, str]
    endpoint: str
    status: int
    has_authorization: bool


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class _HTTPProblem(Exception):
    """Raised inside handlers to answer with an error status and envelope."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Answer:
    # orjson (a package dependency): UTF-8 like the service, ~10x faster than json on big peer reports
    return _Answer(status, orjson.dumps(payload), headers=headers or {})


def _cloudflare_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> _Answer:
    """Cloudflare's API envelope (auth, routing, rate limiting)."""
    return _json_answer(
        status,
        {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None},
        headers,
    )


def _rtk_error(status: int, message: str) -> _HTTPProblem:
    """RealtimeKit's own envelope (unknown ids, bad query values)."""
    return _HTTPProblem(
        _json_answer(status, {"success": False, "error": {"code": status, "message": message}})
    )


def _s3_error(status: int, code: str, message: str) -> _Answer:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return _Answer(status, body.encode("utf-8"), content_type="application/xml")


def _iso_now(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sort_value(value: Any) -> tuple[int, float | str]:
    """A sort key that never compares numbers with text: numbers (or numeric text) first, then text,
    then missing values."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, str):
        try:
            return (0, float(value))
        except ValueError:
            return (1, value)
    return (2, "")


def _minutes(value: Any) -> float:
    """A duration in minutes as sent (number or numeric text); anything else counts as 0."""
    key = _sort_value(value)
    return key[1] if key[0] == 0 else 0.0  # type: ignore[return-value]


def _parse_time(text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    text = text.strip().replace("Z", "+00:00")
    if " " in text and "T" in text:  # an unencoded "+" of a UTC offset arrives as a space
        text = text.replace(" ", "+")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------------------------------
# query parsing (bad values -> 400 with a message)
# ----------------------------------------------------------------------------------------------------


class _Query:
    def __init__(self, query: Mapping[str, str]) -> None:
        self.raw = query

    def get(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None or value == "" else value

    def choice(self, name: str, allowed: Sequence[str], default: str | None = None) -> str | None:
        value = self.get(name)
        if value is None:
            return default
        if value not in allowed:
            raise _rtk_error(
                400, f"Invalid value for '{name}': {value!r}; expected one of {', '.join(allowed)}"
            )
        return value

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if value is None:
            return False
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _rtk_error(400, f"Invalid value for '{name}': {value!r}; expected true or false")

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not number.is_integer() or not low <= number <= high:
            raise _rtk_error(
                400, f"Invalid value for '{name}': {value!r}; expected an integer in [{low}, {high}]"
            )
        return int(number)

    def time(self, name: str) -> datetime | None:
        try:
            return _parse_time(self.get(name))
        except ValueError:
            raise _rtk_error(
                400, f"Invalid value for '{name}': {self.get(name)!r}; expected an ISO 8601 time"
            ) from None

    def filters(self) -> tuple[str, ...] | None:
        value = self.get("filters")
        if value is None:
            return None
        parts = value.split(",")
        bad = [p for p in parts if p not in PARTICIPANT_FILTERS]
        if bad:
            raise _rtk_error(
                400,
                f"Invalid filters {', '.join(map(repr, bad))}: use a comma-separated subset of "
                f"{', '.join(PARTICIPANT_FILTERS)} with no spaces",
            )
        return tuple(parts)


def _page(items: list[dict[str, Any]], q: _Query) -> tuple[list[dict[str, Any]], dict[str, int]]:
    page_no = q.integer("page_no", 1, 1, 1_000_000)
    per_page = q.integer("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    start = (page_no - 1) * per_page
    chunk = items[start : start + per_page]
    # 1-based inclusive offsets, as in the reference's example (start_offset 1, end_offset 2 for 2 items)
    paging = {"start_offset": start + 1, "end_offset": start + len(chunk), "total_count": len(items)}
    return chunk, paging


# ----------------------------------------------------------------------------------------------------
# seed shapes: the reference's example responses used as key templates
# ----------------------------------------------------------------------------------------------------


def _seed_templates() -> dict[str, Any]:
    folder = samples_dir() / "seed"
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in folder.glob("*.json")}


def _project(value: Any, template: Any) -> Any:
    """Keep only the keys the seed example has (recursively); ``{}`` / ``[{}]`` in the seed = free-form."""
    if isinstance(template, dict) and isinstance(value, dict) and template:
        return {key: _project(value[key], template[key]) for key in template if key in value}
    if isinstance(template, list) and isinstance(value, list) and template:
        return [_project(item, template[0]) for item in value]
    return value


def _text_bool(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


# ----------------------------------------------------------------------------------------------------
# the service's state and endpoint logic (no HTTP here)
# ----------------------------------------------------------------------------------------------------


class _Service:
    def __init__(
        self,
        dataset: Dataset,
        *,
        flavor: str,
        account_id: str,
        app_id: str,
        api_token: str,
        download_ttl_s: float,
        rate_limit: tuple[int, float] | None,
        latency_s: float,
        faults: Faults | None,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, got {flavor!r}")
        if rate_limit is not None and (rate_limit[0] < 1 or rate_limit[1] <= 0):
            raise ValueError("rate_limit must be (max_requests >= 1, window_s > 0)")
        self.dataset = dataset
        self.flavor = flavor
        self.account_id, self.app_id, self.api_token = account_id, app_id, api_token
        self.download_ttl_s = float(download_ttl_s)
        self.rate_limit = rate_limit
        self.latency_s = float(latency_s)
        self.injector = FaultInjector(faults)
        self.lock = threading.Lock()
        self.clock_offset_s = 0.0
        self.secret = secrets.token_bytes(32)
        self.base_host = "127.0.0.1"
        self.port = 0
        self.request_log: list[RequestRecord] = []
        self.counter: Counter[str] = Counter()
        self.window_start_s: float | None = None
        self.window_count = 0
        self.summaries = dict(dataset.summaries)
        self.templates = _seed_templates() if flavor == "seed" else {}
        self.sessions_by_id: dict[str, dict[str, Any]] = {s["id"]: s for s in dataset.all_sessions()}
        self.parent_of: dict[str, str] = {
            child["id"]: parent for parent, children in dataset.breakout_rooms.items() for child in children
        }
        self.rows_by_session: dict[str, dict[str, dict[str, Any]]] = {
            sid: {row["id"]: row for row in rows} for sid, rows in dataset.participants.items()
        }
        self.session_of_peer: dict[str, str] = {
            pid: sid for sid, rows in self.rows_by_session.items() for pid in rows
        }

    # ---------------------------------------------------------------- clock, log, rate limit

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def record(self, entry: RequestRecord) -> None:
        with self.lock:
            self.request_log.append(entry)
            self.counter[entry.endpoint] += 1

    def take_rate_budget(self) -> tuple[bool, dict[str, str]]:
        """Count one API request against the budget; returns (allowed, rate-limit headers)."""
        if self.rate_limit is None:
            return True, {}
        limit, window_s = self.rate_limit
        with self.lock:
            now = self.now()
            if self.window_start_s is None or now >= self.window_start_s + window_s:
                self.window_start_s, self.window_count = now, 0
            allowed = self.window_count < limit
            if allowed:
                self.window_count += 1
            reset_s = max(1, math.ceil(self.window_start_s + window_s - now))
            remaining = limit - self.window_count
        headers = {
            "Ratelimit": f'"default";r={remaining};t={reset_s}',
            "Ratelimit-Policy": f'"default";q={limit};w={window_s:g}',
        }
        if not allowed:
            headers["Retry-After"] = str(reset_s)
        return allowed, headers

    # ---------------------------------------------------------------- lookups

    def session(self, session_id: str) -> dict[str, Any]:
        found = self.sessions_by_id.get(session_id)
        if found is None:
            raise _rtk_error(404, f"Session {session_id} not found")
        return found

    def participant(self, session_id: str, participant_id: str) -> dict[str, Any]:
        self.session(session_id)
        row = self.rows_by_session.get(session_id, {}).get(participant_id)
        if row is None:
            raise _rtk_error(404, f"Participant {participant_id} not found in session {session_id}")
        return row

    # ---------------------------------------------------------------- shaping

    def public_session(
        self, record: Mapping[str, Any], *, breakout_rooms: list[Any] | None = None
    ) -> dict[str, Any]:
        session = dict(record)  # answers are serialised at once and nested values never mutated: no deep copy
        session["breakout_rooms"] = breakout_rooms if breakout_rooms is not None else []
        session.setdefault("meta", {})
        return session

    def public_row(self, row: Mapping[str, Any], *, peer_events: bool) -> dict[str, Any]:
        out = {key: value for key, value in row.items() if key != "peer_events"}
        if peer_events and self.flavor == "sdk":
            out["peer_events"] = row.get("peer_events") or []
        return out

    def seed_shape(self, endpoint_file: str, body: dict[str, Any]) -> dict[str, Any]:
        template = self.templates.get(endpoint_file)
        if template is None:
            return body
        body["data"] = _project(body["data"], template["data"])
        return body

    # ---------------------------------------------------------------- endpoints

    def get_sessions(self, q: _Query, _params: Mapping[str, str]) -> _Answer:
        status = q.choice("status", ("LIVE", "ENDED"))
        start, end = q.time("start_time"), q.time("end_time")
        search = (q.get("search") or "").lower()
        associated = q.get("associated_id")
        sort_by = q.choice("sort_by", ("minutesConsumed", "createdAt"), "createdAt")
        sort_order = q.choice("sort_order", ("ASC", "DESC"), "DESC")
        wanted_people = set((q.get("participants") or "").split(",")) - {""}
        chosen = []
        for s in self.dataset.sessions:
            started = _parse_time(s.get("started_at")) if start or end else None
            if status and s.get("status") != status:
                continue
            if start and (started is None or started < start):
                continue
            if end and (started is None or started > end):
                continue
            if associated and s.get("associated_id") != associated:
                continue
            haystack = " ".join(
                str(s.get(k) or "") for k in ("meeting_display_name", "associated_id", "id")
            ).lower()
            if search and search not in haystack:
                continue
            if wanted_people and not any(
                wanted_people & {row.get("id"), row.get("user_id"), row.get("custom_participant_id")}
                for row in self.dataset.participants.get(s["id"], [])
            ):
                continue
            chosen.append(s)
        key = "minutes_consumed" if sort_by == "minutesConsumed" else "created_at"
        chosen.sort(key=lambda s: (_sort_value(s.get(key)), s["id"]), reverse=sort_order == "DESC")
        page, paging = _page(chosen, q)
        body = {
            "success": True,
            "data": {"sessions": [self.public_session(s) for s in page]},
            "paging": paging,
        }
        if self.flavor == "seed":
            body = self.seed_shape("get_sessions", body)
        return _json_answer(200, body)

    def get_session_details(self, q: _Query, params: Mapping[str, str]) -> _Answer:
        record = self.session(params["session_id"])
        rooms = None
        if q.boolean("include_breakout_rooms"):
            rooms = [
                self.public_session(child) for child in self.dataset.breakout_rooms.get(record["id"], [])
            ]
        session = self.public_session(record, breakout_rooms=rooms)
        if self.flavor == "seed":
            return _json_answer(
                200, self.seed_shape("get_session_details", {"data": {"session": session}, "success": True})
            )
        return _json_answer(200, {"success": True, "data": session})

    def _consolidated(self, session_id: str) -> list[dict[str, Any]]:
        """One row per user: durations of their rows here and in the session's breakout rooms summed."""
        sources = [session_id] + [c["id"] for c in self.dataset.breakout_rooms.get(session_id, [])]
        merged: dict[str, dict[str, Any]] = {}
        for sid in sources:
            for row in self.dataset.participants.get(sid, []):
                user = row.get("user_id") or row["id"]
                if user not in merged:
                    if sid != session_id:
                        continue  # only people who were in the main session
                    merged[user] = dict(row, peer_events=list(row.get("peer_events") or []))
                    continue
                into = merged[user]
                into["duration"] = round(_minutes(into.get("duration")) + _minutes(row.get("duration")), 4)
                into["joined_at"] = min(into["joined_at"], row["joined_at"])
                into["left_at"] = (
                    None
                    if None in (into["left_at"], row["left_at"])
                    else max(into["left_at"], row["left_at"])
                )
                into["peer_events"] += row.get("peer_events") or []
        return list(merged.values())

    def get_session_participants(self, q: _Query, params: Mapping[str, str]) -> _Answer:
        session_id = self.session(params["session_id"])["id"]
        view = q.choice("view", ("raw", "consolidated"), "raw")
        peer_events = q.boolean("include_peer_events")
        search = (q.get("search") or "").lower()
        sort_by = q.choice("sort_by", ("joinedAt", "duration"), "joinedAt")
        sort_order = q.choice("sort_order", ("ASC", "DESC"), "ASC")
        rows = (
            self._consolidated(session_id)
            if view == "consolidated"
            else list(self.dataset.participants.get(session_id, []))
        )
        if search:
            rows = [
                r
                for r in rows
                if search
                in " ".join(
                    str(r.get(k) or "") for k in ("id", "custom_participant_id", "display_name")
                ).lower()
            ]
        key = "duration" if sort_by == "duration" else "joined_at"
        rows.sort(key=lambda r: (_sort_value(r.get(key)), r["id"]), reverse=sort_order == "DESC")
        page, paging = _page(rows, q)
        items = [self.public_row(r, peer_events=peer_events) for r in page]
        if self.flavor == "seed":
            body = {"data": {"paging": paging, "participants": items}, "success": True}
            return _json_answer(200, self.seed_shape("get_session_participants", body))
        return _json_answer(200, {"success": True, "data": {"participants": items}, "paging": paging})

    @staticmethod
    def _filtered_peer_stats(
        peer_stats: Mapping[str, Any], filters: tuple[str, ...] | None
    ) -> dict[str, Any]:
        if filters is None:
            return dict(peer_stats)
        return {k: v for k, v in peer_stats.items() if k in filters}

    def get_session_participant_details(self, q: _Query, params: Mapping[str, str]) -> _Answer:
        row = self.participant(params["session_id"], params["participant_id"])
        filters = q.filters()
        participant = self.public_row(row, peer_events=q.boolean("include_peer_events"))
        details = self.dataset.details.get(row["id"]) or {}
        participant["peer_stats"] = self._filtered_peer_stats(details.get("peer_stats") or {}, filters)
        if filters is None or "quality_stats" in filters:
            participant["quality_stats"] = details.get("quality_stats") or []
        body = {"data": {"participant": participant}, "success": True}
        if self.flavor == "seed":
            body = self.seed_shape("get_session_participant_details", body)
        return _json_answer(200, body)

    def get_participant_data_from_peer_id(self, q: _Query, params: Mapping[str, str]) -> _Answer:
        peer_id = params["peer_id"]
        session_id = self.session_of_peer.get(peer_id)
        if session_id is None or peer_id not in self.dataset.peer_reports:
            raise _rtk_error(404, f"Peer {peer_id} not found")
        filters = q.filters()
        row = self.rows_by_session[session_id][peer_id]
        report = self.dataset.peer_reports[peer_id]
        participant = self.public_row(row, peer_events=q.boolean("include_peer_events"))
        participant.pop("preset_name", None)
        participant["role"] = report.get("role") or row.get("preset_name")
        participant["session_id"] = session_id
        peer_report = dict(report.get("peer_report") or {})
        metadata = peer_report["metadata"] = dict(peer_report.get("metadata") or {})  # changed below: a copy
        if filters is not None:
            for block in PEER_STATS_BLOCKS:
                if block not in filters:
                    metadata.pop(block, None)
            if "quality_stats" not in filters:
                peer_report.pop("quality", None)
        participant["peer_report"] = peer_report
        participant["peer_stats"] = self._filtered_peer_stats(report.get("peer_stats") or {}, filters)
        if filters is None or "quality_stats" in filters:
            participant["quality_stats"] = report.get("quality_stats") or {}
        if self.flavor == "seed":
            participant.pop("session_id")
            browser = metadata.get("browser_metadata")
            if browser is not None:
                metadata["browser_metadata"] = dict(
                    browser, webgl_support=_text_bool(browser.get("webgl_support"))
                )
            return _json_answer(
                200,
                self.seed_shape(
                    "get_participant_data_from_peer_id",
                    {"data": {"participant": participant}, "success": True},
                ),
            )
        return _json_answer(200, {"data": {"participant": participant}, "success": True})

    # ---------------------------------------------------------------- downloads

    def signed_url(self, path: str) -> tuple[str, str]:
        """A presigned URL into the sandbox bucket for ``path`` and its expiry time (ISO)."""
        issued = int(self.now())
        ttl = max(1, round(self.download_ttl_s))
        amz_date = datetime.fromtimestamp(issued, UTC).strftime("%Y%m%dT%H%M%SZ")
        signature = self.sign(path, amz_date, ttl)
        query = (
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=SANDBOX%2F{amz_date[:8]}%2Fauto%2Fs3"
            f"%2Faws4_request&X-Amz-Date={amz_date}&X-Amz-Expires={ttl}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={signature}"
        )
        url = f"http://{self.base_host}:{self.port}{quote(path)}?{query}"
        return url, _iso_now(issued + ttl)

    def sign(self, path: str, amz_date: str, ttl: int) -> str:
        return hmac.new(self.secret, f"{path}\n{amz_date}\n{ttl}".encode(), hashlib.sha256).hexdigest()

    def _bucket_path(self, session_id: str, name: str) -> str:
        return f"{BUCKET_PREFIX}{self.account_id}/{self.app_id}/{session_id}/{name}"

    def get_session_chat(self, _q: _Query, params: Mapping[str, str]) -> _Answer:
        session_id = self.session(params["session_id"])["id"]
        if session_id not in self.dataset.chats:
            raise _rtk_error(404, f"No chat found for session {session_id}")
        url, expiry = self.signed_url(self._bucket_path(session_id, "chat.csv"))
        return _json_answer(
            200, {"data": {"chat_download_url": url, "chat_download_url_expiry": expiry}, "success": True}
        )

    def get_session_transcripts(self, q: _Query, params: Mapping[str, str]) -> _Answer:
        session_id = self.session(params["session_id"])["id"]
        fmt = q.choice("format", tuple(TRANSCRIPT_FORMATS), "CSV") or "CSV"
        if session_id not in self.dataset.transcripts:
            raise _rtk_error(404, f"No transcript found for session {session_id}")
        url, expiry = self.signed_url(
            self._bucket_path(session_id, f"transcript.{TRANSCRIPT_FORMATS[fmt][0]}")
        )
        return _json_answer(
            200,
            {
                "data": {
                    "sessionId": session_id,
                    "transcript_download_url": url,
                    "transcript_download_url_expiry": expiry,
                },
                "success": True,
            },
        )

    def get_session_summary(self, _q: _Query, params: Mapping[str, str]) -> _Answer:
        session_id = self.session(params["session_id"])["id"]
        if session_id not in self.summaries:
            raise _rtk_error(404, f"No summary found for session {session_id}; generate it first")
        url, expiry = self.signed_url(self._bucket_path(session_id, "summary.txt"))
        return _json_answer(
            200,
            {
                "data": {
                    "sessionId": session_id,
                    "summaryDownloadUrl": url,
                    "summaryDownloadUrlExpiry": expiry,
                },
                "success": True,
            },
        )

    def generate_summary_of_transcripts(self, _q: _Query, params: Mapping[str, str]) -> _Answer:
        session = self.session(params["session_id"])
        session_id = session["id"]
        if session_id not in self.dataset.transcripts:
            raise _rtk_error(400, f"Session {session_id} has no transcript to summarise")
        with self.lock:
            existed = session_id in self.summaries
            if not existed:
                self.summaries[session_id] = summary_text(session, self.dataset.transcripts[session_id])
        status = "COMPLETED" if existed else "IN_PROGRESS"
        return _json_answer(
            200 if existed else 202, {"success": True, "data": {"session_id": session_id, "status": status}}
        )

    def bucket(self, path: str, query: Mapping[str, str], has_authorization: bool) -> _Answer:
        if has_authorization:
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                "query parameter, Signature query string parameter or the Authorization header "
                "should be specified",
            )
        amz_date, ttl_text, signature = (
            query.get(k, "") for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature")
        )
        try:
            ttl = int(ttl_text)
            issued = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return _s3_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Amz-Date, "
                "X-Amz-Expires and X-Amz-Signature parameters",
            )
        if not hmac.compare_digest(self.sign(path, amz_date, ttl), signature):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if self.now() > issued + ttl:
            return _s3_error(403, "AccessDenied", "Request has expired")
        parts = path[len(BUCKET_PREFIX) :].split("/")
        if len(parts) != 4:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        session_id, name = parts[2], parts[3]
        return self._object(session_id, name)

    def _object(self, session_id: str, name: str) -> _Answer:
        from rtk_frames.sandbox import media  # written alongside; imported only when a file is fetched

        if name == "chat.csv" and session_id in self.dataset.chats:
            return _Answer(
                200,
                media.render_chat_csv(self.dataset.chats[session_id]),
                content_type="text/csv; charset=utf-8",
            )
        if name == "summary.txt" and session_id in self.summaries:
            return _Answer(
                200,
                media.render_summary(self.summaries[session_id]),
                content_type="text/plain; charset=utf-8",
            )
        stem, _, extension = name.partition(".")
        formats = {ext: (fmt, ctype) for fmt, (ext, ctype) in TRANSCRIPT_FORMATS.items()}
        if stem == "transcript" and extension in formats and session_id in self.dataset.transcripts:
            fmt, ctype = formats[extension]
            session = self.sessions_by_id.get(session_id, {})
            content = media.render_transcript(
                self.dataset.transcripts[session_id],
                fmt,
                generation=self.dataset.transcript_generation.get(session_id, "current"),
                session_started_at=session.get("started_at"),
            )
            return _Answer(200, content, content_type=ctype)
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")

    # ---------------------------------------------------------------- dispatch

    def route(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """(endpoint name, path parameters); endpoint ``"unknown"``/``"download"`` for the rest."""
        if path.startswith(BUCKET_PREFIX):
            return "download", {}
        match = API_PATH.match(path)
        if match is None:
            return "unknown", {}
        rest = match["rest"]
        allowed_elsewhere = False
        for route_method, pattern, name in ROUTES:
            found = pattern.fullmatch(rest)
            if found is None:
                continue
            if route_method != method:
                allowed_elsewhere = True
                continue
            return name, {"account_id": match["account_id"], "app_id": match["app_id"], **found.groupdict()}
        return ("method_not_allowed" if allowed_elsewhere else "unknown"), {}

    def answer_api(
        self,
        method: str,
        endpoint: str,
        params: dict[str, str],
        query: Mapping[str, str],
        authorization: str | None,
        path: str,
    ) -> _Answer:
        if endpoint == "unknown":
            return _cloudflare_error(
                404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?"
            )
        if endpoint == "method_not_allowed":
            return _cloudflare_error(405, 10405, f"Method {method} not allowed for {path}")
        expected = f"Bearer {self.api_token}"
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
            return _cloudflare_error(401, 10000, "Authentication error")
        if params["account_id"] != self.account_id:
            return _cloudflare_error(404, 7003, "Could not route to account: unknown account identifier")
        if params["app_id"] != self.app_id:
            return _cloudflare_error(404, 7003, "Could not route to app: unknown RealtimeKit app identifier")
        handler: Callable[[_Query, Mapping[str, str]], _Answer] = getattr(self, endpoint)
        try:
            return handler(_Query(query), params)
        except _HTTPProblem as problem:
            return problem.answer


# ----------------------------------------------------------------------------------------------------
# HTTP plumbing
# ----------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, +40 ms per answer
    server_version = "rtk-frames-sandbox"
    sys_version = ""
    service: _Service  # set on the subclass made per server
    arrived: float  # time.monotonic() when the request line was read

    def log_message(self, format: str, *args: Any) -> None:
        return

    def parse_request(self) -> bool:
        # the request line has just been read: the request has arrived. Parsing its headers is the
        # sandbox's own work, inside the latency like the rest of it (measured from _handle, it came on top)
        self.arrived = time.monotonic()
        return super().parse_request()

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        arrived = self.arrived
        service = self.service
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        authorization = self.headers.get("Authorization")
        endpoint, params = service.route(method, path)
        # the answer leaves ``delay_s`` after the request arrived, the sandbox's own work included (a
        # service's response time includes its work; a sandbox that slept and then worked would add its
        # Python time, serialized over concurrent requests, to every answer)
        delay_s = service.latency_s + service.injector.latency_s(path)
        fault = service.injector.next_fault(path)
        log: dict[str, Any] = dict(
            method=method,
            path=path,
            query=query,
            endpoint=endpoint,
            has_authorization=authorization is not None,
        )
        if fault == "drop":
            _sleep_until(arrived + delay_s)
            service.record(RequestRecord(status=0, **log))
            self.close_connection = True
            return
        if fault == "html":
            answer = _Answer(502, HTML_502_PAGE.encode(), content_type="text/html")
        elif fault == "server_error":
            status = service.injector.faults.server_error_status
            answer = _cloudflare_error(
                status,
                10000 + status,
                "Service temporarily unavailable",
                {"Retry-After": f"{service.injector.faults.retry_after_s:g}"},
            )
        elif fault == "rate_limited":
            answer = _cloudflare_error(
                429,
                971,
                "Please wait and consider throttling your request speed",
                {"Retry-After": f"{service.injector.faults.retry_after_s:g}"},
            )
        else:
            try:
                if endpoint == "download":
                    answer = service.bucket(path, query, authorization is not None)
                else:
                    answer = self._api_answer(method, endpoint, params, query, authorization, path)
            except Exception as error:  # a sandbox bug must be a visible 500, never a silently closed socket
                message = f"sandbox error: {type(error).__name__}: {error}"
                answer = _json_answer(500, {"success": False, "error": {"code": 500, "message": message}})
        _sleep_until(arrived + delay_s)
        service.record(RequestRecord(status=answer.status, **log))
        try:
            self._send(answer, truncate=fault == "truncate")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout fired)
            self.close_connection = True

    def _api_answer(
        self,
        method: str,
        endpoint: str,
        params: dict[str, str],
        query: Mapping[str, str],
        authorization: str | None,
        path: str,
    ) -> _Answer:
        service = self.service
        allowed, headers = service.take_rate_budget()
        if not allowed:
            answer = _cloudflare_error(429, 971, "Please wait and consider throttling your request speed")
        else:
            answer = service.answer_api(method, endpoint, params, query, authorization, path)
        answer.headers.update(headers)
        return answer

    def _send(self, answer: _Answer, *, truncate: bool) -> None:
        body = answer.body
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Cf-Ray", f"{secrets.token_hex(8)}-SBX")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Content-Length", str(len(body) + max(64, len(body))))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _sleep_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline`` (not at all when it has)."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 stalls a client pool opening many connections at once


class SandboxAPI:
    """A running sandbox (made by :func:`serve`); a context manager that stops the server on exit.

    Example:
        >>> from rtk_frames.sandbox import serve
        >>> with serve() as api:
        ...     api.base_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        port: int = 0,
        latency: float = 0.0,
        faults: Faults | None = None,
        flavor: str = "sdk",
        rate_limit: tuple[int, float] | None = None,
        download_ttl_s: float = 300.0,
        account_id: str | None = None,
        app_id: str | None = None,
        api_token: str | None = None,
    ) -> None:
        self._service = _Service(
            dataset,
            flavor=flavor,
            account_id=account_id or dataset.account_id,
            app_id=app_id or dataset.app_id,
            api_token=api_token or f"sbx_{secrets.token_urlsafe(24)}",
            download_ttl_s=download_ttl_s,
            rate_limit=rate_limit,
            latency_s=latency,
            faults=faults,
        )
        handler = type("SandboxHandler", (_Handler,), {"service": self._service})
        self._server = _Server(("127.0.0.1", port), handler)
        self._service.port = self._server.server_address[1]
        # what clients need (fixed for the server's life)
        self.port: int = self._service.port
        self.base_url = f"http://127.0.0.1:{self.port}{API_PREFIX}"
        self.account_id, self.app_id = self._service.account_id, self._service.app_id
        self.api_token = self._service.api_token
        self.dataset: Dataset = self._service.dataset
        self.flavor = self._service.flavor
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"rtk-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    # ---------------------------------------------------------------- what clients need

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (a snapshot)."""
        with self._service.lock:
            return list(self._service.request_log)

    def counts(self) -> dict[str, int]:
        """Requests received per endpoint name (``"download"`` for the bucket)."""
        with self._service.lock:
            return dict(self._service.counter)

    def environment(self) -> dict[str, str]:
        """The environment variables ``rtk_frames.Client.from_env()`` reads, set for this sandbox.

        Example:
            >>> with serve() as api:
            ...     sorted(api.environment())
            ['CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_API_TOKEN', 'RTK_APP_ID', 'RTK_BASE_URL']
        """
        return {
            "CLOUDFLARE_API_TOKEN": self.api_token,
            "CLOUDFLARE_ACCOUNT_ID": self.account_id,
            "RTK_APP_ID": self.app_id,
            "RTK_BASE_URL": self.base_url,
        }

    def url(self, endpoint_path: str = "sessions") -> str:
        """The full URL of a path under the app, e.g. ``api.url("sessions/abc/participants")``."""
        app = f"{self.base_url}/accounts/{self.account_id}/realtime/kit/{self.app_id}"
        return f"{app}/{endpoint_path.lstrip('/')}"

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """The sandbox's request budget ``(max_requests, window_s)``, or ``None`` (unlimited)."""
        return self._service.rate_limit

    @property
    def latency_s(self) -> float:
        """Seconds from a request's arrival to its answer, the sandbox's own work included
        (``serve(latency=...)``)."""
        return self._service.latency_s

    @property
    def faults(self) -> Faults:
        """The injected faults as configured (``serve(faults=...)`` or the last ``set_faults``)."""
        return self._service.injector.faults

    def client(self, **client_kwargs: Any) -> Any:
        """An :class:`rtk_frames.Client` pointed at this sandbox, with its credentials.

        Its rate budget is this sandbox's own ``rate_limit`` (none when the sandbox has none), not the
        real service's defaults; pass ``rate_limiter=...`` to choose another.

        Example:
            >>> with serve(rate_limit=(20, 1.0)) as limited, serve() as unlimited:
            ...     limited.client().rate_limiter.windows, unlimited.client().rate_limiter
            (((20, 1.0),), None)
        """
        from rtk_frames.client import Client

        if "rate_limiter" not in client_kwargs:
            client_kwargs["rate_limiter"] = self._rate_limiter()
        return Client(self.account_id, self.app_id, self.api_token, base_url=self.base_url, **client_kwargs)

    def _rate_limiter(self) -> Any:
        """A client-side budget matching this sandbox's ``rate_limit`` (``None``: unlimited)."""
        if self.rate_limit is None:
            return None
        from rtk_frames.ratelimit import RateLimiter

        return RateLimiter((self.rate_limit,))

    # ---------------------------------------------------------------- steering

    def set_faults(self, faults: Faults | None) -> None:
        """Replace the injected faults (their counters restart)."""
        self._service.injector.set(faults)

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward: download URLs expire, rate-limit windows reset."""
        with self._service.lock:
            self._service.clock_offset_s += float(seconds)

    def reset_log(self) -> None:
        """Forget the request log and counters."""
        with self._service.lock:
            self._service.request_log.clear()
            self._service.counter.clear()

    def close(self) -> None:
        """Stop serving and release the port."""
        if not self._closed:
            self._closed = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never shows the token
        sessions = len(self.dataset.sessions)
        return f"SandboxAPI(base_url={self.base_url!r}, flavor={self.flavor!r}, sessions={sessions})"


def serve(
    dataset: Dataset | None = None,
    *,
    port: int = 0,
    latency: float = 0.0,
    faults: Faults | None = None,
    flavor: str = "sdk",
    rate_limit: tuple[int, float] | None = None,
    download_ttl_s: float = 300.0,
    account_id: str | None = None,
    app_id: str | None = None,
    api_token: str | None = None,
) -> SandboxAPI:
    """Start the sandbox on 127.0.0.1 (``port=0``: a free port) and return it; use it as a context manager.

    Args:
        dataset: what to serve (default: :meth:`Dataset.from_samples`).
        latency: seconds from a request's arrival to its answer (the sandbox's own work included, as in a
            service's response time).
        faults: injected failures (see :class:`Faults`); change later with ``api.set_faults``.
        flavor: ``"sdk"`` (SDK 5.9.0 shapes, the default) or ``"seed"`` (the reference's example shapes).
        rate_limit: ``(max_requests, window_s)``: a request budget per window, with ``Ratelimit`` headers.
        download_ttl_s: how long presigned download URLs stay valid (on the sandbox clock).
        account_id, app_id, api_token: fixed credentials (default: the dataset's ids, a random token).

    Example:
        >>> with serve(flavor="seed") as api:
        ...     api.flavor, api.counts()
        ('seed', {})
    """
    return SandboxAPI(
        dataset if dataset is not None else Dataset.from_samples(),
        port=port,
        latency=latency,
        faults=faults,
        flavor=flavor,
        rate_limit=rate_limit,
        download_ttl_s=download_ttl_s,
        account_id=account_id,
        app_id=app_id,
        api_token=api_token,
    )


SHOWN_SESSION_IDS = 5  # run_forever lists this many session ids, then a count


def run_forever(dataset: Dataset | None = None, port: int = 8787, **serve_kwargs: Any) -> None:
    """Serve until Ctrl-C, after printing the base URL, the credentials (the sandbox token is no secret),
    the first session ids and an ``export`` line to paste into a shell; prints ``stopped`` on Ctrl-C.

    Example (shell): ``rtk-frames sandbox --port 8787``, then paste the printed ``export`` line and use
    ``rtk_frames.Client.from_env()`` (or any HTTP client) against it.
    """
    with serve(dataset, port=port, **serve_kwargs) as api:
        print(describe(api), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", flush=True)


def describe(api: SandboxAPI) -> str:
    """What :func:`run_forever` prints on start: where the sandbox is, what it serves, how to use it.

    Example:
        >>> with serve(rate_limit=(250, 10)) as api:
        ...     text = describe(api)
        >>> "export CLOUDFLARE_API_TOKEN=sbx_" in text, "rate limit: 250 requests / 10 s" in text
        (True, True)
    """
    ids = [session["id"] for session in api.dataset.sessions]
    shown = [f"    {session_id}" for session_id in ids[:SHOWN_SESSION_IDS]]
    if len(ids) > SHOWN_SESSION_IDS:
        shown.append(f"    … and {len(ids) - SHOWN_SESSION_IDS} more")
    limit = (
        f"{api.rate_limit[0]} requests / {api.rate_limit[1]:g} s" if api.rate_limit is not None else "none"
    )
    faults = {kind: n for kind, n in api.faults.budget().items() if n}
    lines = [
        f"RealtimeKit sandbox ({api.flavor} shapes) serving {len(ids)} sessions",
        f"  base URL:   {api.base_url}",
        f"  account id: {api.account_id}",
        f"  app id:     {api.app_id}",
        f"  API token:  {api.api_token}   (sandbox only)",
        f"  rate limit: {limit}",
        f"  latency:    {api.latency_s:g} s",
    ]
    if faults:
        lines.append("  faults:     " + ", ".join(f"{kind} x{n}" for kind, n in faults.items()))
    lines += [f"  sessions:   {len(ids)} (in start order)" if ids else "  sessions:   0", *shown]
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in api.environment().items())
    lines += ["Point rtk_frames (Client.from_env) at it:", f"export {exports}", "Press Ctrl-C to stop."]
    return "\n".join(lines)


def iter_endpoint_paths(api: SandboxAPI) -> Iterator[tuple[str, str, str]]:
    """(method, path under the app, endpoint) for one call of each endpoint on the first session — handy
    for smoke checks.

    Example:
        >>> with serve() as api:
        ...     len(list(iter_endpoint_paths(api)))
        9
    """
    session = api.dataset.sessions[0]["id"]
    peer = api.dataset.participants[session][0]["id"]
    yield "GET", "sessions", "get_sessions"
    yield "GET", f"sessions/{session}", "get_session_details"
    yield "GET", f"sessions/{session}/participants", "get_session_participants"
    yield "GET", f"sessions/{session}/participants/{peer}", "get_session_participant_details"
    yield "GET", f"sessions/{session}/chat", "get_session_chat"
    yield "GET", f"sessions/{session}/transcript", "get_session_transcripts"
    yield "POST", f"sessions/{session}/summary", "generate_summary_of_transcripts"
    yield "GET", f"sessions/{session}/summary", "get_session_summary"
    yield "GET", f"sessions/peer-report/{peer}", "get_participant_data_from_peer_id"
