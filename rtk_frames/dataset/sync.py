"""``sync_dataset``: keep a fleet dataset up to date with the service, spending as few requests as possible.

One run: list the sessions in the window (the only requests when nothing changed), decide per session
what is missing, fetch exactly that on a small thread pool (every request is one task, so ``workers``
requests are in flight and the client's rate budget is kept busy), and commit finished sessions every few
seconds (:class:`rtk_frames.dataset.write.Commit`: all or nothing, whatever kills the process).

Requests per session (P participant rows, at most 100 per page): ``ceil(P/100)`` participant pages +
P participant details (each answer feeds ``participant_details``, ``quality_stats``,
``quality_segments`` and ``peer_events``) + P peer reports with ``peer_reports=True`` (each feeds
``peer_reports``, ``peer_report_series`` and ``peer_events``) + 2 for the chat (the API names the file,
then the download) + 2 for the transcript. So ``1 + 2P`` by default, ``1 + P`` without peer reports.

Per session (by its listing row's fingerprint and its state in SQLite):

- new: everything asked for is fetched;
- LIVE: only its listing row is stored (no request: its details would change); fetched once it ended;
- changed since the last run (or LIVE then, ended now): its rows are replaced by a fresh fetch;
- stored, but a part asked for now is missing (``chat=True`` on a later run, a transcript that was not
  ready, a part that failed): only that part is fetched;
- unchanged and complete: skipped, no request.

A session whose part fails (a typed API error after the client's retries) keeps its other parts, is
marked ``failed`` with the reason, and the part is tried again on the next run. An authentication
error, or a 429 that outlasted the client's retries (the token's budget is spent: going on would only
prolong a lockout), stops the run after committing every session already finished.

Example:
    >>> import tempfile
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> root = tempfile.mkdtemp()
    >>> with serve(Dataset.from_samples()) as api:
    ...     first = sync_dataset(api.client(), root, progress=False)
    ...     again = sync_dataset(api.client(), root, progress=False)
    >>> first.new > 0, again.skipped == first.new, again.requests
    (True, True, 1)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtk_frames.dataset.compact import COMPACT_MAX_FILES, compact_partitions
from rtk_frames.dataset.state import SessionState, StateStore, root_lock, utc_now
from rtk_frames.dataset.tables import frame_to_arrow
from rtk_frames.dataset.write import Commit, read_file, recover
from rtk_frames.errors import AuthenticationError, NotFoundError, RateLimitError, RTKError

__all__ = ["DEFAULT_WORKERS", "PARTS", "PART_TABLES", "SyncSummary", "as_utc", "list_sessions",
           "sync_dataset"]

#: requests in flight at once (they wait on the network and the rate budget, not the CPU)
DEFAULT_WORKERS = 8
#: a finished session is committed at most this long after it finished ...
COMMIT_EVERY_S = 5.0
#: ... or as soon as this many are waiting
COMMIT_EVERY_SESSIONS = 100
#: a transcript that is not ready (404) is asked for again on this many later runs, then given up
TRANSCRIPT_MAX_ATTEMPTS = 5
#: sessions being fetched at once, per worker (bounds memory; keeps the pool fed)
OPEN_SESSIONS_PER_WORKER = 2
#: a guess of participant rows per session, for the ETA, until sessions say otherwise
GUESS_PARTICIPANTS = 4

#: what a sync can fetch per session, and the tables each part writes
PART_TABLES: dict[str, tuple[str, ...]] = {
    "core": ("participants", "participant_details", "quality_stats", "quality_segments", "peer_events"),
    "peer_reports": ("peer_reports", "peer_report_series", "peer_events"),
    "chat": ("chat",),
    "transcripts": ("transcripts",),
}
PARTS = tuple(PART_TABLES)


@dataclass
class SyncSummary:
    """What one :func:`sync_dataset` run did (its ``repr`` is a readable report).

    Attributes:
        listed: sessions in the window. ``new``: fetched for the first time; ``updated``: refetched
            (changed, ended since a LIVE listing, or failed before); ``completed``: only missing parts
            fetched (a transcript, chat asked for now); ``skipped``: nothing to do; ``live``: LIVE now,
            listing row stored only; ``failed``: a part failed (``failures``: session id -> why).
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
        lines = [
            f"sync of {self.root} ({window}): {self.listed} sessions listed in {self.elapsed_s:.1f}s",
            f"  sessions: {self.new} new, {self.updated} updated, {self.completed} completed, "
            f"{self.skipped} skipped, {self.live} live, {self.failed} failed",
            f"  requests: {self.requests}{per_session}, {self.retries} retries, "
            f"{self.wait_s:.1f}s waiting for the rate budget",
            f"  time: {self.fetch_s:.1f}s to the last answer, {self.commit_s:.1f}s writing",
        ]
        if self.rows:
            rows = ", ".join(f"{table} {n:,}" for table, n in self.rows.items() if n)
            lines.append(f"  rows written: {rows or 'none'}; {self.files_written} files"
                         + (f", {self.files_compacted} compacted" if self.files_compacted else ""))
        if self.transcripts_pending:
            lines.append(f"  transcripts not ready yet: {self.transcripts_pending} (asked again next run)")
        for session_id, why in list(self.failures.items())[:5]:
            lines.append(f"  failed {session_id}: {why}")
        if len(self.failures) > 5:
            lines.append(f"  … {len(self.failures) - 5} more failures (see the state's sessions table)")
        return "\n".join(lines)


# -------------------------------------------------------------------------------------------- helpers


def as_utc(value: Any) -> pd.Timestamp | None:
    """A time as a UTC ``Timestamp`` (naive means UTC; a date means its midnight); ``None`` stays None.

    Example:
        >>> as_utc("2026-11-16")
        Timestamp('2026-11-16 00:00:00+0000', tz='UTC')
    """
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _fingerprint(row: pd.Series) -> str:
    """A hash of a session's listing row: a change means the session changed."""
    values = {str(k): (None if pd.isna(v) else str(v)) for k, v in row.items()
              if not isinstance(v, (list, dict))}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:32]


def _session_date(row: pd.Series) -> str | None:
    for column in ("started_at", "created_at"):
        value = row.get(column)
        if value is not None and not pd.isna(value):
            return pd.Timestamp(value).tz_convert("UTC").date().isoformat()
    return None


class _WaitWatch:
    """Sees, live, how long requests have been waiting for the client's rate budget."""

    def __init__(self, limiter: Any) -> None:
        self.limiter = limiter
        self._acquire = limiter.acquire  # the limiter's own (bound) method
        self._lock = threading.Lock()
        self._waiting: dict[int, float] = {}

    def acquire(self) -> float:
        ident = threading.get_ident()
        with self._lock:
            self._waiting[ident] = time.monotonic()
        try:
            return float(self._acquire())
        finally:
            with self._lock:
                self._waiting.pop(ident, None)

    def longest_wait_s(self) -> float:
        now = time.monotonic()
        with self._lock:
            return max((now - since for since in self._waiting.values()), default=0.0)

    def rate_per_s(self) -> float | None:
        """The budget's sustained rate (its tightest window), for the ETA."""
        windows = getattr(self.limiter, "windows", None) or ()
        rates = [n / s for n, s in windows if s > 0]
        return min(rates) if rates else None


@contextlib.contextmanager
def _watched_limiter(client: Any) -> Iterator[_WaitWatch | None]:
    """For the run, route the client's limiter's ``acquire`` through a :class:`_WaitWatch` (an instance
    attribute on the same limiter object, so it works whoever holds a reference to it)."""
    limiter = getattr(client, "rate_limiter", None)
    if limiter is None or not callable(getattr(limiter, "acquire", None)):
        yield None
        return
    watch = _WaitWatch(limiter)
    try:
        limiter.acquire = watch.acquire
    except (AttributeError, TypeError):  # a limiter that takes no attributes: no live wait display
        yield None
        return
    try:
        yield watch
    finally:
        with contextlib.suppress(AttributeError):
            del limiter.acquire


def _client_counters(client: Any) -> tuple[dict[str, int], int, float]:
    stats = getattr(client, "stats", None)
    if stats is None or not hasattr(stats, "snapshot"):
        return {}, 0, 0.0
    snap = stats.snapshot()
    return (dict(snap.get("requests", {})), int(snap.get("retries", 0)),
            float(snap.get("rate_limit_wait_s", 0.0)))


# ---------------------------------------------------------------------------------------- per-session work


@dataclass
class _Job:
    session_id: str
    date: str
    kind: str  # new | updated | completed
    parts: set[str]
    replace: bool
    started_at: Any
    prev: SessionState | None
    listing_row: pd.DataFrame | None  # the sessions-table row to (re)write, or None
    fingerprint: str
    participant_ids: list[str] | None = None
    pending: int = 0
    requests: int = 0
    frames: dict[str, dict[str, list[pd.DataFrame]]] = field(default_factory=dict)  # part -> table -> frames
    raw: dict[str, list[Any]] = field(default_factory=dict)  # part -> raw answers, flattened together
    errors: dict[str, str] = field(default_factory=dict)
    transcript_pending: bool = False
    estimated_requests: float = 0.0

    def keep(self, part: str, payload: Any) -> None:
        self.raw.setdefault(part, []).append(payload)

    def add(self, part: str, table: str, frame: pd.DataFrame) -> None:
        self.frames.setdefault(part, {}).setdefault(table, []).append(frame)

    def fail(self, part: str, exc: BaseException) -> None:
        self.errors.setdefault(part, f"{type(exc).__name__}: {exc}")


def _arrow(session_id: str, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames, each with its ``session_id`` filled in (they become Arrow rows at commit time: one
    conversion per table and day, not one per request)."""
    return {table: _with_session(frame, session_id) for table, frame in frames.items()}


def _with_session(frame: pd.DataFrame, session_id: str) -> pd.DataFrame:
    frame.attrs = {}  # provenance is per call; pandas would deep-copy it through every concat
    if "session_id" not in frame.columns:
        return frame.assign(session_id=pd.Series([session_id] * len(frame), index=frame.index, dtype="str"))
    if frame["session_id"].isna().any():
        return frame.assign(session_id=frame["session_id"].fillna(session_id))
    return frame


def _task_participants(client: Any, job: _Job) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.fetch import fetch_participants

    def run() -> tuple[int, Any]:
        frame, pages = fetch_participants(client, job.session_id, raw=True)
        return max(len(pages), 1), _with_session(frame, job.session_id)

    return run


def _task_details(client: Any, job: _Job, participant_id: str) -> Callable[[], tuple[int, Any]]:
    def run() -> tuple[int, Any]:  # the raw answer: a session's answers are flattened together
        return 1, client.get_session_participant_details(job.session_id, participant_id,
                                                         include_peer_events=True)

    return run


def _task_peer_report(client: Any, job: _Job, peer_id: str) -> Callable[[], tuple[int, Any]]:
    def run() -> tuple[int, Any]:
        try:
            return 1, client.get_participant_data_from_peer_id(peer_id)
        except NotFoundError:  # the service keeps no report for this peer: an answer, stored as no rows
            return 1, None

    return run


def _flatten_details(payloads: list[Any]) -> dict[str, pd.DataFrame]:
    """Participant-details answers -> four tables (one flattener call each)."""
    from rtk_frames.frames.participants import participant_frame, peer_events_frame
    from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame

    return {"participant_details": participant_frame(payloads),
            "quality_stats": quality_stats_frame(payloads),
            "quality_segments": quality_segments_frame(payloads),
            "peer_events": peer_events_frame(payloads)}


def _flatten_reports(payloads: list[Any]) -> dict[str, pd.DataFrame]:
    """Peer reports -> three tables. Reports are asked for by the participant's id, which is its peer
    id: a report that does not name its peer gets that id."""
    from rtk_frames.frames.participants import peer_events_frame
    from rtk_frames.frames.peer_report import peer_report_frame, peer_report_series_frame

    frames = {"peer_reports": peer_report_frame(payloads),
              "peer_report_series": peer_report_series_frame(payloads),
              "peer_events": peer_events_frame(payloads)}
    for name in ("peer_reports", "peer_report_series"):
        frame = frames[name]
        if "peer_id" in frame.columns and frame["peer_id"].isna().any():
            frames[name] = frame.assign(peer_id=frame["peer_id"].fillna(frame["participant_id"]))
    return frames


def _task_chat(client: Any, job: _Job) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.fetch import fetch_chat

    def run() -> tuple[int, Any]:
        try:
            return 2, _arrow(job.session_id, {"chat": fetch_chat(client, job.session_id)})
        except NotFoundError:  # no chat in this session
            return 1, {}

    return run


def _task_transcript(client: Any, job: _Job) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.fetch import fetch_transcript

    def run() -> tuple[int, Any]:
        try:
            return 2, _arrow(job.session_id, {"transcripts": fetch_transcript(
                client, job.session_id, session_started_at=job.started_at)})
        except NotFoundError:  # not ready yet (or none): asked again on a later run
            return 1, None

    return run


class _Runner:
    """Schedules every session's requests on one pool and collects finished sessions."""

    def __init__(self, client: Any, root: Path, state: StateStore, workers: int) -> None:
        self.client = client
        self.root = root
        self.state = state
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rtk-sync")
        self.futures: dict[Future[Any], tuple[_Job, str, str]] = {}
        self.finished: list[_Job] = []
        self.participants_seen: list[int] = []
        self.last_answer = time.monotonic()

    def submit(self, job: _Job, part: str, what: str, fn: Callable[[], tuple[int, Any]]) -> None:
        job.pending += 1
        self.futures[self.pool.submit(fn)] = (job, part, what)

    def start(self, job: _Job) -> None:
        if "core" in job.parts:
            self.submit(job, "core", "participants", _task_participants(self.client, job))
        elif "peer_reports" in job.parts:  # participant_ids: from the dataset (see _plan's caller)
            self.peer_reports(job)
        if "chat" in job.parts:
            self.submit(job, "chat", "chat", _task_chat(self.client, job))
        if "transcripts" in job.parts:
            self.submit(job, "transcripts", "transcripts", _task_transcript(self.client, job))
        if job.pending == 0:
            self.finished.append(job)

    def peer_reports(self, job: _Job) -> None:
        for pid in job.participant_ids or []:
            self.submit(job, "peer_reports", "peer_report", _task_peer_report(self.client, job, pid))

    def stored_participant_ids(self, session_id: str) -> list[str]:
        """The session's participant ids from the dataset itself (never asked twice)."""
        ids: list[str] = []
        for relative, _table, _date in self.state.files_of_sessions([session_id], {"participants"}):
            data = read_file(self.root, relative)
            data = data.filter(pc.equal(data.column("session_id"), session_id))
            ids += [v for v in data.column("participant_id").to_pylist() if v]
        return list(dict.fromkeys(ids))

    def collect(self, timeout_s: float) -> None:
        if not self.futures:
            return
        done, _ = wait(list(self.futures), timeout=timeout_s, return_when=FIRST_COMPLETED)
        if done:
            self.last_answer = time.monotonic()
        for future in done:
            job, part, what = self.futures.pop(future)
            job.pending -= 1
            try:
                spent, result = future.result()
            except (AuthenticationError, RateLimitError):  # every further request would fail the same way
                raise
            except RTKError as exc:
                job.requests += 1
                job.fail(part, exc)
                if what == "participants" and "peer_reports" in job.parts:
                    job.fail("peer_reports", RTKError("the participant list failed"))
            else:
                job.requests += spent
                self.accept(job, part, what, result)
            if job.pending == 0:
                self.finished.append(job)

    def accept(self, job: _Job, part: str, what: str, result: Any) -> None:
        if what == "participants":
            frame = result
            job.add("core", "participants", frame)
            ids = [str(v) for v in frame["participant_id"].dropna().unique()]
            job.participant_ids = ids
            self.participants_seen.append(len(ids))
            for pid in ids:
                self.submit(job, "core", "details", _task_details(self.client, job, pid))
            if "peer_reports" in job.parts:
                self.peer_reports(job)
        elif what == "transcripts" and result is None:
            job.transcript_pending = True
        elif what in ("details", "peer_report"):
            if result is not None:
                job.keep(part, result)
        else:
            for table, frame in result.items():
                job.add(part, table, frame)

    def close(self) -> None:
        for future in self.futures:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


# -------------------------------------------------------------------------------------------- the run


def _plan(sessions: pd.DataFrame, known: dict[str, SessionState], wanted: set[str], summary: SyncSummary,
          batch: _Batch) -> list[_Job]:
    """Decide per listed session what to fetch; LIVE sessions and dateless ones are settled here."""
    commit = batch.commit
    jobs: list[_Job] = []
    for index in range(len(sessions)):
        row = sessions.iloc[[index]]
        record = sessions.iloc[index]
        session_id = str(record["session_id"])
        prev = known.get(session_id)
        fingerprint = _fingerprint(record)
        date = _session_date(record)
        changed = prev is None or prev.fingerprint != fingerprint
        if date is None:
            summary.failed += 1
            why = "no started_at or created_at: it has no date partition"
            summary.failures[session_id] = why
            commit.set_session(session_id, status="failed", error=why, fingerprint=fingerprint)
            continue
        if str(record.get("status")) == "LIVE":
            summary.live += 1
            if changed:
                if prev is not None:
                    commit.drop_sessions({session_id})
                commit.set_session(session_id, date=date, status="live", fingerprint=fingerprint, parts="",
                                   error=None, transcript_pending=False)
                batch.add("sessions", date, _with_session(row, session_id))
            continue
        if prev is None:
            kind, parts, replace = "new", set(wanted), False
        elif changed or prev.status == "live":
            kind, parts, replace = "updated", set(wanted), True
        else:
            parts, replace = set(wanted) - prev.parts, False
            kind = "updated" if prev.status == "failed" else "completed"
            if not parts:
                summary.skipped += 1
                continue
        jobs.append(_Job(session_id=session_id, date=date, kind=kind, parts=parts, replace=replace,
                         started_at=record.get("started_at"), prev=prev,
                         listing_row=row if changed else None, fingerprint=fingerprint))
    return jobs


@dataclass
class _Batch:
    """What the next commit holds: finished sessions (their raw answers, flattened together at commit
    time: one flattener call per table per commit) and frames per (table, day)."""

    commit: Commit
    summary: SyncSummary
    jobs: list[_Job] = field(default_factory=list)
    frames: dict[str, list[tuple[pd.DataFrame, Any]]] = field(default_factory=dict)  # table -> (rows, days)

    def add(self, table: str, date: Any, frame: pd.DataFrame) -> int:
        """Queue ``frame``'s rows for ``table``; ``date`` is their day, or one day per row."""
        if len(frame):
            days = [date] * len(frame) if isinstance(date, str) else list(date)
            self.frames.setdefault(table, []).append((frame, days))
            self.summary.rows[table] = self.summary.rows.get(table, 0) + len(frame)
        return len(frame)

    def __len__(self) -> int:
        return len(self.jobs) + len(self.commit.session_rows)

    def __bool__(self) -> bool:
        return bool(self.jobs or self.frames or self.commit)

    def _flatten(self, part: str, flatten: Callable[[list[Any]], dict[str, pd.DataFrame]]) -> None:
        """All jobs' answers of ``part`` through one flattener call per table; rows go to their session's
        day. A batch that fails (a body no flattener can read) is redone job by job to find the culprit."""
        jobs = [j for j in self.jobs if part in j.parts and part not in j.errors and j.raw.get(part)]
        if not jobs:
            return
        owner = {pid: j.session_id for j in jobs for pid in (j.participant_ids or [])}
        day = {j.session_id: j.date for j in jobs}
        try:
            frames = flatten([payload for j in jobs for payload in j.raw[part]])
            placed = {table: _placed(frame, owner) for table, frame in frames.items()}  # may raise
        except RTKError as exc:  # _Unplaced included
            if len(jobs) == 1:
                jobs[0].fail(part, exc)
                return
            for job in jobs:
                one = _Batch(self.commit, self.summary, [job])
                one._flatten(part, flatten)
                for table, queued in one.frames.items():
                    self.frames.setdefault(table, []).extend(queued)
            return
        for table, frame in placed.items():
            if len(frame):
                self.add(table, frame["session_id"].map(day).tolist(), frame)
        for job in jobs:
            job.raw.pop(part, None)

    def apply(self) -> int:
        for part, flatten in (("core", _flatten_details), ("peer_reports", _flatten_reports)):
            self._flatten(part, flatten)
        for job in self.jobs:
            _settle(job, self)
        self.jobs = []
        for table, queued in sorted(self.frames.items()):  # one Arrow conversion per table
            frames = [frame for frame, _ in queued]
            frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            data = frame_to_arrow(frame, table)
            days = pa.array([day for _, per_row in queued for day in per_row], type=pa.string())
            for day in sorted(set(days.to_pylist())):
                self.commit.add_rows(table, day, data.filter(pc.equal(days, day)))
        self.frames = {}
        return self.commit.apply()


class _Unplaced(RTKError):
    """Rows whose participant is none of those asked for: their session is unknown."""


def _placed(frame: pd.DataFrame, owner: dict[str, str]) -> pd.DataFrame:
    """``frame`` with ``session_id`` set from the participant each row belongs to (answers were asked
    for by participant, so that is certain); frames without rows pass through."""
    frame.attrs = {}
    if not len(frame):
        return frame
    sessions = frame["participant_id"].map(owner)
    if sessions.isna().any():
        raise _Unplaced(f"{int(sessions.isna().sum())} rows name no participant that was asked for")
    return frame.assign(session_id=sessions.astype("str"))


def _settle(job: _Job, batch: _Batch) -> None:
    """Put a finished session's other rows and its new state into the commit."""
    commit, summary = batch.commit, batch.summary
    if job.replace:
        commit.drop_sessions({job.session_id})
    if job.listing_row is not None:
        batch.add("sessions", job.date, _with_session(job.listing_row, job.session_id))
    done = set() if job.replace or job.prev is None else set(job.prev.parts)
    attempts = 0 if job.replace or job.prev is None else job.prev.transcript_attempts
    for part in job.parts:
        if part in job.errors:
            continue
        if part == "transcripts" and job.transcript_pending:
            attempts += 1
            if attempts < TRANSCRIPT_MAX_ATTEMPTS:
                continue  # not stored: asked again next run
            job.transcript_pending = False  # given up: stored as "no transcript"
        done.add(part)
        for table, frames in job.frames.get(part, {}).items():
            for frame in frames:
                batch.add(table, job.date, frame)
    errors = "; ".join(f"{part}: {why}" for part, why in sorted(job.errors.items()))
    if errors:
        summary.failed += 1
        summary.failures[job.session_id] = errors
    else:
        setattr(summary, job.kind, getattr(summary, job.kind) + 1)
    if job.transcript_pending:
        summary.transcripts_pending += 1
    commit.set_session(job.session_id, date=job.date, status="failed" if errors else "complete",
                       fingerprint=job.fingerprint, parts=done, error=errors or None,
                       transcript_pending=job.transcript_pending, transcript_attempts=attempts,
                       fetched_at=utc_now(), add_requests=job.requests)


def _apply(batch: _Batch, summary: SyncSummary) -> None:
    started = time.monotonic()
    summary.files_written += batch.apply()
    summary.commit_s += time.monotonic() - started


class _Writer:
    """Flattens finished sessions and commits them on its own thread, every :data:`COMMIT_EVERY_S` or
    :data:`COMMIT_EVERY_SESSIONS`, so the scheduling thread keeps the request pool fed meanwhile."""

    _DONE = object()

    def __init__(self, batch: _Batch, summary: SyncSummary) -> None:
        import queue

        self.batch = batch
        self.summary = summary
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="rtk-sync-writer", daemon=True)
        self.thread.start()

    def put(self, job: _Job) -> None:
        self.jobs.put(job)

    def _run(self) -> None:
        import queue

        last_commit = time.monotonic()
        try:
            while True:
                try:
                    job = self.jobs.get(timeout=0.2)
                except queue.Empty:
                    job = None
                if job is self._DONE:
                    break
                if job is not None:
                    self.batch.jobs.append(job)
                due = bool(self.batch) and (time.monotonic() - last_commit >= COMMIT_EVERY_S
                                            or len(self.batch) >= COMMIT_EVERY_SESSIONS)
                if due:
                    _apply(self.batch, self.summary)
                    last_commit = time.monotonic()
            _apply(self.batch, self.summary)
        except BaseException as exc:  # handed to the scheduling thread
            self.error = exc

    def check(self) -> None:
        """Raise in the caller what went wrong in the writer (a disk full, …)."""
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        self.jobs.put(self._DONE)
        self.thread.join()
        self.check()


def sync_dataset(
    client: Any,
    root: str | Path,
    *,
    start: Any = None,
    end: Any = None,
    peer_reports: bool = True,
    chat: bool = False,
    transcripts: bool = False,
    workers: int | None = None,
    progress: bool = True,
) -> SyncSummary:
    """Bring the dataset at ``root`` up to date with the sessions that started in ``[start, end)`` (UTC;
    a date means midnight; ``None``: unbounded) and return a summary of the run.

    Fetches, per session, only what the tables need and the dataset does not already hold (see the
    module's docs): participants and their details always; peer reports (default on), chat and
    transcripts when asked. Writes ``ROOT/<table>/date=YYYY-MM-DD/*.parquet`` and keeps its state in
    ``ROOT/_state.sqlite``. A second sync on the same root while one runs raises
    :class:`rtk_frames.dataset.state.DatasetLockedError`. With ``progress``, a tqdm bar counts requests
    and sessions, shows waits for the rate budget, and the summary is printed at the end.

    Example:
        >>> import tempfile
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     summary = sync_dataset(api.client(), tempfile.mkdtemp(), peer_reports=False, progress=False)
        >>> summary.rows["quality_stats"] > 0 and summary.failed == 0
        True
    """
    started_clock = time.monotonic()
    root = Path(root)
    start_ts, end_ts = as_utc(start), as_utc(end)
    if start_ts is not None and end_ts is not None and end_ts <= start_ts:
        raise ValueError(f"end ({end_ts}) must be after start ({start_ts})")
    workers = DEFAULT_WORKERS if workers is None else int(workers)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    wanted = {"core"} | {p for p, on in (("peer_reports", peer_reports), ("chat", chat),
                                         ("transcripts", transcripts)) if on}
    summary = SyncSummary(root=str(root), start=None if start_ts is None else start_ts.isoformat(),
                          end=None if end_ts is None else end_ts.isoformat())
    requests_before, retries_before, wait_before = _client_counters(client)
    with root_lock(root), StateStore.open(root) as state, _watched_limiter(client) as watch:
        recover(root, state)
        run_id = state.start_run("sync", {"start": summary.start, "end": summary.end,
                                          "parts": sorted(wanted)})
        bar = _Progress(progress, watch)
        runner = _Runner(client, root, state, workers)
        try:
            sessions = list_sessions(client, start_ts, end_ts)
            runner.last_answer = time.monotonic()
            summary.listed = len(sessions)
            batch = _Batch(Commit(root, state, run_id), summary)
            queue = deque(_plan(sessions, state.sessions(), wanted, summary, batch))
            for job in queue:  # peer reports of a session stored earlier: its participants are known
                if "peer_reports" in job.parts and "core" not in job.parts:
                    job.participant_ids = runner.stored_participant_ids(job.session_id)
            bar.begin(len(queue), _client_total(client) - sum(requests_before.values()), wanted)
            writer = _Writer(batch, summary)
            jobs_total, jobs_done, open_jobs = len(queue), 0, 0
            max_open = max(2, workers * OPEN_SESSIONS_PER_WORKER)
            try:
                while queue or runner.futures:
                    while queue and open_jobs < max_open:
                        runner.start(queue.popleft())
                        open_jobs += 1
                    runner.collect(0.2)
                    for job in runner.finished:
                        writer.put(job)
                        open_jobs -= 1
                        jobs_done += 1
                    runner.finished = []
                    writer.check()
                    bar.update(_client_total(client) - sum(requests_before.values()), jobs_done, jobs_total,
                               runner.participants_seen, len(queue) + open_jobs)
            finally:
                runner.close()
                writer.finish()  # commits every finished session, also when an AuthenticationError stops us
        finally:
            runner.close()
            bar.close()
        summary.files_compacted = compact_partitions(root, state, run_id, max_files=COMPACT_MAX_FILES)
        requests_after, retries_after, wait_after = _client_counters(client)
        summary.requests_by_endpoint = {k: v - requests_before.get(k, 0) for k, v in requests_after.items()
                                        if v - requests_before.get(k, 0)}
        summary.requests = sum(summary.requests_by_endpoint.values())
        summary.retries = retries_after - retries_before
        summary.wait_s = round(wait_after - wait_before, 3)
        summary.elapsed_s = round(time.monotonic() - started_clock, 3)
        summary.fetch_s = round(runner.last_answer - started_clock, 3)
        summary.commit_s = round(summary.commit_s, 3)
        state.finish_run(run_id, summary.to_dict())
    if progress:
        print(summary, file=sys.stderr)
    return summary


def _client_total(client: Any) -> int:
    return sum(_client_counters(client)[0].values())


def list_sessions(client: Any, start: Any = None, end: Any = None) -> pd.DataFrame:
    """The sessions that started in ``[start, end)`` (UTC; ``None``: unbounded) as ``sessions_frame``:
    the API's own time filter (all pages), made exact here whatever the service does at the edges.

    Example:
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     everything = list_sessions(api.client())
        ...     first = everything["started_at"].min()
        ...     just_one = list_sessions(api.client(), first, first + pd.Timedelta(microseconds=1))
        >>> len(just_one)
        1
    """
    from rtk_frames.fetch import fetch_sessions

    start, end = as_utc(start), as_utc(end)
    sessions = fetch_sessions(client, start_time=None if start is None else start.to_pydatetime(),
                              end_time=None if end is None else end.to_pydatetime())
    started = pd.to_datetime(sessions["started_at"], utc=True)
    keep = pd.Series(True, index=sessions.index)
    if start is not None:
        keep &= started >= start
    if end is not None:
        keep &= started < end
    return sessions[keep.fillna(False)].reset_index(drop=True)


class _Progress:
    """A tqdm bar over requests: sessions done, waits for the rate budget, an ETA that includes them."""

    def __init__(self, enabled: bool, watch: _WaitWatch | None) -> None:
        self.enabled = enabled
        self.watch = watch
        self.bar: Any = None
        self.started = time.monotonic()
        self.per_session = {"core": 1.0, "peer_reports": 0.0, "chat": 2.0, "transcripts": 2.0}
        self.wanted: set[str] = set()

    def begin(self, sessions: int, requests_so_far: int, wanted: set[str]) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        self.wanted = wanted
        self.started = time.monotonic()
        self.bar = tqdm(total=requests_so_far + math.ceil(sessions * self._estimate(GUESS_PARTICIPANTS)),
                        initial=requests_so_far, unit="req", desc="sync", dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} requests "
                                   "[{elapsed}{postfix}]")

    def _estimate(self, participants: float) -> float:
        per = 1.0 + participants if "core" in self.wanted else 0.0
        per += participants if "peer_reports" in self.wanted else 0.0
        per += 2.0 * ("chat" in self.wanted) + 2.0 * ("transcripts" in self.wanted)
        return per

    def update(self, requests: int, done: int, total: int, participants_seen: list[int],
               open_left: int) -> None:
        if self.bar is None:
            return
        mean_people = (sum(participants_seen) / len(participants_seen) if participants_seen
                       else GUESS_PARTICIPANTS)
        remaining = open_left * self._estimate(mean_people)
        self.bar.total = max(requests + math.ceil(remaining), requests)
        self.bar.n = requests
        elapsed = max(time.monotonic() - self.started, 1e-6)
        observed = requests / elapsed if requests else 0.0
        budget = self.watch.rate_per_s() if self.watch is not None else None
        rate = min(r for r in (observed, budget) if r) if (observed or budget) else 0.0
        eta = remaining / rate if rate else float("nan")
        postfix = f", {done}/{total} sessions"
        if not math.isnan(eta):
            postfix += f", ETA {_duration(eta)} (with rate waits)"
        waiting = self.watch.longest_wait_s() if self.watch is not None else 0.0
        if waiting >= 0.05:
            postfix += f", waiting {waiting:.1f}s for the rate budget"
        self.bar.set_postfix_str(postfix.lstrip(", "), refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
