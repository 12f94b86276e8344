"""Call-quality analytics on hand-built frames whose answers a person can check by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtk_frames import analysis as q
from rtk_frames.analysis import verdict as verdicts_module

T0 = pd.Timestamp("2026-03-02T10:00:00Z")


def qs_frame(values: dict[str, list[float]], *, participant="p1", peer="peer-a", kind="audio", start=T0,
             step_s=7) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame({
        "participant_id": [participant] * n, "peer_id": [peer] * n, "kind": [kind] * n,
        "timestamp": pd.date_range(start, periods=n, freq=f"{step_s}s"), **values,
    })


# ---------------------------------------------------------------------------------------------- E-model

def test_emodel_mos_matches_hand_calculation():
    # RTT 100 ms, jitter 10 ms, loss 1 %:
    #   latency = 100/2 = 50; EL = 50 + 2·10 + 10 = 80 ms (< 160) -> R = 93.2 − 80/40 = 91.2
    #   R −= 2.5·1 -> 88.7
    #   MOS = 1 + 0.035·88.7 + 7e-6·88.7·(88.7 − 60)·(100 − 88.7)
    #       = 1 + 3.1045 + 7e-6·88.7·28.7·11.3 = 1 + 3.1045 + 0.20136 = 4.30586
    assert q.estimate_mos(100.0, 10.0, 1.0) == pytest.approx(4.30586, abs=1e-4)


def test_emodel_uses_the_high_latency_branch_above_160_ms():
    # RTT 400 ms, jitter 30 ms, loss 0: EL = 200 + 60 + 10 = 270 -> R = 93.2 − (270 − 120)/10 = 78.2
    # MOS = 1 + 0.035·78.2 + 7e-6·78.2·18.2·21.8 = 1 + 2.737 + 0.21719 = 3.95419
    assert q.estimate_mos(400.0, 30.0, 0.0) == pytest.approx(3.95419, abs=1e-4)


def test_emodel_clips_r_so_mos_stays_in_1_to_4_5():
    mos = q.estimate_mos(np.array([0.0, 5000.0]), np.array([0.0, 500.0]), np.array([0.0, 90.0]))
    # EL = 0 + 0 + 10 -> R = 93.2 − 10/40 = 92.95
    assert mos[0] == pytest.approx(1 + 0.035 * 92.95 + 7e-6 * 92.95 * 32.95 * 7.05, abs=1e-6)
    assert mos[1] == pytest.approx(1.0)


def test_emodel_keeps_series_index_and_propagates_na():
    rtt = pd.Series([100.0, np.nan], index=[7, 9])
    out = q.estimate_mos(rtt, pd.Series([10.0, 10.0], index=[7, 9]), pd.Series([1.0, 1.0], index=[7, 9]))
    assert list(out.index) == [7, 9]
    assert np.isnan(out.loc[9]) and out.loc[7] == pytest.approx(4.30586, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 2000), st.floats(0, 300), st.floats(0, 100), st.floats(0, 200))
def test_emodel_is_monotone_in_rtt_and_bounded(rtt, jitter, loss, extra_rtt):
    a = q.estimate_mos(rtt, jitter, loss)
    b = q.estimate_mos(rtt + extra_rtt, jitter, loss)
    assert 1.0 <= b <= a + 1e-12 <= 4.5 + 1e-9


def test_formula_and_source_are_stated():
    assert "RTT/2" in q.EMODEL_FORMULA and "2·jitter" in q.EMODEL_FORMULA
    assert "Cole & Rosenbluth" in q.EMODEL_SOURCE and "G.107" in q.EMODEL_SOURCE


# ---------------------------------------------------------------------------------------------- units

def test_peer_report_seconds_and_cumulative_counters_become_ms_and_interval_loss():
    pr = pd.DataFrame({
        "participant_id": ["p"] * 3, "peer_id": ["a"] * 3, "stream": ["audio_producer"] * 3,
        "timestamp": pd.date_range(T0, periods=3, freq="10s"),
        "rtt": [0.1, 0.2, 0.05], "jitter": [0.010, 0.020, 0.0],
        # cumulative: 500 sent/5 lost, then +500/+20, then +1000/+0
        "packets_sent": pd.array([500, 1000, 2000], dtype="Int64"),
        "packets_lost": pd.array([5, 25, 25], dtype="Int64"),
        "mos_quality": [4.2, 3.9, 4.4],
    })
    s = q.quality_samples(peer_report_series=pr)
    assert s["rtt_ms"].tolist() == pytest.approx([100.0, 200.0, 50.0])
    assert s["jitter_ms"].tolist() == pytest.approx([10.0, 20.0, 0.0])
    assert s["loss_pct"].tolist() == pytest.approx([1.0, 4.0, 0.0])  # 5/500, 20/500, 0/1000
    assert s["mos"].tolist() == [4.2, 3.9, 4.4]
    assert s.loc[0, "mos_estimated"] == pytest.approx(4.30586, abs=1e-4)
    assert set(s["kind"]) == {"audio"} and set(s["source"]) == {"peer_report"}


def test_consumer_loss_uses_received_plus_lost_and_counter_reset_is_not_negative():
    pr = pd.DataFrame({
        "participant_id": ["p"] * 3, "peer_id": ["a"] * 3, "stream": ["video_consumer"] * 3,
        "timestamp": pd.date_range(T0, periods=3, freq="10s"),
        "packets_received": [90.0, 180.0, 10.0], "packets_lost": [10.0, 10.0, 0.0],
    })
    s = q.quality_samples(peer_report_series=pr)
    # 10/(90+10) = 10 %; then 0/(90+0) = 0 %; then the counters reset (negative deltas) -> NA
    assert s["loss_pct"].iloc[:2].tolist() == pytest.approx([10.0, 0.0])
    assert np.isnan(s["loss_pct"].iloc[2])
    assert set(s["kind"]) == {"video"}


def test_quality_stats_jitter_stays_ms_and_segment_loss_is_attached():
    qs = pd.concat([qs_frame({"quality": [80.0, 70.0], "jitter": [12.0, 14.0]}),
                    qs_frame({"quality": [60.0], "frames_per_second": [24.0]}, kind="video")])
    segments = pd.DataFrame({"participant_id": ["p1"], "peer_id": ["peer-a"], "start": [T0],
                             "end": [T0 + pd.Timedelta(minutes=5)], "audio_packet_loss": [2.5],
                             "video_packet_loss": [7.0]})
    s = q.quality_samples(qs, segments=segments)
    audio, video = s[s.kind == "audio"], s[s.kind == "video"]
    assert audio["jitter_ms"].tolist() == [12.0, 14.0]
    assert audio["loss_pct"].tolist() == [2.5, 2.5]
    assert video["loss_pct"].tolist() == [7.0] and video["fps"].tolist() == [24.0]
    assert s["rtt_ms"].isna().all() and s["mos_estimated"].isna().all()  # no RTT: no estimate


def test_quality_samples_of_nothing_has_every_column():
    s = q.quality_samples()
    assert list(s.columns) == list(q.SAMPLE_COLUMNS) and len(s) == 0
    assert str(s["timestamp"].dtype) == "datetime64[us, UTC]"


# ---------------------------------------------------------------------------------------------- summaries

def test_participant_summary_mean_median_p10_and_share_below_poor():
    qs = qs_frame({"quality": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]})
    row = q.participant_summary(q.quality_samples(qs)).iloc[0]
    assert row["quality_mean"] == 55.0 and row["quality_median"] == 55.0
    assert row["quality_p10"] == pytest.approx(19.0)  # linear interpolation: 10 + 0.9·(20 − 10)
    assert row["quality_below_poor_share"] == pytest.approx(0.3)  # 10, 20, 30 are < 40
    assert row["n_samples"] == 10


def test_participant_summary_per_peer_segment():
    qs = pd.concat([qs_frame({"quality": [90.0, 90.0]}, peer="a"),
                    qs_frame({"quality": [30.0, 50.0]}, peer="b", start=T0 + pd.Timedelta(minutes=3))])
    out = q.participant_summary(q.quality_samples(qs), by=("participant_id", "peer_id", "kind"))
    assert out.set_index("peer_id")["quality_mean"].to_dict() == {"a": 90.0, "b": 40.0}


# ---------------------------------------------------------------------------------------------- verdicts

def test_two_bad_samples_are_insufficient_data():
    s = q.quality_samples(qs_frame({"quality": [5.0, 5.0], "jitter": [90.0, 90.0]}))
    v = q.verdicts(s)
    assert v.loc[0, "verdict"] == "insufficient data"
    assert "only 2 samples" in v.loc[0, "reasons"]


def test_three_of_the_last_five_bad_samples_make_a_poor_interval_with_a_reason():
    # jitter: 5, 40, 5, 50, 60 -> bad at 1, 3, 4: the 5th sample completes 3 of 5
    s = q.quality_samples(qs_frame({"jitter": [5.0, 40.0, 5.0, 50.0, 60.0]}))
    iv = q.poor_intervals(s, levels=["poor"])
    assert len(iv) == 1
    row = iv.iloc[0]
    assert row["start"] == T0 + pd.Timedelta(seconds=7) and row["end"] == T0 + pd.Timedelta(seconds=28)
    assert row["n_bad_samples"] == 3 and row["n_samples"] == 4
    assert row["value"] == pytest.approx((40 + 50 + 60) / 3)  # the mean of the bad samples
    assert row["reason"] == "audio jitter 50 ms > 30 ms (Twilio)"
    assert q.verdicts(s).loc[0, "verdict"] == "poor"


def test_two_bad_in_five_is_not_enough_evidence():
    s = q.quality_samples(qs_frame({"jitter": [40.0, 5.0, 5.0, 50.0, 5.0, 5.0, 5.0]}))
    assert q.poor_intervals(s).empty
    assert q.verdicts(s).loc[0, "verdict"] == "good"


def test_reason_text_for_video_loss_names_value_threshold_and_source():
    qs = qs_frame({"quality": [70.0] * 5}, kind="video")
    segments = pd.DataFrame({"peer_id": ["peer-a"], "start": [T0], "end": [T0 + pd.Timedelta(minutes=1)],
                             "audio_packet_loss": [0.0], "video_packet_loss": [7.2]})
    v = q.verdicts(q.quality_samples(qs, segments=segments))
    assert v.loc[0, "verdict"] == "poor"
    assert "video loss 7.2 % > 3.0 % (Twilio)" in v.loc[0, "reasons"]


def test_warn_level_between_warn_and_poor():
    s = q.quality_samples(qs_frame({"jitter": [25.0, 25.0, 25.0, 25.0]}))  # 20 < 25 <= 30
    v = q.verdicts(s)
    assert v.loc[0, "verdict"] == "warn"
    assert "jitter 25 ms > 20 ms" in v.loc[0, "reasons"]


def test_thresholds_are_overridable_as_dataclasses_or_as_the_edited_frame():
    s = q.quality_samples(qs_frame({"jitter": [25.0, 25.0, 25.0, 25.0]}))
    strict = tuple(dataclasses.replace(t, poor=22.0) if t.metric == "jitter_ms" else t
                   for t in q.DEFAULT_THRESHOLDS)
    assert q.verdicts(s, strict).loc[0, "verdict"] == "poor"
    table = q.thresholds_frame()
    table.loc[table.metric == "jitter_ms", ["warn", "poor"]] = [np.nan, 24.0]
    table.loc[table.metric == "jitter_ms", "source"] = "our SLA"
    v = q.verdicts(s, table)
    assert v.loc[0, "verdict"] == "poor" and "(our SLA)" in v.loc[0, "reasons"]


def test_threshold_table_carries_public_sources():
    t = q.thresholds_frame().set_index("metric")
    assert t.loc["rtt_ms", "poor"] == 400.0 and "Twilio" in t.loc["rtt_ms", "source"]
    assert "Teams CQD" in t.loc["rtt_ms", "source"]
    assert t.loc["jitter_ms", "poor"] == 30.0
    assert t.loc["loss_pct", "poor"] == 3.0 and t.loc["loss_pct", "warn"] == 1.0
    assert t.loc["mos", "poor"] == 3.5 and t.loc["mos", "direction"] == "below"
    assert set(t.columns) >= {"warn", "poor", "unit", "source"}


def test_rejoin_segments_are_judged_separately():
    # 2 bad samples before leaving, 2 after rejoining on a new peer id: never 3 in one segment's window
    qs = pd.concat([qs_frame({"jitter": [5.0, 5.0, 50.0, 50.0]}, peer="a"),
                    qs_frame({"jitter": [50.0, 50.0, 5.0]}, peer="b", start=T0 + pd.Timedelta(minutes=2))])
    assert q.poor_intervals(q.quality_samples(qs)).empty


def test_verdicts_order_worst_first():
    qs = pd.concat([qs_frame({"quality": [90.0] * 4}, participant="good-one"),
                    qs_frame({"quality": [10.0] * 4}, participant="bad-one")])
    assert q.verdicts(q.quality_samples(qs))["participant_id"].tolist() == ["bad-one", "good-one"]


# ---------------------------------------------------------------------------------------------- likely cause

def _cause(metrics, participants=None, samples=None, pid="p1"):
    v = pd.DataFrame({"participant_id": [pid], "verdict": ["poor"]})
    n = len(metrics)
    iv = pd.DataFrame({"participant_id": [pid] * n, "metric": metrics, "level": ["poor"] * n})
    return q.likely_causes(v, iv, participants=participants, samples=samples).iloc[0]


def test_cause_high_rtt_without_loss_or_jitter_is_route():
    row = _cause(["rtt_ms"])
    assert row["cause"] == "server/route" and "no loss or jitter" in row["evidence"]


def test_cause_loss_is_network_and_precall_test_wins():
    assert _cause(["loss_pct"])["cause"] == "network"
    participants = pd.DataFrame({"participant_id": ["p1"], "precall_network_information_rtt": [650.0],
                                 "precall_network_information_effective_network_type": ["3g"]})
    row = _cause(["quality"], participants=participants)
    assert row["cause"] == "network"
    assert "RTT 650 ms" in row["evidence"] and "3g" in row["evidence"]


def test_cause_cpu_limitation_is_device():
    samples = pd.DataFrame({"participant_id": ["p1"] * 4,
                            "quality_limitation_reason": ["cpu"] * 3 + ["none"]})
    row = _cause(["fps"], samples=samples)
    assert row["cause"] == "device" and "CPU" in row["evidence"]


def test_cause_loss_on_the_path_outweighs_an_encoder_cpu_report():
    samples = pd.DataFrame({"participant_id": ["p1"] * 3, "quality_limitation_reason": ["cpu"] * 3})
    row = _cause(["loss_pct", "fps"], samples=samples)
    assert row["cause"] == "network"
    assert "packet loss on the media path" in row["evidence"]
    assert "CPU limitation in 3 samples" in row["evidence"]


def test_cause_cpu_and_a_bad_precall_test_without_path_loss_is_both():
    samples = pd.DataFrame({"participant_id": ["p1"] * 3, "quality_limitation_reason": ["cpu"] * 3})
    participants = pd.DataFrame({"participant_id": ["p1"],
                                 "precall_network_information_fractional_loss": [0.05]})
    row = _cause(["fps"], participants=participants, samples=samples)
    assert row["cause"] == "network and device" and "loss 5.0 %" in row["evidence"]


def test_warn_reason_cites_the_warn_threshold_source():
    s = q.quality_samples(qs_frame({"rtt_ms": [350.0, 360.0, 340.0, 100.0]}))
    iv = q.poor_intervals(s)
    assert iv["reason"].tolist() == ["audio RTT 350 ms > 300 ms (ITU-T)"]


def test_cause_says_plainly_when_the_data_cannot_tell():
    row = _cause(["quality"])
    assert row["cause"] == "unknown" and "can't tell" in row["evidence"]


def test_good_participants_get_no_cause():
    v = pd.DataFrame({"participant_id": ["p1"], "verdict": ["good"]})
    iv = pd.DataFrame(columns=["participant_id", "metric", "level"])
    assert q.likely_causes(v, iv).empty


# ---------------------------------------------------------------------------------------------- fleet

def test_quality_by_browser_counts_and_poor_share():
    t = pd.DataFrame({"device_info_browser": ["Chrome", "Chrome", "Safari", None],
                      "quality_mean": [80.0, 60.0, 30.0, 50.0], "verdict": ["good", "poor", "poor", "good"]})
    out = q.quality_by(t, "device_info_browser").set_index("device_info_browser")
    assert out.loc["Chrome", "participants"] == 2 and out.loc["Chrome", "mean"] == 70.0
    assert out.loc["Safari", "poor_share"] == 1.0
    assert out.index[0] == "Safari"  # worst first


def test_sessions_per_day_counts_utc_days():
    s = pd.DataFrame({"started_at": pd.to_datetime(["2026-01-01T23:30Z", "2026-01-02T00:30Z",
                                                    "2026-01-02T12:00Z"]),
                      "minutes_consumed": [10.0, 5.0, 7.5], "max_concurrent_participants": [2, 6, 3]})
    out = q.sessions_per_day(s)
    assert out["sessions"].tolist() == [1, 2]
    assert out["minutes"].tolist() == [10.0, 12.5]
    assert out["max_concurrent_participants"].tolist() == [2, 6]


def test_worst_returns_lowest_first():
    t = pd.DataFrame({"id": list("abc"), "quality_mean": [50.0, 10.0, np.nan]})
    assert q.worst(t, 2)["id"].tolist() == ["b", "a"]


def _alarm_runs_reference(bad, window, min_bad):
    """The rule spelled out sample by sample: alarm at i when >= min_bad of the last `window` are bad; an
    alarm covers its window from the window's first bad sample; runs are trimmed to bad samples."""
    n = len(bad)
    member = [False] * n
    for i in range(n):
        lo = max(0, i - window + 1)
        if sum(bad[lo:i + 1]) >= min_bad:
            first = next(k for k in range(lo, i + 1) if bad[k])
            for k in range(first, i + 1):
                member[k] = True
    runs, i = [], 0
    while i < n:
        if member[i]:
            j = i
            while j + 1 < n and member[j + 1]:
                j += 1
            bad_idx = [k for k in range(i, j + 1) if bad[k]]
            runs.append((bad_idx[0], bad_idx[-1]))
            i = j + 1
        else:
            i += 1
    return runs


@settings(max_examples=150, deadline=None)
@given(st.lists(st.booleans(), max_size=40), st.integers(1, 7), st.integers(1, 7))
def test_vectorised_alarm_runs_match_the_rule_spelled_out(bad, window, min_bad):
    min_bad = min(min_bad, window)
    expected = _alarm_runs_reference(bad, window, min_bad)
    assert verdicts_module._alarm_runs(np.array(bad, dtype=bool), window, min_bad) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=1, max_size=12), min_size=1, max_size=5))
def test_grouped_alarm_runs_never_cross_groups_and_match_each_group_alone(groups):
    # groups laid end to end, as poor_intervals sees them after its one sort
    bad = np.array([b for g in groups for b in g], dtype=bool)
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
    group_start = np.repeat(starts, [len(g) for g in groups])
    first, last = verdicts_module._grouped_alarm_runs(bad, group_start, 5, 3)
    expected = [(int(s) + i, int(s) + j) for s, g in zip(starts, groups, strict=True)
                for i, j in _alarm_runs_reference(g, 5, 3)]
    assert list(zip(first.tolist(), last.tolist(), strict=True)) == expected


def test_estimated_mos_is_judged_only_where_the_peer_report_gives_no_mos():
    # RTT 800 ms, jitter 60 ms, loss 0: EL = 400 + 120 + 10 = 530 -> R = 93.2 − 41 = 52.2 -> MOS ≈ 2.69 (poor)
    pr = pd.DataFrame({
        "participant_id": "p", "peer_id": "a", "stream": "audio_producer",
        "timestamp": pd.date_range(T0, periods=8, freq="10s"), "rtt": [0.8] * 8, "jitter": [0.06] * 8,
        "packets_sent": [100.0 * i for i in range(1, 9)], "packets_lost": [0.0] * 8,
        "mos_quality": [4.4] * 4 + [np.nan] * 4,  # the report's own MOS for the first four samples only
    })
    s = q.quality_samples(peer_report_series=pr)
    assert s["mos_estimated"].round(2).unique().tolist() == [2.69]
    iv = q.poor_intervals(s, levels=["poor"])
    mos_rows = iv[iv["metric"] == "mos_estimated"]
    assert len(mos_rows) == 1 and mos_rows["n_samples"].item() == 4
    assert mos_rows["start"].item() == T0 + pd.Timedelta(seconds=40)  # the first sample without a MOS
    table = q.thresholds_frame()
    assert table.set_index("metric").loc["mos_estimated", "only_where_missing"] == "mos"
    assert q.poor_intervals(s, table, levels=["poor"]).equals(iv)  # the frame form round-trips the rule


def test_summary_takes_each_metric_from_one_source_and_the_producer_direction():
    qs = qs_frame({"quality": [80.0, 80.0], "jitter": [10.0, 10.0]})
    segments = pd.DataFrame({"peer_id": ["peer-a"], "start": [T0], "end": [T0 + pd.Timedelta(minutes=1)],
                             "audio_packet_loss": [9.0], "video_packet_loss": [0.0]})
    pr = pd.DataFrame({
        "participant_id": "p1", "peer_id": "peer-a", "timestamp": [T0, T0 + pd.Timedelta(seconds=10)] * 2,
        "stream": ["audio_producer"] * 2 + ["audio_consumer"] * 2, "jitter": [0.05] * 4,
        "packets_sent": [100.0, 200.0, np.nan, np.nan], "packets_received": [np.nan, np.nan, 90.0, 180.0],
        "packets_lost": [1.0, 2.0, 10.0, 20.0], "rtt": [0.1, 0.1, np.nan, np.nan]})
    s = q.quality_samples(qs, pr, segments=segments)
    row = q.participant_summary(s).iloc[0]
    assert row["jitter_ms_mean"] == 10.0  # quality_stats jitter, not the peer report's 50 ms
    assert row["loss_pct_mean"] == pytest.approx(1.0)  # producer per-interval loss, not 9 % or 10 %
    assert row["rtt_ms_mean"] == pytest.approx(100.0)
    mixed = q.participant_summary(s, one_view=False).iloc[0]
    assert mixed["jitter_ms_mean"] > 10.0  # the all-sources average mixes measurements


def test_quality_samples_accepts_frames_concatenated_without_ignore_index():
    # what users write in a notebook: pd.concat of per-participant frames, index labels repeated
    def series(pid: str) -> pd.DataFrame:
        return pd.DataFrame({
            "participant_id": [pid] * 3, "peer_id": [pid] * 3, "stream": ["audio_producer"] * 3,
            "timestamp": pd.to_datetime(["2026-01-01T10:00:00Z", "2026-01-01T10:00:07Z",
                                         "2026-01-01T10:00:14Z"]),
            "rtt": [0.1, 0.1, 0.1], "jitter": [0.01] * 3,
            "packets_lost": [0.0, 5.0, 10.0], "packets_sent": [100.0, 200.0, 300.0],
        })

    def stats(pid: str) -> pd.DataFrame:
        return pd.DataFrame({"participant_id": [pid] * 2, "peer_id": [pid] * 2, "kind": ["audio"] * 2,
                             "timestamp": pd.to_datetime(["2026-01-01T10:00:00Z", "2026-01-01T10:00:07Z"]),
                             "quality": [90.0, 80.0]})

    concatenated = q.quality_samples(pd.concat([stats("a"), stats("b")]),
                                     pd.concat([series("a"), series("b")]))
    clean = q.quality_samples(pd.concat([stats("a"), stats("b")], ignore_index=True),
                              pd.concat([series("a"), series("b")], ignore_index=True))
    pd.testing.assert_frame_equal(concatenated, clean)
    # per-interval loss from cumulative counters: 5 lost of 100 sent in each later interval
    assert sorted(concatenated["loss_pct"].dropna().unique().tolist()) == [0.0, 5.0]


def test_a_reason_never_shows_a_value_equal_to_its_limit():
    fps = next(t for t in q.DEFAULT_THRESHOLDS if t.metric == "fps")
    reason = verdicts_module._reason("video", fps, 14.6, fps.warn, level="warn")
    assert "14.6 fps < 15 fps" in reason


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["audio", "video"]),
                          st.sampled_from([("quality_stats", "audio"), ("peer_report", "audio_producer"),
                                           ("peer_report", "audio_consumer")]),
                          st.one_of(st.none(), st.floats(0, 100))), min_size=1, max_size=30))
def test_preferred_view_leaves_one_source_and_direction_per_participant_kind_and_metric(rows):
    s = pd.DataFrame({"participant_id": [r[0] for r in rows], "kind": [r[1] for r in rows],
                      "source": [r[2][0] for r in rows], "stream": [r[2][1] for r in rows],
                      "loss_pct": [np.nan if r[3] is None else r[3] for r in rows]})
    s["jitter_ms"] = s["loss_pct"]  # preferred from the other source
    view = q.preferred_view(s)
    for metric in ("loss_pct", "jitter_ms"):
        for _, group in view[view[metric].notna()].groupby(["participant_id", "kind"]):
            assert group["source"].nunique() == 1
            if (group["source"] == "peer_report").all():
                assert group["stream"].nunique() == 1
        for key, before in s[s[metric].notna()].groupby(["participant_id", "kind"]):
            after = view[(view["participant_id"] == key[0]) & (view["kind"] == key[1])]
            assert after[metric].notna().any()  # a group with values keeps some
            if (before["source"] == q.PREFERRED_SOURCE[metric]).any():
                assert set(after.loc[after[metric].notna(), "source"]) == {q.PREFERRED_SOURCE[metric]}
