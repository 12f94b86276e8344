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
With ``breakout_rooms=True``, + 1 (the session's details, naming its rooms), and each room then costs
what a session does: a room is a session of its own (its row in ``sessions`` and ``breakout_rooms``).

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
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from rtk_frames.client.ratelimit import ctrl_c_ends_waits
from rtk_frames.dataset.batch import Batch, Writer
from rtk_frames.dataset.compact import COMPACT_MAX_FILES, compact_partitions
from rtk_frames.dataset.fetching import (
    PART_TABLES,
    PARTS,
    ROOM_PART_PREFIX,
    Runner,
    SessionJob,
    despite_ctrl_c,
)
from rtk_frames.dataset.progress import Progress, client_counters, client_total, watched_limiter
from rtk_frames.dataset.state import KnownSessions, SessionState, StateStore, root_lock
from rtk_frames.dataset.summary import SyncSummary
from rtk_frames.dataset.write import Commit, recover
from rtk_frames.errors import RTKError

__all__ = ["DEFAULT_WORKERS", "PARTS", "PART_TABLES", "SyncSummary", "as_utc", "list_sessions",
           "sync_dataset", "utc_window"]

T = TypeVar("T")

#: requests in flight at once (they wait on the network and the rate budget, not the CPU)
DEFAULT_WORKERS = 8
#: sessions being fetched at once, per worker (bounds memory; keeps the pool fed)
OPEN_SESSIONS_PER_WORKER = 2


def as_utc(value: Any, what: str = "a time") -> pd.Timestamp | None:
    """A time as a UTC ``Timestamp`` (naive means UTC; a date means its midnight); ``None`` stays None.
    Anything else is a ``ValueError`` that names ``what`` (``"start"``), not pandas' parser error.

    Example:
        >>> as_utc("2026-11-16")
        Timestamp('2026-11-16 00:00:00+0000', tz='UTC')
        >>> as_utc("yesterday", "start")
        Traceback (most recent call last):
        ValueError: start='yesterday' is not a time: give a date ('2026-11-01'), an ISO 8601 timestamp \
or a datetime
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
        valid = not pd.isna(ts)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ValueError(f"{what}={value!r} is not a time: give a date ('2026-11-01'), an ISO 8601 timestamp "
                         "or a datetime")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def utc_window(start: Any, end: Any, *, empty_ok: bool = True,
               names: tuple[str, str] = ("start", "end")) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``[start, end)`` as UTC times (:func:`as_utc`; either may be ``None``: open). An end before its
    start is a ``ValueError`` (a reversed window is a mistake, not "no rows"); so is an empty window
    (``end == start``) unless ``empty_ok`` (reading one gives no rows, as a live pull of it does).
    ``names`` are the arguments' names in the caller, for the message.

    Example:
        >>> utc_window("2026-11-01", None)
        (Timestamp('2026-11-01 00:00:00+0000', tz='UTC'), None)
        >>> utc_window("2026-12-01", "2026-11-01")
        Traceback (most recent call last):
        ValueError: end (2026-11-01 00:00:00+00:00) must be after start (2026-12-01 00:00:00+00:00)
    """
    low, high = as_utc(start, names[0]), as_utc(end, names[1])
    if low is not None and high is not None and (high < low or (high == low and not empty_ok)):
        raise ValueError(f"{names[1]} ({high}) must be after {names[0]} ({low})")
    return low, high


def _fingerprint(row: Mapping[Any, Any]) -> str:
    """A hash of a session's listing row (a record or a row ``Series``): a change means the session
    changed."""
    values = {str(k): (None if pd.isna(v) else str(v)) for k, v in row.items()
              if not isinstance(v, (list, dict))}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:32]


def _session_date(row: Mapping[Any, Any]) -> str | None:
    for column in ("started_at", "created_at"):
        value = row.get(column)
        if value is not None and not pd.isna(value):
            return pd.Timestamp(value).tz_convert("UTC").date().isoformat()
    return None


def _decide(fingerprint: str, prev: SessionState | None,
            wanted: set[str]) -> tuple[str, set[str], bool] | None:
    """What an ENDED session (its listing row's ``fingerprint``) needs: ``(kind, parts, replace)``, or
    None when it is complete already."""
    if prev is None:
        return "new", set(wanted), False
    if prev.fingerprint != fingerprint or prev.status == "live":
        return "updated", set(wanted), True
    parts = set(wanted) - prev.parts
    if not parts:
        return None
    return ("updated" if prev.status == "failed" else "completed"), parts, False


def _plan(sessions: pd.DataFrame, known: KnownSessions, wanted: set[str], summary: SyncSummary,
          batch: Batch) -> list[SessionJob]:
    """Decide per listed session what to fetch; LIVE sessions and dateless ones are settled here."""
    commit = batch.commit
    jobs: list[SessionJob] = []
    # one conversion for the whole listing (a per-row ``iloc`` costs ~1 ms on a wide Arrow-backed frame,
    # and every request of the run waits for this loop)
    records = sessions.to_dict("records")
    known.preload(str(record["session_id"]) for record in records)
    for position, record in enumerate(records):
        session_id = str(record["session_id"])
        prev = known.get(session_id)
        fingerprint = _fingerprint(record)
        date = _session_date(record)
        changed = prev is None or prev.fingerprint != fingerprint
        if date is None:
            if not changed and prev is not None and prev.status == "failed":
                summary.skipped += 1  # said last time, and its row is the same: nothing to try again
                continue
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
                batch.add_listing(position, date, session_id)
            continue
        decided = _decide(fingerprint, prev, wanted)
        if decided is None:
            summary.skipped += 1
            continue
        kind, parts, replace = decided
        jobs.append(SessionJob(session_id=session_id, date=date, kind=kind, parts=parts, replace=replace,
                               started_at=record.get("started_at"), prev=prev,
                               listing_position=position if changed else None, fingerprint=fingerprint))
    return jobs


class _RoomPlanner:
    """A session's breakout rooms -> the jobs they need, decided like listed sessions (each room is a
    session of its own: fingerprinted, kept in the state, skipped once complete). Runs on the scheduling
    thread and touches neither the commit nor the summary (the writer thread owns them): what it saw is
    counted here and added to the summary at the end."""

    def __init__(self, known: KnownSessions, wanted: set[str]) -> None:
        self.known = known
        self.wanted = {p for p in wanted if p in PARTS and p != "breakout_rooms"}
        self.rooms = self.skipped = self.live = 0
        #: ids already planned this run: the listing's (should a service list rooms too) and rooms seen
        self.planned: set[str] = set()
        #: stored rooms' participant ids, read before the writer thread starts (peer reports added later)
        self.stored_ids: dict[str, list[str]] = {}

    def rooms_lacking_peer_reports(self, listed: set[str], start: str | None, end: str | None) -> list[str]:
        """Stored sessions that are not listed (rooms), in the window, with no peer reports yet."""
        return [st.session_id for st in self.known.dated(start, end)
                if st.session_id not in listed and "core" in st.parts and "peer_reports" not in st.parts]

    def __call__(self, parent: SessionJob, rooms: pd.DataFrame) -> list[SessionJob]:
        jobs: list[SessionJob] = []
        for position, record in enumerate(rooms.to_dict("records")):
            room_id = record.get("session_id")
            if room_id is None or pd.isna(room_id):
                parent.fail("breakout_rooms", RTKError(f"breakout room {position} has no id"))
                continue
            room_id = str(room_id)
            if room_id in self.planned:  # listed itself, or named twice: planned once, fetched once
                continue
            self.planned.add(room_id)
            self.rooms += 1
            if str(record.get("status")) == "LIVE":  # asked for again on the next run
                self.live += 1
                parent.again.add("breakout_rooms")
                continue
            prev = self.known.get(room_id)
            fingerprint = _fingerprint(record)
            decided = _decide(fingerprint, prev, self.wanted)
            if decided is None:
                self.skipped += 1
                continue
            kind, parts, replace = decided
            changed = prev is None or prev.fingerprint != fingerprint
            job = SessionJob(session_id=room_id, date=_session_date(record) or parent.date, kind=kind,
                             parts=parts, replace=replace, started_at=record.get("started_at"), prev=prev,
                             listing_position=None, fingerprint=fingerprint,
                             room_row=rooms.iloc[[position]].reset_index(drop=True) if changed else None)
            if "peer_reports" in parts and "core" not in parts:
                job.participant_ids = self.stored_ids.get(room_id, [])
            jobs.append(job)
        return jobs


def sync_dataset(
    client: Any,
    root: str | Path,
    *,
    start: Any = None,
    end: Any = None,
    peer_reports: bool = True,
    chat: bool = False,
    transcripts: bool = False,
    breakout_rooms: bool = False,
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
    start_ts, end_ts = utc_window(start, end, empty_ok=False)  # a sync of nothing is a mistake
    workers = DEFAULT_WORKERS if workers is None else int(workers)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    wanted = {"core"} | {p for p, on in (("peer_reports", peer_reports), ("chat", chat),
                                         ("transcripts", transcripts)) if on}
    if breakout_rooms:  # and each part of the rooms, so that a part asked for later reaches them too
        wanted |= {"breakout_rooms"} | {ROOM_PART_PREFIX + part for part in wanted}
    summary = SyncSummary(root=str(root), start=None if start_ts is None else start_ts.isoformat(),
                          end=None if end_ts is None else end_ts.isoformat())
    requests_before, retries_before, wait_before = client_counters(client)
    with (ctrl_c_ends_waits(), root_lock(root), watched_limiter(client) as watch,  # (Ctrl-C in a notebook)
          _asked_now(list_sessions, client, start_ts, end_ts) as listing,  # out while the state opens
          StateStore.open(root) as state, contextlib.ExitStack() as stack):
        recover(root, state)
        run_id = state.start_run("sync", {"start": summary.start, "end": summary.end,
                                          "parts": sorted(wanted)})
        bar = Progress(progress, watch)
        known = stack.enter_context(KnownSessions(root))  # the state as of now, read as needed
        rooms = _RoomPlanner(known, wanted)
        runner = Runner(client, root, state, workers, plan_rooms=rooms)
        try:
            sessions = listing.result()
            runner.last_answer = time.monotonic()
            summary.listed = len(sessions)
            batch = Batch(Commit(root, state, run_id), summary, listing=sessions)
            queue = deque(_plan(sessions, known, wanted, summary, batch))
            listed = set(sessions["session_id"].astype("str"))
            rooms.planned = set(listed)
            for job in queue:  # peer reports of a session stored earlier: its participants are known
                if "peer_reports" in job.parts and "core" not in job.parts:
                    job.participant_ids = runner.stored_participant_ids(job.session_id)
            if breakout_rooms and "peer_reports" in wanted:  # rooms too (read before the writer runs)
                days = (None if start_ts is None else start_ts.date().isoformat(),
                        None if end_ts is None else end_ts.date().isoformat())
                rooms.stored_ids = {room: runner.stored_participant_ids(room)
                                    for room in rooms.rooms_lacking_peer_reports(listed, *days)}
            plans = Counter(frozenset(job.parts) for job in queue)  # sessions to start, by parts needed
            bar.begin(plans, client_total(client) - sum(requests_before.values()), wanted)
            writer = Writer(batch, summary)
            jobs_total, jobs_done, open_jobs = len(queue), 0, 0
            max_open = max(2, workers * OPEN_SESSIONS_PER_WORKER)
            try:
                while queue or runner.futures:
                    while queue and open_jobs < max_open:
                        job = queue.popleft()
                        plans[frozenset(job.parts)] -= 1
                        runner.start(job)
                        open_jobs += 1
                        if not queue:  # the last sessions are out: build the finished ones meanwhile
                            writer.absorb_soon()
                    runner.collect(0.2)
                    for job in runner.finished:
                        writer.put(job)
                        open_jobs -= job.parent is None  # rooms are started by their session, beyond the cap
                        jobs_done += 1
                    runner.finished = []
                    writer.check()
                    bar.update(client_total(client) - sum(requests_before.values()), jobs_done,
                               jobs_total + runner.rooms_started,
                               runner.participants_seen, queued=plans, in_flight=len(runner.futures),
                               unlisted=runner.awaiting_lists())
            finally:
                try:
                    runner.close()
                finally:  # commits every finished session, also after an auth error or a Ctrl-C
                    writer.finish()
        finally:
            runner.close()
            bar.close()
        summary.rooms, summary.live = rooms.rooms, summary.live + rooms.live
        summary.skipped += rooms.skipped
        summary.files_compacted = compact_partitions(root, state, run_id, max_files=COMPACT_MAX_FILES)
        requests_after, retries_after, wait_after = client_counters(client)
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


@contextlib.contextmanager
def _asked_now(fn: Callable[..., T], *args: Any) -> Iterator[Future[T]]:
    """``fn(*args)`` started now on a thread of its own, while the caller goes on (the sync opens the
    dataset's state while the listing's round trip is out: on a new root that takes ~5 ms). Leaving
    waits for it: no request outlives the run.

    Example:
        >>> with _asked_now(sum, [1, 2]) as total:
        ...     total.result()
        3
    """
    pool = ThreadPoolExecutor(1, thread_name_prefix="rtk-sync-list")
    future = pool.submit(fn, *args)
    try:
        yield future
    finally:
        despite_ctrl_c(lambda: wait([future]))
        pool.shutdown()


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

    start, end = as_utc(start, "start"), as_utc(end, "end")
    sessions = fetch_sessions(client, start_time=None if start is None else start.to_pydatetime(),
                              end_time=None if end is None else end.to_pydatetime())
    started = pd.to_datetime(sessions["started_at"], utc=True)
    keep = pd.Series(True, index=sessions.index)
    if start is not None:
        keep &= started >= start
    if end is not None:
        keep &= started < end
    return sessions[keep.fillna(False)].reset_index(drop=True)
