"""What one ``sync_dataset`` run did: :class:`SyncSummary` (its ``repr`` is a readable report).

Example:
    >>> print(SyncSummary(root="fleet", listed=3, new=2, live=1, requests=11,
    ...                   requests_by_endpoint={"get_sessions": 1, "get_session_participants": 10}))
    ... # doctest: +ELLIPSIS
    sync of fleet (… to …): 3 sessions listed, 0.0s in all
      sessions: 2 new, 0 updated, 0 completed, 0 skipped, 1 live, 0 failed
      requests: 11 (5.0 per fetched session), 0 retries, 0.0s of rate-budget waits (all workers)
    ...
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rtk_frames._display import plural

__all__ = ["SyncSummary"]


@dataclass
class SyncSummary:
    """What one :func:`sync_dataset` run did (its ``repr`` is a readable report).

    Attributes:
        listed: sessions in the window. ``new``: fetched for the first time; ``updated``: refetched
            (changed, ended since a LIVE listing, or failed before); ``completed``: only missing parts
            fetched (a transcript, chat asked for now); ``skipped``: nothing to do; ``live``: LIVE now,
            listing row stored only; ``failed``: a part failed (``failures``: session id -> why).
            ``rooms``: breakout rooms found (``breakout_rooms=True``); each is counted as a session too.
        requests: API requests and downloads the client sent (``requests_by_endpoint``), not counting
            ``retries``; ``wait_s``: time requests waited for the client's rate budget (summed over
            the threads).
        elapsed_s: the run's wall time; ``fetch_s``: from its start to the last answer; ``commit_s``:
            time spent flattening, writing and committing (mostly while requests were in flight).
        rows: rows written per table; ``files_written`` / ``files_compacted``.
    """

    root: str
    start: str | None = None
    end: str | None = None
    listed: int = 0
    rooms: int = 0
    new: int = 0
    updated: int = 0
    completed: int = 0
    skipped: int = 0
    live: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    transcripts_pending: int = 0
    requests: int = 0
    requests_by_endpoint: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    wait_s: float = 0.0
    elapsed_s: float = 0.0
    fetch_s: float = 0.0
    commit_s: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    files_written: int = 0
    files_compacted: int = 0

    @property
    def fetched(self) -> int:
        """Sessions that cost requests beyond the listing."""
        return self.new + self.updated + self.completed + self.failed

    @property
    def detail_requests(self) -> int:
        """Requests other than the sessions listing."""
        return self.requests - self.requests_by_endpoint.get("get_sessions", 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (kept in the state's ``runs`` table)."""
        return {**asdict(self), "fetched": self.fetched, "detail_requests": self.detail_requests}

    def __repr__(self) -> str:
        window = f"{self.start or '…'} to {self.end or '…'}"
        per_session = (f" ({self.detail_requests / self.fetched:.1f} per fetched session)"
                       if self.fetched else "")
        retries = f"{self.retries:,} retry" if self.retries == 1 else f"{self.retries:,} retries"
        rooms = f" and {plural(self.rooms, 'breakout room')} found" if self.rooms else ""
        lines = [
            f"sync of {self.root} ({window}): {plural(self.listed, 'session')} listed{rooms}, "
            f"{self.elapsed_s:.1f}s in all",
            f"  sessions: {self.new} new, {self.updated} updated, {self.completed} completed, "
            f"{self.skipped} skipped, {self.live} live, {self.failed} failed",
            f"  requests: {self.requests:,}{per_session}, {retries}, "
            f"{self.wait_s:.1f}s of rate-budget waits (all workers)",
            f"  time: {self.fetch_s:.1f}s to the last answer; {self.commit_s:.1f}s flattening and writing"
            + (", much of it while requests were out" if self.new + self.updated + self.completed else ""),
        ]
        if self.rows:
            rows = ", ".join(f"{table} {n:,}" for table, n in self.rows.items() if n)
            lines.append(f"  rows written: {rows or 'none'}; {plural(self.files_written, 'file')}"
                         + (f", {self.files_compacted:,} compacted" if self.files_compacted else ""))
        if self.transcripts_pending:
            lines.append(f"  transcripts not ready yet: {self.transcripts_pending} (asked again next run)")
        for session_id, why in list(self.failures.items())[:5]:
            lines.append(f"  failed {session_id}: {why}")
        if len(self.failures) > 5:
            lines.append(f"  … {len(self.failures) - 5} more failures (see the state's sessions table)")
        return "\n".join(lines)


# -------------------------------------------------------------------------------------------- helpers
