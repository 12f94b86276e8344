"""The endpoint surface: :class:`Client`, whose raw methods are generated from :mod:`rtk_frames.endpoints`.

Each row of :data:`rtk_frames.endpoints.ENDPOINTS` becomes one method named as in the official SDK:
the path template's fields are its positional arguments (each percent-encoded as one segment), the
query parameters its keyword-only arguments (``None`` left out, each serialised as its row says), and it
returns the decoded JSON ``dict`` or raises the typed error. :meth:`Client.paginate` pages any row with
an ``items_key``; :meth:`Client.download_session_file` follows any row with ``download_keys``.

Example:
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     payload = api.client().get_sessions(per_page=5)
    >>> payload["success"], isinstance(payload["data"]["sessions"], list)
    (True, True)
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import orjson

from rtk_frames.client.envelopes import error_from_response, payload_from_response, retry_after_s
from rtk_frames.client.ratelimit import RateLimiter, interruptible_sleep
from rtk_frames.client.transport import (
    DEFAULT_BACKOFF_FACTOR_S,
    DEFAULT_BACKOFF_JITTER_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_MAX_S,
    DEFAULT_TIMEOUT_S,
    ClientStats,
    Transport,
)
from rtk_frames.endpoints import ENDPOINTS, Endpoint
from rtk_frames.errors import APIError, AuthenticationError, PayloadError, RTKError

__all__ = ["Client", "DownloadedFile", "MissingCredentialsError", "query_params"]

logger = logging.getLogger("rtk_frames.client")

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
ACCOUNT_ENV = "CLOUDFLARE_ACCOUNT_ID"
APP_ENV = "RTK_APP_ID"
BASE_URL_ENV = "RTK_BASE_URL"

class _FreshRateLimiter:
    """The default of ``Client(rate_limiter=...)``: a new :class:`RateLimiter` per client (``None``
    disables it); its repr keeps ``help(Client)`` readable."""

    def __repr__(self) -> str:
        return "RateLimiter()"


_DEFAULT: Any = _FreshRateLimiter()
# query parameters that are comma-joined lists on the wire (no spaces), from the endpoint table
_COMMA_LISTS = frozenset(param.name for row in ENDPOINTS.values() for param in row.query
                         if param.kind == "csv")
# download kind ("chat", "transcript", "summary") -> the row answering with its URL
_DOWNLOADS = {row.download_keys[0].removesuffix("_download_url"): row
              for row in ENDPOINTS.values() if row.download_keys}


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


# ---------------------------------------------------------------------------------------------------------
# query values


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
    UTC) become ISO 8601 UTC strings; the table's ``csv`` parameters (``filters``, and ``participants``
    of ``get_sessions``; a string or an iterable) become one comma-joined string without spaces.

    Example:
        >>> import datetime as dt
        >>> query_params({"filters": ["device_info", "events"], "include_peer_events": True,
        ...               "start_time": dt.datetime(2024, 5, 1, 12), "search": None, "per_page": 50})
        ... # doctest: +NORMALIZE_WHITESPACE
        {'filters': 'device_info,events', 'include_peer_events': 'true',
         'start_time': '2024-05-01T12:00:00.000Z', 'per_page': '50'}
    """
    return {name: _query_value(name, value) for name, value in params.items() if value is not None}


def _segment(value: str) -> str:
    """One path segment, percent-encoded (an id can never reach into another path)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty id, got {value!r}")
    if value in (".", ".."):  # a dot segment: the URL's normalisation would remove it, and the one before
        raise ValueError(f"{value!r} is not an id: the request would go to another endpoint")
    return quote(value, safe="")


# ---------------------------------------------------------------------------------------------------------
# paging helpers


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
# raw methods from the table

_EXAMPLE_ARGS = {"session_id": "sid", "participant_id": "pid", "peer_id": "pid"}


def _raw_method_doc(row: Endpoint) -> str:
    query = ", ".join(f"``{p.name}`` ({p.kind})" for p in row.query) or "none"
    paging = (f" A listing: :meth:`Client.paginate` pages it through ``data.{row.items_key}``."
              if row.items_key else "")
    args = ", ".join(_EXAMPLE_ARGS[name] for name in row.path_fields)
    first = (f"    ...     _ = api.client().{row.example_first}({args})\n" if row.example_first else "")
    return (
        f"``{row.method} {row.path.lstrip('/')}``: {row.summary}.\n\n"
        f"Query parameters: {query}.{paging} Generated from ``rtk_frames.endpoints.ENDPOINTS"
        f"[{row.name!r}]``.\n\n"
        "Example:\n"
        "    >>> from rtk_frames.sandbox import Dataset, serve\n"
        "    >>> ds = Dataset.from_samples()\n"
        "    >>> sid = ds.sessions[0][\"id\"]\n"
        "    >>> pid = ds.participants[sid][0][\"id\"]\n"
        "    >>> with serve(ds) as api:\n"
        f"{first}"
        f"    ...     answer = api.client().{row.name}({args})\n"
        "    >>> answer[\"success\"]\n"
        "    True\n"
    )


def _raw_method(row: Endpoint) -> Callable[..., dict[str, Any]]:
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str")
                   for name in row.path_fields]
    parameters += [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                     annotation=p.annotation) for p in row.query]
    signature = inspect.Signature(parameters, return_annotation="dict[str, Any]")
    fields = row.path_fields
    query_names = frozenset(p.name for p in row.query)

    def raw_method(self: Client, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if len(args) == len(fields) and kwargs.keys() <= query_names:  # the usual call: no binding needed
            bound = dict(zip(fields, args, strict=True), **kwargs)
        else:
            bound = signature.bind(self, *args, **kwargs).arguments
        path = row.path.format_map({name: _segment(bound[name]) for name in fields})
        return self._call(row, path, {p.name: bound.get(p.name) for p in row.query})

    raw_method.__name__ = row.name
    raw_method.__qualname__ = f"Client.{row.name}"
    raw_method.__doc__ = _raw_method_doc(row)
    raw_method.__signature__ = signature  # type: ignore[attr-defined]
    return raw_method


# ---------------------------------------------------------------------------------------------------------


class Client:
    """The RealtimeKit Sessions API for one account and app; every raw method returns the JSON dict.

    The raw methods (``get_sessions``, ``get_session_details``, … — one per row of
    :data:`rtk_frames.endpoints.ENDPOINTS`, named as in the official SDK) are generated from the table.

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
            limiter to several clients that share a token; ``None`` disables it). A rate such as
            ``"1000/300s"``, or a list of them for several windows, makes a :class:`RateLimiter`.
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

    if TYPE_CHECKING:  # the raw methods are generated below from the endpoint table
        def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]: ...

    def __init__(
        self,
        account_id: str,
        app_id: str,
        api_token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limiter: RateLimiter | str | Iterable[str | tuple[int, float]] | None = _DEFAULT,
        retry_after_max_s: float = DEFAULT_RETRY_AFTER_MAX_S,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR_S,
        backoff_jitter: float = DEFAULT_BACKOFF_JITTER_S,
        sleep: Callable[[float], None] = interruptible_sleep,
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
        if rate_limiter is _DEFAULT:
            rate_limiter = RateLimiter()
        elif rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            rate_limiter = RateLimiter(rate_limiter)  # "1000/300s", or several windows
        self.rate_limiter: RateLimiter | None = rate_limiter
        self.stats = ClientStats()
        self._transport = Transport(self.base_url, token, timeout=timeout, max_retries=self.max_retries,
                                    rate_limiter=self.rate_limiter, retry_after_max_s=retry_after_max_s,
                                    backoff_factor=backoff_factor, backoff_jitter=backoff_jitter,
                                    sleep=sleep, stats=self.stats)
        self.timeout = self._transport.timeout
        self._auth = self._transport.auth
        self._api_root = (f"{self.base_url}/accounts/{quote(self.account_id, safe='')}"
                          f"/realtime/kit/{quote(self.app_id, safe='')}")
        self._api_root_path = urlsplit(self._api_root).path

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
            names = ", ".join(missing)
            raise MissingCredentialsError(
                f"missing credentials: set {names} in the environment ({TOKEN_ENV}: a Cloudflare API "
                f"token with the Realtime permission; {ACCOUNT_ENV}: the account id; {APP_ENV}: the "
                f"RealtimeKit app id; optional {BASE_URL_ENV}: another API root, e.g. a sandbox's)")
        kwargs.setdefault("base_url", os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        return cls(os.environ[ACCOUNT_ENV], os.environ[APP_ENV], os.environ[TOKEN_ENV], **kwargs)

    def __repr__(self) -> str:
        return f"Client(account_id={self.account_id!r}, app_id={self.app_id!r}, base_url={self.base_url!r})"

    def __getstate__(self) -> Any:
        raise TypeError("a Client holds a credential and is not picklable; build one per process")

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, row: Endpoint, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call one endpoint (``path`` filled in): its JSON dict, or the typed error."""
        response = self._transport.send(row.method, self._api_root + path, endpoint=row.name,
                                        path=self._api_root_path + path, params=query_params(params))
        return payload_from_response(response.status_code, response.content, method=row.method,
                                     path=urlsplit(response.url).path,
                                     retry_after=response.headers.get("Retry-After"))

    # -- paging -----------------------------------------------------------------------------------------

    def paginate(self, method_name: str, *, per_page: int = 100, max_pages: int | None = None,
                 **params: Any) -> Iterator[dict[str, Any]]:
        """Yield each page's raw JSON of a listing method, from ``page_no=1`` until the end.

        Listings are the rows of the endpoint table with an ``items_key``. Stops on any of:
        ``total_count`` or ``end_offset`` reached (``paging`` at the top level, under ``data``, or
        missing), a short page (unless ``total_count`` says more remain), an empty page, ``max_pages``,
        or a page that brings no new item ids. Items already yielded are removed from later pages, so no
        item comes twice.

        Example:
            >>> from rtk_frames.sandbox import Dataset, serve
            >>> with serve(Dataset.from_samples()) as api:
            ...     pages = list(api.client().paginate("get_sessions", per_page=2))
            >>> sum(len(p["data"]["sessions"]) for p in pages) > 0
            True
        """
        row = ENDPOINTS.get(method_name)
        if row is None or row.items_key is None:
            listings = sorted(name for name, r in ENDPOINTS.items() if r.items_key)
            raise ValueError(f"paginate() pages {listings}, not {method_name!r}")
        if per_page < 1:
            raise ValueError(f"per_page must be >= 1, got {per_page}")
        items_key = row.items_key
        fetch_page = getattr(self, method_name)
        page_no = int(params.pop("page_no", None) or 1)
        seen: set[Any] = set()
        pages = 0
        while max_pages is None or pages < max_pages:
            payload = fetch_page(**params, page_no=page_no, per_page=per_page)
            pages += 1
            data: dict[str, Any] = payload["data"] if isinstance(payload.get("data"), dict) else {}
            items: list[Any] = data[items_key] if isinstance(data.get(items_key), list) else []
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
        response = self._transport.send("GET", url, endpoint="download", path=where, download=True)
        if not 200 <= response.status_code < 300:
            raise error_from_response(response.status_code, response.content, method="GET", path=where,
                                      retry_after_s=retry_after_s(response.headers.get("Retry-After")))
        return response.content

    def _download_url(self, kind: str, session_id: str, format: str | None) -> tuple[dict[str, Any], str]:
        row = _DOWNLOADS[kind]
        method = getattr(self, row.name)
        takes_format = any(param.name == "format" for param in row.query)
        payload = method(session_id, format=format) if takes_format else method(session_id)
        for scope in (payload.get("data"), payload):
            if isinstance(scope, dict):
                for key in row.download_keys:
                    if isinstance(scope.get(key), str) and scope[key]:
                        return payload, scope[key]
        raise PayloadError(f"{row.name}({session_id!r}) answered without a download URL "
                           f"(looked for {', '.join(row.download_keys)})")

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
        if kind not in _DOWNLOADS:
            raise ValueError(f"kind must be one of {sorted(_DOWNLOADS)}, not {kind!r}")
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


for _row in ENDPOINTS.values():
    setattr(Client, _row.name, _raw_method(_row))
del _row
