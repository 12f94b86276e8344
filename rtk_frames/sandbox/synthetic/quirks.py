"""Messy data on purpose: the known quirks of real payloads, added to generated records and listed.

Example:
    >>> from rtk_frames.sandbox.synthetic import generate
    >>> ds = add_quirks(generate(sessions=1, participants=5, samples=3, seed=2))
    >>> len(ds.quirks) >= 8
    True
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from rtk_frames.sandbox.records import DatasetRecords, LazyRecords
from rtk_frames.sandbox.synthetic.wire import derived_id

__all__ = ["add_quirks"]

D = TypeVar("D", bound=DatasetRecords)


def _patched(records: Any, patches: dict[str, Callable[[dict[str, Any]], None]]) -> LazyRecords:
    """``records`` with ``patches[key](record)`` applied to a copy of each patched record on access."""

    def build(key: str) -> dict[str, Any]:
        record = records[key]
        if key in patches:
            record = copy.deepcopy(record)
            patches[key](record)
        return record

    return LazyRecords(list(records), build)


def add_quirks(ds: D) -> D:
    """Add the messy cases real payloads carry, each listed in ``ds.quirks`` as ``{"where", "what"}``.

    Needs a session with 4+ participants. Quirks: a ``joined_at`` with a stray quote (as in the
    reference's own example), a ``duration`` sent as text, a ``left_at`` missing in an ENDED session, an
    empty ``custom_participant_id`` and display name, a null quality sample, a video sample without
    ``frames_per_second``, an empty quality segment, a null per-sample ``rtt`` and an empty cumulative
    block in a peer report, a chat message from someone not in the participant list (a recorder) and
    an utterance from a dial-in caller who is not in it either. The result no longer validates against
    the SDK models everywhere: that is the point.

    Example:
        >>> from rtk_frames.sandbox.synthetic import generate
        >>> ds = add_quirks(generate(sessions=1, participants=5, samples=3, seed=2))
        >>> len(ds.quirks) >= 8
        True
    """
    session = next((s for s in ds.sessions if len(ds.participants[s["id"]]) >= 4), None)
    if session is None:
        raise ValueError("add_quirks needs a session with 4 or more participants")
    sid = session["id"]
    rows = ds.participants[sid]
    noted = ds.quirks.append

    def note(where: str, what: str) -> None:
        noted({"where": where, "what": what})

    rows[1]["joined_at"] += '"'
    note(f"participants[{sid}][1].joined_at", "stray double quote after the timestamp")
    rows[2]["duration"] = str(rows[2]["duration"])
    note(f"participants[{sid}][2].duration", "number sent as text")
    rows[3]["custom_participant_id"], rows[3]["display_name"] = None, ""
    note(f"participants[{sid}][3]", "custom_participant_id null and display_name empty")
    if session["status"] == "ENDED":
        last = max(rows, key=lambda r: r["left_at"] or "")
        last["left_at"] = None
        note(
            f"participants[{sid}][{rows.index(last)}].left_at", "null in an ENDED session (leave never seen)"
        )
    peer = rows[0]["id"]

    def details_quirks(record: dict[str, Any]) -> None:
        segment = record["quality_stats"][0]
        segment["audio_stats"][min(1, len(segment["audio_stats"]) - 1)]["quality"] = None
        segment["video_stats"][0].pop("frames_per_second", None)
        record["quality_stats"].append(dict(segment, audio_stats=[], video_stats=[]))

    def report_quirks(record: dict[str, Any]) -> None:
        quality = record["peer_report"]["quality"]
        quality["audio_producer"][0]["rtt"] = None
        quality["video_consumer_cumulative"] = {}

    ds.details = _patched(ds.details, {peer: details_quirks})
    ds.peer_reports = _patched(ds.peer_reports, {peer: report_quirks})
    note(
        f"details[{peer}].quality_stats",
        "a null quality, a video sample without frames_per_second, an empty segment",
    )
    note(f"peer_reports[{peer}].peer_report.quality", "a null rtt sample, an empty video_consumer_cumulative")
    chat = ds.chats.setdefault(sid, [])
    chat.append(
        dict(
            chat[0] if chat else {},
            id=derived_id(f"{sid}/recorder"),
            participantId=derived_id(f"{sid}/recorder-peer"),
            displayName="Recorder",
            payloadType="TEXT_MESSAGE",
            payload="Recording started",
            createdAt=session["started_at"],
            sessionId=sid,
            meetingId=session["associated_id"],
            pinned=False,
            isEdited=False,
        )
    )
    note(f"chats[{sid}][-1]", "message from a participant that is not in the participant list")
    utterances = ds.transcripts.setdefault(sid, [])
    utterances.insert(
        0,
        {
            "start_ms": 500,
            "end_ms": 2500,
            "peer_id": derived_id(f"{sid}/dial-in"),
            "user_id": "",
            "custom_participant_id": "",
            "name": "Dial-in user",
            "text": "Hi, I'm on the phone.",
            "joined_at": session["started_at"],
            "left_at": "",
        },
    )
    note(f"transcripts[{sid}][0]", "utterance from a dial-in caller not in the participant list")
    return ds
