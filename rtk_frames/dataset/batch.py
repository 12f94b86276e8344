"""The commit side of a sync: finished sessions -> flattened rows + state -> one atomic commit.

A :class:`Writer` thread takes finished sessions, makes each one's answers rows as it arrives
(:meth:`Batch.prepare`: the per-answer Python work, not yet built), and every :data:`ABSORB_EVERY_S`
(and once the last sessions have started: :meth:`Writer.absorb_soon`) builds all the finished
sessions' rows of a table at once as Arrow (the in-memory frames' rows, without
pandas), placed in their session by the participant they were asked for; the other frames (the
listing's rows, chat, transcripts) take one Arrow conversion per table. Every :data:`COMMIT_EVERY_S`
seconds or :data:`COMMIT_EVERY_SESSIONS` sessions, and at the end, its :class:`Batch` becomes one
:class:`rtk_frames.dataset.write.Commit`: one file per table and day, and every session's new state, in
one transaction. A body no flattener can read fails only its session's part.

Example:
    >>> built(details_rows([]))["quality_stats"].num_rows
    0
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtk_frames.dataset.fetching import TRANSCRIPT_MAX_ATTEMPTS, SessionJob, despite_ctrl_c, part_owner
from rtk_frames.dataset.state import utc_now
from rtk_frames.dataset.summary import SyncSummary
from rtk_frames.dataset.tables import conform, frame_to_arrow
from rtk_frames.dataset.write import Commit
from rtk_frames.errors import RTKError
from rtk_frames.frames._coerce import Flat

__all__ = ["ABSORB_EVERY_S", "COMMIT_EVERY_S", "COMMIT_EVERY_SESSIONS", "ROWS_OF_PART",
           "TRANSCRIPT_MAX_ATTEMPTS", "Batch", "Writer", "apply_batch", "built", "details_rows",
           "reports_rows", "settle"]

#: a finished session is committed at most this long after it finished ...
COMMIT_EVERY_S = 5.0
#: ... or as soon as this many are waiting
COMMIT_EVERY_SESSIONS = 100
#: finished sessions are flattened and converted to Arrow (not yet written) at most this often while the
#: others are fetched (the cost is mostly per call, so not one by one), leaving a commit little to do
ABSORB_EVERY_S = 1.0


def details_rows(payloads: list[Any]) -> dict[str, Flat]:
    """Participant-details answers -> the rows of four tables, not yet built (per answer: the writer
    makes them as each session arrives; building is per column, done once per absorb for many sessions).

    Example:
        >>> sorted(details_rows([]))
        ['participant_details', 'peer_events', 'quality_segments', 'quality_stats']
    """
    from rtk_frames.frames.participants import participant_rows, peer_events_rows
    from rtk_frames.frames.quality import quality_segments_rows, quality_stats_rows

    return {"participant_details": participant_rows(payloads), "quality_stats": quality_stats_rows(payloads),
            "quality_segments": quality_segments_rows(payloads), "peer_events": peer_events_rows(payloads)}


def reports_rows(payloads: list[Any]) -> dict[str, Flat]:
    """Peer reports -> the rows of three tables, not yet built (see :func:`details_rows`).

    Example:
        >>> sorted(reports_rows([]))
        ['peer_events', 'peer_report_series', 'peer_reports']
    """
    from rtk_frames.frames.participants import peer_events_rows
    from rtk_frames.frames.peer_report import peer_report_rows, peer_report_series_rows

    return {"peer_reports": peer_report_rows(payloads),
            "peer_report_series": peer_report_series_rows(payloads),
            "peer_events": peer_events_rows(payloads)}


def built(rows: dict[str, Flat]) -> dict[str, pa.Table]:
    """Rows of :func:`details_rows` or :func:`reports_rows` built as Arrow tables (the in-memory frames'
    rows, without pandas). Reports are asked for by the participant's id, which is its peer id: a report
    row that names no peer gets that id.

    Example:
        >>> report = {"data": {"participant": {"id": "p1", "peer_report": {"quality": {}}}}}
        >>> built(reports_rows([report]))["peer_reports"].column("peer_id").to_pylist()
        ['p1']
    """
    tables = {name: flat.table() for name, flat in rows.items()}
    for name in ("peer_reports", "peer_report_series"):
        if name not in tables:
            continue
        table = tables[name]
        position = table.schema.get_field_index("peer_id")
        if table.num_rows and table.column(position).null_count:
            filled = pc.coalesce(table.column(position), table.column("participant_id"))
            tables[name] = table.set_column(position, table.schema.field(position), filled)
    return tables


#: the parts whose answers are kept raw until the writer has them, and how their rows are made
ROWS_OF_PART: dict[str, Callable[[list[Any]], dict[str, Flat]]] = {"core": details_rows,
                                                                   "peer_reports": reports_rows}


@dataclass
class Batch:
    """What the next commit holds: finished sessions (their answers made rows as they arrived, built
    together at the next absorb: one build per table) and frames per (table, day)."""

    commit: Commit
    summary: SyncSummary
    jobs: list[SessionJob] = field(default_factory=list)
    # table -> (rows, days): frames, or rows not yet built (:class:`Flat`)
    frames: dict[str, list[tuple[pd.DataFrame | Flat | pa.Table, Any]]] = field(default_factory=dict)
    listing: pd.DataFrame | None = None  # the run's sessions listing: its rows are cut at commit time
    listings: list[tuple[int, str, str]] = field(default_factory=list)  # (position, day, session id)
    listing_arrow: pa.Table | None = field(default=None, repr=False)  # the listing as converted once
    arrow: dict[str, list[tuple[pa.Table, pa.Array]]] = field(default_factory=dict)  # absorbed: (rows, days)

    def add_listing(self, position: int, date: str, session_id: str) -> None:
        """Queue a session's row of the listing for the ``sessions`` table (cut from the listing with
        the others in one ``take`` when absorbed: a row at a time costs ~1 ms on a wide listing)."""
        self.listings.append((position, date, session_id))
        self.summary.rows["sessions"] = self.summary.rows.get("sessions", 0) + 1

    def _take_listings(self) -> None:
        if not self.listings:
            return
        positions, days, session_ids = zip(*self.listings, strict=True)
        rows = self._listing_table().take(pa.array(positions, pa.int64()))
        position = rows.schema.get_field_index("session_id")
        ids = pc.coalesce(rows.column(position), pa.array(session_ids, pa.string()))
        rows = rows.set_column(position, rows.schema.field(position), ids)
        self.frames.setdefault("sessions", []).append((rows, list(days)))
        self.listings = []

    def _listing_table(self) -> pa.Table:
        """The whole listing in the ``sessions`` table's schema, converted once, at the first absorb
        (cutting each absorb's rows from the pandas frame and converting them cost ~5 ms an absorb: a
        ``take`` per Arrow-backed column, then the conversion; the last absorb is the run's tail)."""
        if self.listing_arrow is None:
            assert self.listing is not None, "listing rows queued without the listing"
            listing = self.listing.copy(deep=False)
            listing.attrs = {}
            self.listing_arrow = frame_to_arrow(listing, "sessions")
        return self.listing_arrow

    def add(self, table: str, date: Any, frame: pd.DataFrame | Flat) -> int:
        """Queue ``frame``'s rows for ``table``; ``date`` is their day, or one day per row."""
        if len(frame):
            days = [date] * len(frame) if isinstance(date, str) else list(date)
            self.frames.setdefault(table, []).append((frame, days))
            self.summary.rows[table] = self.summary.rows.get(table, 0) + len(frame)
        return len(frame)

    def __len__(self) -> int:
        return len(self.jobs) + len(self.commit.session_rows)

    def __bool__(self) -> bool:
        return bool(self.jobs or self.frames or self.listings or self.arrow or self.commit)

    def prepare(self, job: SessionJob) -> None:
        """Turn a finished session's raw answers into rows, not yet built (the writer calls this as each
        session arrives: the Python work per answer is spread over the run, and an absorb only builds).
        An answer no flattener can read fails its session's part, not the others'."""
        for part, rows_of in ROWS_OF_PART.items():
            payloads = job.raw.pop(part, None)
            if not payloads or part not in job.parts or part in job.errors:
                continue
            try:
                job.rows[part] = rows_of(payloads)
            except RTKError as exc:
                job.fail(part, exc)

    def _build(self, part: str) -> None:
        """All jobs' rows of ``part`` built together, one Arrow build per table; rows go to their
        session's day. Rows that name no participant asked for fail their session's part: the batch is
        then redone job by job to find it."""
        jobs = [j for j in self.jobs if part in j.rows]
        if not jobs:
            return
        owner = {pid: j.session_id for j in jobs for pid in (j.participant_ids or [])}
        day = {j.session_id: j.date for j in jobs}
        try:
            tables = built({table: Flat.joined([j.rows[part][table] for j in jobs])
                            for table in jobs[0].rows[part]})
            placed = {table: _placed(rows, table, owner) for table, rows in tables.items()}  # may raise
        except RTKError as exc:  # _Unplaced included
            if len(jobs) == 1:
                jobs[0].rows.pop(part)
                jobs[0].fail(part, exc)
                return
            for job in jobs:
                one = Batch(self.commit, self.summary, [job])
                one._build(part)
                for table, converted in one.arrow.items():
                    self.arrow.setdefault(table, []).extend(converted)
            return
        for table, (rows, sessions) in placed.items():
            if rows.num_rows:
                days = pa.array([day[session] for session in sessions], type=pa.string())
                self.arrow.setdefault(table, []).append((rows, days))
                self.summary.rows[table] = self.summary.rows.get(table, 0) + rows.num_rows
        for job in jobs:
            job.rows.pop(part, None)

    def absorb(self) -> None:
        """Turn the finished sessions so far into Arrow rows and pending state (nothing is written): one
        build per table for all of them. The writer calls this as sessions finish, so at commit time
        little is left to do but write."""
        for job in self.jobs:
            self.prepare(job)  # (the writer has done it already for the sessions it was given)
        for part in ROWS_OF_PART:
            self._build(part)
        for job in self.jobs:
            settle(job, self)
        self.jobs = []
        self._take_listings()
        for table, queued in self.frames.items():
            days = pa.array([day for _, per_row in queued for day in per_row], type=pa.string())
            self.arrow.setdefault(table, []).append((_as_arrow([frame for frame, _ in queued], table), days))
        self.frames = {}

    def apply(self) -> int:
        """Commit everything absorbed (and absorb what is not yet): one file per table and day."""
        self.absorb()
        for table in sorted(self.arrow, key=lambda name: -_write_cost(self.arrow[name])):
            self._hand_over(table)  # the costliest files first: the commit waits for the last one
        return self.commit.apply()

    def _hand_over(self, table: str) -> None:
        """The table's absorbed rows to the commit, one file per day, which starts writing them."""
        converted = self.arrow.pop(table, [])
        if not converted:
            return
        data = pa.concat_tables([rows for rows, _ in converted])
        days = pa.concat_arrays([per_row for _, per_row in converted])
        for day, rows in _by_day(data, days):
            self.commit.write_soon(table, day, rows)


def _by_day(data: pa.Table, days: pa.Array) -> list[tuple[str, pa.Table]]:
    """``data``'s rows grouped by their day (``days``, one per row), days in order, rows in their order
    within a day. One stable sort and one ``take`` whatever the number of days, then zero-copy slices (a
    filter per day cost a pass over every column per day: 2 ms a day for a peer-report table); a daily
    sync's rows, all of one day, are not moved at all.

    Example:
        >>> rows, days = pa.table({"n": [1, 2, 3, 4]}), pa.array(["b", "a", "b", "a"])
        >>> [(day, part.column("n").to_pylist()) for day, part in _by_day(rows, days)]
        [('a', [2, 4]), ('b', [1, 3])]
    """
    if len(days) == 0:
        return []
    counts = pc.value_counts(days)  # (day, rows) per day
    if len(counts) == 1:
        return [(counts.field("values")[0].as_py(), data)]
    order = pc.sort_indices(days)  # stable: a day's rows keep their order
    data, days = data.take(order), days.take(order)
    grouped, offset = [], 0
    for day, count in sorted(zip(*(column.to_pylist() for column in counts.flatten()), strict=True)):
        grouped.append((day, data.slice(offset, count)))
        offset += count
    return grouped


def _as_arrow(frames: list[pd.DataFrame | Flat | pa.Table], table: str) -> pa.Table:
    """Frames of one table, in order, as one Arrow table of its schema. Consecutive frames with the
    same columns are joined by pandas (one conversion); where the columns change (a details answer's
    events, then a peer report's) each run is converted on its own, already in the table's schema, and
    Arrow joins them: pandas would fill each column a frame lacks with NA, slowly for text columns.
    Consecutive rows not yet built (:class:`Flat`, the participant lists) are built together, as Arrow;
    rows already of the schema (the listing's, :meth:`Batch._take_listings`) are joined as they are.

    Example:
        >>> a = pd.DataFrame({"session_id": ["s"], "event": ["JOIN"]})
        >>> b = pd.DataFrame({"session_id": ["s"], "source": ["peer_report"]})
        >>> _as_arrow([a, b], "peer_events").column("source").to_pylist()
        [None, 'peer_report']
    """
    runs: list[list[Any]] = []
    for frame in frames:
        if runs and _same_kind(runs[-1][0], frame):
            runs[-1].append(frame)
        else:
            runs.append([frame])
    converted = [conform(Flat.joined(run).table(), table) if isinstance(run[0], Flat)
                 else pa.concat_tables(run) if isinstance(run[0], pa.Table)  # already of the schema
                 else frame_to_arrow(run[0] if len(run) == 1 else pd.concat(run, ignore_index=True), table)
                 for run in runs]
    return converted[0] if len(converted) == 1 else pa.concat_tables(converted)


def _same_kind(first: pd.DataFrame | Flat | pa.Table, frame: pd.DataFrame | Flat | pa.Table) -> bool:
    if isinstance(first, Flat) or isinstance(frame, Flat):
        return isinstance(first, Flat) and isinstance(frame, Flat) and first.name == frame.name
    if isinstance(first, pa.Table) or isinstance(frame, pa.Table):
        return isinstance(first, pa.Table) and isinstance(frame, pa.Table)
    return first.columns.equals(frame.columns)


def _write_cost(converted: list[tuple[pa.Table, pa.Array]]) -> float:
    """A table's absorbed rows' write time, roughly: a fixed cost per column chunk (~40 µs: a
    peer_reports file's ~220 columns take ~9 ms even with a few rows), plus one per value (a column of
    10,000 rows costs about what a second column chunk does).

    Example:
        >>> wide = pa.table({f"c{i}": [1.0] * 10 for i in range(200)})
        >>> long = pa.table({"a": [1.0] * 50_000})
        >>> _write_cost([(wide, None)]) > _write_cost([(long, None), (long, None)])
        True
    """
    rows = sum(table.num_rows for table, _ in converted)
    return converted[0][0].num_columns * (1.0 + rows / 10_000) if converted else 0.0


class _Unplaced(RTKError):
    """Rows whose participant is none of those asked for: their session is unknown."""


def _placed(rows: pa.Table, table: str, owner: dict[str, str]) -> tuple[pa.Table, list[str]]:
    """``rows`` in ``table``'s schema with ``session_id`` set from the participant each row belongs to
    (answers were asked for by participant, so that is certain), and that session id per row.

    Example:
        >>> rows = pa.table({"participant_id": ["p1", "p2"]})
        >>> placed, sessions = _placed(rows, "quality_stats", {"p1": "s1", "p2": "s2"})
        >>> placed.column("session_id").to_pylist(), sessions
        (['s1', 's2'], ['s1', 's2'])
    """
    conformed = conform(rows, table)
    if not rows.num_rows:
        return conformed, []
    sessions = [owner.get(pid) for pid in rows.column("participant_id").to_pylist()]  # a dict lookup per row
    unplaced = sessions.count(None)
    if unplaced:
        raise _Unplaced(f"{unplaced} rows name no participant that was asked for")
    position = conformed.schema.get_field_index("session_id")
    placed = conformed.set_column(position, conformed.schema.field(position), pa.array(sessions, pa.string()))
    return placed, sessions  # type: ignore[return-value]  # no None left


def settle(job: SessionJob, batch: Batch) -> None:
    """Put a finished session's other rows and its new state into the commit."""
    commit, summary = batch.commit, batch.summary
    if job.replace:
        commit.drop_sessions({job.session_id})
    if job.listing_position is not None:
        batch.add_listing(job.listing_position, job.date, job.session_id)
    if job.room_row is not None:  # a breakout room: its row is its listing row, and names its parent
        batch.add("sessions", job.date, job.room_row)
        batch.add("breakout_rooms", job.date, job.room_row)
    done = set() if job.replace or job.prev is None else set(job.prev.parts)
    attempts = job.transcript_attempts()
    for part in job.parts:
        owner = part_owner(part)
        if owner in job.errors or owner in job.again:
            continue
        if part == "transcripts" and job.transcript_pending:
            if job.transcript_asked_again():
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


def apply_batch(batch: Batch, summary: SyncSummary) -> None:
    """Commit ``batch``, counting its files and the time it took in ``summary``."""
    started = time.monotonic()
    summary.files_written += batch.apply()
    summary.commit_s += time.monotonic() - started


class Writer:
    """Flattens finished sessions and commits them on its own thread, every :data:`COMMIT_EVERY_S` or
    :data:`COMMIT_EVERY_SESSIONS`, so the scheduling thread keeps the request pool fed meanwhile."""

    _DONE = object()
    _ABSORB = object()

    def __init__(self, batch: Batch, summary: SyncSummary) -> None:
        import queue

        self.batch = batch
        self.summary = summary
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self.ended = threading.Event()  # set when the thread's last commit is over (or failed)
        self.thread = threading.Thread(target=self._run, name="rtk-sync-writer", daemon=True)
        self.thread.start()

    def put(self, job: SessionJob) -> None:
        self.jobs.put(job)

    def absorb_soon(self) -> None:
        """Absorb the sessions finished so far now, not at the next :data:`ABSORB_EVERY_S`: the caller
        has started its last sessions, so the finished ones are built while those are fetched, and only
        theirs are left to build after the last answer."""
        self.jobs.put(self._ABSORB)

    def _run(self) -> None:
        import queue

        last_commit = last_absorb = time.monotonic()
        try:
            while True:
                arrived: list[Any] = []
                try:
                    arrived.append(self.jobs.get(timeout=0.2))
                    while len(self.batch) + len(arrived) < COMMIT_EVERY_SESSIONS:  # and whatever else
                        arrived.append(self.jobs.get_nowait())  # finished meanwhile: absorbed together
                except queue.Empty:
                    pass
                done = any(job is self._DONE for job in arrived)
                soon = any(job is self._ABSORB for job in arrived)
                for job in arrived:
                    if job is not self._DONE and job is not self._ABSORB:
                        self.batch.prepare(job)
                        self.batch.jobs.append(job)
                if done:
                    break
                if self.batch.jobs and (soon or time.monotonic() - last_absorb >= ABSORB_EVERY_S):
                    started = last_absorb = time.monotonic()  # while other sessions' requests are out
                    self.batch.absorb()
                    self.summary.commit_s += time.monotonic() - started
                due = bool(self.batch) and (time.monotonic() - last_commit >= COMMIT_EVERY_S
                                            or len(self.batch) >= COMMIT_EVERY_SESSIONS)
                if due:
                    apply_batch(self.batch, self.summary)
                    last_commit = time.monotonic()
            apply_batch(self.batch, self.summary)
        except BaseException as exc:  # handed to the scheduling thread
            self.error = exc
        finally:
            self.ended.set()

    def check(self) -> None:
        """Raise in the caller what went wrong in the writer (a disk full, …)."""
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """Commit what is left and end the thread (a Ctrl-C meanwhile waits for the commit: see
        :func:`rtk_frames.dataset.fetching.despite_ctrl_c`)."""
        self.jobs.put(self._DONE)
        despite_ctrl_c(self.ended.wait)
        self.thread.join()
        self.check()
