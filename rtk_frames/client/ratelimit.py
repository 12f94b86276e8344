"""Client-side request budget: sliding windows plus the service's own ``Ratelimit`` headers.

Cloudflare allows 1,200 requests per 5 minutes per API token and locks the token out for 5 minutes past
that; the RealtimeKit pages also name 250 requests per 10 seconds. :class:`RateLimiter` keeps a client
below both (by default 1,000 / 300 s and 200 / 10 s), and slows down further when the service's
``Ratelimit: "default";r=REMAINING;t=SECONDS`` header says little is left.

Example:
    >>> from rtk_frames.client.ratelimit import RateLimiter, parse_ratelimit_headers
    >>> limiter = RateLimiter(windows=((2, 1.0),))
    >>> limiter.acquire(), limiter.acquire()   # seconds waited for each
    (0.0, 0.0)
    >>> parse_ratelimit_headers({"Ratelimit": '"default";r=7;t=30'}).remaining
    7
"""

from __future__ import annotations

import bisect
import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_WINDOWS", "ETA_EXACT_REQUESTS", "RateLimiter", "ServerRateLimit", "cancel_waits",
           "ctrl_c_ends_waits", "interruptible_sleep", "parse_rate", "parse_ratelimit_headers"]

#: (max requests, window seconds) pairs, kept below Cloudflare's 1,200 / 300 s and RealtimeKit's 250 / 10 s.
DEFAULT_WINDOWS: tuple[tuple[int, float], ...] = ((1000, 300.0), (200, 10.0))
#: Below this many remaining requests (or this fraction of the policy's quota) the limiter paces itself.
LOW_REMAINING_REQUESTS = 10
LOW_REMAINING_FRACTION = 0.1
#: :meth:`RateLimiter.time_for` places this many requests one by one (then extrapolates at the sustained rate)
ETA_EXACT_REQUESTS = 5_000
#: The longest a Ratelimit header's reset time may hold requests back (Cloudflare's lockout is 5 minutes).
RESET_MAX_S = 300.0


# Set by cancel_waits() (the CLI's Ctrl-C handler): every wait in interruptible_sleep ends at once, in any
# thread, so a pool's workers do not sit out a rate-budget wait after the user pressed Ctrl-C.
_CANCELLED = threading.Event()


def cancel_waits() -> None:
    """End every current and future :func:`interruptible_sleep` (in all threads) with ``KeyboardInterrupt``,
    until :func:`cancel_waits.reset` is called. The CLI calls it on Ctrl-C.

    Example:
        >>> cancel_waits()
        >>> try:
        ...     interruptible_sleep(60)
        ... except KeyboardInterrupt:
        ...     print("woken")
        woken
        >>> cancel_waits.reset()
    """
    _CANCELLED.set()


cancel_waits.reset = _CANCELLED.clear  # type: ignore[attr-defined]


@contextlib.contextmanager
def ctrl_c_ends_waits() -> Iterator[None]:
    """While the block runs, Ctrl-C also ends every wait for the rate budget or a retry, in every thread
    (:func:`cancel_waits`); afterwards the waits work again and SIGINT's handler is what it was.

    For code that waits on its own thread pools, called from Python: in a notebook, Ctrl-C (the kernel's
    interrupt) raises ``KeyboardInterrupt`` in the main thread only, and a pool that must finish its
    workers before returning (a sync commits what they finished) would sit out their waits first, for
    minutes at a rate budget's worst. Only the first Ctrl-C raises (as on the command line). Only
    Python's own handler is wrapped: under another one (the command line's, which cancels the waits
    itself) or off the main thread this does nothing.

    Example:
        >>> with ctrl_c_ends_waits():
        ...     interruptible_sleep(0.001)   # Ctrl-C here would also wake every other thread's wait
    """
    previous = signal.getsignal(signal.SIGINT)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not in_main_thread or previous is not signal.default_int_handler:
        yield
        return
    pressed = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal pressed
        if pressed:  # a later Ctrl-C: the first stops everything already, and a second KeyboardInterrupt
            return  # would cut short the clean-up it started (a sync committing its finished sessions)
        pressed = True
        cancel_waits()
        signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt here, as before

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pressed:  # every wait the Ctrl-C found has ended (a sync has also joined its threads; a
            # fleet pull's running workers end their current session): later waits are waits again
            cancel_waits.reset()  # type: ignore[attr-defined]


def interruptible_sleep(seconds: float) -> None:
    """``time.sleep`` that :func:`cancel_waits` ends early (raising ``KeyboardInterrupt``) in any thread.

    Example:
        >>> interruptible_sleep(0.001)
    """
    if (seconds > 0 and _CANCELLED.wait(seconds)) or _CANCELLED.is_set():
        raise KeyboardInterrupt("cancelled (rtk_frames.client.ratelimit.cancel_waits)")


def parse_rate(text: str) -> tuple[int, float]:
    """``"N/Ss"`` (at most N requests per S seconds; the ``s`` is optional) as ``(N, S)``.

    Example:
        >>> parse_rate("1000/300s"), parse_rate("250/10")
        ((1000, 300.0), (250, 10.0))
    """
    count, slash, window = str(text).strip().partition("/")
    try:
        budget = (int(count), float(window.strip().removesuffix("s")))
    except ValueError:
        budget = (0, 0.0)
    if not slash or budget[0] < 1 or not 0 < budget[1] < math.inf:
        raise ValueError(f"not a rate like 250/10s (requests/seconds): {text!r}")
    return budget


@dataclass(frozen=True)
class ServerRateLimit:
    """What the service said about its budget in one response's headers.

    Attributes:
        remaining: requests left in the current window (``r``).
        reset_s: seconds until the window resets (``t``).
        limit: the window's quota (``q`` of ``Ratelimit-Policy``), when sent.
        window_s: the window's length in seconds (``w`` of ``Ratelimit-Policy``), when sent.
        policy: the policy's name (``"default"``), when sent.
    """

    remaining: int
    reset_s: float
    limit: int | None = None
    window_s: float | None = None
    policy: str | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts as well as requests' headers."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _structured_items(value: str) -> list[tuple[str | None, dict[str, str]]]:
    """Split a structured-field list (``"a";r=1;t=2, "b";r=3``) into (name, params) pairs."""
    items: list[tuple[str | None, dict[str, str]]] = []
    for raw_item in value.split(","):
        parts = [part.strip() for part in raw_item.split(";") if part.strip()]
        if not parts:
            continue
        name: str | None = None
        if "=" not in parts[0]:
            name = parts.pop(0).strip('"')
        params = {}
        for part in parts:
            key, _, param_value = part.partition("=")
            params[key.strip().lower()] = param_value.strip().strip('"')
        items.append((name, params))
    return items


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def parse_ratelimit_headers(headers: Mapping[str, str]) -> ServerRateLimit | None:
    """Read the service's rate-limit headers; ``None`` when there are none (or none that parse).

    Understands the IETF draft's ``Ratelimit: "default";r=50;t=30`` with
    ``Ratelimit-Policy: "default";q=100;w=60`` (several policies: the most restrictive wins), and the
    older ``RateLimit-Remaining`` / ``RateLimit-Reset`` / ``RateLimit-Limit`` triple.

    Example:
        >>> parse_ratelimit_headers({"Ratelimit": '"default";r=0;t=12',
        ...                          "Ratelimit-Policy": '"default";q=1200;w=300'})
        ServerRateLimit(remaining=0, reset_s=12.0, limit=1200, window_s=300.0, policy='default')
    """
    policies: dict[str | None, tuple[int | None, float | None]] = {}
    policy_header = _header(headers, "Ratelimit-Policy")
    if policy_header:
        for name, params in _structured_items(policy_header):
            quota, window = _number(params.get("q")), _number(params.get("w"))
            policies[name] = (int(quota) if quota is not None else None, window)

    found: list[ServerRateLimit] = []
    status_header = _header(headers, "Ratelimit")
    if status_header:
        for name, params in _structured_items(status_header):
            remaining, reset = _number(params.get("r")), _number(params.get("t"))
            if remaining is None or reset is None:
                continue
            quota, window = policies.get(name, policies.get(None, (None, None)))
            found.append(ServerRateLimit(int(remaining), reset, quota, window, name))
    if not found:  # the older draft: separate headers
        remaining = _number(_header(headers, "RateLimit-Remaining"))
        reset = _number(_header(headers, "RateLimit-Reset"))
        limit_text = _header(headers, "RateLimit-Limit")
        quota = _number(limit_text.split(",")[0].split(";")[0]) if limit_text else None
        if remaining is not None and reset is not None:
            found.append(ServerRateLimit(int(remaining), reset, int(quota) if quota is not None else None))
    if not found:
        return None
    return min(found, key=lambda status: (status.remaining, -status.reset_s))


class RateLimiter:
    """A thread-safe request budget over sliding windows; :meth:`acquire` blocks until a request may go.

    Args:
        windows: ``(max_requests, window_s)`` pairs; every window must have room for a request.
        clock: monotonic seconds (inject a fake clock in tests).
        sleep: how to wait (inject a fake that advances the fake clock in tests).
        low_remaining: pace requests when the service says at most this many remain ...
        low_remaining_fraction: ... or at most this fraction of its quota.
        reset_max_s: a header's reset time ``t`` is cut to this (a wrong header never blocks for hours).

    When the service's headers (fed through :meth:`observe`) say ``r=0``, the next request waits ``t``
    seconds; when little is left, the remaining ``r`` requests are spread evenly over the ``t`` seconds.

    Waits are visible while they happen: :meth:`waiting_s` is how much longer the longest current wait
    lasts (progress bars show it), ``waited_s`` the total so far, and ``on_wait(seconds)`` (if set) is
    called before each wait. The default ``sleep`` is :func:`interruptible_sleep`, so Ctrl-C in the CLI
    ends waits in every thread at once.

    Example:
        >>> now = [0.0]
        >>> limiter = RateLimiter(((2, 10.0),), clock=lambda: now[0],
        ...                       sleep=lambda s: now.__setitem__(0, now[0] + s))
        >>> [limiter.acquire() for _ in range(3)]
        [0.0, 0.0, 10.0]
    """

    def __init__(
        self,
        windows: Iterable[tuple[int, float] | str] | str = DEFAULT_WINDOWS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = interruptible_sleep,
        on_wait: Callable[[float], None] | None = None,
        low_remaining: int = LOW_REMAINING_REQUESTS,
        low_remaining_fraction: float = LOW_REMAINING_FRACTION,
        reset_max_s: float = RESET_MAX_S,
    ) -> None:
        if isinstance(windows, str):
            windows = [windows]
        self.windows: tuple[tuple[int, float], ...] = tuple(
            parse_rate(w) if isinstance(w, str) else (int(w[0]), float(w[1])) for w in windows)
        for max_requests, window_s in self.windows:
            if max_requests < 1 or not window_s > 0:
                raise ValueError(f"a window needs max_requests >= 1 and window_s > 0, got "
                                 f"({max_requests}, {window_s})")
        self._clock = clock
        self._sleep = sleep
        self._low_remaining = low_remaining
        self._low_remaining_fraction = low_remaining_fraction
        self._reset_max_s = reset_max_s
        self._lock = threading.Lock()
        self._granted_at: list[float] = []  # sorted: the clock at each granted request
        self._longest_window_s = max((s for _, s in self.windows), default=0.0)
        self._not_before = -math.inf  # the service said r=0: nothing before this time
        self._pace_interval_s = 0.0  # the service said little is left: this far apart ...
        self._pace_until = -math.inf  # ... until its window resets
        self.on_wait = on_wait
        self._waiting_until: dict[int, float] = {}  # thread id -> clock time its current wait ends
        self.granted = 0
        self.waited_s = 0.0
        self.last_server_status: ServerRateLimit | None = None

    def __repr__(self) -> str:
        return f"RateLimiter(windows={self.windows!r}, granted={self.granted}, waited_s={self.waited_s:.3f})"

    def _delay_s(self, now: float) -> float:
        """Seconds until a request may go at ``now`` (0 when it may go now). Call with the lock held."""
        delay = 0.0
        for max_requests, window_s in self.windows:
            first_inside = bisect.bisect_right(self._granted_at, now - window_s)
            inside = len(self._granted_at) - first_inside
            if inside >= max_requests:
                # the request that must leave the window before one more fits
                leaving_at = self._granted_at[first_inside + inside - max_requests] + window_s
                delay = max(delay, leaving_at - now)
        delay = max(delay, self._not_before - now)
        if now < self._pace_until and self._granted_at:
            delay = max(delay, self._granted_at[-1] + self._pace_interval_s - now)
        return max(delay, 0.0)

    def _grant(self, now: float) -> None:
        horizon = now - self._longest_window_s
        drop = bisect.bisect_right(self._granted_at, horizon)
        if drop:
            del self._granted_at[:drop]
        bisect.insort(self._granted_at, now)
        self.granted += 1

    def acquire(self) -> float:
        """Block until a request may go and count it; return the seconds waited.

        Example:
            >>> RateLimiter(((5, 1.0),)).acquire()
            0.0
        """
        waited = 0.0
        ident = threading.get_ident()
        try:
            while True:
                with self._lock:
                    now = self._clock()
                    delay = self._delay_s(now)
                    if delay <= 0:
                        self._grant(now)
                        return waited
                    self._waiting_until[ident] = now + delay
                if self.on_wait is not None:
                    self.on_wait(delay)
                self._sleep(delay)
                waited += delay
        finally:
            with self._lock:
                self._waiting_until.pop(ident, None)
                self.waited_s += waited

    def waiting_s(self) -> float:
        """Seconds until the longest current wait for the budget ends (0 when no request is waiting).

        Example:
            >>> RateLimiter().waiting_s()
            0.0
        """
        with self._lock:
            if not self._waiting_until:
                return 0.0
            return max(0.0, max(self._waiting_until.values()) - self._clock())

    @property
    def sustained_rate_per_s(self) -> float:
        """The budget's long-run rate: its tightest window's requests per second.

        Example:
            >>> RateLimiter(["1000/300s", "200/10s"]).sustained_rate_per_s
            3.3333333333333335
        """
        return min((n / s for n, s in self.windows), default=math.inf)

    def time_for(self, requests: int) -> float:
        """Seconds from now until ``requests`` more requests could all have gone, as far as the budget
        goes (asked for at once, nothing else spending it): every window with its history, so a long
        window's burst allowance counts (``1000/300s`` lets a 776-request run go at the ``200/10s``
        window's pace, not at 1000 per 300 s), plus any wait the service's ``r=0`` imposed.

        Each request goes at the earliest time every window allows: when the request ``n`` places
        before it (granted already, or still to come) has left that window's ``w`` seconds. The first
        :data:`ETA_EXACT_REQUESTS` are placed one by one; any more at the budget's sustained rate.

        Example:
            >>> now = [0.0]
            >>> limiter = RateLimiter(((10, 60.0),), clock=lambda: now[0],
            ...                       sleep=lambda s: now.__setitem__(0, now[0] + s))
            >>> [limiter.acquire() for _ in range(5)] and limiter.time_for(5), limiter.time_for(50)
            (0.0, 300.0)
            >>> RateLimiter(["1000/300s", "200/10s"]).time_for(776)
            30.0
        """
        if requests <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            times = list(self._granted_at)
            earliest = max(now, self._not_before)
        exact = min(requests, ETA_EXACT_REQUESTS)
        for position in range(len(times), len(times) + exact):
            goes_at = earliest
            for max_requests, window_s in self.windows:
                if position >= max_requests:
                    goes_at = max(goes_at, times[position - max_requests] + window_s)
            times.append(goes_at)
        return times[-1] - now + (requests - exact) / self.sustained_rate_per_s

    def observe(self, headers: Mapping[str, str]) -> ServerRateLimit | None:
        """Read a response's ``Ratelimit`` headers and slow down when the service says little is left.

        Example:
            >>> limiter = RateLimiter()
            >>> limiter.observe({"Ratelimit": '"default";r=500;t=60'}).remaining
            500
        """
        status = parse_ratelimit_headers(headers)
        if status is None:
            return None
        with self._lock:
            now = self._clock()
            self.last_server_status = status
            low_water = max(self._low_remaining, self._low_remaining_fraction * (status.limit or 0))
            reset_s = min(status.reset_s, self._reset_max_s)
            if status.remaining <= 0:
                self._not_before = max(self._not_before, now + reset_s)
                self._pace_until = -math.inf
            elif status.remaining <= low_water:
                self._pace_interval_s = reset_s / status.remaining
                self._pace_until = now + reset_s
            else:
                self._pace_until = -math.inf
        return status
