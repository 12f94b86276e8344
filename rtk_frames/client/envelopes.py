"""Error envelopes -> typed errors, and a 2xx body -> the JSON dict (or a :class:`PayloadError`).

Cloudflare wraps errors as ``{"errors": [{"code", "message"}, ...]}``, RealtimeKit as
``{"error": {"code", "message"}}`` (or a bare string), an object store as XML ``<Error>``; anything else
is previewed. The class comes from the status (:mod:`rtk_frames.errors`). Never any header in a message.

Example:
    >>> from rtk_frames.client.envelopes import error_from_response
    >>> error_from_response(401, b'{"errors":[{"code":10000,"message":"Authentication error"}]}',
    ...                     method="GET", path="/x")
    AuthenticationError('HTTP 401 on GET /x [10000]: Authentication error')
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
from typing import Any

import orjson

from rtk_frames.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PayloadError,
    RateLimitError,
    ServerError,
)

__all__ = ["error_from_response", "payload_from_response", "retry_after_s", "service_error"]

ERROR_BODY_PREVIEW_CHARS = 200
_S3_ERROR = re.compile(r"<Error>(?:.*?<Code>(?P<code>[^<]*)</Code>)?.*?<Message>(?P<message>[^<]*)</Message>",
                       re.DOTALL)
_NOT_JSON = object()


def _body_preview(body: bytes) -> str:
    text = " ".join(body[: ERROR_BODY_PREVIEW_CHARS * 4].decode("utf-8", errors="replace").split())
    return text[:ERROR_BODY_PREVIEW_CHARS]


def _decode_json(body: bytes) -> Any:
    """The decoded JSON, or ``_NOT_JSON`` when the body is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _NOT_JSON


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


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds, leniently fractional, or an HTTP date);
    ``None`` when there is none or it is unreadable (a date in the past is 0).

    Example:
        >>> retry_after_s("2.5"), retry_after_s("soon"), retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT")
        (2.5, None, 0.0)
    """
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


def payload_from_response(status: int, body: bytes, *, method: str, path: str,
                          retry_after: str | None = None) -> dict[str, Any]:
    """The answer's JSON object, or the typed error: an error status, ``"success": false``, a body that
    is not a JSON object (:class:`PayloadError`). An empty 2xx body is ``{}``.

    Example:
        >>> payload_from_response(200, b'{"success": true, "data": {}}', method="GET", path="/x")
        {'success': True, 'data': {}}
        >>> payload_from_response(200, b'{"success": false, "errors": ["nope"]}', method="GET", path="/x")
        Traceback (most recent call last):
        rtk_frames.errors.APIError: HTTP 200 on GET /x: nope
    """
    if not 200 <= status < 300:
        raise error_from_response(status, body, method=method, path=path,
                                  retry_after_s=retry_after_s(retry_after))
    payload = _decode_json(body)
    if payload is _NOT_JSON:
        if not body.strip():
            return {}
        raise PayloadError(f"{method} {path} answered HTTP {status} with a body that is not JSON: "
                           f"{_body_preview(body)!r}")
    if not isinstance(payload, dict):
        raise PayloadError(f"{method} {path} answered with a JSON {type(payload).__name__}, not an object")
    if payload.get("success") is False:
        found = service_error(payload)
        code, message = found if found else (None, "the service answered success: false")
        raise APIError(status, message, code=code, method=method, path=path)
    return payload
