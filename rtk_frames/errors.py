"""The typed exception hierarchy of rtk_frames.

Every failure the package raises on purpose is an :class:`RTKError`::

    RTKError
    ├── APIError (.status, .code, .message)       the service answered with an error
    │   ├── AuthenticationError                   401 / 403
    │   ├── NotFoundError                         404
    │   ├── RateLimitError                        429, after the retries ran out
    │   └── ServerError                           5xx, after the retries ran out
    ├── TransportError                            connection refused/reset, timeout, truncated body
    └── PayloadError                              a body that is not the JSON we expected

No message built here ever contains the API token: callers pass the service's own message, the
method and the URL *path* (never headers).

Example:
    >>> from rtk_frames.errors import NotFoundError, APIError
    >>> err = NotFoundError(404, "Session not found", code="404", method="GET", path="/sessions/x")
    >>> isinstance(err, APIError), err.status
    (True, 404)
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "CoercionWarning",
    "NotFoundError",
    "PayloadError",
    "RTKError",
    "RateLimitError",
    "ServerError",
    "TransportError",
]


class RTKError(Exception):
    """Base class of every error rtk_frames raises on purpose."""


class APIError(RTKError):
    """The API answered with an error status, or with ``"success": false``.

    Attributes:
        status: the HTTP status code (200 for a ``success: false`` body).
        code: the service's own error code, when it sent one (as text), else ``None``.
        message: the service's own message (or the first bytes of a non-JSON body).
        method, path: the request that failed (the path only: never the query's secrets or headers).
        retry_after_s: seconds the service asked us to wait, when it said (429/503).

    Example:
        >>> e = APIError(500, "boom", method="GET", path="/sessions")
        >>> str(e)
        'HTTP 500 on GET /sessions: boom'
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.retry_after_s = retry_after_s
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" on {self.method} {self.path}" if self.method and self.path else ""
        code = f" [{self.code}]" if self.code not in (None, "", str(self.status)) else ""
        return f"HTTP {self.status}{where}{code}: {self.message}"


class AuthenticationError(APIError):
    """401 or 403: the token is missing, wrong, expired or lacks the permission."""


class NotFoundError(APIError):
    """404: no such session, participant or peer (or a wrong account/app id)."""


class RateLimitError(APIError):
    """429 after the client's retries ran out. ``retry_after_s`` says how long the service asked to wait."""


class ServerError(APIError):
    """5xx after the client's retries ran out."""


class TransportError(RTKError):
    """The request never got a complete answer: connection refused/reset, timeout, truncated body."""


class PayloadError(RTKError):
    """The body is not the JSON the endpoint documents (not JSON at all, or the wrong shape)."""


class CoercionWarning(UserWarning):
    """Some values could not be read as their declared type and were set to NA (counted in the message)."""
