"""Samples with explicit units: one frame from quality_stats and/or peer-report series, and one view per
metric (:func:`preferred_view`) so a number is never an average of two measurements.

Units (converted once, in :func:`quality_samples`): ``rtt_ms``, ``jitter_ms``, ``loss_pct`` (0–100),
``quality`` (0–100 score), ``mos`` / ``mos_estimated`` (1–5), ``fps``.

Example:
    >>> import pandas as pd
    >>> qs = pd.DataFrame({"participant_id": ["p"], "kind": ["audio"], "jitter": [12.0]})
    >>> quality_samples(qs)[["source", "jitter_ms"]].values.tolist()
    [['quality_stats', 12.0]]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from rtk_frames.analysis.mos import estimate_mos

__all__ = ["PREFERRED_SOURCE", "SAMPLE_COLUMNS", "is_samples", "preferred_view", "quality_samples"]

SAMPLE_COLUMNS: dict[str, Any] = {  # column -> dtype
    "participant_id": "str",
    "peer_id": "str",
    "kind": "str",
    "source": "str",
    "stream": "str",
    "timestamp": "datetime64[us, UTC]",
    "quality": "float64",
    "rtt_ms": "float64",
    "jitter_ms": "float64",
    "loss_pct": "float64",
    "packets_lost": "float64",
    "concealment_events": "float64",
    "frames_dropped": "float64",
    "frame_width": "float64",
    "frame_height": "float64",
    "fps": "float64",
    "mos": "float64",
    "mos_estimated": "float64",
    "quality_limitation_reason": "str",
}
_GROUP_KEYS = ["participant_id", "peer_id", "kind", "source", "stream"]


def is_samples(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is already a :func:`quality_samples` frame (units converted), not a raw frame.

    Example:
        >>> is_samples(quality_samples()), is_samples(pd.DataFrame({"quality": [1.0]}))
        (True, False)
    """
    return {"source", "jitter_ms", "loss_pct"} <= set(frame.columns)


def _col(frame: pd.DataFrame, name: str, dtype: Any = "float64") -> pd.Series:
    """``frame[name]`` as ``dtype``, or an all-NA column when the frame lacks it."""
    if name in frame.columns:
        series = frame[name]
        if dtype == "float64":
            return pd.to_numeric(series).astype("float64")
        if dtype.startswith("datetime64"):
            return pd.to_datetime(series, utc=True).astype(dtype)
        return series.astype(dtype)
    if dtype == "float64":
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.Series(pd.NA, index=frame.index, dtype=dtype)


def _empty_samples() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in SAMPLE_COLUMNS.items()})


def _samples_from_quality_stats(quality_stats: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame:
    qs = quality_stats
    out = pd.DataFrame({
        "participant_id": _col(qs, "participant_id", "str"),
        "peer_id": _col(qs, "peer_id", "str"),
        "kind": _col(qs, "kind", "str"),
        "source": pd.Series("quality_stats", index=qs.index, dtype="str"),
        "stream": _col(qs, "kind", "str"),
        "timestamp": _col(qs, "timestamp", "datetime64[us, UTC]"),
        "quality": _col(qs, "quality"),
        "rtt_ms": _col(qs, "rtt_ms"),  # quality_stats carry no RTT; kept if a caller joined one in
        "jitter_ms": _col(qs, "jitter"),  # participant-details jitter is already in ms
        "loss_pct": _col(qs, "loss_pct"),
        "packets_lost": _col(qs, "packets_lost"),
        "concealment_events": _col(qs, "concealment_events"),
        "frames_dropped": _col(qs, "frames_dropped"),
        "frame_width": _col(qs, "frame_width"),
        "frame_height": _col(qs, "frame_height"),
        "fps": _col(qs, "frames_per_second"),
        "mos": _col(qs, "mos"),
    })
    if segments is not None and len(segments) and len(out):
        out["loss_pct"] = out["loss_pct"].fillna(_segment_loss_pct(out, segments))
    return out


def _segment_loss_pct(samples: pd.DataFrame, segments: pd.DataFrame) -> pd.Series:
    """Each sample's segment-average packet loss (%) from ``quality_segments_frame`` (by peer and time).

    quality_stats samples carry ``packets_lost`` but no packet total, so the per-segment
    ``audio_packet_loss`` / ``video_packet_loss`` (already in %) is the only loss *percentage* they have.
    """
    seg = pd.DataFrame({
        "peer_id": _col(segments, "peer_id", "str"),
        "start": _col(segments, "start", "datetime64[us, UTC]"),
        "end": _col(segments, "end", "datetime64[us, UTC]"),
        "audio": _col(segments, "audio_packet_loss"),
        "video": _col(segments, "video_packet_loss"),
    }).dropna(subset=["peer_id"])
    result = pd.Series(np.nan, index=samples.index, dtype="float64")
    if seg.empty:
        return result
    left = samples[["peer_id", "timestamp", "kind"]].assign(_row=np.arange(len(samples)))
    has_time = left["timestamp"].notna() & left["peer_id"].notna()
    seg_timed = seg.dropna(subset=["start"]).sort_values("start")
    if not seg_timed.empty and has_time.any():
        matched = pd.merge_asof(
            left[has_time].sort_values("timestamp"), seg_timed, left_on="timestamp", right_on="start",
            by="peer_id", direction="backward",
        )
        inside = matched["end"].isna() | (matched["timestamp"] <= matched["end"])
        picked = np.where(matched["kind"] == "video", matched["video"], matched["audio"])
        loss = pd.Series(picked, dtype="float64").where(inside.to_numpy())
        values = result.to_numpy(copy=True)
        values[matched["_row"].to_numpy()] = loss.to_numpy()
        result = pd.Series(values, index=samples.index, dtype="float64")
    # samples without a timestamp: take the peer's only segment, when it has exactly one
    single = seg.drop_duplicates("peer_id", keep=False).set_index("peer_id")
    missing = result.isna() & samples["peer_id"].isin(single.index)
    if missing.any():
        rows = samples.loc[missing]
        audio = rows["peer_id"].map(single["audio"]).astype("float64")
        video = rows["peer_id"].map(single["video"]).astype("float64")
        result.loc[missing] = np.where(rows["kind"] == "video", video, audio)
    return result


def _stream_kind(stream: pd.Series) -> pd.Series:
    s = stream.astype("str")
    return pd.Series(np.where(s.str.contains("video"), "video", "audio"), index=stream.index, dtype="str")


def _samples_from_peer_report(series: pd.DataFrame) -> pd.DataFrame:
    pr = series
    stream = _col(pr, "stream", "str")
    out = pd.DataFrame({
        "participant_id": _col(pr, "participant_id", "str"),
        "peer_id": _col(pr, "peer_id", "str"),
        "kind": _stream_kind(stream),
        "source": pd.Series("peer_report", index=pr.index, dtype="str"),
        "stream": stream,
        "timestamp": _col(pr, "timestamp", "datetime64[us, UTC]"),
        "quality": _col(pr, "quality"),
        "rtt_ms": _col(pr, "rtt") * 1000.0,  # getStats per-sample rtt is in seconds
        "jitter_ms": _col(pr, "jitter") * 1000.0,  # ditto
        "loss_pct": np.nan,
        "packets_lost": np.nan,
        "concealment_events": np.nan,
        "frames_dropped": np.nan,
        "frame_width": _col(pr, "frame_width"),
        "frame_height": _col(pr, "frame_height"),
        "fps": _col(pr, "frames_per_second"),
        "mos": _col(pr, "mos_quality"),
        "quality_limitation_reason": _col(pr, "quality_limitation_reason", "str"),
    })
    # cumulative counters -> per-interval deltas, per stream of a peer, in time order
    lost = _col(pr, "packets_lost")
    sent = _col(pr, "packets_sent")
    received = _col(pr, "packets_received")
    dropped = _col(pr, "frames_dropped")
    order = out.sort_values("timestamp", kind="stable").index
    keys = [out.loc[order, k].fillna("") for k in ("participant_id", "peer_id", "stream")]

    def delta(counter: pd.Series) -> pd.Series:
        c = counter.loc[order]
        d = c.groupby(keys, sort=False).diff()
        d = d.fillna(c.where(c.groupby(keys, sort=False).cumcount() == 0))  # first sample: since stream start
        return d.where(d >= 0).reindex(out.index)  # a counter reset is not negative loss

    d_lost, d_sent, d_received = delta(lost), delta(sent), delta(received)
    # producers: the receiver's loss report over what we sent; consumers: lost / (received + lost)
    denominator = d_sent.where(d_sent.notna(), d_received + d_lost)
    out["loss_pct"] = (100.0 * d_lost / denominator.where(denominator > 0)).clip(0.0, 100.0)
    out["packets_lost"] = d_lost
    out["frames_dropped"] = delta(dropped)
    return out


def quality_samples(
    quality_stats: pd.DataFrame | None = None,
    peer_report_series: pd.DataFrame | None = None,
    *,
    segments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One frame of samples with explicit units, from participant-details ``quality_stats`` and/or the peer
    report's per-sample series (``peer_report_series_frame``).

    Conversions, done once here: peer-report ``rtt``/``jitter`` seconds → ``rtt_ms``/``jitter_ms``;
    cumulative ``packets_lost``/``packets_sent``/``packets_received`` → per-interval ``loss_pct``
    (0–100); quality_stats ``jitter`` (ms) → ``jitter_ms``; quality_stats ``loss_pct`` from the segment
    averages in ``segments`` (``quality_segments_frame``) when given. ``mos_estimated`` is the E-model
    (:func:`estimate_mos`) wherever RTT, jitter and loss are all known.

    Example:
        >>> import pandas as pd
        >>> pr = pd.DataFrame({"participant_id": ["p"], "peer_id": ["a"], "stream": ["audio_producer"],
        ...                    "timestamp": pd.to_datetime(["2026-01-01T10:00:00Z"]), "rtt": [0.1],
        ...                    "jitter": [0.01], "packets_lost": [1.0], "packets_sent": [100.0]})
        >>> s = quality_samples(peer_report_series=pr)
        >>> s.loc[0, ["rtt_ms", "jitter_ms", "loss_pct"]].tolist(), round(float(s.loc[0, "mos_estimated"]), 2)
        ([100.0, 10.0, 1.0], 4.31)
    """
    parts = []
    # frames built with pd.concat(...) (no ignore_index) repeat index labels: work on positions
    if quality_stats is not None and len(quality_stats):
        parts.append(_samples_from_quality_stats(quality_stats.reset_index(drop=True), segments))
    if peer_report_series is not None and len(peer_report_series):
        parts.append(_samples_from_peer_report(peer_report_series.reset_index(drop=True)))
    if not parts:
        return _empty_samples()
    samples = pd.concat(parts, ignore_index=True)
    for column, dtype in SAMPLE_COLUMNS.items():
        if column not in samples.columns:
            samples[column] = pd.Series(np.nan if dtype == "float64" else pd.NA, index=samples.index)
        samples[column] = samples[column].astype(dtype)
    samples["mos_estimated"] = estimate_mos(samples["rtt_ms"], samples["jitter_ms"], samples["loss_pct"])
    samples = samples[list(SAMPLE_COLUMNS)]
    samples = samples.sort_values(["participant_id", "timestamp"], kind="stable", na_position="last")
    return samples.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------------------

# Which source speaks for a metric when both have it: peer-report loss is per interval while quality_stats
# loss is a segment average; RTT and MOS exist only in the peer report; quality, jitter and frame rate are
# the API's own per-participant samples.
PREFERRED_SOURCE = {"loss_pct": "peer_report", "rtt_ms": "peer_report", "mos": "peer_report",
                    "mos_estimated": "peer_report", "quality": "quality_stats", "jitter_ms": "quality_stats",
                    "fps": "quality_stats", "frames_dropped": "quality_stats",
                    "frame_width": "quality_stats", "frame_height": "quality_stats"}


def preferred_view(samples: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """``samples`` with, per participant and kind and per metric, only one source's values kept (the
    ``PREFERRED_SOURCE`` when it has any, else whichever has) and, of the peer report's streams, only the
    producer's (what the participant sent: their own uplink) when it has any. Other values become NaN;
    rows are kept. Summaries and plots use this so a number is never an average of two measurements.

    Example:
        >>> import pandas as pd
        >>> s = pd.DataFrame({"participant_id": ["p", "p"], "kind": ["audio"] * 2,
        ...                   "source": ["quality_stats", "peer_report"],
        ...                   "stream": ["audio", "audio_producer"], "loss_pct": [5.0, 1.0]})
        >>> preferred_view(s)["loss_pct"].tolist()
        [nan, 1.0]
    """
    out = samples.copy()
    if out.empty or "source" not in out.columns:
        return out
    # the (participant, kind) groups, factorised once: every metric below asks "does any row of my group …"
    group = out.groupby([out["participant_id"].fillna(""), out["kind"].fillna("")],
                        sort=False).ngroup().to_numpy()

    def group_has(mask: np.ndarray) -> np.ndarray:
        hit = np.zeros(group.max() + 1, dtype=bool)
        hit[group[mask]] = True
        return hit[group]

    source = out["source"]
    from_report = (source == "peer_report").to_numpy(dtype=bool)
    producer = out["stream"].astype("str").str.endswith("producer").to_numpy(dtype=bool)
    for metric in metrics if metrics is not None else PREFERRED_SOURCE:
        if metric not in out.columns:
            continue
        valid = out[metric].notna().to_numpy()
        preferred = PREFERRED_SOURCE.get(metric)
        keep = np.ones(len(out), dtype=bool)
        if preferred is not None:
            is_preferred = (source == preferred).to_numpy(dtype=bool)
            keep &= ~group_has(valid & is_preferred) | is_preferred
        keep &= ~(group_has(valid & from_report & producer) & from_report & ~producer)
        out[metric] = out[metric].where(keep)
    return out
