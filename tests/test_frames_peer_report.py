"""peer_report_frame (one wide row, wire-named cumulative metrics) and peer_report_series_frame (long)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cloudflare.types.realtime_kit import SessionGetParticipantDataFromPeerIDResponse

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning

SEED = Path(__file__).resolve().parents[1] / "data_samples" / "seed"
T0 = "2024-05-06T09:00:00.000Z"


def seed_report() -> dict:
    return json.loads((SEED / "get_participant_data_from_peer_id.json").read_text())


def report(**quality) -> dict:
    return {"data": {"participant": {
        "id": "p1", "session_id": "s1", "display_name": "Ana", "joined_at": T0,
        "peer_report": {
            "metadata": {"browser_metadata": {"browser": "Chrome", "webgl_support": True},
                         "device_info": {"os": "macOS", "cpus": 8}, "ip_information": {"country": "IN"},
                         "sdk_name": "web-core", "events": [{"name": "ice_connected", "timestamp": T0}]},
            "quality": quality},
        "peer_stats": {"precall_network_information": {"rtt": 42, "throughtput": 900}},
        "quality_stats": {"total_audio_packets": 2**60 + 1, "average_quality": 81, "peer_ids": ["peer-1"]},
    }}, "success": True}


CUMULATIVE = {"packet_loss": {"10_or_greater_event_fraction": 0.25, "5_or_greater_event_fraction": 0.5,
                              "avg": 3.5},
              "quality_mos": {"avg": 4.1, "p50": 4.2, "p75": 4.3, "p90": 4.4},
              "rtt": {"100ms_or_greater_event_fraction": 0.1, "avg": 85.0}}


def test_cumulative_metrics_keep_their_wire_names():
    row = rtk.peer_report_frame(report(audio_producer_cumulative=CUMULATIVE), peer_id="peer-1").iloc[0]
    assert row["audio_producer_cumulative_packet_loss_10_or_greater_event_fraction"] == 0.25
    assert row["audio_producer_cumulative_packet_loss_5_or_greater_event_fraction"] == 0.5
    assert row["audio_producer_cumulative_quality_mos_p90"] == 4.4
    assert row["audio_producer_cumulative_rtt_avg"] == 85.0  # milliseconds
    assert row["audio_producer_cumulative_rtt_100ms_or_greater_event_fraction"] == 0.1
    assert pd.isna(row["video_producer_cumulative_quality_mos_avg"])


def test_identity_device_ip_precall_and_totals_blocks_are_on_the_row():
    row = rtk.peer_report_frame(report(), peer_id="peer-1").iloc[0]
    assert (row["participant_id"], row["peer_id"], row["session_id"]) == ("p1", "peer-1", "s1")
    assert (row["device_info_browser"], row["device_info_os"]) == ("Chrome", "macOS")
    assert row["device_info_cpus"] == 8.0
    assert bool(row["device_info_webgl_support"]) and row["ip_information_country"] == "IN"
    assert row["precall_network_information_rtt"] == 42.0
    assert row["precall_network_information_throughput"] == 900.0
    assert row["sdk_name"] == "web-core" and row["joined_at"] == pd.Timestamp(T0)
    assert row["quality_stats_total_audio_packets"] == 2**60 + 1  # exact: Int64
    assert row["quality_stats_average_quality"] == 81.0


def test_without_a_peer_id_argument_the_reports_single_peer_id_is_used():
    assert rtk.peer_report_frame(report())["peer_id"].tolist() == ["peer-1"]


def test_an_sdk_model_gives_the_wire_names_back_not_api_prefixed_ones():
    payload = report(audio_producer_cumulative=CUMULATIVE)
    model = SessionGetParticipantDataFromPeerIDResponse.model_validate(payload)
    assert "api_10_or_greater_event_fraction" in type(
        model.data.participant.peer_report.quality.audio_producer_cumulative.packet_loss).model_fields
    from_model = rtk.peer_report_frame(model)
    pd.testing.assert_frame_equal(from_model, rtk.peer_report_frame(payload))
    assert not [c for c in from_model.columns if "api_" in c]


def test_the_seeds_report_reads_its_placeholders_into_the_declared_columns():
    with pytest.warns(CoercionWarning):  # its times are placeholders ("joined_at")
        frame = rtk.peer_report_frame(seed_report())
    row = frame.iloc[0]
    assert row["device_info_browser"] == "browser" and row["ip_information_asn_asn"] == "asn"
    assert row["audio_producer_cumulative_packet_loss_10_or_greater_event_fraction"] == 0.0
    assert row["precall_network_information_effective_network_type"] == "effective_networktype"
    assert row["quality_stats_peer_ids"] == '["string"]'
    assert all(str(frame[c].dtype) != "object" for c in frame.columns)


def test_the_series_is_long_with_a_stream_column_and_remote_peer_for_consumers():
    payload = report(
        audio_producer=[{"timestamp": T0, "rtt": 0.031, "jitter": 0.004, "bytes_sent": 2**60,
                         "mos_quality": 4.3}],
        video_consumer=[{"timestamp": T0, "peer_id": "peer-2", "frames_decoded": 300.0, "frame_width": 1280},
                        {"timestamp": T0, "peer_id": "peer-3", "frames_decoded": "301"}],
        screenshare_video_producer=[{"timestamp": T0, "quality_limitation_reason": "cpu",
                                     "quality_limitation_durations": {"cpu": 1.5}}],
        audio_producer_cumulative=CUMULATIVE)
    series = rtk.peer_report_series_frame(payload, peer_id="peer-1")
    assert series["stream"].tolist() == ["audio_producer", "video_consumer", "video_consumer",
                                         "screenshare_video_producer"]
    assert set(series["peer_id"]) == {"peer-1"}
    assert set(series["session_id"]) == {"s1"}  # the report's participant carries it
    assert series.columns[:4].tolist() == ["session_id", "participant_id", "peer_id", "stream"]
    assert series["remote_peer_id"].tolist()[1:3] == ["peer-2", "peer-3"]
    assert series["rtt"][0] == 0.031  # seconds, as the wire says
    assert series["bytes_sent"][0] == 2**60
    assert series["frames_decoded"].tolist()[1:3] == [300, 301]
    assert series["quality_limitation_durations_cpu"][3] == 1.5


def test_session_id_fills_report_frames_whose_payload_lacks_it():
    payload = report(audio_producer=[{"timestamp": T0, "rtt": 0.031}])
    del payload["data"]["participant"]["session_id"]
    assert rtk.peer_report_series_frame(payload, session_id="s9")["session_id"].tolist() == ["s9"]
    assert rtk.peer_report_frame(payload, session_id="s9")["session_id"].tolist() == ["s9"]
    assert rtk.peer_report_frame(payload)["session_id"].isna().all()


def test_a_non_integral_counter_is_na_and_counted():
    samples = [{"timestamp": T0, "packets_sent": 10.5}, {"timestamp": T0, "packets_sent": 11}]
    payload = report(audio_producer=samples)
    with pytest.warns(CoercionWarning, match=r"packets_sent ×1 \(not an integer\)"):
        series = rtk.peer_report_series_frame(payload)
    assert pd.isna(series["packets_sent"][0]) and series["packets_sent"][1] == 11


def test_report_events_are_peer_events_from_the_report():
    events = rtk.peer_events_frame(report())
    assert events[["source", "event"]].to_dict("list") == {
        "source": ["peer_report"], "event": ["ice_connected"]}
