"""quality_stats_frame (one row per sample) and quality_segments_frame (one row per segment)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning

SEED = Path(__file__).resolve().parents[1] / "data_samples" / "seed"
T0 = pd.Timestamp("2024-05-06T09:00:00Z")


def seed(name: str) -> dict:
    return json.loads((SEED / f"{name}.json").read_text())


def at(seconds: int) -> str:
    return (T0 + pd.Timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def details(participant_id: str, *segments: dict) -> dict:
    return {"data": {"participant": {"id": participant_id, "quality_stats": list(segments)}}, "success": True}


def segment(peer_id: str, audio: int, video: int, **fields) -> dict:
    return {"peer_id": peer_id,
            "audio_stats": [{"timestamp": at(7 * i), "quality": 90 - i, "jitter": 2.5, "packets_lost": i,
                             "concealment_events": 0} for i in range(audio)],
            "video_stats": [{"timestamp": at(7 * i), "quality": 70, "frame_width": 1280, "frame_height": 720,
                             "frames_per_second": 29.5, "frames_dropped": 1} for i in range(video)],
            **fields}


def test_one_row_per_sample_each_carrying_its_segments_peer_id():
    frame = rtk.quality_stats_frame(details("p1", segment("peer-a", 3, 2), segment("peer-b", 1, 0)))
    assert len(frame) == 6
    assert frame[["peer_id", "kind"]].value_counts().to_dict() == {
        ("peer-a", "audio"): 3, ("peer-a", "video"): 2, ("peer-b", "audio"): 1}
    assert set(frame["participant_id"]) == {"p1"}
    audio = frame[frame["kind"] == "audio"]
    assert audio["quality"].tolist() == [90.0, 89.0, 88.0, 90.0]
    assert audio["frame_width"].isna().all()
    video = frame[frame["kind"] == "video"]
    assert video["frame_width"].tolist() == [1280.0, 1280.0] and video["concealment_events"].isna().all()
    assert frame["timestamp"].iloc[:3].tolist() == [T0 + pd.Timedelta(seconds=s) for s in (0, 7, 14)]


def test_rows_keep_the_payload_order_across_a_batch():
    batch = [details("p1", segment("peer-a", 2, 1)), details("p2", segment("peer-c", 1, 1))]
    frame = rtk.quality_stats_frame(batch)
    assert frame["participant_id"].tolist() == ["p1", "p1", "p1", "p2", "p2"]
    assert frame["kind"].tolist() == ["audio", "audio", "video", "audio", "video"]


def test_a_bad_value_among_clean_samples_is_na_and_counted_and_the_rest_are_untouched():
    clean = details("p1", segment("peer-a", 50, 50))
    dirty = json.loads(json.dumps(clean))
    dirty["data"]["participant"]["quality_stats"][0]["audio_stats"][7]["quality"] = "excellent"
    dirty["data"]["participant"]["quality_stats"][0]["video_stats"][3]["timestamp"] = "soon"
    with pytest.warns(CoercionWarning, match=r"2 values set to NA: .*quality ×1 \(not a number\)") as caught:
        bad = rtk.quality_stats_frame(dirty)
    assert len(caught) == 1
    good = rtk.quality_stats_frame(clean)
    assert pd.isna(bad["quality"][7]) and pd.isna(bad["timestamp"][53])
    pd.testing.assert_frame_equal(bad.drop(index=[7, 53]), good.drop(index=[7, 53]))


def test_an_impossible_date_among_clean_sample_times_is_the_only_time_lost():
    payload = segment("peer-a", 3, 0)
    payload["audio_stats"][1]["timestamp"] = "2024-02-30T09:00:07.000Z"  # ISO-shaped, but no such day
    with pytest.warns(CoercionWarning, match=r"1 value set to NA: timestamp ×1 \(unparseable timestamp\)"):
        frame = rtk.quality_stats_frame(details("p1", payload))
    assert frame["timestamp"].isna().tolist() == [False, True, False]
    assert frame.loc[2, "timestamp"] == T0 + pd.Timedelta(seconds=14)


def test_camel_case_sample_keys_fold_into_the_declared_columns():
    payload = details("p1", {"peerId": "peer-a", "videoStats": [
        {"timestamp": at(0), "frameWidth": 640, "framesPerSecond": "24"}]})
    row = rtk.quality_stats_frame(payload).iloc[0]
    assert (row["peer_id"], row["kind"], row["frame_width"], row["frames_per_second"]) == (
        "peer-a", "video", 640.0, 24.0)


def test_segments_summarise_each_peer_connection_with_sample_counts():
    payload = details("p1", segment("peer-a", 3, 2, average_quality=87.5, audio_bandwidth=32,
                                    video_packet_loss="1.5", start=at(0), end=at(21)))
    row = rtk.quality_segments_frame(payload).iloc[0]
    assert (row["peer_id"], row["segment_index"], row["average_quality"]) == ("peer-a", 0, 87.5)
    assert (row["audio_bandwidth"], row["video_packet_loss"]) == (32.0, 1.5)
    assert (row["audio_samples_count"], row["video_samples_count"]) == (3, 2)
    assert (row["start"], row["end"]) == (T0, T0 + pd.Timedelta(seconds=21))


def test_the_seeds_details_give_one_audio_and_one_video_sample():
    # its sample times are placeholders ("timestamp"): NaT, counted
    with pytest.warns(CoercionWarning, match="timestamp ×2"):
        frame = rtk.quality_stats_frame(seed("get_session_participant_details"))
    assert frame[["participant_id", "peer_id", "kind"]].to_dict("list") == {
        "participant_id": ["id", "id"], "peer_id": ["peer_id", "peer_id"], "kind": ["audio", "video"]}


def test_a_peer_reports_quality_stats_object_is_one_segment_of_its_single_peer():
    report = seed("get_participant_data_from_peer_id")
    with pytest.warns(CoercionWarning):
        segments = rtk.quality_segments_frame(report)
    assert segments["peer_id"].tolist() == ["string"]  # quality_stats.peer_ids == ["string"]
    assert segments["total_audio_packets"].tolist() == [0]


def test_session_id_fills_the_column_of_samples_and_segments_whose_payload_lacks_it():
    payload = details("p1", segment("peer-a", 2, 1))
    assert set(rtk.quality_stats_frame(payload, session_id="s1")["session_id"]) == {"s1"}
    assert rtk.quality_segments_frame(payload, session_id="s1")["session_id"].tolist() == ["s1"]
    assert rtk.quality_stats_frame(payload)["session_id"].isna().all()  # unknown: NA, never missing
    own = {"data": {"participant": {**payload["data"]["participant"], "session_id": "s-own"}}}
    assert set(rtk.quality_stats_frame(own, session_id="s1")["session_id"]) == {"s-own"}  # payload wins


def test_no_quality_stats_gives_an_empty_frame_with_every_column():
    frame = rtk.quality_stats_frame({"data": {"participant": {"id": "p1"}}})
    assert len(frame) == 0 and list(frame.columns) == rtk.schemas.SCHEMAS["quality_stats"].names
