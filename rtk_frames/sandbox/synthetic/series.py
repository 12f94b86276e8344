"""The quality time series: every participant row x every sample, as numpy arrays, in one go.

Someone on a poor network has low quality with high jitter and loss at the same moments (one AR(1)
"badness" process per row drives them all); someone on a weak CPU shows CPU-limited samples and dropped
frames. The details and peer-report records are built from these arrays when a request reads them.

Example:
    >>> from rtk_frames.sandbox.synthetic.draws import Draws
    >>> from rtk_frames.sandbox.synthetic.sessions import session_rows
    >>> rng = Draws(1)
    >>> quality_series(rng, session_rows(rng, "s1", 1.8e9, 3, 100.0, 0), 5).t.shape
    (3, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rtk_frames.sandbox.synthetic.draws import Draws
from rtk_frames.sandbox.synthetic.sessions import Row

__all__ = [
    "AUDIO_BITRATE_KBPS",
    "SAMPLE_INTERVAL_S",
    "VIDEO_BITRATE_KBPS",
    "Series",
    "quality_series",
]

SAMPLE_INTERVAL_S = 7.0
AUDIO_PACKETS_PER_S = 50.0
VIDEO_PACKETS_PER_S = 90.0
AUDIO_BITRATE_KBPS = 32.0
VIDEO_BITRATE_KBPS = 1_500.0


@dataclass
class Series:
    """Per-row x per-sample arrays of everything the quality records are built from."""

    t: np.ndarray  # epoch seconds of each sample
    badness: np.ndarray  # 0 (perfect network) .. 1 (unusable)
    audio_quality: np.ndarray  # 0-100
    video_quality: np.ndarray
    audio_jitter_ms: np.ndarray
    video_jitter_ms: np.ndarray
    audio_lost: np.ndarray  # packets lost in the interval
    video_lost: np.ndarray
    concealment: np.ndarray
    rtt_s: np.ndarray
    fps: np.ndarray
    frames_dropped: np.ndarray
    frame_width: np.ndarray
    frame_height: np.ndarray
    cpu_limited: np.ndarray  # bool
    audio_packets: float
    video_packets: float


def quality_series(rng: Draws, rows: Sequence[Row], samples: int) -> Series:
    n = len(rows)
    poor = np.array([r.profile.poor_network for r in rows], dtype=bool)[:, None]
    weak = np.array([r.profile.weak_cpu for r in rows], dtype=bool)[:, None]
    joined = np.array([r.joined_s for r in rows])[:, None]
    steps = np.arange(samples)[None, :]
    t = joined + 3.0 + SAMPLE_INTERVAL_S * steps + rng.gen.uniform(-0.3, 0.3, size=(n, samples))
    # an AR(1) process per row: conditions drift and come in bursts rather than as white noise
    shocks = rng.gen.normal(size=(n, samples))
    drift = np.empty((n, samples))
    drift[:, 0] = shocks[:, 0]
    for k in range(1, samples):
        drift[:, k] = 0.75 * drift[:, k - 1] + 0.66 * shocks[:, k]
    blips = (rng.gen.random((n, samples)) < 0.03) * rng.gen.uniform(0.15, 0.35, size=(n, samples))
    badness = np.where(
        poor,
        np.clip(0.5 + 0.22 * drift, 0.12, 1.0),
        np.clip(0.05 + 0.025 * drift + blips, 0.0, 0.5),
    )
    noise = rng.gen.normal(size=(6, n, samples))
    audio_quality = np.clip(98.0 - 92.0 * badness + 2.5 * noise[0], 0.0, 100.0)
    video_quality = np.clip(97.0 - 95.0 * badness - 12.0 * weak + 3.0 * noise[1], 0.0, 100.0)
    audio_jitter = np.clip(2.0 + 60.0 * badness + 110.0 * badness**2 + 1.2 * noise[2], 0.5, None)
    video_jitter = np.clip(3.0 + 70.0 * badness + 130.0 * badness**2 + 1.5 * noise[3], 0.5, None)
    audio_packets = AUDIO_PACKETS_PER_S * SAMPLE_INTERVAL_S
    video_packets = VIDEO_PACKETS_PER_S * SAMPLE_INTERVAL_S
    loss_fraction = np.clip(0.001 + 0.3 * badness**2.2, 0.0, 0.9)
    audio_lost = rng.gen.binomial(int(audio_packets), loss_fraction)
    video_lost = rng.gen.binomial(int(video_packets), loss_fraction)
    concealment = rng.gen.poisson(0.5 + 45.0 * badness**2)
    rtt_s = np.clip(0.025 + 0.55 * badness**1.5 + 0.006 * np.abs(noise[4]), 0.005, None)
    cpu_limited = weak & (rng.gen.random((n, samples)) < 0.8)
    fps = np.clip(30.0 - 16.0 * badness - 13.0 * cpu_limited + 1.2 * noise[5], 1.0, 30.0)
    frames_dropped = rng.gen.poisson(0.3 + 25.0 * badness**2 + 30.0 * cpu_limited)
    tier = np.where(badness < 0.25, 0, np.where(badness < 0.55, 1, 2)) + cpu_limited
    widths = np.array([1280, 640, 320, 320])
    heights = np.array([720, 360, 180, 180])
    return Series(
        t=t,
        badness=badness,
        audio_quality=audio_quality,
        video_quality=video_quality,
        audio_jitter_ms=audio_jitter,
        video_jitter_ms=video_jitter,
        audio_lost=audio_lost,
        video_lost=video_lost,
        concealment=concealment,
        rtt_s=rtt_s,
        fps=fps,
        frames_dropped=frames_dropped,
        frame_width=widths[np.minimum(tier, 3)],
        frame_height=heights[np.minimum(tier, 3)],
        cpu_limited=cpu_limited,
        audio_packets=audio_packets,
        video_packets=video_packets,
    )
