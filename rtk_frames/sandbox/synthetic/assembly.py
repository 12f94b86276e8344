"""The generator's entry points: :func:`generate` (any size) and :func:`demo_dataset` (the bundled demo).

Example:
    >>> ds = generate(sessions=2, participants=4, samples=10, seed=1)
    >>> len(ds.sessions), len(ds.participants[ds.sessions[0]["id"]])
    (2, 4)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from rtk_frames.sandbox.records import DatasetRecords, LazyRecords
from rtk_frames.sandbox.synthetic.conversation import (
    GENERATION_CYCLE,
    chat_messages,
    summary_text,
    transcript_utterances,
)
from rtk_frames.sandbox.synthetic.details import details_builder
from rtk_frames.sandbox.synthetic.draws import Draws
from rtk_frames.sandbox.synthetic.peer_reports import report_builder
from rtk_frames.sandbox.synthetic.quirks import add_quirks
from rtk_frames.sandbox.synthetic.series import SAMPLE_INTERVAL_S, quality_series
from rtk_frames.sandbox.synthetic.sessions import (
    MEETING_TITLES,
    Row,
    breakout_rows,
    participant_record,
    session_record,
    session_rows,
    someone_else,
    still_in_the_call,
)

__all__ = ["demo_dataset", "generate"]

FIRST_DAY = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
FIRST_DAY_EPOCH_S = FIRST_DAY.timestamp()
SECONDS_PER_DAY = 86_400.0


def generate(
    sessions: int = 5,
    participants: int = 8,
    samples: int = 60,
    seed: int = 0,
    *,
    account_id: str | None = None,
    app_id: str | None = None,
    breakout_rooms: bool | None = None,
    messy: bool = False,
    days: int | None = None,
) -> DatasetRecords:
    """Generate the records of a realistic dataset: ``sessions`` meetings of ``participants`` rows each.

    ``Dataset.synthetic(...)`` takes the same arguments and wraps the records in a :class:`Dataset`.

    Args:
        sessions: top-level sessions (breakout rooms come on top, for some sessions of 6+ rows).
        participants: participant rows per session, rejoins included (a rejoin is a second row).
        samples: quality samples per participant row, ~7 s apart (the row lasts at least that long).
        seed: the numpy random seed; the same arguments give the same dataset.
        account_id, app_id: the ids the data belongs to (default: derived from ``seed``).
        breakout_rooms: ``None``: every third session of 6+ rows gets two breakout rooms;
            ``True``: every session of 6+ rows does; ``False``: none does.
        messy: add the wire's known quirks (see :func:`add_quirks`), listed in ``quirks``.
        days: the days the sessions start on, from Monday 2026-11-16 (default: a third as many days as
            sessions, at least 3; ``days=1``: one day's calls, as a daily sync sees them).

    Example:
        >>> ds = generate(sessions=1, participants=3, samples=5, seed=7)
        >>> len(ds.details[ds.participants[ds.sessions[0]["id"]][0]["id"]]["quality_stats"][0]["audio_stats"])
        5
    """
    if sessions < 0 or participants < 1 or samples < 1:
        raise ValueError("need sessions >= 0, participants >= 1 and samples >= 1")
    rng = Draws(seed)
    account_id = account_id or rng.uuid().replace("-", "")
    app_id = app_id or rng.uuid()
    min_presence_s = samples * SAMPLE_INTERVAL_S + 10.0
    if days is None:
        days = max(3, sessions // 3)
    elif days < 1:
        raise ValueError("need days >= 1")
    starts = np.sort(
        FIRST_DAY_EPOCH_S
        + rng.gen.integers(0, days, size=sessions) * SECONDS_PER_DAY
        + rng.gen.uniform(8 * 3600, 18 * 3600, size=sessions)
    )
    all_rows: list[Row] = []
    rows_by_session: dict[str, list[Row]] = {}
    plans: list[tuple[str, str, str, float, bool, list[str]]] = []
    for k in range(sessions):
        session_id, meeting_id = rng.uuid(), rng.uuid()
        title = rng.pick(MEETING_TITLES)
        rows = session_rows(rng, session_id, float(starts[k]), participants, min_presence_s, len(all_rows))
        all_rows.extend(rows)
        live = sessions >= 3 and k == sessions - 1
        if live:
            still_in_the_call(rows, min_presence_s)
        rows_by_session[session_id] = rows
        children: list[str] = []
        wants_rooms = k % 3 == 1 if breakout_rooms is None else breakout_rooms
        if wants_rooms and participants >= 6:
            for room in range(2):
                child_id = rng.uuid()
                child_rows = breakout_rows(rng, child_id, rows[room::2], min_presence_s, len(all_rows))
                if child_rows:
                    all_rows.extend(child_rows)
                    rows_by_session[child_id] = child_rows
                    children.append(child_id)
        plans.append((session_id, meeting_id, title, float(starts[k]), live, children))
    for rows in rows_by_session.values():
        for r in rows:
            r.remote_peer_id = someone_else(rng, r, rows)
            r.record = participant_record(r)
    series = quality_series(rng, all_rows, samples)

    ds = DatasetRecords(account_id=account_id, app_id=app_id)
    for index, (session_id, meeting_id, title, _start, live, children) in enumerate(plans):
        rows = rows_by_session[session_id]
        meta = {
            "recorded": bool(rng.random() < 0.4),
            "transcription": True,
            "region": "ap-south-1" if rows[0].profile.location[0] == "IN" else "us-east-1",
        }
        session = session_record(session_id, meeting_id, title, rows, live=live, org_id=app_id, meta=meta)
        ds.sessions.append(session)
        ds.participants[session_id] = [r.record for r in rows]
        for room, child_id in enumerate(children, start=1):
            child = session_record(
                child_id,
                rng.uuid(),
                f"{title} — breakout room {room}",
                rows_by_session[child_id],
                live=False,
                org_id=app_id,
                meta={"parent_session_id": session_id, "breakout_room": True},
            )
            ds.breakout_rooms.setdefault(session_id, []).append(child)
            ds.participants[child_id] = [r.record for r in rows_by_session[child_id]]
        ds.chats[session_id] = chat_messages(rng, session, rows)
        start_s = datetime.fromisoformat(session["started_at"].replace("Z", "+00:00")).timestamp()
        ds.transcripts[session_id] = transcript_utterances(rng, session, rows, start_s)
        ds.transcript_generation[session_id] = GENERATION_CYCLE[index % len(GENERATION_CYCLE)]
        if not live and rng.random() < 0.6:
            ds.summaries[session_id] = summary_text(session, ds.transcripts[session_id])
    by_peer = {r.peer_id: r for r in all_rows}
    ds.details = LazyRecords(list(by_peer), details_builder(by_peer, series))
    ds.peer_reports = LazyRecords(list(by_peer), report_builder(by_peer, series))
    if messy:
        add_quirks(ds)
    return ds


def demo_dataset() -> DatasetRecords:
    """The small hand-shaped dataset behind ``Dataset.from_samples()`` (written to ``data_samples/demo``).

    Three sessions, 3-8 participants each, with one poor-network participant, one weak CPU, one rejoin,
    a hostile display name, a chat message with commas/quotes/newline/emoji, and transcripts in
    different generations.

    Example:
        >>> ds = demo_dataset()
        >>> len(ds.sessions)
        3
    """
    parts = [
        generate(
            sessions=1,
            participants=n,
            samples=24,
            seed=s,
            breakout_rooms=n >= 6,
            account_id="9a7806061c88ada191ed06f989cc3dac",
            app_id="5f0c3a5e-8d4b-4c59-9e0e-7b1f2d3c4a5b",
        )
        for n, s in ((8, 11), (5, 12), (3, 13))
    ]
    details: dict[str, dict[str, Any]] = {}
    peer_reports: dict[str, dict[str, Any]] = {}
    ds = DatasetRecords(
        account_id=parts[0].account_id, app_id=parts[0].app_id, details=details, peer_reports=peer_reports
    )
    for index, part in enumerate(parts):
        for field_name in ("participants", "breakout_rooms", "chats", "transcripts", "summaries"):
            getattr(ds, field_name).update(getattr(part, field_name))
        session = dict(part.sessions[0])
        ds.sessions.append(session)
        details.update({k: part.details[k] for k in part.details})
        peer_reports.update({k: part.peer_reports[k] for k in part.peer_reports})
        ds.transcript_generation[session["id"]] = ("current", "seconds", "iso")[index]
    # keep sessions on different days, as a real account has them
    ds.sessions.sort(key=lambda s: s["started_at"])
    first = ds.sessions[0]["id"]
    users = [row["user_id"] for row in ds.participants[first]]
    hostile = next(row for row in reversed(ds.participants[first]) if users.count(row["user_id"]) == 1)
    _rename(ds, hostile["id"], "<script>alert(1)</script>")
    chat = ds.chats[first]
    if chat:
        chat[0]["payload"] = 'Agenda: budget, "Q3" plans,\nand hiring 🚀 — thoughts?'
    return ds


def _rename(ds: DatasetRecords, peer_id: str, name: str) -> None:
    for rows in ds.participants.values():
        for row in rows:
            if row["id"] == peer_id:
                row["display_name"] = name
    for messages in ds.chats.values():
        for m in messages:
            if m["participantId"] == peer_id:
                m["displayName"] = name
    for utterances in ds.transcripts.values():
        for u in utterances:
            if u["peer_id"] == peer_id:
                u["name"] = name
