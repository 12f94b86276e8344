"""fetch_* over real HTTP against the sandbox: the frames hold what the served dataset holds."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest

import rtk_frames as rtk
from rtk_frames.errors import CoercionWarning, NotFoundError
from rtk_frames.fetch import FrameWithRaw
from rtk_frames.sandbox import Dataset, serve

SAMPLES = Dataset.from_samples()
SESSION_WITH_ROOMS = next(iter(SAMPLES.breakout_rooms))
SESSION = SAMPLES.sessions[0]["id"]


def a_participant_with_quality_stats(session_id: str) -> str:
    return next(p["id"] for p in SAMPLES.participants[session_id] if SAMPLES.details.get(p["id"], {})
                .get("quality_stats"))


def test_fetch_sessions_pages_through_everything_whatever_the_page_size(sample_client):
    one_by_one = rtk.fetch_sessions(sample_client, per_page=1)
    at_once = rtk.fetch_sessions(sample_client)
    pd.testing.assert_frame_equal(one_by_one, at_once)
    assert sorted(at_once["session_id"]) == sorted(s["id"] for s in SAMPLES.sessions)
    assert str(at_once["started_at"].dtype) == "datetime64[us, UTC]"


def test_fetch_sessions_stops_at_max_pages_and_keeps_the_raw_pages(sample_client):
    frame, pages = rtk.fetch_sessions(sample_client, per_page=1, max_pages=2, raw=True)
    assert len(pages) == 2 and len(frame) == 2
    assert frame["session_id"].tolist() == [p["data"]["sessions"][0]["id"] for p in pages]


def test_fetch_sessions_passes_filters(sample_client):
    ended = rtk.fetch_sessions(sample_client, status="ENDED")
    live = rtk.fetch_sessions(sample_client, status="LIVE")
    statuses = [s["status"] for s in SAMPLES.sessions]
    assert (len(ended), len(live)) == (statuses.count("ENDED"), statuses.count("LIVE"))


def test_fetch_session_is_one_row_and_counts_its_breakout_rooms(sample_client):
    result = rtk.fetch_session(sample_client, SESSION_WITH_ROOMS, include_breakout_rooms=True, raw=True)
    assert isinstance(result, FrameWithRaw)
    assert result.frame["session_id"].tolist() == [SESSION_WITH_ROOMS]
    assert result.frame["breakout_rooms_count"].tolist() == [len(SAMPLES.breakout_rooms[SESSION_WITH_ROOMS])]
    rooms = rtk.breakout_rooms_frame(result.raw)
    assert set(rooms["parent_session_id"]) == {SESSION_WITH_ROOMS}
    assert sorted(rooms["session_id"]) == sorted(r["id"] for r in SAMPLES.breakout_rooms[SESSION_WITH_ROOMS])


def test_fetch_participants_pages_and_fills_the_session_id(sample_client):
    expected = SAMPLES.participants[SESSION]
    small_pages = rtk.fetch_participants(sample_client, SESSION, per_page=3)
    assert sorted(small_pages["participant_id"]) == sorted(p["id"] for p in expected)
    assert set(small_pages["session_id"]) == {SESSION}
    by_id = {p["id"]: p for p in expected}
    assert all(row.duration == pytest.approx(by_id[row.participant_id]["duration"])
               for row in small_pages.itertuples())


def test_fetch_participants_with_peer_events_counts_them_and_the_raw_gives_the_rows(sample_client):
    frame, pages = rtk.fetch_participants(sample_client, SESSION, include_peer_events=True, raw=True)
    events = rtk.peer_events_frame(pages, session_id=SESSION)
    assert int(frame["peer_events_count"].sum()) == len(events) > 0
    assert set(events["source"]) == {"peer_events"}
    assert set(events["participant_id"]) <= set(frame["participant_id"])


def test_fetch_participant_is_one_wide_row_with_the_served_device_and_network(sample_client):
    participant_id = a_participant_with_quality_stats(SESSION)
    served = SAMPLES.details[participant_id]["peer_stats"]
    row = rtk.fetch_participant(sample_client, SESSION, participant_id).iloc[0]
    assert row["participant_id"] == participant_id and row["session_id"] == SESSION
    assert row["device_info_browser"] == served["device_info"]["browser"]
    precall = served["precall_network_information"]
    assert row["precall_network_information_rtt"] == pytest.approx(precall["rtt"])
    throughput = precall.get("throughput", precall.get("throughtput"))
    assert row["precall_network_information_throughput"] == pytest.approx(throughput)


def test_fetch_quality_stats_gives_every_served_sample(sample_client):
    participant_id = a_participant_with_quality_stats(SESSION)
    segments = SAMPLES.details[participant_id]["quality_stats"]
    stats, raw = rtk.fetch_quality_stats(sample_client, SESSION, participant_id, raw=True)
    assert len(stats) == sum(len(s.get("audio_stats", [])) + len(s.get("video_stats", [])) for s in segments)
    per_peer: Counter[str] = Counter()
    for segment in segments:
        per_peer[segment["peer_id"]] += sum(len(segment.get(f"{k}_stats", [])) for k in ("audio", "video"))
    assert stats.groupby("peer_id").size().to_dict() == dict(per_peer)
    assert len(rtk.quality_segments_frame(raw)) == len(segments)
    assert stats["timestamp"].notna().all()


def test_fetch_peer_report_is_one_row_with_the_served_cumulative_metrics(sample_client):
    peer_id = next(iter(SAMPLES.peer_reports))
    served = SAMPLES.peer_reports[peer_id]["peer_report"]["quality"]["audio_producer_cumulative"]
    report, raw = rtk.fetch_peer_report(sample_client, peer_id, raw=True)
    row = report.iloc[0]
    assert row["peer_id"] == peer_id
    assert row["audio_producer_cumulative_rtt_avg"] == pytest.approx(served["rtt"]["avg"])
    assert row["audio_producer_cumulative_packet_loss_10_or_greater_event_fraction"] == pytest.approx(
        served["packet_loss"]["10_or_greater_event_fraction"])
    series = rtk.peer_report_series_frame(raw, peer_id=peer_id)
    quality = SAMPLES.peer_reports[peer_id]["peer_report"]["quality"]
    assert len(series) == sum(len(v) for k, v in quality.items() if isinstance(v, list))


def test_fetch_chat_parses_every_served_message(sample_client):
    chat, downloaded = rtk.fetch_chat(sample_client, SESSION, raw=True)
    assert len(chat) == len(SAMPLES.chats[SESSION])
    assert isinstance(downloaded.content, bytes)


@pytest.mark.parametrize("fmt", ["CSV", "JSON", "VTT", "SRT"])
def test_fetch_transcript_parses_every_served_utterance_in_every_format(sample_client, fmt):
    transcript = rtk.fetch_transcript(sample_client, SESSION, format=fmt)
    assert len(transcript) == len(SAMPLES.transcripts[SESSION])
    started = rtk.fetch_session(sample_client, SESSION)["started_at"].iloc[0]
    assert (transcript["start"].dropna() >= started).all()


def test_summary_is_not_found_before_generation_and_text_after():
    session_id = next(s["id"] for s in SAMPLES.sessions if s["id"] not in SAMPLES.summaries)
    with serve(Dataset.from_samples()) as api:
        client = api.client()
        with pytest.raises(NotFoundError):
            rtk.fetch_summary(client, session_id)
        assert rtk.generate_summary(client, session_id) is None
        text = rtk.fetch_summary(client, session_id)
    assert isinstance(text, str) and text.strip() and not text.startswith("\ufeff")


def test_the_seed_flavored_service_gives_the_same_frames():
    participant_id = a_participant_with_quality_stats(SESSION)
    with serve(Dataset.from_samples(), flavor="seed") as seed_api, serve(Dataset.from_samples()) as sdk_api:
        seed_client, sdk_client = seed_api.client(), sdk_api.client()
        pd.testing.assert_frame_equal(rtk.fetch_session(seed_client, SESSION),
                                      rtk.fetch_session(sdk_client, SESSION))
        seed_row = rtk.fetch_participant(seed_client, SESSION, participant_id)
        sdk_row = rtk.fetch_participant(sdk_client, SESSION, participant_id)
        for column in ("device_info_browser", "ip_information_country",
                       "precall_network_information_throughput"):
            assert seed_row[column].tolist() == sdk_row[column].tolist()
        pd.testing.assert_frame_equal(rtk.fetch_quality_stats(seed_client, SESSION, participant_id),
                                      rtk.fetch_quality_stats(sdk_client, SESSION, participant_id))


def test_a_synthetic_fleet_flattens_every_sample_over_http():
    dataset = Dataset.synthetic(sessions=2, participants=4, samples=30, seed=11)
    session_id = dataset.sessions[0]["id"]
    with serve(dataset) as api:
        client = api.client()
        people = rtk.fetch_participants(client, session_id)
        stats = pd.concat([rtk.fetch_quality_stats(client, session_id, pid)
                           for pid in people["participant_id"]], ignore_index=True)
    served = sum(len(seg.get("audio_stats", [])) + len(seg.get("video_stats", []))
                 for pid in people["participant_id"]
                 for seg in dataset.details.get(pid, {}).get("quality_stats", []))
    assert len(stats) == served > 0
    assert stats["quality"].between(0, 100).all()


def test_a_coercion_warning_from_a_fetch_points_at_the_callers_line():
    dataset = Dataset.from_samples()
    dataset.participants[SESSION][0]["joined_at"] = "not a time"
    with serve(dataset) as api, pytest.warns(CoercionWarning, match=r"joined_at ×1 \(unparseable") as caught:
        people = rtk.fetch_participants(api.client(), SESSION)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert people["joined_at"].isna().sum() == 1


def test_every_public_submodule_is_an_attribute_of_the_package_without_importing_it_first():
    names = sorted(m.name for m in pkgutil.iter_modules(rtk.__path__) if not m.name.startswith("_"))
    assert {"client", "sync", "export", "ratelimit"} <= set(names)
    code = f"import rtk_frames; [getattr(rtk_frames, name) for name in {names!r}]"
    subprocess.run([sys.executable, "-c", code], check=True)  # a fresh interpreter: nothing imported yet


# ---------------------------------------------------------------------------------------------------------
# a fetcher for every frame, and several frames from one request


def test_fetch_breakout_rooms_gives_each_served_room_and_an_empty_frame_without_rooms(sample_client):
    rooms = rtk.fetch_breakout_rooms(sample_client, SESSION_WITH_ROOMS)
    served = SAMPLES.breakout_rooms[SESSION_WITH_ROOMS]
    assert len(rooms) == len(served) > 0 and set(rooms["parent_session_id"]) == {SESSION_WITH_ROOMS}
    without = next(s["id"] for s in SAMPLES.sessions if s["id"] not in SAMPLES.breakout_rooms)
    none = rtk.fetch_breakout_rooms(sample_client, without)
    from rtk_frames.schemas import SCHEMAS

    assert none.empty and list(none.columns) == SCHEMAS["breakout_rooms"].names  # declared, even if empty


def test_fetch_peer_events_gives_every_served_event_of_the_session(sample_client):
    events, pages = rtk.fetch_peer_events(sample_client, SESSION, per_page=2, raw=True)
    served = sum(len(p.get("peer_events") or []) for p in SAMPLES.participants[SESSION])
    assert len(events) == served > 0
    assert set(events["session_id"]) == {SESSION} and set(events["source"]) == {"peer_events"}
    assert len(pages) == -(-len(SAMPLES.participants[SESSION]) // 2)
    assert events["timestamp"].notna().all()


def test_fetch_participants_and_peer_events_stop_at_max_pages(sample_client):
    assert len(SAMPLES.participants[SESSION]) > 2
    people, pages = rtk.fetch_participants(sample_client, SESSION, per_page=1, max_pages=2, raw=True)
    assert len(pages) == 2 and len(people) == 2
    _, event_pages = rtk.fetch_peer_events(sample_client, SESSION, per_page=1, max_pages=1, raw=True)
    assert len(event_pages) == 1


def test_fetch_quality_segments_gives_every_served_segment(sample_client):
    participant_id = a_participant_with_quality_stats(SESSION)
    served = SAMPLES.details[participant_id]["quality_stats"]
    segments = rtk.fetch_quality_segments(sample_client, SESSION, participant_id)
    assert len(segments) == len(served)
    assert segments["peer_id"].tolist() == [s["peer_id"] for s in served]
    assert segments["average_quality"].tolist() == pytest.approx([s["average_quality"] for s in served])


def test_fetch_peer_report_series_gives_every_served_sample(sample_client):
    peer_id = next(iter(SAMPLES.peer_reports))
    quality = SAMPLES.peer_reports[peer_id]["peer_report"]["quality"]
    series = rtk.fetch_peer_report_series(sample_client, peer_id)
    expected = {stream: len(v) for stream, v in quality.items() if isinstance(v, list) and v}
    assert series.groupby("stream").size().to_dict() == expected
    assert set(series["peer_id"]) == {peer_id}


def test_fetch_frames_makes_one_request_and_gives_what_each_fetcher_gives():
    participant_id = a_participant_with_quality_stats(SESSION)
    peer_id = next(iter(SAMPLES.peer_reports))
    with serve(Dataset.from_samples()) as api:
        client = api.client()
        frames = rtk.fetch_frames(client, "get_session_participant_details", SESSION, participant_id,
                                  filters=["quality_stats"])
        report = rtk.fetch_frames(client, "get_participant_data_from_peer_id", peer_id)
        asked = [r.endpoint for r in api.request_log]
        pd.testing.assert_frame_equal(frames["quality_stats"],
                                      rtk.fetch_quality_stats(client, SESSION, participant_id))
        pd.testing.assert_frame_equal(frames["quality_segments"],
                                      rtk.fetch_quality_segments(client, SESSION, participant_id))
        pd.testing.assert_frame_equal(report["peer_report_series"],
                                      rtk.fetch_peer_report_series(client, peer_id))
        listing = rtk.fetch_frames(client, "get_session_participants", SESSION, include_peer_events=True,
                                   per_page=2)
        pd.testing.assert_frame_equal(listing["peer_events"], rtk.fetch_peer_events(client, SESSION))
    assert asked == ["get_session_participant_details", "get_participant_data_from_peer_id"]
    assert set(frames) == {"participant", "quality_stats", "quality_segments", "peer_events"}
    assert set(report) == {"peer_report", "peer_report_series"}


def test_fetch_frames_fills_session_id_in_every_frame_whose_schema_has_it():
    from rtk_frames.schemas import SCHEMAS

    participant_id = a_participant_with_quality_stats(SESSION)
    with serve(Dataset.from_samples()) as api:
        frames = rtk.fetch_frames(api.client(), "get_session_participant_details", SESSION, participant_id,
                                  filters=["quality_stats"], include_peer_events=True)
    checked = 0
    for schema, frame in frames.items():
        assert not frame.empty, schema
        if "session_id" in SCHEMAS[schema].names:
            assert set(frame["session_id"]) == {SESSION}, schema
            checked += 1
    assert checked >= 2  # participant and peer events at least (quality frames once they carry it)


def test_fetch_frames_refuses_downloads_unknown_endpoints_and_the_wrong_number_of_ids(sample_client):
    with pytest.raises(ValueError, match="fetch_frames"):
        rtk.fetch_frames(sample_client, "get_session_chat", SESSION)
    with pytest.raises(ValueError, match="fetch_frames"):
        rtk.fetch_frames(sample_client, "get_nothing", SESSION)
    with pytest.raises(TypeError, match="participant_id"):
        rtk.fetch_frames(sample_client, "get_session_participant_details", SESSION)
