"""Progress bars for long pulls that show waits for the client's rate budget, with an ETA that counts them.

A plain tqdm bar only moves when an item finishes, so while the rate budget holds requests back it
freezes with a stale ETA. :class:`RateAwareProgress` refreshes on its own every half second, says
``waiting Ns (rate budget)`` while any request waits (read live from the
:class:`~rtk_frames.client.ratelimit.RateLimiter`), and estimates the time left from wall time (waits
included) and, once the budget binds, from the requests still to send at the budget's sustained rate.

Example:
    >>> from rtk_frames.client.ratelimit import RateLimiter
    >>> with RateAwareProgress(3, limiter=RateLimiter(["2/10s"]), disable=True) as bar:
    ...     bar.update()
    >>> bar.eta_s() is not None
    True
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["LogLines", "RateAwareProgress", "format_duration", "rate_wait_postfix", "redraws_in_place",
           "terminal_bar"]

FALLBACK_COLUMNS = 100  # a terminal that reports no size (a fresh pseudo-terminal: 0 columns)
REFRESH_S = 0.5  # how often the bar redraws while nothing finishes
WAIT_SHOWN_FROM_S = 0.05  # shorter waits are not worth a word
LOG_EVERY_S = 30.0  # without a terminal (a cron job's log, a pipe): a plain progress line at most this often


def redraws_in_place(stream: Any = None) -> bool:
    """Whether a progress bar can redraw itself in place on ``stream`` (default ``sys.stderr``): a
    terminal, or a Jupyter kernel (where tqdm draws a widget). A log file or a pipe cannot: there every
    redraw is one more line, many a second.

    Example:
        >>> import io
        >>> redraws_in_place(io.StringIO())
        False
    """
    stream = sys.stderr if stream is None else stream
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        pass
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return type(shell).__name__ == "ZMQInteractiveShell"


def _unsized_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal that reports a width of 0 columns."""
    try:
        return bool(stream.isatty()) and os.get_terminal_size(stream.fileno()).columns == 0
    except (AttributeError, ValueError, OSError):  # no isatty or fileno, a closed stream
        return False


def terminal_bar(total: int, *, desc: str, unit: str, bar_format: str, initial: int = 0,
                 stream: Any = None) -> Any:
    """A tqdm bar on ``stream`` (default ``sys.stderr``) that follows the terminal's width. A terminal
    that reports 0 columns (a pseudo-terminal nobody sized: ``docker exec -t``, some CI runners, an editor's
    shell) would get an empty bar from tqdm, i.e. nothing at all: it gets :data:`FALLBACK_COLUMNS`. (In
    a notebook ``tqdm.auto`` draws a widget, which sizes itself.)

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = terminal_bar(3, desc="demo", unit="item", bar_format="{desc}: {n_fmt}/{total_fmt}",
        ...                    stream=out)
        >>> bar.update(2); bar.close()
        >>> out.getvalue().split(chr(13))[-1].strip()
        'demo: 2/3'
    """
    from tqdm.auto import tqdm

    stream = sys.stderr if stream is None else stream
    sized = {"ncols": FALLBACK_COLUMNS} if _unsized_terminal(stream) else {"dynamic_ncols": True}
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, bar_format=bar_format, file=stream,
                **sized)


class LogLines:
    """Progress for a log rather than a terminal: a plain line at most every ``every_s`` seconds, and one
    as soon as a wait for the rate budget begins, instead of a bar redrawn many times a second.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> lines = LogLines(every_s=60, stream=out)
        >>> [lines.emit("1/9 done"), lines.emit("2/9 done"), lines.emit("3/9, waiting", waiting=True)]
        [True, False, True]
        >>> out.getvalue().splitlines()
        ['1/9 done', '3/9, waiting']
    """

    def __init__(self, every_s: float = LOG_EVERY_S, stream: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.stream = stream
        self.clock = clock
        self.last = -math.inf
        self.was_waiting = False

    def emit(self, text: str, *, waiting: bool = False, force: bool = False) -> bool:
        """Write ``text`` as a line if it is time, a wait has just begun or ``force`` (the last line);
        say whether it was written."""
        now = self.clock()
        due = force or now - self.last >= self.every_s or (waiting and not self.was_waiting)
        self.was_waiting = waiting
        if due:
            print(text, file=sys.stderr if self.stream is None else self.stream, flush=True)
            self.last = now
        return due


def format_duration(seconds: float) -> str:
    """``12s``, ``3m05s``, ``1h02m``.

    Example:
        >>> format_duration(7), format_duration(185), format_duration(3720)
        ('7s', '3m05s', '1h02m')
    """
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def rate_wait_postfix(limiter: Any) -> str:
    """``"waiting 12s (rate budget)"`` while ``limiter`` holds a request back, else ``""`` (short: it
    must fit beside a bar on an 80-column terminal).

    Example:
        >>> from rtk_frames.client.ratelimit import RateLimiter
        >>> rate_wait_postfix(RateLimiter()), rate_wait_postfix(None)
        ('', '')
    """
    waiting = limiter.waiting_s() if limiter is not None and hasattr(limiter, "waiting_s") else 0.0
    return f"waiting {math.ceil(waiting)}s (rate budget)" if waiting >= WAIT_SHOWN_FROM_S else ""


class RateAwareProgress:
    """A tqdm bar over items (sessions, requests) that shows rate-budget waits and an ETA including them.

    Args:
        total: items to do.
        limiter: the client's :class:`~rtk_frames.client.ratelimit.RateLimiter` (``None``: no waits shown).
        desc, unit: as for tqdm.
        disable: no bar (the ETA is still computed, for tests and logs). With ``total`` 0 there is no
            bar either: nothing to count (a "0/0" bar reads as a hang); the caller says why in words.

    The ETA is the larger of (a) elapsed wall time, waits included, per finished item times the items
    left, and (b) the requests still to send (requests per finished item so far, times the items left) at
    the budget's sustained rate; plus the current wait when (a) has nothing to go on yet.
    """

    def __init__(self, total: int, *, limiter: Any = None, desc: str = "sessions", unit: str = "session",
                 disable: bool = False) -> None:
        self.total = int(total)
        self.limiter = limiter
        self.done = 0
        self.started = time.monotonic()
        self._granted_at_start = self._granted()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bar: Any = None
        self.log: LogLines | None = None
        self.desc, self.unit = desc, unit
        if not disable and self.total > 0:
            if redraws_in_place():
                self.bar = terminal_bar(self.total, desc=desc, unit=unit,
                                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                                   "[{elapsed}{postfix}]")
            else:  # a log: a line now and then
                self.log = LogLines()
            self._thread = threading.Thread(target=self._refresh_loop, name="rtk-frames-progress",
                                            daemon=True)
            self._thread.start()

    def _granted(self) -> int:
        return int(getattr(self.limiter, "granted", 0) or 0)

    def eta_s(self) -> float | None:
        """Seconds left, waits for the rate budget included (``None`` before anything is known)."""
        left = self.total - self.done
        if left <= 0:
            return 0.0
        waiting = self.limiter.waiting_s() if self.limiter is not None else 0.0
        if not self.done:
            return waiting or None
        elapsed = time.monotonic() - self.started
        by_wall_time = elapsed / self.done * left
        requests_per_item = (self._granted() - self._granted_at_start) / self.done
        time_for = getattr(self.limiter, "time_for", None)  # no limiter: no budget to wait for
        by_budget = time_for(math.ceil(requests_per_item * left)) if time_for is not None else 0.0
        return max(by_wall_time, by_budget, waiting)

    def postfix(self) -> str:
        """The text after the bar: ``ETA 3m05s, waiting 12s (rate budget)`` (the ETA counts the waits)."""
        parts = []
        eta = self.eta_s()
        if eta is not None and self.done < self.total:
            parts.append(f"ETA {format_duration(eta)}")
        wait = rate_wait_postfix(self.limiter)
        if wait:
            parts.append(wait)
        return ", ".join(parts)

    def _draw(self, *, last: bool = False) -> None:
        if self.log is not None:
            with self._lock:
                postfix = self.postfix()
                self.log.emit(f"{self.desc}: {self.done}/{self.total} {self.unit}s"
                              + (f", {postfix}" if postfix else ""),
                              waiting=bool(rate_wait_postfix(self.limiter)), force=last)
            return
        if self.bar is None:
            return
        with self._lock:
            self.bar.n = self.done
            self.bar.set_postfix_str(self.postfix(), refresh=False)
            self.bar.refresh()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self._draw()

    def update(self, n: int = 1) -> None:
        """Count ``n`` finished items."""
        self.done += n
        self._draw()

    def close(self) -> None:
        """Stop refreshing and close the bar (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * REFRESH_S)
            self._thread = None
        if self.log is not None:  # a log ends with where it got to
            self._draw(last=True)
            self.log = None
        if self.bar is not None:
            self._draw()
            self.bar.close()
            self.bar = None

    def __enter__(self) -> RateAwareProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
