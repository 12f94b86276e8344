"""The wire: an HTTP client for the RealtimeKit Sessions API that returns the raw JSON dicts.

Auth (Bearer token, sent only to the API host), pooled connections, (connect, read) timeouts, retries
with exponential backoff and a capped ``Retry-After`` (urllib3's ``Retry``), a client-side rate budget
(:mod:`rtk_frames.ratelimit`), paging that never loops and never repeats an item, typed errors carrying the
service's own message, and downloads of presigned file URLs without any credentials. Never imports pandas.

Example:
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     payload = api.client().get_sessions(per_page=5)
    >>> payload["success"], isinstance(payload["data"]["sessions"], list)
    (True, True)
"""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import logging
import math
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from rtk_frames._version import __version__
from rtk_frames.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PayloadError,
    RateLimitError,
    RTKError,
    ServerError,
    TransportError,
)
from rtk_frames.ratelimit import RateLimiter

__all__ = [
    "Client",
    "ClientStats",
    "DownloadedFile",
    "MissingCredentialsError",
    "error_from_response",
    "query_params",
    "service_error",
]

logger = logging.getLogger("rtk_frames.client")

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_MAX_S = 10.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_AFTER_MAX_S = 60.0
DEFAULT_BACKOFF_FACTOR_S = 0.5
DEFAULT_BACKOFF_JITTER_S = 0.25
BACKOFF_MAX_S = 30.0
#: statuses retried for GET requests (after the retries run out they become typed errors)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
ERROR_BODY_PREVIEW_CHARS = 200
POOL_MAXSIZE = 16
MIN_SCRUBBED_TOKEN_CHARS = 6
_S3_ERROR = re.compile(r"<Error>(?:.*?<Code>(?P<code>[^<]*)</Code>)?.*?<Message>(?P<message>[^<]*)</Message>",
                       re.DOTALL)
USER_AGENT = f"rtk-frames/{__version__}"

TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
ACCOUNT_ENV = "CLOUDFLARE_ACCOUNT_ID"
APP_ENV = "RTK_APP_ID"
BASE_URL_ENV = "RTK_BASE_URL"

# listing method -> the key of its items under "data"
_PAGED_ITEMS_KEY = {"get_sessions": "sessions", "get_session_participants": "participants"}
# download kind -> (raw method, the URL's spellings, seed/SDK and defensive camelCase)
_DOWNLOAD_URL_KEYS = {
    "chat": ("get_session_chat", ("chat_download_url", "chatDownloadUrl")),
    "transcript": ("get_session_transcripts", ("transcript_download_url", "transcriptDownloadUrl")),
    "summary": ("get_session_summary", ("summary_download_url", "summaryDownloadUrl")),
}
_DEFAULT = object()  # "use the default rate limiter" (None disables it)
# query parameters that are comma-joined lists on the wire (no spaces)
_COMMA_LISTS = frozenset({"filters", "participants"})
# a body cut short (IncompleteRead, reset mid-body): retried like a connection error for GETs
_TRUNCATED_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class MissingCredentialsError(RTKError, ValueError):
    """No API token (or account/app id) was given and the environment has none."""


@dataclass
class DownloadedFile:
    """A session file fetched from its presigned URL.

    Attributes:
        content: the file's bytes, as downloaded.
        payload: the API's JSON answer that named the URL (``{"data": {...download_url...}}``).
        url: the URL the content came from.
    """

    content: bytes
    payload: dict[str, Any]
    url: str

    def __repr__(self) -> str:  # the presigned URL's query is a credential of sorts: keep it out
        where = urlsplit(self.url)
        return f"DownloadedFile(content=<{len(self.content)} bytes>, url='{where.netloc}{where.path}?...')"


@dataclass
class ClientStats:
    """Counters of what a :class:`Client` did (thread-safe).

    Attributes:
        requests: calls per endpoint (raw method name, or ``"download"``), not counting retries.
        retries: attempts repeated after an error or a retryable status.
        retry_waits_s: each wait before a retry, in seconds (backoff or the service's Retry-After).
        rate_limit_wait_s: total seconds the client-side budget held requests back.
    """

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    retry_waits_s: list[float] = field(default_factory=list)
    rate_limit_wait_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self.requests[endpoint] += 1

    def count_retry(self, wait_s: float) -> None:
        with self._lock:
            self.retries += 1
            self.retry_waits_s.append(wait_s)

    def count_rate_limit_wait(self, wait_s: float) -> None:
        with self._lock:
            self.rate_limit_wait_s += wait_s

    def snapshot(self) -> dict[str, Any]:
        """A plain, JSON-ready copy of the counters.

        Example:
            >>> stats = ClientStats()
            >>> stats.count_request("get_sessions")
            >>> stats.snapshot()["requests"]
            {'get_sessions': 1}
        """
        with self._lock:
            return {"requests": dict(self.requests), "retries": self.retries,
                    "retry_waits_s": list(self.retry_waits_s), "rate_limit_wait_s": self.rate_limit_wait_s}


# ---------------------------------------------------------------------------------------------------------
# pure helpers: query values, error envelopes


def _iso_utc(value: dt.datetime | dt.date) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # naive means UTC
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _query_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return _iso_utc(value)
    if name in _COMMA_LISTS and not isinstance(value, str) and isinstance(value, Iterable):
        return ",".join(str(item).strip() for item in value)
    if name in _COMMA_LISTS:
        return ",".join(part.strip() for part in str(value).split(",") if part.strip())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def query_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Turn keyword arguments into the API's query string values.

    ``None`` is left out; booleans become ``"true"``/``"false"``; datetimes (aware, or naive meaning
    UTC) become ISO 8601 UTC strings; ``filters`` (a string or an iterable) becomes one comma-joined
    string without spaces (so does ``participants`` of ``get_sessions``).

    Example:
        >>> import datetime as dt
        >>> query_params({"filters": ["device_info", "events"], "include_peer_events": True,
        ...               "start_time": dt.datetime(2024, 5, 1, 12), "search": None, "per_page": 50})
        ... # doctest: +NORMALIZE_WHITESPACE
        {'filters': 'device_info,events', 'include_peer_events': 'true',
         'start_time': '2024-05-01T12:00:00.000Z', 'per_page': '50'}
    """
    return {name: _query_value(name, value) for name, value in params.items() if value is not None}


def _body_preview(body: bytes) -> str:
    text = " ".join(body[: ERROR_BODY_PREVIEW_CHARS * 4].decode("utf-8", errors="replace").split())
    return text[:ERROR_BODY_PREVIEW_CHARS]


def _decode_json(body: bytes) -> Any:
    """The decoded JSON, or ``_NOT_JSON`` when the body is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _NOT_JSON


_NOT_JSON = object()


def service_error(payload: Any) -> tuple[str | None, str] | None:
    """The service's own ``(code, message)`` from either error envelope, or ``None`` when it has none.

    Cloudflare's ``{"errors": [{"code", "message"}, ...]}`` (several messages are joined with ``"; "``)
    and RealtimeKit's ``{"error": {"code", "message"}}`` (or a bare string) are both understood.

    Example:
        >>> service_error({"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]})
        ('10000', 'Authentication error')
        >>> service_error({"success": False, "error": {"code": 404, "message": "Session not found"}})
        ('404', 'Session not found')
    """
    if not isinstance(payload, dict):
        return None
    entries: list[Any] = []
    errors = payload.get("errors")
    if isinstance(errors, list):
        entries.extend(errors)
    if payload.get("error") not in (None, "", [], {}):
        entries.append(payload["error"])
    codes: list[str] = []
    messages: list[str] = []
    for entry in entries:
        if isinstance(entry, dict):
            if entry.get("code") is not None:
                codes.append(str(entry["code"]))
            message = entry.get("message") or entry.get("detail") or entry.get("description")
            if message:
                messages.append(str(message))
        elif isinstance(entry, str) and entry:
            messages.append(entry)
    if not messages and isinstance(payload.get("message"), str) and payload["message"]:
        messages.append(payload["message"])
    if not messages and not codes:
        return None
    return (codes[0] if codes else None), "; ".join(messages) or "(no message)"


def _retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds, leniently fractional, or an HTTP date);
    ``None`` when there is none or it is unreadable (a date in the past is 0)."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _error_class(status: int) -> type[APIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return APIError


def error_from_response(
    status: int,
    body: bytes,
    *,
    method: str,
    path: str,
    retry_after_s: float | None = None,
) -> APIError:
    """The typed error for an error answer: the class from the status, the message from the body.

    The message is the service's own (either envelope, or an object store's XML ``<Error>``), else the
    first ~200 characters of a non-JSON (e.g. HTML) body, else a generic one. Never any header.

    Example:
        >>> err = error_from_response(404, b'{"success":false,"error":{"code":404,"message":"No session"}}',
        ...                           method="GET", path="/sessions/x")
        >>> type(err).__name__, err.message
        ('NotFoundError', 'No session')
    """
    payload = _decode_json(body)
    found = service_error(payload)
    text = body[:4096].decode("utf-8", errors="replace") if payload is _NOT_JSON else ""
    s3_error = _S3_ERROR.search(text)
    if found is not None:
        code, message = found
    elif s3_error is not None:  # an object store's XML error (expired or bad presigned URL)
        code, message = s3_error["code"] or None, s3_error["message"]
    elif payload is _NOT_JSON and body.strip():
        code, message = None, _body_preview(body)
    else:
        code, message = None, "the service sent no error message"
    return _error_class(status)(status, message, code=code, method=method, path=path,
                                retry_after_s=retry_after_s)


def _item_key(item: Any) -> Any:
    if isinstance(item, dict) and item.get("id") is not None:
        return ("id", str(item["id"]))
    return ("json", orjson.dumps(item, option=orjson.OPT_SORT_KEYS))


def _paging_of(payload: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    paging = payload.get("paging")
    if not isinstance(paging, dict):
        paging = data.get("paging")
    return paging if isinstance(paging, dict) else {}


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# ---------------------------------------------------------------------------------------------------------
# auth and retries


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default_port


class _BearerAuth(AuthBase):
    """Adds the Bearer token, but only to requests for the API's own scheme, host and port."""

    def __init__(self, token: str, base_url: str) -> None:
        self._token = token
        self._origin = _origin(base_url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url and _origin(request.url) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def scrub(self, text: str) -> str:
        """``text`` with the token masked (a toy token shorter than 6 characters is left alone)."""
        return text.replace(self._token, "***") if len(self._token) >= MIN_SCRUBBED_TOKEN_CHARS else text

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"


class _NoAuth(AuthBase):
    """No credentials at all (also keeps requests from reaching for ~/.netrc)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


@dataclass
class _RetryBudget:
    """The retries one logical request may take. urllib3's retries (inside one ``session.request``)
    and ``Client._send``'s retries of truncated bodies (around it) draw from this one budget."""

    max_retries: int
    spent: int = 0

    def take(self) -> bool:
        """Spend one retry; ``False`` when none was left."""
        self.spent += 1
        return not self.overdrawn

    @property
    def overdrawn(self) -> bool:
        return self.spent > self.max_retries


# the budget of the logical request running in this thread/context (set by Client._send)
_RETRY_BUDGET: contextvars.ContextVar[_RetryBudget | None] = contextvars.ContextVar("rtk_frames_retry_budget",
                                                                                     default=None)


@dataclass
class _RetryHooks:
    """What the client's Retry needs from its client: how to wait, the Retry-After cap, the budget."""

    sleep: Callable[[float], None]
    retry_after_max_s: float
    stats: ClientStats
    limiter: RateLimiter | None = None


class _ClientRetry(Retry):
    """urllib3's Retry, with Retry-After capped, waits through an injectable sleep and recorded, every
    retry attempt taken from the rate budget, the service's Ratelimit headers fed to the limiter, and
    each retry spent from the logical request's :class:`_RetryBudget` (exhausted when it runs out)."""

    hooks: _RetryHooks | None = None

    def new(self, **kw: Any) -> _ClientRetry:
        retry = super().new(**kw)
        retry.hooks = self.hooks
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        seconds = _retry_after_s(retry_after)
        if seconds is None:
            raise InvalidHeader(f"Invalid Retry-After header: {retry_after}")
        cap = self.hooks.retry_after_max_s if self.hooks else DEFAULT_RETRY_AFTER_MAX_S
        return min(seconds, cap)

    def get_retry_after(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:  # an unreadable Retry-After: fall back to the backoff
            return None

    def _wait(self, seconds: float, why: str) -> None:
        last = self.history[-1] if self.history else None
        cause = last.status if last and last.status else type(last.error).__name__ if last else "?"
        logger.debug("retry %d after %s: waiting %.3fs (%s)", len(self.history), cause, seconds, why)
        if self.hooks is None:
            time.sleep(seconds)
            return
        self.hooks.sleep(seconds)
        self.hooks.stats.count_retry(seconds)

    def sleep_for_retry(self, response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after:
            self._wait(retry_after, "Retry-After")
            return True
        return False

    def _sleep_backoff(self) -> None:
        self._wait(max(self.get_backoff_time(), 0.0), "backoff")

    def sleep(self, response: Any = None) -> None:
        super().sleep(response)
        if self.hooks and self.hooks.limiter is not None:
            self.hooks.stats.count_rate_limit_wait(self.hooks.limiter.acquire())

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> _ClientRetry:
        if response is not None and self.hooks and self.hooks.limiter is not None:
            self.hooks.limiter.observe(response.headers)
        budget = _RETRY_BUDGET.get()
        if budget is not None:
            budget.take()  # an overdraft makes the new Retry exhausted (below): urllib3 gives up
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def is_exhausted(self) -> bool:
        budget = _RETRY_BUDGET.get()
        return super().is_exhausted() or (budget is not None and budget.overdrawn)


def _retry_policy(max_retries: int, backoff_factor: float, backoff_jitter: float,
                  hooks: _RetryHooks) -> _ClientRetry:
    retry = _ClientRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=False,
        allowed_methods=frozenset({"GET"}),  # POST: only connect errors (nothing was sent) are retried
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        backoff_max=BACKOFF_MAX_S,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer comes back and becomes a typed error
    )
    retry.hooks = hooks
    return retry


def _session(retry: Retry) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=POOL_MAXSIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


# ---------------------------------------------------------------------------------------------------------


class Client:
    """The RealtimeKit Sessions API for one account and app; every raw method returns the JSON dict.

    Args:
        account_id: the Cloudflare account id.
        app_id: the RealtimeKit app id.
        api_token: a Cloudflare API token; defaults to ``$CLOUDFLARE_API_TOKEN``. Shown nowhere, sent
            only to ``base_url``'s host.
        base_url: the API root.
        timeout: seconds to wait for an answer (a number, or a ``(connect, read)`` pair; a number caps
            the connect timeout at 10 s).
        max_retries: retries per request, whatever their causes (connection errors; for GET also
            408/409/429/5xx and truncated bodies): at most ``1 + max_retries`` attempts.
        rate_limiter: the client-side budget (default: a fresh :class:`RateLimiter`; pass one
            limiter to several clients that share a token; ``None`` disables it).
        retry_after_max_s: the longest ``Retry-After`` honoured (longer ones are cut to this).
        backoff_factor, backoff_jitter: exponential backoff ``factor * 2**(n-1) + random() * jitter``.
        sleep: how retries wait (inject a recorder in tests).

    Example:
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     client = api.client()
        ...     sessions = client.get_sessions()["data"]["sessions"]
        >>> len(sessions) > 0
        True
    """

    def __init__(
        self,
        account_id: str,
        app_id: str,
        api_token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limiter: RateLimiter | Any | None = _DEFAULT,
        retry_after_max_s: float = DEFAULT_RETRY_AFTER_MAX_S,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR_S,
        backoff_jitter: float = DEFAULT_BACKOFF_JITTER_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not account_id or not app_id:
            raise MissingCredentialsError(
                f"Client needs an account_id and an app_id (or ${ACCOUNT_ENV} and ${APP_ENV} "
                "with from_env())")
        token = api_token if api_token is not None else os.environ.get(TOKEN_ENV)
        if not token:
            raise MissingCredentialsError(
                f"no API token: pass api_token=... or set ${TOKEN_ENV} "
                "(a Cloudflare API token with the Realtime permission)")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            logger.warning("base_url %s is plain http: the API token would travel unencrypted", base_url)
        self.account_id = str(account_id)
        self.app_id = str(app_id)
        self.base_url = base_url.rstrip("/")
        self.max_retries = int(max_retries)
        if isinstance(timeout, tuple):
            self.timeout: tuple[float, float] = (float(timeout[0]), float(timeout[1]))
        else:
            self.timeout = (min(float(timeout), CONNECT_TIMEOUT_MAX_S), float(timeout))
        self.rate_limiter: RateLimiter | None = RateLimiter() if rate_limiter is _DEFAULT else rate_limiter
        self.stats = ClientStats()
        self._backoff_factor = backoff_factor
        self._backoff_jitter = backoff_jitter
        self._sleep = sleep
        self._auth = _BearerAuth(token, self.base_url)
        self._api_root = (f"{self.base_url}/accounts/{quote(self.account_id, safe='')}"
                          f"/realtime/kit/{quote(self.app_id, safe='')}")
        api_hooks = _RetryHooks(sleep, retry_after_max_s, self.stats, self.rate_limiter)
        self._session = _session(_retry_policy(self.max_retries, backoff_factor, backoff_jitter, api_hooks))
        # downloads: a separate plain session (no auth, no cookies of the API session), not in the budget
        download_hooks = _RetryHooks(sleep, retry_after_max_s, self.stats, None)
        self._download_session = _session(
            _retry_policy(self.max_retries, backoff_factor, backoff_jitter, download_hooks))
        self._download_session.headers["Accept"] = "*/*"

    @classmethod
    def from_env(cls, **kwargs: Any) -> Client:
        """A client from ``$CLOUDFLARE_API_TOKEN``, ``$CLOUDFLARE_ACCOUNT_ID``, ``$RTK_APP_ID`` and the
        optional ``$RTK_BASE_URL``; keyword arguments are passed on to :class:`Client`.

        Example:
            >>> import os
            >>> from unittest import mock
            >>> env = {"CLOUDFLARE_API_TOKEN": "t0ken", "CLOUDFLARE_ACCOUNT_ID": "acc", "RTK_APP_ID": "app"}
            >>> with mock.patch.dict(os.environ, env, clear=True):
            ...     Client.from_env(rate_limiter=None)
            Client(account_id='acc', app_id='app', base_url='https://api.cloudflare.com/client/v4')
        """
        missing = [name for name in (TOKEN_ENV, ACCOUNT_ENV, APP_ENV) if not os.environ.get(name)]
        if missing:
            names = ", ".join("$" + name for name in missing)
            raise MissingCredentialsError(f"set {names} to use from_env()")
        kwargs.setdefault("base_url", os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        return cls(os.environ[ACCOUNT_ENV], os.environ[APP_ENV], os.environ[TOKEN_ENV], **kwargs)

    def __repr__(self) -> str:
        return f"Client(account_id={self.account_id!r}, app_id={self.app_id!r}, base_url={self.base_url!r})"

    def __getstate__(self) -> Any:
        raise TypeError("a Client holds a credential and is not picklable; build one per process")

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()
        self._download_session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------------------

    def _backoff_s(self, attempt: int) -> float:
        backoff = self._backoff_factor * (2 ** attempt) + random.random() * self._backoff_jitter
        return min(backoff, BACKOFF_MAX_S)

    def _send(self, session: requests.Session, method: str, url: str, *, endpoint: str, path: str,
              params: Mapping[str, str] | None = None, auth: AuthBase,
              limiter: RateLimiter | None) -> requests.Response:
        """One logical request: budget, urllib3's retries, our retries of truncated GET bodies, and
        transport failures as :class:`TransportError` (raised outside ``except``: no chained request).

        All retries of the request, urllib3's and ours, share one :class:`_RetryBudget` of
        ``max_retries``: at most ``1 + max_retries`` attempts whatever mix of failures the server sends.
        """
        self.stats.count_request(endpoint)
        budget = _RetryBudget(max(self.max_retries, 0))
        context = _RETRY_BUDGET.set(budget)
        try:
            while True:
                if limiter is not None:
                    self.stats.count_rate_limit_wait(limiter.acquire())
                started = time.perf_counter()
                try:
                    response = session.request(method, url, params=params, auth=auth, timeout=self.timeout,
                                               allow_redirects=False)
                except _TRUNCATED_BODY_ERRORS as exc:
                    failure = TransportError(self._describe_failure(exc, method, path, "truncated body"))
                    logger.debug("%s %s -> truncated body after %.3fs", method, path,
                                 time.perf_counter() - started)
                    if method != "GET" or not budget.take():
                        break
                    wait_s = self._backoff_s(budget.spent - 1)
                    self._sleep(wait_s)
                    self.stats.count_retry(wait_s)
                    continue
                except requests.exceptions.RequestException as exc:
                    failure = TransportError(self._describe_failure(exc, method, path, "no answer"))
                    logger.debug("%s %s -> %s after %.3fs", method, path, type(exc).__name__,
                                 time.perf_counter() - started)
                    break
                logger.debug("%s %s -> %s in %.3fs", method, path, response.status_code,
                             time.perf_counter() - started)
                if limiter is not None:
                    limiter.observe(response.headers)
                return response
        finally:
            _RETRY_BUDGET.reset(context)
        raise failure

    def _describe_failure(self, exc: Exception, method: str, path: str, what: str) -> str:
        reason = exc.args[0] if exc.args else exc
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError -> the underlying cause
        return self._auth.scrub(f"{method} {path}: {what} ({type(exc).__name__}: {reason})")

    def _api(self, method: str, endpoint: str, path: str, params: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:
        """Call the API and return its decoded JSON dict, or raise the typed error."""
        response = self._send(self._session, method, self._api_root + path, endpoint=endpoint,
                              path=urlsplit(self._api_root).path + path,
                              params=query_params(params or {}), auth=self._auth, limiter=self.rate_limiter)
        full_path = urlsplit(response.url).path
        body = response.content
        status = response.status_code
        if not 200 <= status < 300:
            raise error_from_response(status, body, method=method, path=full_path,
                                      retry_after_s=_retry_after_s(response.headers.get("Retry-After")))
        payload = _decode_json(body)
        if payload is _NOT_JSON:
            if not body.strip():
                return {}
            raise PayloadError(f"{method} {full_path} answered HTTP {status} with a body that is not JSON: "
                               f"{_body_preview(body)!r}")
        if not isinstance(payload, dict):
            raise PayloadError(f"{method} {full_path} answered with a JSON {type(payload).__name__}, "
                               "not an object")
        if payload.get("success") is False:
            found = service_error(payload)
            code, message = found if found else (None, "the service answered success: false")
            raise APIError(status, message, code=code, method=method, path=full_path)
        return payload

    # -- the nine raw methods ---------------------------------------------------------------------------

    def get_sessions(
        self,
        *,
        associated_id: str | None = None,
        end_time: str | dt.datetime | None = None,
        page_no: int | None = None,
        participants: str | None = None,
        per_page: int | None = None,
        search: str | None = None,
        sort_by: Literal["minutesConsumed", "createdAt"] | None = None,
        sort_order: Literal["ASC", "DESC"] | None = None,
        start_time: str | dt.datetime | None = None,
        status: Literal["LIVE", "ENDED"] | None = None,
    ) -> dict[str, Any]:
        """``GET sessions``: one page of the app's sessions (``data.sessions``; ``paging`` at the top).

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> with serve(Dataset.from_samples()) as api:
            ...     page = api.client().get_sessions(status="ENDED", per_page=2)
            >>> {s["status"] for s in page["data"]["sessions"]} <= {"ENDED"}
            True
        """
        params = {"associated_id": associated_id, "end_time": end_time, "page_no": page_no,
                  "participants": participants, "per_page": per_page, "search": search, "sort_by": sort_by,
                  "sort_order": sort_order, "start_time": start_time, "status": status}
        return self._api("GET", "get_sessions", "/sessions", params)

    def get_session_details(self, session_id: str, *, include_breakout_rooms: bool | None = None
                            ) -> dict[str, Any]:
        """``GET sessions/{session_id}``: one session (flat under ``data``, or ``data.session`` in the seed).

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     details = api.client().get_session_details(ds.sessions[0]["id"],
            ...                                                include_breakout_rooms=True)
            >>> details["success"]
            True
        """
        return self._api("GET", "get_session_details", f"/sessions/{_segment(session_id)}",
                         {"include_breakout_rooms": include_breakout_rooms})

    def get_session_participants(
        self,
        session_id: str,
        *,
        include_peer_events: bool | None = None,
        page_no: int | None = None,
        per_page: int | None = None,
        search: str | None = None,
        sort_by: Literal["joinedAt", "duration"] | None = None,
        sort_order: Literal["ASC", "DESC"] | None = None,
        view: Literal["raw", "consolidated"] | None = None,
    ) -> dict[str, Any]:
        """``GET sessions/{session_id}/participants``: one page of participants (``data.participants``).

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     page = api.client().get_session_participants(ds.sessions[0]["id"], sort_by="joinedAt")
            >>> len(page["data"]["participants"]) == len(ds.participants[ds.sessions[0]["id"]])
            True
        """
        params = {"include_peer_events": include_peer_events, "page_no": page_no, "per_page": per_page,
                  "search": search, "sort_by": sort_by, "sort_order": sort_order, "view": view}
        return self._api("GET", "get_session_participants",
                         f"/sessions/{_segment(session_id)}/participants", params)

    def get_session_participant_details(
        self,
        session_id: str,
        participant_id: str,
        *,
        filters: str | Iterable[str] | None = None,
        include_peer_events: bool | None = None,
    ) -> dict[str, Any]:
        """``GET sessions/{session_id}/participants/{participant_id}``: one participant in depth.

        ``filters`` (the seed: ``device_info``, ``ip_information``, ``precall_network_information``,
        ``events``, ``quality_stats``; a string or a list) and ``include_peer_events`` (the SDK) are both
        accepted. (The SDK's own order is ``(participant_id, *, session_id=...)``: pass keywords to be safe.)

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> sid, pid = ds.sessions[0]["id"], ds.participants[ds.sessions[0]["id"]][0]["id"]
            >>> with serve(ds) as api:
            ...     details = api.client().get_session_participant_details(sid, pid, filters=["device_info"])
            >>> details["data"]["participant"]["id"] == pid
            True
        """
        return self._api("GET", "get_session_participant_details",
                         f"/sessions/{_segment(session_id)}/participants/{_segment(participant_id)}",
                         {"filters": filters, "include_peer_events": include_peer_events})

    def get_session_chat(self, session_id: str) -> dict[str, Any]:
        """``GET sessions/{session_id}/chat``: the chat export's download URL (``data.chat_download_url``).

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     chat = api.client().get_session_chat(ds.sessions[0]["id"])
            >>> chat["data"]["chat_download_url"].startswith("http")
            True
        """
        return self._api("GET", "get_session_chat", f"/sessions/{_segment(session_id)}/chat")

    def get_session_transcripts(
        self, session_id: str, *, format: Literal["SRT", "VTT", "JSON", "CSV"] | None = None
    ) -> dict[str, Any]:
        """``GET sessions/{session_id}/transcript``: the transcript's download URL, in ``format``.

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     transcript = api.client().get_session_transcripts(ds.sessions[0]["id"], format="VTT")
            >>> transcript["data"]["transcript_download_url"].startswith("http")
            True
        """
        return self._api("GET", "get_session_transcripts", f"/sessions/{_segment(session_id)}/transcript",
                         {"format": format})

    def get_session_summary(self, session_id: str) -> dict[str, Any]:
        """``GET sessions/{session_id}/summary``: the summary's download URL (``data.summaryDownloadUrl``);
        :class:`NotFoundError` when no summary was generated yet.

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     client = api.client()
            ...     _ = client.generate_summary_of_transcripts(ds.sessions[0]["id"])
            ...     summary = client.get_session_summary(ds.sessions[0]["id"])
            >>> summary["data"]["summaryDownloadUrl"].startswith("http")
            True
        """
        return self._api("GET", "get_session_summary", f"/sessions/{_segment(session_id)}/summary")

    def generate_summary_of_transcripts(self, session_id: str) -> dict[str, Any]:
        """``POST sessions/{session_id}/summary``: start generating the summary (never retried once sent).

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     answer = api.client().generate_summary_of_transcripts(ds.sessions[-1]["id"])
            >>> answer["success"]
            True
        """
        return self._api("POST", "generate_summary_of_transcripts",
                         f"/sessions/{_segment(session_id)}/summary")

    def get_participant_data_from_peer_id(
        self,
        peer_id: str,
        *,
        filters: str | Iterable[str] | None = None,
        include_peer_events: bool | None = None,
    ) -> dict[str, Any]:
        """``GET sessions/peer-report/{peer_id}``: the peer report (``data.participant.peer_report``).

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> sid, pid = ds.sessions[0]["id"], ds.participants[ds.sessions[0]["id"]][0]["id"]
            >>> with serve(ds) as api:   # in RealtimeKit a participant row's id is its peer id
            ...     report = api.client().get_participant_data_from_peer_id(pid, include_peer_events=True)
            >>> "peer_report" in report["data"]["participant"]
            True
        """
        return self._api("GET", "get_participant_data_from_peer_id",
                         f"/sessions/peer-report/{_segment(peer_id)}",
                         {"filters": filters, "include_peer_events": include_peer_events})

    # -- paging -----------------------------------------------------------------------------------------

    def paginate(self, method_name: str, *, per_page: int = 100, max_pages: int | None = None,
                 **params: Any) -> Iterator[dict[str, Any]]:
        """Yield each page's raw JSON of a listing method, from ``page_no=1`` until the end.

        Stops on any of: ``total_count`` or ``end_offset`` reached (``paging`` at the top level, under
        ``data``, or missing), a short page (unless ``total_count`` says more remain), an empty page,
        ``max_pages``, or a page that brings no new item ids. Items already yielded are removed from
        later pages, so no item comes twice.

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> with serve(Dataset.from_samples()) as api:
            ...     pages = list(api.client().paginate("get_sessions", per_page=2))
            >>> sum(len(p["data"]["sessions"]) for p in pages) > 0
            True
        """
        if method_name not in _PAGED_ITEMS_KEY:
            raise ValueError(f"paginate() pages {sorted(_PAGED_ITEMS_KEY)}, not {method_name!r}")
        if per_page < 1:
            raise ValueError(f"per_page must be >= 1, got {per_page}")
        items_key = _PAGED_ITEMS_KEY[method_name]
        fetch_page = getattr(self, method_name)
        page_no = int(params.pop("page_no", None) or 1)
        seen: set[Any] = set()
        pages = 0
        while max_pages is None or pages < max_pages:
            payload = fetch_page(**params, page_no=page_no, per_page=per_page)
            pages += 1
            data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
            items = data.get(items_key) if isinstance(data.get(items_key), list) else []
            fresh = []
            for item in items:
                key = _item_key(item)
                if key not in seen:
                    seen.add(key)
                    fresh.append(item)
            if pages > 1 and not fresh:  # empty, or nothing new: a repeated or runaway page
                logger.debug("paginate %s: page %s brought no new items, stopping", method_name, page_no)
                return
            yield {**payload, "data": {**data, items_key: fresh}} if data else payload
            paging = _paging_of(payload, data)
            total = _int_or_none(paging.get("total_count"))
            end_offset = _int_or_none(paging.get("end_offset"))
            if not items:
                return
            if total is not None and (len(seen) >= total or (end_offset is not None and end_offset >= total)):
                return
            if len(items) < per_page and (total is None or len(seen) >= total):
                return
            page_no += 1

    # -- downloads --------------------------------------------------------------------------------------

    def download(self, url: str) -> bytes:
        """GET a presigned file URL with a separate plain session: no Authorization, no token, no cookies.

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     client = api.client()
            ...     url = client.get_session_chat(ds.sessions[0]["id"])["data"]["chat_download_url"]
            ...     content = client.download(url)
            >>> content.startswith(b"id,")
            True
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PayloadError(f"not a download URL: {parts.scheme}://{parts.netloc}{parts.path}")
        where = f"//{parts.netloc}{parts.path}"  # never the query: it holds the URL's signature
        response = self._send(self._download_session, "GET", url, endpoint="download", path=where,
                              auth=_NoAuth(), limiter=None)
        if not 200 <= response.status_code < 300:
            raise error_from_response(response.status_code, response.content, method="GET", path=where,
                                      retry_after_s=_retry_after_s(response.headers.get("Retry-After")))
        return response.content

    def _download_url(self, kind: str, session_id: str, format: str | None) -> tuple[dict[str, Any], str]:
        method_name, url_keys = _DOWNLOAD_URL_KEYS[kind]
        method = getattr(self, method_name)
        payload = method(session_id, format=format) if kind == "transcript" else method(session_id)
        for scope in (payload.get("data"), payload):
            if isinstance(scope, dict):
                for key in url_keys:
                    if isinstance(scope.get(key), str) and scope[key]:
                        return payload, scope[key]
        raise PayloadError(f"{method_name}({session_id!r}) answered without a download URL "
                           f"(looked for {', '.join(url_keys)})")

    def download_session_file(
        self,
        kind: Literal["chat", "transcript", "summary"],
        session_id: str,
        *,
        format: Literal["SRT", "VTT", "JSON", "CSV"] | None = None,
    ) -> DownloadedFile:
        """Ask the API for a session file's URL and download it; an expired URL (403) is renewed once.

        ``kind="summary"`` raises :class:`NotFoundError` (the service's message) when no summary was
        generated yet; ``format`` applies to transcripts.

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> ds = Dataset.from_samples()
            >>> with serve(ds) as api:
            ...     transcript = api.client().download_session_file("transcript", ds.sessions[0]["id"],
            ...                                                     format="CSV")
            >>> len(transcript.content) > 0
            True
        """
        if kind not in _DOWNLOAD_URL_KEYS:
            raise ValueError(f"kind must be one of {sorted(_DOWNLOAD_URL_KEYS)}, not {kind!r}")
        if format is not None and kind != "transcript":
            raise ValueError("format= applies to transcripts only")
        payload, url = self._download_url(kind, session_id, format)
        try:
            return DownloadedFile(self.download(url), payload, url)
        except APIError as first:
            if first.status != 403:
                raise
            logger.debug("%s download for session %s refused (403): asking for a fresh URL", kind, session_id)
        payload, url = self._download_url(kind, session_id, format)
        try:
            return DownloadedFile(self.download(url), payload, url)
        except APIError as second:
            if second.status != 403:
                raise
            refused = second
        raise AuthenticationError(
            403, f"the {kind} download for session {session_id} was refused twice, even with a fresh URL "
                 f"from the API: {refused.message}", code=refused.code, method="GET", path=refused.path)


def _segment(value: str) -> str:
    """One path segment, percent-encoded (an id can never reach into another path)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty id, got {value!r}")
    return quote(value, safe="")
