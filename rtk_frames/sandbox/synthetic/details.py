"""Participant details in the seed's blocks: ``peer_stats`` (device, IP, pre-call, events) and the
``quality_stats`` segments of audio/video samples.

Example:
    >>> from rtk_frames.sandbox.synthetic.draws import Draws
    >>> from rtk_frames.sandbox.synthetic.series import quality_series
    >>> from rtk_frames.sandbox.synthetic.sessions import session_rows
    >>> rng = Draws(1)
    >>> rows = session_rows(rng, "s1", 1.8e9, 3, 100.0, 0)
    >>> record = details_builder({r.peer_id: r for r in rows}, quality_series(rng, rows, 5))(rows[0].peer_id)
    >>> sorted(record), len(record["quality_stats"][0]["audio_stats"])
    (['peer_stats', 'quality_stats'], 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rtk_frames.sandbox.synthetic.series import (
    AUDIO_BITRATE_KBPS,
    SAMPLE_INTERVAL_S,
    VIDEO_BITRATE_KBPS,
    Series,
)
from rtk_frames.sandbox.synthetic.sessions import NETWORK_THROUGHPUT_KBPS, Profile, Row
from rtk_frames.sandbox.synthetic.wire import iso, rounded

__all__ = ["details_builder", "precall_results"]


def _details_peer_stats(row: Row, s: Series) -> dict[str, Any]:
    p = row.profile
    loc = p.location
    browser, engine, version, user_agent = p.browser
    mean_bad = float(s.badness[row.index].mean())
    events = [
        {"timestamp": iso(row.joined_s - 6.0), "type": "PRECALL_TEST_BEGIN"},
        {"timestamp": iso(row.joined_s - 2.5), "type": "PRECALL_TEST_COMPLETE"},
        {"timestamp": iso(row.joined_s - 0.5), "type": "CALL_JOIN_BEGIN"},
        {"timestamp": iso(row.joined_s + 1.2), "type": "AUDIO_ON"},
        {"timestamp": iso(row.joined_s + 1.9), "type": "VIDEO_ON"},
    ]
    worst = int(np.argmax(s.badness[row.index]))
    if p.poor_network:
        events.append({"timestamp": iso(s.t[row.index, worst]), "type": "NETWORK_QUALITY_POOR"})
    if p.weak_cpu:
        events.append({"timestamp": iso(s.t[row.index, min(2, s.t.shape[1] - 1)]), "type": "CPU_LIMITED"})
    if not row.still_present:
        events.append({"timestamp": iso(row.left_s), "type": "CALL_LEAVE"})
    events.sort(key=lambda e: e["timestamp"])
    return {
        "config": "GROUP_CALL",
        "device_info": {
            "browser": browser,
            "browser_version": version,
            "cpus": p.cpus,
            "engine": engine,
            "is_mobile": p.os[2],
            "memory": p.memory_gb,
            "os": p.os[0],
            "os_version": p.os[1],
            "sdk_name": "web-core",
            "sdk_version": p.sdk_version,
            "user_agent": user_agent,
            "webgl_support": "true" if p.webgl else "false",
        },
        "events": events,
        "ip_information": {
            "city": loc[1],
            "country": loc[0],
            "ip_location": f"{loc[4]},{loc[5]}",
            "ipv4": p.ipv4,
            "org": f"{loc[7]} {loc[8]}",
            "portal": "",
            "region": loc[2],
            "timezone": loc[3],
        },
        "precall_network_information": precall_results(p, mean_bad, spelling="throughtput"),
        "status": "left" if not row.still_present else "joined",
    }


def precall_results(p: Profile, badness: float, *, spelling: str) -> dict[str, Any]:
    """Pre-call test results (ms, ms, 0-1, kbit/s); ``spelling`` is the wire's key for throughput."""
    return {
        "backend_rtt": rounded(30.0 + 400.0 * badness**1.5, 1),
        "effective_networktype": p.network_type,
        "fractional_loss": rounded(0.001 + 0.2 * badness**2, 4),
        "jitter": rounded(2.0 + 60.0 * badness, 1),
        "reflexive_connectivity": True,
        "relay_connectivity": not p.poor_network,
        "rtt": rounded(25.0 + 450.0 * badness**1.5, 1),
        spelling: rounded(NETWORK_THROUGHPUT_KBPS[p.network_type] * (1.0 - 0.8 * badness), 0),
        "turn_connectivity": True,
    }


def _quality_segments(row: Row, s: Series, samples_per_segment: int = 20) -> list[dict[str, Any]]:
    i = row.index
    t = s.t[i]
    segments = []
    for lo in range(0, len(t), samples_per_segment):
        hi = min(lo + samples_per_segment, len(t))
        audio = [
            {
                "timestamp": iso(t[k]),
                "quality": rounded(s.audio_quality[i, k], 1),
                "jitter": rounded(s.audio_jitter_ms[i, k], 2),
                "packets_lost": int(s.audio_lost[i, k]),
                "concealment_events": int(s.concealment[i, k]),
            }
            for k in range(lo, hi)
        ]
        video = [
            {
                "timestamp": iso(t[k]),
                "quality": rounded(s.video_quality[i, k], 1),
                "jitter": rounded(s.video_jitter_ms[i, k], 2),
                "packets_lost": int(s.video_lost[i, k]),
                "frame_width": int(s.frame_width[i, k]),
                "frame_height": int(s.frame_height[i, k]),
                "frames_per_second": rounded(s.fps[i, k], 1),
                "frames_dropped": int(s.frames_dropped[i, k]),
            }
            for k in range(lo, hi)
        ]
        bad = s.badness[i, lo:hi]
        segments.append(
            {
                "peer_id": row.peer_id,
                "start": iso(max(row.joined_s, t[lo] - SAMPLE_INTERVAL_S)),
                "end": iso(t[hi - 1]),
                "average_quality": rounded(
                    (s.audio_quality[i, lo:hi].mean() + s.video_quality[i, lo:hi].mean()) / 2, 2
                ),
                "audio_bandwidth": rounded(AUDIO_BITRATE_KBPS * (1.0 - 0.4 * bad.mean()), 2),
                "audio_packet_loss": rounded(
                    100.0 * s.audio_lost[i, lo:hi].sum() / (s.audio_packets * (hi - lo)), 3
                ),
                "video_bandwidth": rounded(VIDEO_BITRATE_KBPS * (1.0 - 0.8 * bad.mean()), 1),
                "video_packet_loss": rounded(
                    100.0 * s.video_lost[i, lo:hi].sum() / (s.video_packets * (hi - lo)), 3
                ),
                "audio_stats": audio,
                "video_stats": video,
            }
        )
    return segments


def details_builder(rows: dict[str, Row], s: Series):
    def build(peer_id: str) -> dict[str, Any]:
        row = rows[peer_id]
        return {"peer_stats": _details_peer_stats(row, s), "quality_stats": _quality_segments(row, s)}

    return build
