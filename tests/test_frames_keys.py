"""The same name for the same thing in every frame: frames of one session merge on their shared key
columns with no rename (issue 8, item 1; the "Key columns" section of the API contract)."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtk_frames as rtk
from rtk_frames.sandbox import Dataset, serve

KEY_COLUMNS = frozenset({"session_id", "participant_id", "peer_id", "user_id", "message_id"})
# frames whose rows belong to one session (the sessions list and breakout rooms are keyed by session_id too)
PER_SESSION = ("participants", "participant", "peer_events", "quality_stats", "quality_segments",
               "peer_report", "peer_report_series", "chat", "transcript")


def session_frames(client: Any, session_id: str) -> dict[str, pd.DataFrame]:
    """Every frame of one session, built the way a user would: fetch_* where one exists, else the
    flattener on the same answer with ``session_id=``."""
    sessions = rtk.fetch_sessions(client)
    session = rtk.fetch_session(client, session_id, include_breakout_rooms=True, raw=True)
    participants = rtk.fetch_participants(client, session_id)
    ids = participants["participant_id"].dropna().unique().tolist()
    details = [client.get_session_participant_details(session_id, pid, include_peer_events=True)
               for pid in ids]
    reports = [rtk.fetch_peer_report(client, pid, raw=True) for pid in ids]
    return {
        "sessions": sessions[sessions["session_id"] == session_id].reset_index(drop=True),
        "session": session.frame,
        "breakout_rooms": rtk.breakout_rooms_frame(session.raw),
        "participants": participants,
        "participant": rtk.participant_frame(details, session_id=session_id),
        "peer_events": rtk.peer_events_frame(details, session_id=session_id),
        "quality_stats": pd.concat([rtk.fetch_quality_stats(client, session_id, pid) for pid in ids],
                                   ignore_index=True),
        "quality_segments": rtk.quality_segments_frame(details, session_id=session_id),
        "peer_report": pd.concat([report.frame for report in reports], ignore_index=True),
        "peer_report_series": pd.concat(
            [rtk.peer_report_series_frame(report.raw, peer_id=pid, session_id=session_id)
             for pid, report in zip(ids, reports, strict=True)], ignore_index=True),
        "chat": rtk.fetch_chat(client, session_id),
        "transcript": rtk.fetch_transcript(client, session_id, format="JSON"),
    }


def keys_of(frame: pd.DataFrame) -> set[str]:
    return KEY_COLUMNS & set(frame.columns)


def check_frames_of_one_session(frames: dict[str, pd.DataFrame], session_id: str) -> None:
    for name, frame in frames.items():
        assert "id" not in frame.columns, f"{name} has a bare id column"
        assert "session_id" in frame.columns, f"{name} has no session_id"
        for key in keys_of(frame):
            assert str(frame[key].dtype) == "str", f"{name}.{key} is {frame[key].dtype}"
    for name in PER_SESSION:
        assert len(frames[name]), f"the session has no {name} rows: the check would be empty"
        assert (frames[name]["session_id"] == session_id).all(), f"{name}: session_id not filled"
    for (left_name, left), (right_name, right) in itertools.combinations(frames.items(), 2):
        on = sorted(keys_of(left) & keys_of(right))
        assert on, f"{left_name} and {right_name} share no key column"
        merged = pd.merge(left, right, on=on, suffixes=("_l", "_r"))  # no rename, no left_on/right_on
        assert set(on) <= set(merged.columns)
    # the rows of every per-participant frame find their participant on the shared keys
    participants = frames["participants"]
    for name in ("participant", "peer_events", "quality_stats", "quality_segments", "peer_report",
                 "peer_report_series", "transcript"):
        frame = frames[name]
        on = sorted(keys_of(frame) & keys_of(participants))
        matched = pd.merge(frame, participants, on=on, how="left", validate="many_to_one", indicator=True)
        assert len(matched) == len(frame)
        assert (matched["_merge"] == "both").all(), f"{name} rows without their participant on {on}"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), participants=st.integers(1, 4))
def test_property_frames_of_one_session_merge_on_their_shared_keys_with_no_rename(seed, participants):
    dataset = Dataset.synthetic(sessions=1, participants=participants, samples=3, seed=seed)
    session_id = dataset.sessions[0]["id"]
    with serve(dataset) as api:
        frames = session_frames(api.client(), session_id)
    check_frames_of_one_session(frames, session_id)


@pytest.fixture(scope="module")
def demo_frames():
    with serve(Dataset.from_samples()) as api:
        client = api.client()
        sessions = rtk.fetch_sessions(client)
        richest = sessions.sort_values("max_concurrent_participants", ascending=False)
        session_id = richest["session_id"].iloc[0]
        return session_id, session_frames(client, session_id)


def test_demo_session_frames_merge_on_their_shared_keys(demo_frames):
    session_id, frames = demo_frames
    check_frames_of_one_session(frames, session_id)


def test_quality_merges_with_participants_on_session_and_participant_id(demo_frames):
    _, frames = demo_frames
    quality, participants = frames["quality_stats"], frames["participants"]
    merged = pd.merge(quality, participants, on=["session_id", "participant_id"])
    assert len(merged) == len(quality) > 0  # every quality row has its participant, once
    assert merged["display_name"].notna().all()
    assert quality.groupby("session_id").size().sum() == len(quality)  # groupable by session


def test_the_ambiguous_wire_ids_are_not_key_columns(demo_frames):
    _, frames = demo_frames
    # chat's participantId is a peer id or a user id: sender_id; join_chat resolves the participant_id
    assert "sender_id" in frames["chat"].columns and "participant_id" not in frames["chat"].columns
    joined = rtk.join_chat(frames["chat"], frames["participants"])
    found = set(joined.loc[joined["matched"], "participant_id"])
    assert found and found <= set(frames["participants"]["participant_id"])
    # a peer event's own participant_id holds a user id in the data: event_user_id, not a key
    events = frames["peer_events"]
    assert "event_user_id" in events.columns
    users = set(frames["participants"]["user_id"])
    assert set(events["event_user_id"].dropna()) <= users
