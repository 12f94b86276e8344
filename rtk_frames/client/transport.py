"""HTTP transport: pooled sessions, Bearer auth for the API host only, timeouts, the rate budget, and
ONE retry loop for every failure.

:meth:`Transport.send` is the only place a request is repeated. urllib3 inside ``requests`` is told
never to retry (``max_retries=0``); the loop asks one urllib3 :class:`~urllib3.util.retry.Retry` object
per logical request whether to try again, whatever went wrong: a connection refused or dropped, a
timeout, a retryable status (408/409/429/5xx, GET only) or a body cut short (GET only). So a cut body
and a 503 draw from the same ``max_retries`` budget and the same backoff (``Retry-After`` honoured,
capped): at most ``1 + max_retries`` attempts whatever the mix. POSTs are retried only when nothing
was sent (the connection could not be made).

Example:
    >>> from rtk_frames.client.transport import ClientStats, Transport
    >>> transport = Transport("https://api.example.com/client/v4", "t0ken-value", rate_limiter=None)
    >>> transport.retry.total, sorted(transport.retry.allowed_methods)
    (3, ['GET'])
    >>> transport.auth
    _BearerAuth(<hidden>)
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from rtk_frames._version import __version__
from rtk_frames.client.envelopes import retry_after_s
from rtk_frames.client.ratelimit import RateLimiter, interruptible_sleep
from rtk_frames.errors import TransportError

__all__ = ["ClientStats", "Transport"]

logger = logging.getLogger("rtk_frames.client")

DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_MAX_S = 10.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_AFTER_MAX_S = 60.0
DEFAULT_BACKOFF_FACTOR_S = 0.5
DEFAULT_BACKOFF_JITTER_S = 0.25
BACKOFF_MAX_S = 30.0
#: statuses retried for GET requests (after the retries run out they become typed errors)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
POOL_MAXSIZE = 16
MIN_SCRUBBED_TOKEN_CHARS = 6
USER_AGENT = f"rtk-frames/{__version__}"
# a body cut short (IncompleteRead, reset mid-body): a read error, like a connection dropped mid-answer
_TRUNCATED_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


@dataclass
class ClientStats:
    """Counters of what a :class:`~rtk_frames.client.Client` did (thread-safe).

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
        """Count one logical request to ``endpoint``."""
        with self._lock:
            self.requests[endpoint] += 1

    def count_retry(self, wait_s: float) -> None:
        """Count one retry and the wait before it."""
        with self._lock:
            self.retries += 1
            self.retry_waits_s.append(wait_s)

    def count_rate_limit_wait(self, wait_s: float) -> None:
        """Add seconds the rate budget held a request back."""
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
# auth


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


# ---------------------------------------------------------------------------------------------------------
# the retry policy: urllib3's Retry, asked by Transport.send's loop (never by urllib3 itself)


@dataclass
class _RetryHooks:
    """What the client's Retry needs from its client: how to wait, the Retry-After cap, the counters."""

    sleep: Callable[[float], None]
    retry_after_max_s: float
    stats: ClientStats


class _ClientRetry(Retry):
    """urllib3's Retry with ``Retry-After`` capped (urllib3 alone honours up to 6 hours), an unreadable
    one falling back to the backoff, and every wait going through an injectable sleep and recorded."""

    hooks: _RetryHooks | None = None

    def new(self, **kw: Any) -> _ClientRetry:
        retry = super().new(**kw)
        retry.hooks = self.hooks
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        seconds = retry_after_s(retry_after)
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
            interruptible_sleep(seconds)
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


def retry_policy(max_retries: int, backoff_factor: float, backoff_jitter: float,
                 hooks: _RetryHooks) -> _ClientRetry:
    """The one retry policy of a client: ``max_retries`` in all, whatever the causes.

    Example:
        >>> policy = retry_policy(2, 0.5, 0.0, _RetryHooks(lambda s: None, 60.0, ClientStats()))
        >>> policy.total, policy.is_retry("GET", 503), policy.is_retry("POST", 503)
        (2, True, False)
    """
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
        raise_on_status=False,
    )
    retry.hooks = hooks
    return retry


def _urllib3_error(exc: requests.exceptions.RequestException) -> Exception:
    """The urllib3 error behind a requests exception, as :class:`Retry` classifies errors: a connect
    error (nothing sent), a read error (a timeout, a dropped or cut answer) or another error."""
    if isinstance(exc, _TRUNCATED_BODY_ERRORS):
        return urllib3.exceptions.ProtocolError(f"truncated body: {type(exc).__name__}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return urllib3.exceptions.ConnectTimeoutError(f"connect timeout: {type(exc).__name__}")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return urllib3.exceptions.ReadTimeoutError(None, None, "read timeout")  # type: ignore[arg-type]
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause: Any = exc.args[0] if exc.args else None
        cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError -> its reason
        if isinstance(cause, urllib3.exceptions.HTTPError):
            return cause
        return urllib3.exceptions.ProtocolError(str(cause))  # an OSError mid-request: treat as a read error
    return exc


def environment_settings(base_url: str) -> tuple[dict[str, str], bool | str]:
    """The proxies and CA bundle that ``requests`` would read from the environment for ``base_url``'s
    host (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` unless ``NO_PROXY`` names the host;
    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``), resolved once, when the client is built.

    ``requests`` re-reads these from ``os.environ`` on every call (a fifth of a call's own cost); the
    API session is told not to (``trust_env = False``) and is given them instead. No ``~/.netrc``: the
    API session always carries its own auth.

    Example:
        >>> import os
        >>> from unittest import mock
        >>> env = {"HTTPS_PROXY": "http://proxy.local:3128", "NO_PROXY": "localhost"}
        >>> with mock.patch.dict(os.environ, env, clear=True):
        ...     environment_settings("https://api.cloudflare.com/client/v4")
        ...     environment_settings("http://localhost:8080/client/v4")
        ({'https': 'http://proxy.local:3128', 'no': 'localhost'}, True)
        ({}, True)
    """
    proxies = dict(requests.utils.get_environ_proxies(base_url))
    verify: bool | str = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return proxies, verify


class _ApiAdapter(HTTPAdapter):
    """The API session's adapter: the connection pool of the API's origin is looked up once, not per
    request (``requests`` rebuilds the pool key and stats the CA bundle path on every call).

    The pool stays the one ``requests`` chose (same TLS settings, same proxy); a pool that was closed
    (the adapter closed, or the pool evicted) is looked up again.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pools: dict[tuple[Any, ...], Any] = {}

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: bool | str,
                                        proxies: dict[str, str] | None = None,
                                        cert: Any = None) -> Any:
        parts = urlsplit(request.url or "")
        key = (parts.scheme, parts.netloc, verify, cert, tuple(sorted((proxies or {}).items())))
        pool = self._pools.get(key)
        if pool is None or getattr(pool, "pool", None) is None:  # urllib3 empties .pool when it closes one
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            self._pools[key] = pool
        return pool

    def close(self) -> None:
        self._pools.clear()
        super().close()


# the part of an API URL after the base that ``requests`` and urllib3 leave exactly as it is: characters
# allowed in a path or query, upper-case percent escapes (of characters that are not unreserved: checked
# with requests' own ``requote_uri``), no dot segment
_SETTLED_REST = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})*")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|\?|$)")


def settled_url(base: str | None, url: str, params: Mapping[str, str] | None) -> str | None:
    """``url`` with ``params`` as ``requests`` would prepare them, when that is plain concatenation:
    ``url`` starts with ``base`` (a base ``requests`` leaves as it is) and ``requests`` and urllib3 would
    change nothing after it. Else ``None`` (the caller lets ``requests`` prepare the URL).

    Example:
        >>> settled_url("https://h.example/v4", "https://h.example/v4/s/a%20b", {"q": "x y"})
        'https://h.example/v4/s/a%20b?q=x+y'
        >>> settled_url("https://h.example/v4", "https://h.example/v4/s/../t", None) is None
        True
    """
    if base is None or not url.startswith(base):
        return None
    rest = url[len(base):] + (f"?{urlencode(params)}" if params else "")
    if (not _SETTLED_REST.fullmatch(rest) or _DOT_SEGMENT.search(rest.split("?", 1)[0])
            or requests.utils.requote_uri(rest) != rest):
        return None
    return base + rest


def _session(accept: str, adapter: HTTPAdapter | None = None) -> requests.Session:
    session = requests.Session()
    if adapter is None:
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=POOL_MAXSIZE)  # never retries
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": accept})
    return session


class Transport:
    """Two pooled sessions (the API's, with its Bearer token; downloads', with no credentials at all),
    the (connect, read) timeouts, the rate budget, the counters and the one retry loop.

    Args:
        base_url: the API root; the token goes only to its scheme, host and port.
        token: the API token (never shown: ``repr``, logs and errors scrub it).
        timeout: ``(connect, read)`` seconds, or one number (the connect part capped at 10 s).
        max_retries, backoff_factor, backoff_jitter, retry_after_max_s, sleep: the retry policy.
        rate_limiter: the client-side budget for API requests (not downloads); ``None`` disables it.
        stats: where to count requests, retries and waits.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limiter: RateLimiter | None = None,
        retry_after_max_s: float = DEFAULT_RETRY_AFTER_MAX_S,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR_S,
        backoff_jitter: float = DEFAULT_BACKOFF_JITTER_S,
        sleep: Callable[[float], None] = interruptible_sleep,
        stats: ClientStats | None = None,
    ) -> None:
        if isinstance(timeout, tuple):
            self.timeout: tuple[float, float] = (float(timeout[0]), float(timeout[1]))
        else:
            self.timeout = (min(float(timeout), CONNECT_TIMEOUT_MAX_S), float(timeout))
        self.rate_limiter = rate_limiter
        self.stats = stats if stats is not None else ClientStats()
        self.auth = _BearerAuth(token, base_url)
        # the base as requests prepares it; when that is the base itself, API URLs are built directly
        self._settled_base = base_url if requests.Request("GET", base_url).prepare().url == base_url else None
        self.retry = retry_policy(max(int(max_retries), 0), backoff_factor, backoff_jitter,
                                  _RetryHooks(sleep, retry_after_max_s, self.stats))
        self._api_adapter = _ApiAdapter(max_retries=0, pool_connections=4, pool_maxsize=POOL_MAXSIZE)
        self.api_session = _session("application/json", self._api_adapter)
        # the environment's proxy and CA settings, read once (see environment_settings); downloads go to
        # any host (presigned URLs), so their session keeps reading them per request
        self.api_session.proxies, self.api_session.verify = environment_settings(base_url)
        self.api_session.trust_env = False
        self.download_session = _session("*/*")  # no auth, no cookies of the API session

    def close(self) -> None:
        """Close the pooled connections."""
        self.api_session.close()
        self.download_session.close()

    def send(self, method: str, url: str, *, endpoint: str, path: str,
             params: Mapping[str, str] | None = None, download: bool = False) -> requests.Response:
        """One logical request: every attempt takes from the rate budget, and one :class:`Retry` decides
        about every failure (connection, timeout, retryable status, cut body). Returns the last answer,
        2xx or not (the caller makes errors of it); raises :class:`TransportError` when no complete answer
        came (outside any ``except``: the error chains no requests exception, which would hold headers).
        """
        self.stats.count_request(endpoint)
        session, auth = (self.download_session, _NoAuth()) if download else (self.api_session, self.auth)
        limiter = None if download else self.rate_limiter
        retry = self.retry  # Retry is immutable: each increment() returns a new one, history included
        while True:
            if limiter is not None:
                self.stats.count_rate_limit_wait(limiter.acquire())
            started = time.perf_counter()
            response: requests.Response | None = None
            error: requests.exceptions.RequestException | None = None
            try:
                if download:  # any host: requests resolves the environment's settings for it
                    response = session.request(method, url, params=params, auth=auth, timeout=self.timeout,
                                               allow_redirects=False)
                else:
                    response = self._send_api(method, url, params)
            except requests.exceptions.RequestException as exc:
                error = exc
            elapsed = time.perf_counter() - started
            if response is not None:
                logger.debug("%s %s -> %s in %.3fs", method, path, response.status_code, elapsed)
                if limiter is not None:
                    limiter.observe(response.headers)
                has_retry_after = "Retry-After" in response.headers
                if not retry.is_retry(method, response.status_code, has_retry_after):
                    return response
            else:
                logger.debug("%s %s -> %s after %.3fs", method, path, type(error).__name__, elapsed)
            try:
                retry = retry.increment(method, path, response=response.raw if response is not None else None,
                                        error=_urllib3_error(error) if error is not None else None)
            except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException):
                if response is not None:
                    return response  # retries exhausted on a status: the caller makes the typed error
                failure = TransportError(self._describe_failure(error, method, path))
                break
            retry.sleep(response.raw if response is not None else None)
        raise failure

    def _send_api(self, method: str, url: str, params: Mapping[str, str] | None) -> requests.Response:
        """One attempt on the API session: what ``Session.request`` does for it, without its per-call
        merging and parsing (together a third of a call's own CPU, and the largest part of a busy sync's).
        No cookies (the API sets none), no hooks, no redirects."""
        session = self.api_session
        response = self._api_adapter.send(self.prepare_api(method, url, params), stream=False,
                                          timeout=self.timeout, verify=session.verify, cert=session.cert,
                                          proxies=session.proxies)
        response.content  # noqa: B018  # read the body now (a cut body fails this attempt, here)
        return response

    def prepare_api(self, method: str, url: str, params: Mapping[str, str] | None = None
                    ) -> requests.PreparedRequest:
        """The request ``requests`` would prepare for an API call, built directly when it can be.

        The session's headers and auth are fixed when the client is built, and the client's URLs quote
        their ids: a URL made of the base (when ``requests`` leaves it as it is) and a rest that
        ``requests`` would not change (see ``_SETTLED_REST``) is used as it is, the query ``urlencode``-d
        as ``requests`` does; any other goes through ``PreparedRequest.prepare``. Both give the same
        request (tests/test_client_environment.py checks it for any URL and query).

        Example:
            >>> transport = Transport("https://api.example.com/client/v4", "t0ken-value", rate_limiter=None)
            >>> transport.prepare_api("GET", "https://api.example.com/client/v4/x", {"page_no": "2"}).url
            'https://api.example.com/client/v4/x?page_no=2'
        """
        session = self.api_session
        prepared = requests.PreparedRequest()
        settled = settled_url(self._settled_base, url, params)
        if settled is not None:
            prepared.method, prepared.url = method.upper(), settled
            prepared.headers = session.headers.copy()  # type: ignore[assignment]  # str values only
            self.auth(prepared)
        else:
            prepared.prepare(method=method.upper(), url=url, headers=session.headers, params=params,
                             auth=self.auth, hooks=session.hooks)
        return prepared

    def _describe_failure(self, exc: BaseException | None, method: str, path: str) -> str:
        what = "truncated body" if isinstance(exc, _TRUNCATED_BODY_ERRORS) else "no answer"
        reason: Any = exc.args[0] if exc is not None and exc.args else exc
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError -> the underlying cause
        return self.auth.scrub(f"{method} {path}: {what} ({type(exc).__name__}: {reason})")
