"""Injected failures for the sandbox: the ways a real API and its proxies misbehave.

A :class:`Faults` value says *what* goes wrong; :class:`FaultInjector` (used by the server) decides,
thread-safely, *which request* gets it. ``…_first=K`` means: the first K requests whose path matches
``path_pattern`` (a regex searched in the URL path, ``None`` = every path) get that fault. When several
kinds are asked for, they are served one after another in this order — dropped connections, truncated
bodies, HTML proxy pages, server errors, rate limiting — so ``Faults(server_errors_first=2,
rate_limited_first=1)`` answers 503, 503, 429 and then normally.

Example:
    >>> from rtk_frames.sandbox import Faults, serve
    >>> import requests
    >>> with serve(faults=Faults(server_errors_first=1)) as api:
    ...     url = f"{api.base_url}/accounts/{api.account_id}/realtime/kit/{api.app_id}/sessions"
    ...     auth = {"Authorization": f"Bearer {api.api_token}"}
    ...     [requests.get(url, headers=auth).status_code for _ in range(2)]
    [503, 200]
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "FAULT_ORDER", "FAULT_PARAMETERS", "FaultInjector", "Faults", "parse_faults"]

# the order in which fault kinds are consumed when several are configured
FAULT_ORDER: tuple[str, ...] = ("drop", "truncate", "html", "server_error", "rate_limited")
# a fault kind (as in FAULT_ORDER) -> the Faults field counting the requests it hits
FAULT_KINDS: dict[str, str] = {
    "drop": "drop_connections_first",
    "truncate": "truncate_first",
    "html": "html_errors_first",
    "server_error": "server_errors_first",
    "rate_limited": "rate_limited_first",
}
# a fault parameter's short name -> (the Faults field it sets, how its text is read)
FAULT_PARAMETERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "retry_after": ("retry_after_s", float),
    "status": ("server_error_status", int),
    "latency": ("latency_s", float),
    "path": ("path_pattern", str),
}


@dataclass(frozen=True)
class Faults:
    """What should go wrong, and for how many matching requests.

    Args:
        rate_limited_first: answer 429 (Cloudflare envelope, ``Retry-After``) to the first K requests.
        retry_after_s: the ``Retry-After`` value sent with injected 429s (and 503s), in seconds.
        server_errors_first: answer ``server_error_status`` to the first K requests.
        server_error_status: the 5xx status used for injected server errors.
        drop_connections_first: close the socket without any answer.
        truncate_first: send a ``Content-Length`` larger than the body, send part of it, then close.
        html_errors_first: answer 502 with an HTML page, as a proxy in front of the API would.
        latency_s: extra seconds to wait before answering every matching request.
        path_pattern: a regex searched in the request path; ``None`` matches every path.

    Example:
        >>> Faults(rate_limited_first=2, path_pattern=r"/participants").rate_limited_first
        2
    """

    rate_limited_first: int = 0
    retry_after_s: float = 1.0
    server_errors_first: int = 0
    server_error_status: int = 503
    drop_connections_first: int = 0
    truncate_first: int = 0
    html_errors_first: int = 0
    latency_s: float = 0.0
    path_pattern: str | None = None

    def __post_init__(self) -> None:
        for name in FAULT_KINDS.values():
            if getattr(self, name) < 0:
                raise ValueError(f"Faults.{name} must be >= 0, got {getattr(self, name)}")
        if not 500 <= self.server_error_status <= 599:
            raise ValueError(
                f"Faults.server_error_status must be a 5xx status, got {self.server_error_status}"
            )
        if self.latency_s < 0 or self.retry_after_s < 0:
            raise ValueError("Faults.latency_s and Faults.retry_after_s must be >= 0")
        if self.path_pattern is not None:
            re.compile(self.path_pattern)

    def budget(self) -> dict[str, int]:
        """How many requests each fault kind should hit, in :data:`FAULT_ORDER`.

        Example:
            >>> Faults(truncate_first=1).budget()["truncate"]
            1
        """
        return {kind: getattr(self, field_name) for kind, field_name in FAULT_KINDS.items()}


class FaultInjector:
    """Thread-safe counters deciding which fault (if any) the next matching request gets.

    Example:
        >>> injector = FaultInjector(Faults(drop_connections_first=1, html_errors_first=1))
        >>> [injector.next_fault("/x") for _ in range(3)]
        ['drop', 'html', None]
    """

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Faults | None) -> None:
        """Replace the configured faults and restart their counters."""
        with self._lock:
            self.faults = faults or Faults()
            self._pattern = re.compile(self.faults.path_pattern) if self.faults.path_pattern else None
            self._remaining = self.faults.budget()

    def matches(self, path: str) -> bool:
        """Whether ``path`` is subject to the configured faults."""
        return self._pattern is None or self._pattern.search(path) is not None

    def latency_s(self, path: str) -> float:
        """The injected latency for a request to ``path`` (0 when it does not match)."""
        return self.faults.latency_s if self.matches(path) else 0.0

    def next_fault(self, path: str) -> str | None:
        """Consume and return the fault kind for this request (``None``: answer normally)."""
        if not self.matches(path):
            return None
        with self._lock:
            for kind in FAULT_ORDER:
                if self._remaining[kind] > 0:
                    self._remaining[kind] -= 1
                    return kind
        return None


def parse_faults(specs: Iterable[str]) -> Faults:
    """Read faults written as text, e.g. from ``rtk-frames sandbox --faults ...``.

    Each spec is a comma-separated list of ``KIND[=COUNT]`` (``COUNT`` requests get it, default 1;
    kinds: ``drop``, ``truncate``, ``html``, ``server_error``, ``rate_limited``) and ``PARAMETER=VALUE``
    (``retry_after`` seconds, ``status`` of the server errors, ``latency`` seconds, ``path`` regex).
    ``-`` may stand for ``_``; a name given twice keeps its last value. Raises :class:`ValueError` with
    one line naming what it did not understand.

    Example:
        >>> faults = parse_faults(["rate_limited=2,retry_after=3", "server-error,status=502"])
        >>> faults.budget(), faults.retry_after_s, faults.server_error_status
        ({'drop': 0, 'truncate': 0, 'html': 0, 'server_error': 1, 'rate_limited': 2}, 3.0, 502)
    """
    settings: dict[str, Any] = {}
    for spec in specs:
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, has_value, value = item.partition("=")
            name = name.strip().replace("-", "_")
            read: Callable[[str], Any]
            if name in FAULT_KINDS:
                field_name, read = FAULT_KINDS[name], int
                value = value if has_value else "1"
            elif name in FAULT_PARAMETERS and has_value:
                field_name, read = FAULT_PARAMETERS[name]
            else:
                known = ", ".join([*FAULT_KINDS, *(f"{p}=VALUE" for p in FAULT_PARAMETERS)])
                raise ValueError(f"unknown fault {item!r} (known: {known})")
            try:
                settings[field_name] = read(value.strip())
            except ValueError:
                wanted = {"int": "whole number", "float": "number"}.get(read.__name__, read.__name__)
                raise ValueError(f"fault {item!r}: {value.strip()!r} is not a {wanted}") from None
    return Faults(**settings)

