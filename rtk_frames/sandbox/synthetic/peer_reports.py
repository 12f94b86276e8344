"""Peer reports in SDK 5.9.0's shapes: per-sample ``quality`` lists with their cumulative blocks,
connection ``metadata``, ``peer_stats`` and quality totals.

Example:
    >>> from rtk_frames.sandbox.synthetic.draws import Draws
    >>> from rtk_frames.sandbox.synthetic.series import quality_series
    >>> from rtk_frames.sandbox.synthetic.sessions import session_rows
    >>> rng = Draws(1)
    >>> rows = session_rows(rng, "s1", 1.8e9, 3, 100.0, 0)
    >>> report = report_builder({r.peer_id: r for r in rows}, quality_series(rng, rows, 5))(rows[0].peer_id)
    >>> len(report["peer_report"]["quality"]["audio_producer"])
    5
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from rtk_frames.sandbox.synthetic.details import precall_results
from rtk_frames.sandbox.synthetic.series import (
    AUDIO_BITRATE_KBPS,
    SAMPLE_INTERVAL_S,
    VIDEO_BITRATE_KBPS,
    Series,
)
from rtk_frames.sandbox.synthetic.sessions import Row
from rtk_frames.sandbox.synthetic.wire import iso, rounded

__all__ = ["report_builder"]


def _fractions(values: np.ndarray, thresholds: Sequence[float], keys: Sequence[str]) -> dict[str, float]:
    return {key: rounded((values >= th).mean(), 4) for key, th in zip(keys, thresholds, strict=True)}


def _loss_block(lost: np.ndarray, packets: float) -> dict[str, float]:
    percent = 100.0 * lost / packets
    block = _fractions(
        percent,
        (10, 25, 5, 50),
        (
            "10_or_greater_event_fraction",
            "25_or_greater_event_fraction",
            "5_or_greater_event_fraction",
            "50_or_greater_event_fraction",
        ),
    )
    block["avg"] = rounded(percent.mean(), 3)
    return block


def _ms_block(values_ms: np.ndarray) -> dict[str, float]:
    block = _fractions(
        values_ms,
        (100, 250, 500),
        (
            "100ms_or_greater_event_fraction",
            "250ms_or_greater_event_fraction",
            "500ms_or_greater_event_fraction",
        ),
    )
    block["avg"] = rounded(values_ms.mean(), 2)
    return block


def _percentiles(values: np.ndarray, digits: int = 3) -> dict[str, float]:
    p50, p75, p90 = np.percentile(values, [50, 75, 90])
    return {
        "avg": rounded(values.mean(), digits),
        "p50": rounded(p50, digits),
        "p75": rounded(p75, digits),
        "p90": rounded(p90, digits),
    }


def _mos(quality: np.ndarray) -> np.ndarray:
    return np.clip(1.0 + 3.5 * quality / 100.0, 1.0, 4.5)


def _records(n: int, **columns: Any) -> list[dict[str, Any]]:
    """``n`` per-sample dicts from columns: lists (one value per sample) or scalars (the same in each)."""
    keys = list(columns)
    values = [value if isinstance(value, list) else [value] * n for value in columns.values()]
    return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]


def _floats(values: np.ndarray, digits: int) -> list[float]:
    return np.round(values.astype(float), digits).tolist()


def _ints(values: np.ndarray) -> list[int]:
    return np.asarray(values).astype(np.int64).tolist()


def _peer_quality(row: Row, s: Series) -> dict[str, Any]:
    i = row.index
    n = s.t.shape[1]
    ts = [iso(x) for x in s.t[i]]
    a_mos, v_mos = _mos(s.audio_quality[i]), _mos(s.video_quality[i])
    a_sent = np.cumsum(np.full(n, s.audio_packets))
    v_sent = np.cumsum(np.full(n, s.video_packets))
    a_lost_cum, v_lost_cum = np.cumsum(s.audio_lost[i]), np.cumsum(s.video_lost[i])
    frames = np.cumsum(s.fps[i] * SAMPLE_INTERVAL_S)
    cpu = s.cpu_limited[i]
    bandwidth = (s.badness[i] > 0.45) & ~cpu
    reason = np.where(cpu, "cpu", np.where(bandwidth, "bandwidth", "none")).tolist()
    dur_cpu, dur_bw = np.cumsum(cpu * SAMPLE_INTERVAL_S), np.cumsum(bandwidth * SAMPLE_INTERVAL_S)
    dur_none = np.cumsum(np.full(n, SAMPLE_INTERVAL_S)) - dur_cpu - dur_bw
    jb_delay_ms = 20.0 + 0.9 * s.audio_jitter_ms[i] + 60.0 * s.badness[i]
    steps = np.arange(n)
    seed_ssrc = int(uuid.UUID(row.peer_id).int % 4_000_000_000)
    common = {"rtt": _floats(s.rtt_s[i], 4), "timestamp": ts}
    audio_jitter_s, video_jitter_s = (
        _floats(s.audio_jitter_ms[i] / 1000, 5),
        _floats(s.video_jitter_ms[i] / 1000, 5),
    )
    key_frames = _ints(1 + steps // 10)
    audio_producer = _records(
        n,
        bytes_sent=_floats(a_sent * 80.0, 0),
        jitter=audio_jitter_s,
        mid="0",
        mos_quality=_floats(a_mos, 3),
        packets_lost=_ints(a_lost_cum),
        packets_sent=_ints(a_sent),
        producer_id=f"{row.peer_id[:8]}-a",
        ssrc=seed_ssrc,
        **common,
    )
    durations = _records(
        n, bandwidth=_floats(dur_bw, 1), cpu=_floats(dur_cpu, 1), none=_floats(dur_none, 1), other=0.0
    )
    video_producer = _records(
        n,
        bytes_sent=_floats(v_sent * 1100.0, 0),
        fir_count=0,
        frame_height=_ints(s.frame_height[i]),
        frame_width=_ints(s.frame_width[i]),
        frames_encoded=_ints(frames),
        frames_per_second=_floats(s.fps[i], 1),
        jitter=video_jitter_s,
        key_frames_encoded=key_frames,
        mid="1",
        mos_quality=_floats(v_mos, 3),
        packets_lost=_ints(v_lost_cum),
        packets_sent=_ints(v_sent),
        pli_count=_ints(steps * s.badness[i]),
        producer_id=f"{row.peer_id[:8]}-v",
        quality_limitation_durations=durations,
        quality_limitation_reason=reason,
        quality_limitation_resolution_changes=_ints(steps * 0.1 * cpu),
        ssrc=seed_ssrc + 1,
        **common,
    )
    remote = row.remote_peer_id or row.peer_id
    a_received, v_received = a_sent - a_lost_cum, v_sent - v_lost_cum
    audio_consumer = _records(
        n,
        bytes_received=_floats(a_received * 80.0, 0),
        concealment_events=_ints(np.cumsum(s.concealment[i])),
        consumer_id=f"{row.peer_id[:8]}-ca",
        jitter=audio_jitter_s,
        jitter_buffer_delay=_floats(np.cumsum(jb_delay_ms) / 1000 * 50, 3),
        jitter_buffer_emitted_count=_ints(a_received),
        mid="2",
        mos_quality=_floats(a_mos, 3),
        packets_lost=_ints(a_lost_cum),
        packets_received=_ints(a_received),
        peer_id=remote,
        producer_id=f"{remote[:8]}-a",
        ssrc=seed_ssrc + 2,
        timestamp=ts,
    )
    video_consumer = _records(
        n,
        bytes_received=_floats(v_received * 1100.0, 0),
        consumer_id=f"{row.peer_id[:8]}-cv",
        fir_count=0,
        frame_height=_ints(s.frame_height[i]),
        frame_width=_ints(s.frame_width[i]),
        frames_decoded=_ints(frames),
        frames_dropped=_ints(np.cumsum(s.frames_dropped[i])),
        frames_per_second=_floats(s.fps[i], 1),
        jitter=video_jitter_s,
        jitter_buffer_delay=_floats(np.cumsum(jb_delay_ms) / 1000 * 30, 3),
        jitter_buffer_emitted_count=_ints(frames),
        key_frames_decoded=key_frames,
        mid="3",
        mos_quality=_floats(v_mos, 3),
        packets_lost=_ints(v_lost_cum),
        packets_received=_ints(v_received),
        peer_id=remote,
        producer_id=f"{remote[:8]}-v",
        ssrc=seed_ssrc + 3,
        timestamp=ts,
    )
    width = s.frame_width[i].astype(float)
    poor_res = (width < 640).mean()
    return {
        "audio_producer": audio_producer,
        "audio_producer_cumulative": {
            "packet_loss": _loss_block(s.audio_lost[i], s.audio_packets),
            "quality_mos": _percentiles(a_mos),
            "rtt": _ms_block(s.rtt_s[i] * 1000.0),
        },
        "audio_consumer": audio_consumer,
        "audio_consumer_cumulative": {
            "jitter_buffer_delay": _ms_block(jb_delay_ms),
            "packet_loss": _loss_block(s.audio_lost[i], s.audio_packets),
            "quality_mos": _percentiles(a_mos),
        },
        "video_producer": video_producer,
        "video_producer_cumulative": {
            "frame_per_second": _percentiles(s.fps[i], 2),
            "frame_width": _percentiles(width, 1),
            "high_negative_feedback_fraction": rounded((s.badness[i] > 0.6).mean(), 4),
            "issues": {
                "bandwidth_quality_limitation_fraction": rounded(bandwidth.mean(), 4),
                "cpu_quality_limitation_fraction": rounded(cpu.mean(), 4),
                "no_video_fraction": 0.0,
                "poor_resolution_fraction": rounded(poor_res, 4),
                "quality_limitation_fraction": rounded((cpu | bandwidth).mean(), 4),
            },
            "key_frames_encoded_fraction": rounded(1.0 / (10.0 * 30.0), 5),
            "packet_loss": _loss_block(s.video_lost[i], s.video_packets),
            "quality_mos": _percentiles(v_mos),
            "rtt": _ms_block(s.rtt_s[i] * 1000.0),
        },
        "video_consumer": video_consumer,
        "video_consumer_cumulative": {
            "frame_per_second": _percentiles(s.fps[i], 2),
            "frame_width": _percentiles(width, 1),
            "issues": {
                "lag_fraction": rounded((s.video_jitter_ms[i] > 60).mean(), 4),
                "no_video_fraction": 0.0,
                "poor_resolution_fraction": rounded(poor_res, 4),
            },
            "jitter_buffer_delay": _ms_block(jb_delay_ms),
            "key_frames_decoded_fraction": rounded(1.0 / (10.0 * 30.0), 5),
            "packet_loss": _loss_block(s.video_lost[i], s.video_packets),
            "quality_mos": _percentiles(v_mos),
        },
        **{
            f"screenshare_{kind}": []
            for kind in ("audio_consumer", "audio_producer", "video_consumer", "video_producer")
        },
        **{
            f"screenshare_{kind}_cumulative": {}
            for kind in ("audio_consumer", "audio_producer", "video_consumer", "video_producer")
        },
    }


def _peer_metadata(row: Row, s: Series) -> dict[str, Any]:
    p = row.profile
    loc = p.location
    browser, engine, version, user_agent = p.browser
    mic = {
        "device_id": f"mic-{row.user_id[:6]}",
        "kind": "audioinput",
        "label": "Default - Built-in Microphone",
    }
    cam = {"device_id": f"cam-{row.user_id[:6]}", "kind": "videoinput", "label": "FaceTime HD Camera"}
    pair = {
        "available_outgoing_bitrate": rounded(
            VIDEO_BITRATE_KBPS * 1000 * (1 - 0.7 * s.badness[row.index].mean()), 0
        ),
        "bytes_discarded_on_send": 0,
        "bytes_received": 1_250_000,
        "bytes_sent": 9_800_000,
        "current_round_trip_time": rounded(s.rtt_s[row.index, -1], 4),
        "last_packet_received_timestamp": round(float(s.t[row.index, -1]) * 1000),
        "last_packet_sent_timestamp": round(float(s.t[row.index, -1]) * 1000),
        "local_candidate_address": p.ipv4,
        "local_candidate_id": f"lc-{row.peer_id[:6]}",
        "local_candidate_network_type": "cellular" if p.network_type in ("3g", "4g") else p.network_type,
        "local_candidate_port": 50_000 + row.index % 10_000,
        "local_candidate_protocol": "udp",
        "local_candidate_related_address": "192.168.1.23",
        "local_candidate_related_port": 50_000 + row.index % 10_000,
        "local_candidate_type": "srflx",
        "nominated": True,
        "packets_discarded_on_send": 0,
        "packets_received": 9_000,
        "packets_sent": 52_000,
        "remote_candidate_address": "198.41.200.10",
        "remote_candidate_id": f"rc-{row.peer_id[:6]}",
        "remote_candidate_port": 443,
        "remote_candidate_protocol": "udp",
        "remote_candidate_type": "host",
        "total_round_trip_time": rounded(s.rtt_s[row.index].sum(), 3),
    }
    return {
        "audio_devices_updates": [{"added": [mic], "removed": [], "timestamp": iso(row.joined_s - 1.0)}],
        "browser_metadata": {
            "browser": browser,
            "browser_version": version,
            "engine": engine,
            "user_agent": user_agent,
            "webgl_support": p.webgl,
        },
        "candidate_pairs": {
            "consuming_transport": [dict(pair, bytes_sent=40_000, available_incoming_bitrate=2_500_000)],
            "producing_transport": [pair],
        },
        "device_info": {"cpus": p.cpus, "is_mobile": p.os[2], "os": p.os[0], "os_version": p.os[1]},
        "events": [
            {
                "name": "precall_end",
                "timestamp": iso(row.joined_s - 2.5),
                "metadata": {
                    "rtt_ms": rounded(s.rtt_s[row.index, 0] * 1000, 1),
                    "network_type": p.network_type,
                },
            },
            {"name": "room_joined", "timestamp": iso(row.joined_s), "metadata": {"reconnect": False}},
        ]
        + (
            []
            if row.still_present
            else [{"name": "room_left", "timestamp": iso(row.left_s), "metadata": {"reason": "user_left"}}]
        ),
        "ip_information": {
            "asn": {"asn": loc[7], "domain": "", "name": loc[8], "route": f"{loc[6]}.0.0/16", "type": "isp"},
            "city": loc[1],
            "country": loc[0],
            "ipv4": p.ipv4,
            "org": loc[8],
            "region": loc[2],
            "timezone": loc[3],
        },
        "pc_metadata": [
            {
                "effective_network_type": p.network_type,
                "reflexive_connectivity": True,
                "relay_connectivity": not p.poor_network,
                "timestamp": iso(row.joined_s + 0.5),
                "turn_connectivity": True,
            }
        ],
        "room_view_type": "GROUP_CALL",
        "sdk_name": "web-core",
        "sdk_type": "web",
        "sdk_version": p.sdk_version,
        "selected_device_updates": [{"device": cam, "timestamp": iso(row.joined_s + 1.5)}],
        "speaker_devices_updates": [],
        "video_devices_updates": [{"added": [cam], "removed": [], "timestamp": iso(row.joined_s - 1.0)}],
    }


def _report_peer_stats(row: Row, s: Series) -> dict[str, Any]:
    p = row.profile
    loc = p.location
    browser, engine, version, user_agent = p.browser
    bad = float(s.badness[row.index].mean())
    precall = precall_results(p, bad, spelling="throughput")
    return {
        "device_info": {
            "browser": browser,
            "browser_version": version,
            "cpus": p.cpus,
            "engine": engine,
            "is_mobile": p.os[2],
            "os": p.os[0],
            "os_version": p.os[1],
            "sdk_name": "web-core",
            "sdk_version": p.sdk_version,
            "user_agent": user_agent,
            "webgl_support": "true" if p.webgl else "false",
        },
        "events": [
            {
                "metadata": {
                    "connection_info": {
                        "backend_r_t_t": precall["backend_rtt"],
                        "connectivity": {"host": True, "reflexive": True, "relay": not p.poor_network},
                        "effective_network_type": p.network_type,
                        "fractional_loss": precall["fractional_loss"],
                        "ip_details": {
                            "asn": {"asn": loc[7]},
                            "city": loc[1],
                            "country": loc[0],
                            "ip": p.ipv4,
                            "loc": f"{loc[4]},{loc[5]}",
                            "postal": "",
                            "region": loc[2],
                            "timezone": loc[3],
                        },
                        "jitter": precall["jitter"],
                        "location": {"coords": {"latitude": loc[4], "longitude": loc[5]}},
                        "r_t_t": precall["rtt"],
                        "throughput": precall["throughput"],
                        "turn_connectivity": True,
                    }
                },
                "timestamp": iso(row.joined_s - 2.5),
                "type": "PRECALL_TEST_COMPLETE",
            }
        ],
        "ip_information": {
            "asn": {"asn": loc[7]},
            "city": loc[1],
            "country": loc[0],
            "ip_location": f"{loc[4]},{loc[5]}",
            "ipv4": p.ipv4,
            "org": loc[8],
            "region": loc[2],
            "timezone": loc[3],
        },
        "precall_network_information": precall,
    }


def _quality_totals(row: Row, s: Series) -> dict[str, Any]:
    i = row.index
    n = s.t.shape[1]
    return {
        "audio_bandwidth": rounded(AUDIO_BITRATE_KBPS * (1.0 - 0.4 * s.badness[i].mean()), 2),
        "audio_stats": [],
        "average_quality": rounded((s.audio_quality[i].mean() + s.video_quality[i].mean()) / 2, 2),
        "end": iso(s.t[i, -1]),
        "first_audio_packet_received": iso(row.joined_s + 1.3),
        "first_video_packet_received": iso(row.joined_s + 2.0),
        "last_audio_packet_received": iso(s.t[i, -1]),
        "last_video_packet_received": iso(s.t[i, -1]),
        "peer_ids": [row.peer_id],
        "start": iso(row.joined_s),
        "total_audio_packets": int(s.audio_packets * n),
        "total_audio_packets_lost": int(s.audio_lost[i].sum()),
        "total_video_packets": int(s.video_packets * n),
        "total_video_packets_lost": int(s.video_lost[i].sum()),
        "video_bandwidth": rounded(VIDEO_BITRATE_KBPS * (1.0 - 0.8 * s.badness[i].mean()), 1),
        "video_stats": [],
    }


def report_builder(rows: dict[str, Row], s: Series):
    def build(peer_id: str) -> dict[str, Any]:
        row = rows[peer_id]
        return {
            "role": row.preset_name,
            "peer_report": {"metadata": _peer_metadata(row, s), "quality": _peer_quality(row, s)},
            "peer_stats": _report_peer_stats(row, s),
            "quality_stats": _quality_totals(row, s),
        }

    return build
