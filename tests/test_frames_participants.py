"""participants_frame, participant_frame, peer_events_frame: the seed examples read the way a person does."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning

SEED = Path(__file__).resolve().parents[1] / "data_samples" / "seed"


def seed(name: str) -> dict:
    return json.loads((SEED / f"{name}.json").read_text())


def test_the_seeds_participants_give_henrys_duration_and_his_repaired_join_time():
    with pytest.warns(CoercionWarning, match=r"1 value repaired: joined_at ×1") as caught:
        people = rtk.participants_frame(seed("get_session_participants"), session_id="sess-1")
    assert len(caught) == 1
    henry = people.set_index("display_name").loc["Henry"]
    assert henry["duration"] == 6.9263
    assert henry["joined_at"] == pd.Timestamp("2023-02-01T10:50:36.846Z")
    assert henry["left_at"] == pd.Timestamp("2023-02-01T10:57:32.424Z")
    assert henry["custom_participant_id"] == "3uggr"
    assert people["session_id"].tolist() == ["sess-1", "sess-1"]
    assert people.attrs["rtk_frames"]["coercions"] == {
        "joined_at: repaired timestamp: stray characters stripped": 1}


def test_the_seeds_participant_details_make_one_wide_row_with_the_wire_typos_folded():
    with pytest.warns(CoercionWarning):  # the seed's placeholder times ("joined_at") are not times
        row = rtk.participant_frame(seed("get_session_participant_details")).iloc[0]
    assert row["device_info_browser"] == "browser"
    assert row["device_info_memory"] == 0.0
    assert bool(row["device_info_is_mobile"]) is True
    assert row["ip_information_portal"] == "portal"
    assert row["precall_network_information_throughput"] == 0.0  # the wire says "throughtput"
    assert row["precall_network_information_effective_network_type"] == "effective_networktype"
    assert (row["status"], row["config"]) == ("status", "config")
    assert (row["peer_events_count"], row["quality_segments_count"]) == (1, 1)
    with pytest.warns(CoercionWarning):
        frame = rtk.participant_frame(seed("get_session_participant_details"))
    assert not [c for c in frame.columns if "throughtput" in c or "networktype" in c]


def test_participant_details_in_the_sdk_shape_count_their_peer_events_and_leave_peer_blocks_na():
    details = {"data": {"participant": {
        "id": "p1", "display_name": "Ana", "peer_events": [
            {"event_name": "PEER_JOINING", "created_at": "2024-05-06T09:00:01Z"},
            {"event_name": "PEER_LEAVING", "created_at": "2024-05-06T09:30:00Z"}]}}, "success": True}
    row = rtk.participant_frame(details, session_id="s1").iloc[0]
    assert (row["participant_id"], row["session_id"], row["peer_events_count"]) == ("p1", "s1", 2)
    assert "id" not in row.index
    assert pd.isna(row["device_info_browser"]) and pd.isna(row["precall_network_information_rtt"])


def test_webgl_support_reads_as_a_flag_whether_text_or_boolean():
    def webgl(value):
        stats = {"device_info": {"webgl_support": value}}
        details = {"data": {"participant": {"id": "p", "peer_stats": stats}}}
        return rtk.participant_frame(details)["device_info_webgl_support"].iloc[0]

    assert webgl(True) and webgl("true") and webgl("WebGL 2.0")
    assert not webgl(False) and not webgl("false")


def test_camel_case_keys_read_like_snake_case():
    snake = {"id": "p1", "joined_at": "2024-05-06T09:00:00Z", "custom_participant_id": "c",
             "peer_stats": {"device_info": {"browser_version": "124"}}}
    camel = {"id": "p1", "joinedAt": "2024-05-06T09:00:00Z", "customParticipantId": "c",
             "peerStats": {"deviceInfo": {"browserVersion": "124"}}}
    pd.testing.assert_frame_equal(rtk.participant_frame({"data": {"participant": camel}}),
                                  rtk.participant_frame({"data": {"participant": snake}}))


def test_peer_events_come_from_every_source_with_time_name_and_source():
    details = {"data": {"participant": {
        "id": "p1", "session_id": "s1",
        "peer_events": [{"id": "e1", "event_name": "PEER_JOINING", "created_at": "2024-05-06T09:00:01Z",
                         "peer_id": "peer-9"}],
        "peer_stats": {"events": [{"type": "NETWORK_CHANGE", "timestamp": "2024-05-06T09:05:00Z",
                                   "metadata": {"connection_info": {"r_t_t": 120, "backend_r_t_t": 80}}}]},
    }}}
    events = rtk.peer_events_frame(details)
    assert events[["source", "event", "participant_id", "session_id"]].to_dict("list") == {
        "source": ["peer_events", "peer_stats"], "event": ["PEER_JOINING", "NETWORK_CHANGE"],
        "participant_id": ["p1", "p1"], "session_id": ["s1", "s1"]}
    assert events["timestamp"].tolist() == [pd.Timestamp("2024-05-06T09:00:01Z"),
                                            pd.Timestamp("2024-05-06T09:05:00Z")]
    assert events["event_id"][0] == "e1" and events["peer_id"][0] == "peer-9"
    assert events["metadata_connection_info_rtt"][1] == 120
    assert events["metadata_connection_info_backend_rtt"][1] == 80


def test_peer_events_of_a_participants_page_keep_each_participant():
    page = {"data": {"participants": [
        {"id": "a", "peer_events": [{"event_name": "PEER_CREATED"}, {"event_name": "PEER_JOINING"}]},
        {"id": "b"},
        {"id": "c", "peer_events": [{"event_name": "PEER_LEAVING"}]}]}}
    events = rtk.peer_events_frame(page, session_id="s1")
    assert events["participant_id"].tolist() == ["a", "a", "c"]
    assert set(events["session_id"]) == {"s1"}
    assert rtk.participants_frame(page)["peer_events_count"].tolist()[::2] == [2, 1]


def test_the_warning_points_at_the_callers_line_and_a_json_body_reads_like_its_dict():
    body = (SEED / "get_session_participants.json").read_bytes()
    with pytest.warns(CoercionWarning) as caught:
        from_bytes = rtk.participants_frame(body)
    assert caught[0].filename == __file__
    with pytest.warns(CoercionWarning):
        pd.testing.assert_frame_equal(from_bytes, rtk.participants_frame(json.loads(body)))
