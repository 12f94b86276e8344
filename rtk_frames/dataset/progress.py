"""The sync's progress: a tqdm bar over requests, sessions done, waits for the rate budget, an ETA.

The ETA divides the requests still to come (re-estimated from the participants seen so far) by the lower
of the observed rate and the budget's sustained rate, so waits for the budget are in it. Waits are read
live from the client's limiter (:meth:`~rtk_frames.client.ratelimit.RateLimiter.waiting_s`). The text
after the bar fits an 80-column terminal, most urgent first: ``[00:41, ETA 3m05s, waiting 2s (rate
budget), 120/900 sessions]`` (tqdm cuts a line at the terminal's width).

Example:
    >>> SYNC_BAR_FORMAT.split(" [")[1]
    '{elapsed}{postfix}]'
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rtk_frames._display import plural
from rtk_frames.dataset.fetching import needs_room_list
from rtk_frames.progress import LogLines, format_duration, rate_wait_postfix, redraws_in_place, terminal_bar

__all__ = ["GUESS_PARTICIPANTS", "SYNC_BAR_FORMAT", "Progress", "WaitWatch", "client_counters",
           "client_total", "sync_postfix", "watched_limiter"]

#: a guess of participant rows per session, for the ETA, until sessions say otherwise
GUESS_PARTICIPANTS = 4
#: the sync's bar: ``sync:  11%|██   | 29/264 req [00:01, ETA 12s, waiting 1s (rate budget), 2/29 sessions]``
SYNC_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} req [{elapsed}{postfix}]"


class WaitWatch:
    """The client's rate budget as the bar sees it: how long the longest current wait still lasts and the
    budget's sustained rate, both read from the :class:`~rtk_frames.client.ratelimit.RateLimiter` itself
    (the same mechanism as :class:`rtk_frames.progress.RateAwareProgress`, the fleet report's bar)."""

    def __init__(self, limiter: Any) -> None:
        self.limiter = limiter

    def longest_wait_s(self) -> float:
        return float(self.limiter.waiting_s())

    def budget_s(self, requests: float) -> float:
        """Seconds the budget needs for ``requests`` more (its windows and their history), for the ETA."""
        return float(self.limiter.time_for(math.ceil(requests)))


@contextlib.contextmanager
def watched_limiter(client: Any) -> Iterator[WaitWatch | None]:
    """A :class:`WaitWatch` on the client's limiter for the run (``None`` when it has none, or one that
    does not report its waits)."""
    limiter = getattr(client, "rate_limiter", None)
    yield WaitWatch(limiter) if callable(getattr(limiter, "waiting_s", None)) else None


def client_counters(client: Any) -> tuple[dict[str, int], int, float]:
    """The client's (requests per endpoint, retries, seconds waited for budget) so far; zeros for a
    client that keeps no ``stats``.

    Example:
        >>> client_counters(object())
        ({}, 0, 0.0)
    """
    stats = getattr(client, "stats", None)
    if stats is None or not hasattr(stats, "snapshot"):
        return {}, 0, 0.0
    snap = stats.snapshot()
    return (dict(snap.get("requests", {})), int(snap.get("retries", 0)),
            float(snap.get("rate_limit_wait_s", 0.0)))


def client_total(client: Any) -> int:
    """Requests the client has sent so far (downloads included, retries not).

    Example:
        >>> client_total(object())
        0
    """
    return sum(client_counters(client)[0].values())


def sync_postfix(eta_s: float, waiting: str, done: int, total: int) -> str:
    """The text after the sync's bar, most urgent first (tqdm cuts a line at the terminal's width).

    Example:
        >>> sync_postfix(185, "waiting 2s (rate budget)", 120, 900)
        'ETA 3m05s, waiting 2s (rate budget), 120/900 sessions'
        >>> sync_postfix(float("nan"), "", 0, 900)
        '0/900 sessions'
    """
    parts = [] if math.isnan(eta_s) else [f"ETA {format_duration(eta_s)}"]
    return ", ".join([*parts, *([waiting] if waiting else []), f"{done}/{total} sessions"])


class Progress:
    """A tqdm bar over requests: sessions done, waits for the rate budget, an ETA that includes them.
    Without a terminal (a cron job's log, a pipe) the same text as a plain line now and then instead
    (:class:`~rtk_frames.progress.LogLines`)."""

    def __init__(self, enabled: bool, watch: WaitWatch | None) -> None:
        self.enabled = enabled
        self.watch = watch
        self.bar: Any = None
        self.log: LogLines | None = None
        self.started = time.monotonic()
        self.wanted: set[str] = set()

    def begin(self, queued: Mapping[frozenset[str], int], requests_so_far: int, wanted: set[str]) -> None:
        """Draw the bar for the sessions to fetch (``queued``: how many sessions need each set of parts);
        none when there is nothing to fetch (an empty window, or every session already complete): the
        summary that follows says so."""
        sessions = sum(queued.values())
        if not self.enabled or sessions <= 0:
            return
        self.wanted = wanted
        self.started = time.monotonic()
        estimate = requests_so_far + math.ceil(self._queued(queued, GUESS_PARTICIPANTS))
        if not redraws_in_place():
            self.log = LogLines()
            self.log.emit(f"sync: {plural(sessions, 'session')} to fetch, about {estimate} requests in all")
            return
        self.bar = terminal_bar(estimate, initial=requests_so_far, unit="req", desc="sync",
                                bar_format=SYNC_BAR_FORMAT)

    @staticmethod
    def _estimate(participants: float, parts: Iterable[str]) -> float:
        """Requests of a session that needs ``parts`` (a stored session may need only its chat: 2)."""
        parts = set(parts)
        per = 1.0 + participants if "core" in parts else 0.0
        per += participants if "peer_reports" in parts else 0.0
        per += 2.0 * ("chat" in parts) + 2.0 * ("transcripts" in parts)
        return per + needs_room_list(parts)  # the room list; the rooms' own requests count as they start

    def _queued(self, queued: Mapping[frozenset[str], int], participants: float) -> float:
        return sum(n * self._estimate(participants, parts) for parts, n in queued.items() if n)

    def remaining(self, participants_seen: list[int], queued: Mapping[frozenset[str], int], in_flight: int,
                  unlisted: int) -> float:
        """Requests still to come: the sessions not started (each by the parts it needs), the requests
        out now, and the details / peer reports of the open sessions whose participant list is not in
        yet. (An open session's answered requests are not counted again.)

        Example:
            >>> bar = Progress(False, None)
            >>> bar.wanted = {"core", "peer_reports", "chat"}
            >>> queued = {frozenset({"core", "peer_reports", "chat"}): 2, frozenset({"chat"}): 3}
            >>> bar.remaining([4, 2], queued=queued, in_flight=5, unlisted=1)  # 2 x 9 + 3 x 2 + 5 + 3 x 2
            35.0
        """
        mean_people = (sum(participants_seen) / len(participants_seen) if participants_seen
                       else GUESS_PARTICIPANTS)
        per_participant = ("core" in self.wanted) + ("peer_reports" in self.wanted)
        return self._queued(queued, mean_people) + in_flight + unlisted * mean_people * per_participant

    def update(self, requests: int, done: int, total: int, participants_seen: list[int], *,
               queued: Mapping[frozenset[str], int], in_flight: int, unlisted: int) -> None:
        if self.bar is None and self.log is None:
            return
        remaining = self.remaining(participants_seen, queued, in_flight, unlisted)
        expected = max(requests + math.ceil(remaining), requests)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        observed = requests / elapsed if requests else 0.0
        by_pace = remaining / observed if observed else float("nan")
        by_budget = self.watch.budget_s(remaining) if self.watch is not None else float("nan")
        eta = max(by_pace, by_budget) if observed else by_budget  # the slower of the two, once known
        if self.watch is not None and (under_way := self.watch.longest_wait_s()) > 0:
            eta = under_way if math.isnan(eta) else max(eta, under_way)  # never less than the current wait
        waiting = rate_wait_postfix(self.watch.limiter) if self.watch is not None else ""
        postfix = ", " + sync_postfix(eta, waiting, done, total)
        if self.log is not None:
            self.log.emit(f"sync: {requests}/{expected} requests{postfix}", waiting=bool(waiting))
            return
        self.bar.total = expected
        self.bar.n = requests
        self.bar.set_postfix_str(postfix.lstrip(", "), refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.log = None
