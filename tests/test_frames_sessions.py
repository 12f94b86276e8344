"""sessions_frame, session_frame, breakout_rooms_frame on the seed examples and hand-built payloads."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from cloudflare.types.realtime_kit import SessionGetSessionDetailsResponse

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning

SEED = Path(__file__).resolve().parents[1] / "data_samples" / "seed"


def seed(name: str) -> dict:
    return json.loads((SEED / f"{name}.json").read_text())


def session(**fields) -> dict:
    return {"id": "s1", "status": "ENDED", "type": "meeting", "started_at": "2024-05-06T09:00:00.000Z",
            "minutes_consumed": 12.5, "live_participants": 0, **fields}


def test_the_seeds_sessions_list_reads_its_values_and_warns_once_about_its_placeholder_times():
    with pytest.warns(CoercionWarning, match=r"sessions_frame: 4 values set to NA: created_at ×1") as caught:
        frame = rtk.sessions_frame(seed("get_sessions"))
    assert len(caught) == 1
    row = frame.iloc[0]
    assert (row["session_id"], row["status"], row["type"]) == ("id", "LIVE", "meeting")
    assert "id" not in frame.columns
    assert row["breakout_rooms_count"] == 1
    assert row[["created_at", "started_at", "ended_at", "updated_at"]].isna().all()


def test_session_details_read_the_same_flat_under_data_or_under_data_session():
    flat = rtk.session_frame({"data": session(), "success": True})
    nested = rtk.session_frame({"data": {"session": session()}, "success": True})
    pd.testing.assert_frame_equal(flat, nested)
    assert flat["started_at"].tolist() == [pd.Timestamp("2024-05-06T09:00:00Z")]
    assert flat["minutes_consumed"].tolist() == [12.5]


def test_session_meta_is_flattened_with_underscores_after_the_declared_columns():
    frame = rtk.sessions_frame({"data": {"sessions": [session(meta={"room": {"name": "A"}})]}})
    assert frame["meta_room_name"].tolist() == ["A"]
    assert list(frame.columns).index("meta_room_name") >= len(rtk.schemas.SCHEMAS["sessions"])


def test_breakout_rooms_are_a_child_frame_keyed_by_the_parent_session():
    payload = {"data": session(breakout_rooms=[session(id="r1"), session(id="r2", status="LIVE")])}
    parent = rtk.session_frame(payload)
    rooms = rtk.breakout_rooms_frame(payload)
    assert parent["breakout_rooms_count"].tolist() == [2]
    assert rooms[["parent_session_id", "session_id", "status"]].to_dict("list") == {
        "parent_session_id": ["s1", "s1"], "session_id": ["r1", "r2"], "status": ["ENDED", "LIVE"]}
    assert rooms["breakout_room_index"].tolist() == [0, 1]


def test_no_breakout_rooms_key_is_na_and_an_empty_list_is_zero():
    frame = rtk.sessions_frame({"data": {"sessions": [session(), session(id="s2", breakout_rooms=[])]}})
    assert pd.isna(frame["breakout_rooms_count"][0]) and frame["breakout_rooms_count"][1] == 0
    assert len(rtk.breakout_rooms_frame({"data": {"sessions": [session()]}})) == 0


def test_an_sdk_model_of_the_details_reads_like_the_dict():
    payload = {"data": session(associated_id="m1", created_at="2024-05-06T08:59:00Z",
                               updated_at="2024-05-06T10:00:00Z", organization_id="o",
                               meeting_display_name="Standup", max_concurrent_participants=3),
               "success": True}
    model = SessionGetSessionDetailsResponse.model_validate(payload)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(rtk.session_frame(model), rtk.session_frame(payload))


def test_an_empty_sessions_page_is_an_empty_frame_with_every_column():
    frame = rtk.sessions_frame({"data": {"sessions": []}, "success": True})
    assert len(frame) == 0
    assert list(frame.columns) == rtk.schemas.SCHEMAS["sessions"].names
    assert frame.attrs == {"rtk_frames": {"frame": "sessions_frame", "coercions": {}}}
