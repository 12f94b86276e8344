"""The requests of a sync: one :class:`SessionJob` per session, every request one task on one pool.

:class:`Runner` starts a session's first requests (its participant list, chat, transcript), adds the
details and peer reports once the participant list is in, and hands finished sessions on. A request that
fails with a typed error fails its part (``core``, ``peer_reports``, ``chat``, ``transcripts``) of the
session; an authentication error or a spent rate budget stops everything. Answers are kept raw: a commit
flattens many sessions' answers together (:mod:`rtk_frames.dataset.batch`).

Example:
    >>> sorted(PART_TABLES["core"])
    ['participant_details', 'participants', 'peer_events', 'quality_segments', 'quality_stats']
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtk_frames.dataset.state import SessionState, StateStore
from rtk_frames.dataset.write import read_file
from rtk_frames.errors import AuthenticationError, NotFoundError, RateLimitError, RTKError
from rtk_frames.frames._coerce import CoercionReport, Flat, coerce_array

__all__ = ["PARTS", "PART_TABLES", "ROOM_PART_PREFIX", "TRANSCRIPT_MAX_ATTEMPTS", "Runner", "SessionJob",
           "despite_ctrl_c", "needs_room_list", "part_owner", "with_session", "with_sessions"]

#: what a sync can fetch per session, and the tables each part writes
PART_TABLES: dict[str, tuple[str, ...]] = {
    "core": ("participants", "participant_details", "quality_stats", "quality_segments", "peer_events"),
    "peer_reports": ("peer_reports", "peer_report_series", "peer_events"),
    "chat": ("chat",),
    "transcripts": ("transcripts",),
    # the session's rooms, each then fetched as a session of its own: a room's row goes to ``sessions``
    # (its parent and index in ``extras``) and to ``breakout_rooms``, its other rows under its own id
    "breakout_rooms": ("sessions", "breakout_rooms"),
}
PARTS = tuple(PART_TABLES)
#: a session's rooms were fetched with part X: its part ``rooms.X`` is done (so a part asked for on a later
#: run reaches the rooms too: the session's rooms are asked for again, and each room fetches what it lacks)
ROOM_PART_PREFIX = "rooms."


def part_owner(part: str) -> str:
    """The part whose answer decides ``part``: ``breakout_rooms`` for the ``rooms.*`` parts.

    Example:
        >>> part_owner("rooms.chat"), part_owner("chat")
        ('breakout_rooms', 'chat')
    """
    return "breakout_rooms" if part.startswith(ROOM_PART_PREFIX) else part


def needs_room_list(parts: Iterable[str]) -> bool:
    """Whether a session with these parts to fetch asks for its breakout rooms (its own or a room's part).

    Example:
        >>> needs_room_list({"core", "rooms.chat"}), needs_room_list({"core"})
        (True, False)
    """
    return any(part_owner(part) == "breakout_rooms" for part in parts)


#: a transcript that is not ready (404) is asked for again on this many later runs, then given up
TRANSCRIPT_MAX_ATTEMPTS = 5


@dataclass
class SessionJob:
    """One session's work in a sync: what to fetch (``parts``), whether its stored rows are replaced,
    and, as answers come in, its raw answers, frames, errors per part and requests spent."""

    session_id: str
    date: str
    kind: str  # new | updated | completed
    parts: set[str]
    replace: bool
    started_at: Any
    prev: SessionState | None
    listing_position: int | None  # its row of the sessions listing to (re)write, or None
    fingerprint: str
    participant_ids: list[str] | None = None
    pending: int = 0
    requests: int = 0
    # part -> table -> frames (or rows not yet built, built with other sessions' at commit time)
    frames: dict[str, dict[str, list[pd.DataFrame | Flat]]] = field(default_factory=dict)
    raw: dict[str, list[Any]] = field(default_factory=dict)  # part -> raw answers, made rows by the writer
    rows: dict[str, dict[str, Flat]] = field(default_factory=dict)  # part -> table -> rows, built together
    errors: dict[str, str] = field(default_factory=dict)
    transcript_pending: bool = False
    parent: SessionJob | None = None  # a breakout room's session (it finishes after its rooms)
    room_row: pd.DataFrame | None = None  # a room's ``breakout_rooms_frame`` row, to (re)write
    done: bool = False
    again: set[str] = field(default_factory=set)  # parts fetched but not complete: asked again next run

    def transcript_attempts(self) -> int:
        """Runs that found the transcript not ready, this one included when it is not ready now."""
        before = 0 if self.replace or self.prev is None else self.prev.transcript_attempts
        return before + self.transcript_pending

    def transcript_asked_again(self) -> bool:
        """Its transcript is not ready and is asked for again on the next run (not given up yet)."""
        return self.transcript_pending and self.transcript_attempts() < TRANSCRIPT_MAX_ATTEMPTS

    def keep(self, part: str, payload: Any) -> None:
        self.raw.setdefault(part, []).append(payload)

    def add(self, part: str, table: str, frame: pd.DataFrame | Flat) -> None:
        self.frames.setdefault(part, {}).setdefault(table, []).append(frame)

    def fail(self, part: str, exc: BaseException) -> None:
        self.errors.setdefault(part, f"{type(exc).__name__}: {exc}")


def with_sessions(session_id: str, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames, each with its ``session_id`` filled in (they become Arrow rows at commit time: one
    conversion per table and day, not one per request).

    Example:
        >>> import pandas as pd
        >>> with_sessions("s1", {"chat": pd.DataFrame({"text": ["hi"]})})["chat"]["session_id"].tolist()
        ['s1']
    """
    return {table: with_session(frame, session_id) for table, frame in frames.items()}


def with_session(frame: pd.DataFrame, session_id: str) -> pd.DataFrame:
    """``frame`` with a missing or NA ``session_id`` filled in (and its per-call ``attrs`` dropped).

    Example:
        >>> import pandas as pd
        >>> with_session(pd.DataFrame({"session_id": ["a", None]}), "b")["session_id"].tolist()
        ['a', 'b']
    """
    frame.attrs = {}  # provenance is per call; pandas would deep-copy it through every concat
    if "session_id" not in frame.columns:
        return frame.assign(session_id=pd.Series([session_id] * len(frame), index=frame.index, dtype="str"))
    if frame["session_id"].isna().any():
        return frame.assign(session_id=frame["session_id"].fillna(session_id))
    return frame


def _task_participants(client: Any, job: SessionJob) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.frames.participants import participants_rows

    def run() -> tuple[int, Any]:
        # the rows, not yet built: the writer builds all sessions' participant rows at once (a frame per
        # session cost ~1 ms of pandas here, on the thread that should be sending the next request)
        pages = list(client.paginate("get_session_participants", per_page=100, session_id=job.session_id))
        rows = participants_rows(pages, session_id=job.session_id)
        return max(len(pages), 1), (rows, participant_ids(rows))

    return run


def participant_ids(rows: Flat) -> list[str]:
    """The distinct participant ids of ``participants_rows``, as the built table holds them, in order.

    Example:
        >>> from rtk_frames.frames.participants import participants_rows
        >>> page = {"data": {"participants": [{"id": 7}, {"id": None}, {"id": 7}]}}
        >>> participant_ids(participants_rows(page))
        ['7']
    """
    values = rows.columns.get("participant_id", [])
    ids = coerce_array(values, pa.string(), column="participant_id", report=CoercionReport("ids")).to_pylist()
    return list(dict.fromkeys(v for v in ids if v is not None))


def _task_details(client: Any, job: SessionJob, participant_id: str) -> Callable[[], tuple[int, Any]]:
    def run() -> tuple[int, Any]:  # the raw answer: a session's answers are flattened together
        return 1, client.get_session_participant_details(job.session_id, participant_id,
                                                         include_peer_events=True)

    return run


def _task_peer_report(client: Any, job: SessionJob, peer_id: str) -> Callable[[], tuple[int, Any]]:
    def run() -> tuple[int, Any]:
        try:
            return 1, client.get_participant_data_from_peer_id(peer_id)
        except NotFoundError:  # the service keeps no report for this peer: an answer, stored as no rows
            return 1, None

    return run


def _task_rooms(client: Any, job: SessionJob) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.fetch import fetch_breakout_rooms

    def run() -> tuple[int, Any]:
        rooms = fetch_breakout_rooms(client, job.session_id)
        rooms.attrs = {}
        return 1, rooms

    return run


def _task_chat(client: Any, job: SessionJob) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.fetch import fetch_chat

    def run() -> tuple[int, Any]:
        try:
            return 2, with_sessions(job.session_id, {"chat": fetch_chat(client, job.session_id)})
        except NotFoundError:  # no chat in this session
            return 1, {}

    return run


def _task_transcript(client: Any, job: SessionJob) -> Callable[[], tuple[int, Any]]:
    from rtk_frames.fetch import fetch_transcript

    def run() -> tuple[int, Any]:
        try:
            return 2, with_sessions(job.session_id, {"transcripts": fetch_transcript(
                client, job.session_id, session_started_at=job.started_at)})
        except NotFoundError:  # not ready yet (or none): asked again on a later run
            return 1, None

    return run


class Runner:
    """Schedules every session's requests on one pool and collects finished sessions."""

    def __init__(self, client: Any, root: Path, state: StateStore, workers: int,
                 plan_rooms: Callable[[SessionJob, pd.DataFrame], list[SessionJob]]) -> None:
        self.client = client
        self.plan_rooms = plan_rooms  # a session's rooms -> the jobs they need (sync._RoomPlanner)
        self.rooms_started = 0
        self.root = root
        self.state = state
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rtk-sync")
        self.futures: dict[Future[Any], tuple[SessionJob, str, str]] = {}
        # finished futures, in the order they finished: collecting one costs O(1) (``wait`` on all of
        # them locks every pending future at each call: a few % of an 8-worker pull's GIL time, py-spy)
        self.answered: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self.lists_out = 0  # participant lists asked for, not yet answered
        self.finished: list[SessionJob] = []
        self.participants_seen: list[int] = []
        self.last_answer = time.monotonic()

    def submit(self, job: SessionJob, part: str, what: str, fn: Callable[[], tuple[int, Any]]) -> None:
        job.pending += 1
        future = self.pool.submit(fn)
        self.futures[future] = (job, part, what)
        self.lists_out += what == "participants"
        future.add_done_callback(self.answered.put)

    def start(self, job: SessionJob) -> None:
        if "core" in job.parts:
            self.submit(job, "core", "participants", _task_participants(self.client, job))
        elif "peer_reports" in job.parts:  # participant_ids: from the dataset (see _plan's caller)
            self.peer_reports(job)
        if "chat" in job.parts:
            self.submit(job, "chat", "chat", _task_chat(self.client, job))
        if "transcripts" in job.parts:
            self.submit(job, "transcripts", "transcripts", _task_transcript(self.client, job))
        if needs_room_list(job.parts):
            self.submit(job, "breakout_rooms", "rooms", _task_rooms(self.client, job))
        if job.pending == 0:
            self._finish(job)

    def _finish(self, job: SessionJob) -> None:
        """``job`` is done; a room's session is done once its last room is (a room that failed fails
        the session's ``breakout_rooms`` part: the next run asks for the rooms again and fetches only
        those not complete; likewise a room whose transcript is not ready yet)."""
        if job.done:
            return
        job.done = True
        self.finished.append(job)
        parent = job.parent
        if parent is None:
            return
        if job.errors:
            parent.fail("breakout_rooms", RTKError(f"breakout room {job.session_id} failed"))
        elif job.transcript_asked_again():  # asked for again with its session's rooms
            parent.again.add("breakout_rooms")
        parent.pending -= 1
        if parent.pending == 0:
            self._finish(parent)

    def peer_reports(self, job: SessionJob) -> None:
        for pid in job.participant_ids or []:
            self.submit(job, "peer_reports", "peer_report", _task_peer_report(self.client, job, pid))

    def awaiting_lists(self) -> int:
        """Open sessions whose participant list is still out (their details are not asked for yet)."""
        return self.lists_out

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
        done: list[Future[Any]] = []
        try:
            done.append(self.answered.get(timeout=timeout_s))
            while True:  # and whatever else has finished meanwhile
                done.append(self.answered.get_nowait())
        except queue.Empty:
            pass
        if not done:
            return
        self.last_answer = time.monotonic()
        for future in done:
            job, part, what = self.futures.pop(future)
            job.pending -= 1
            self.lists_out -= what == "participants"
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
                self._finish(job)

    def accept(self, job: SessionJob, part: str, what: str, result: Any) -> None:
        if what == "participants":
            rows, ids = result
            job.add("core", "participants", rows)
            job.participant_ids = ids
            self.participants_seen.append(len(ids))
            for pid in ids:
                self.submit(job, "core", "details", _task_details(self.client, job, pid))
            if "peer_reports" in job.parts:
                self.peer_reports(job)
        elif what == "rooms":
            for room in self.plan_rooms(job, result):
                room.parent = job
                job.pending += 1
                self.rooms_started += 1
                self.start(room)
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
        despite_ctrl_c(lambda: wait(list(self.futures)))  # the running requests end (their waits are cut)
        self.pool.shutdown(wait=True, cancel_futures=True)


def despite_ctrl_c(step: Callable[[], Any]) -> None:
    """Run ``step`` (a clean-up that waits for threads) to its end even if Ctrl-C lands meanwhile, then
    raise that ``KeyboardInterrupt``: cut short, it would leave threads working unsupervised (a commit
    going on after the caller released the root's lock, requests sent after the run). ``step`` must be
    safe to run again: waiting on futures or an event is; ``Thread.join`` is not (on Python 3.11 a join
    cut short by Ctrl-C marks the running thread as stopped, and the next join returns at once).

    Example:
        >>> despite_ctrl_c(lambda: None)
    """
    interrupted: KeyboardInterrupt | None = None
    while True:
        try:
            step()
            break
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted


# -------------------------------------------------------------------------------------------- the run
