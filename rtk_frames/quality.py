"""Call-quality analytics on frames: per-sample metrics in explicit units, E-model MOS, thresholds as data,
verdicts with reasons, a likely cause per poor participant, and fleet breakdowns.

Everything here is a pure function of DataFrames (no network). The flow is::

    quality_stats / peer_report_series  ->  quality_samples()       one row per sample, units in names
                                        ->  participant_summary()   mean/median/p10 … per participant
                                        ->  poor_intervals()        runs of bad samples, each with a reason
                                        ->  verdicts()              good / warn / poor / insufficient data
                                        ->  likely_causes()         network / device / server-route / unknown

Units (converted once, in :func:`quality_samples`): ``rtt_ms``, ``jitter_ms``, ``loss_pct`` (0–100),
``quality`` (0–100 score), ``mos`` / ``mos_estimated`` (1–5), ``fps``.

Example:
    >>> import pandas as pd
    >>> qs = pd.DataFrame({"participant_id": ["p1"] * 4, "peer_id": ["a"] * 4, "kind": ["audio"] * 4,
    ...                    "timestamp": pd.date_range("2026-01-01", periods=4, freq="7s", tz="UTC"),
    ...                    "quality": [90.0, 20.0, 15.0, 10.0], "jitter": [5.0, 40.0, 45.0, 50.0]})
    >>> verdicts(quality_samples(qs)).loc[0, "verdict"]
    'poor'
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EMODEL_FORMULA",
    "EMODEL_SOURCE",
    "EVIDENCE_WINDOW_SAMPLES",
    "MIN_EVIDENCE_SAMPLES",
    "PREFERRED_SOURCE",
    "SAMPLE_COLUMNS",
    "Threshold",
    "estimate_mos",
    "likely_causes",
    "participant_summary",
    "poor_intervals",
    "preferred_view",
    "quality_by",
    "quality_samples",
    "sessions_per_day",
    "thresholds_frame",
    "verdicts",
    "worst",
]

# ---------------------------------------------------------------------------------------------------------
# E-model
# ---------------------------------------------------------------------------------------------------------

EMODEL_SOURCE = (
    "simplified ITU-T G.107 E-model as popularised by Cole & Rosenbluth, 'Voice over IP performance "
    "monitoring', ACM SIGCOMM CCR 31(2), 2001"
)
EMODEL_FORMULA = (
    "latency = RTT/2 (one-way, assuming a symmetric path); EL = latency + 2·jitter + 10 ms; "
    "R = 93.2 − EL/40 if EL < 160 ms else 93.2 − (EL − 120)/10; R −= 2.5·loss%; R clipped to [0, 100]; "
    "MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R), clipped to [1, 4.5]"
)
EMODEL_CODEC_DELAY_MS = 10.0
EMODEL_R0 = 93.2


def estimate_mos(rtt_ms, jitter_ms, loss_pct):
    """Estimated MOS (1–5) from RTT, jitter and loss with the simplified E-model (see ``EMODEL_FORMULA``).

    Works on scalars, numpy arrays or Series (a Series keeps its index). NA in any input gives NaN.
    One-way latency is taken as RTT/2.

    Example:
        >>> round(estimate_mos(100.0, 10.0, 1.0), 3)   # EL = 50 + 20 + 10 = 80; R = 91.2 − 2.5 = 88.7
        4.306
    """
    index = next((x.index for x in (rtt_ms, jitter_ms, loss_pct) if isinstance(x, pd.Series)), None)
    rtt = _as_float_array(rtt_ms)
    jitter = _as_float_array(jitter_ms)
    loss = _as_float_array(loss_pct)
    effective_latency_ms = rtt / 2.0 + 2.0 * jitter + EMODEL_CODEC_DELAY_MS
    r = np.where(
        effective_latency_ms < 160.0,
        EMODEL_R0 - effective_latency_ms / 40.0,
        EMODEL_R0 - (effective_latency_ms - 120.0) / 10.0,
    )
    r = np.clip(r - 2.5 * loss, 0.0, 100.0)
    mos = np.clip(1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r), 1.0, 4.5)  # dips < 1 for R < 6.5
    if index is not None:
        return pd.Series(mos, index=index, dtype="float64")
    if np.ndim(mos) == 0:
        return float(mos)
    return mos


def _as_float_array(values) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        return pd.to_numeric(values).astype("float64").to_numpy(na_value=np.nan)
    return np.asarray(values, dtype="float64")


# ---------------------------------------------------------------------------------------------------------
# Thresholds as data
# ---------------------------------------------------------------------------------------------------------

MIN_EVIDENCE_SAMPLES = 3  # bad samples needed inside the window before a verdict (Twilio: 3 of the last 5)
EVIDENCE_WINDOW_SAMPLES = 5


@dataclass(frozen=True)
class Threshold:
    """One row of the threshold table: when ``metric`` is ``warn`` / ``poor``, and who says so.

    ``direction="above"`` means higher is worse (RTT, loss); ``"below"`` means lower is worse (MOS, quality).
    Override one with ``dataclasses.replace``:

    Example:
        >>> import dataclasses
        >>> strict = tuple(dataclasses.replace(t, poor=2.0) if t.metric == "loss_pct" else t
        ...                for t in DEFAULT_THRESHOLDS)
        >>> [t.poor for t in strict if t.metric == "loss_pct"]
        [2.0]
    """

    metric: str
    warn: float | None
    poor: float
    unit: str
    source: str
    direction: Literal["above", "below"] = "above"
    label: str = ""
    kinds: tuple[str, ...] = ("audio", "video")
    only_where_missing: str | None = None  # judge only samples where this other metric is NA

    def name(self) -> str:
        return self.label or self.metric


DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "rtt_ms", 300.0, 400.0, "ms",
        "poor: Twilio Voice Insights high-rtt > 400 ms (Teams CQD: > 500 ms); "
        "warn: ITU-T G.114 150 ms one-way = 300 ms round trip",
        label="RTT",
    ),
    Threshold(
        "jitter_ms", 20.0, 30.0, "ms",
        "poor: Twilio high-jitter > 30 ms, Teams CQD jitter > 30 ms; warn: rtk_frames choice (2/3 of poor)",
        label="jitter",
    ),
    Threshold(
        "loss_pct", 1.0, 3.0, "%",
        "poor: Twilio high-packet-loss > 3 % average (Teams CQD: > 10 %); warn: the < 1 % target",
        label="loss",
    ),
    Threshold(
        "mos", 4.0, 3.5, "MOS", "poor: Twilio low-mos < 3.5; warn: ITU-T G.107 'satisfied' R ≥ 80 ≈ MOS 4.0",
        direction="below", label="MOS", kinds=("audio",),
    ),
    Threshold(
        "mos_estimated", 4.0, 3.5, "MOS",
        "same as MOS, applied to the E-model estimate (Cole & Rosenbluth 2001) where the peer report "
        "gives no MOS",
        direction="below", label="estimated MOS", kinds=("audio",), only_where_missing="mos",
    ),
    Threshold(
        "quality", 60.0, 40.0, "/100",
        "rtk_frames choice: the API's 0–100 score has no published scale; poor < 40 (bottom two fifths), "
        "warn < 60",
        direction="below", label="quality",
    ),
    Threshold(
        "fps", 15.0, 7.0, "fps", "poor: Teams CQD video frame rate < 7 fps; warn: rtk_frames choice < 15 fps",
        direction="below", label="frame rate", kinds=("video",),
    ),
)

THRESHOLD_COLUMNS = ("metric", "warn", "poor", "unit", "direction", "label", "kinds", "only_where_missing",
                     "source")


def thresholds_frame(thresholds: Sequence[Threshold] | pd.DataFrame = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """The threshold table as a DataFrame (one row per metric), for display or editing.

    Every function that takes ``thresholds`` accepts this frame back (edited) as well as a tuple of
    :class:`Threshold`.

    Example:
        >>> t = thresholds_frame()
        >>> t.loc[t.metric == "rtt_ms", "poor"].item()
        400.0
    """
    rows = [
        {**dataclasses.asdict(t), "kinds": ",".join(t.kinds), "label": t.name()}
        for t in _as_thresholds(thresholds)
    ]
    frame = pd.DataFrame(rows, columns=list(THRESHOLD_COLUMNS))
    return frame.astype({"warn": "float64", "poor": "float64"})


def _as_thresholds(thresholds: Sequence[Threshold] | pd.DataFrame) -> tuple[Threshold, ...]:
    if isinstance(thresholds, pd.DataFrame):
        out = []
        for row in thresholds.to_dict("records"):
            kinds = row.get("kinds") or "audio,video"
            warn = row.get("warn")
            fallback = row.get("only_where_missing")
            out.append(Threshold(
                metric=str(row["metric"]),
                warn=None if warn is None or pd.isna(warn) else float(warn),
                poor=float(row["poor"]),
                unit=str(row.get("unit") or ""),
                source=str(row.get("source") or "user"),
                direction=str(row.get("direction") or "above"),  # type: ignore[arg-type]
                label=str(row.get("label") or row["metric"]),
                kinds=tuple(k.strip() for k in str(kinds).split(",") if k.strip()),
                only_where_missing=None if fallback is None or pd.isna(fallback) or not fallback
                else str(fallback),
            ))
        return tuple(out)
    return tuple(thresholds)


@functools.lru_cache(maxsize=256)
def _short_source(source: str, level: str = "poor") -> str:
    """'poor: Twilio … > 400 ms; warn: ITU-T G.114 …' -> 'Twilio' (or 'ITU-T' for ``level="warn"``)."""
    parts = [p.strip() for p in source.split(";")]
    mine = [p for p in parts if p.startswith(f"{level}:")]
    head = (mine[0] if mine else parts[0]).removeprefix(f"{level}:").removeprefix("poor:").strip()
    for org in ("Twilio", "Teams CQD", "ITU-T", "rtk_frames", "Cole & Rosenbluth"):
        if org in head:
            return org
    if not head:
        return "user"
    return head if len(head) <= 40 else head[:39] + "…"


# ---------------------------------------------------------------------------------------------------------
# Samples: one frame, explicit units
# ---------------------------------------------------------------------------------------------------------

SAMPLE_COLUMNS: dict[str, str] = {
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


def _col(frame: pd.DataFrame, name: str, dtype: str = "float64") -> pd.Series:
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
        loss = np.where(matched["kind"] == "video", matched["video"], matched["audio"])
        loss = pd.Series(loss, dtype="float64").where(inside.to_numpy())
        result.iloc[matched["_row"].to_numpy()] = loss.to_numpy()
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
    group = out.groupby([out["participant_id"].fillna(""), out["kind"].fillna("")], sort=False).ngroup()
    group = group.to_numpy()

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



def participant_summary(
    samples: pd.DataFrame,
    *,
    by: Sequence[str] = ("participant_id", "kind"),
    poor_quality: float | None = None,
    one_view: bool = True,
) -> pd.DataFrame:
    """Per participant (and kind; pass ``by=("participant_id", "peer_id", "kind")`` for per peer segment):
    quality mean/median/p10, share of samples below the poor quality threshold, jitter/RTT mean and p90,
    loss mean, frames dropped, median resolution and fps, MOS (given) and estimated MOS. With
    ``one_view`` (default) each metric comes from one source and direction (:func:`preferred_view`).

    Example:
        >>> import pandas as pd
        >>> qs = pd.DataFrame({"participant_id": ["p1"] * 4, "kind": ["audio"] * 4,
        ...                    "quality": [80.0, 60.0, 30.0, 10.0]})
        >>> summary = participant_summary(quality_samples(qs))
        >>> summary.loc[0, ["quality_mean", "quality_below_poor_share"]].tolist()
        [45.0, 0.5]
    """
    if poor_quality is None:
        poor_quality = next(t.poor for t in DEFAULT_THRESHOLDS if t.metric == "quality")
    keys = list(by)
    if one_view:  # one source (and direction) per metric: see preferred_view
        samples = preferred_view(samples)
    s = samples.assign(
        _below=(samples["quality"] < poor_quality).astype("float64").where(samples["quality"].notna()),
    )
    grouped = s.groupby(keys, dropna=False, sort=True)
    summary = grouped.agg(  # built-in reductions only: cythonised, no Python call per group
        n_samples=("timestamp", "size"),
        first_sample_at=("timestamp", "min"),
        last_sample_at=("timestamp", "max"),
        quality_mean=("quality", "mean"),
        quality_median=("quality", "median"),
        quality_below_poor_share=("_below", "mean"),
        jitter_ms_mean=("jitter_ms", "mean"),
        rtt_ms_mean=("rtt_ms", "mean"),
        loss_pct_mean=("loss_pct", "mean"),
        loss_pct_max=("loss_pct", "max"),
        packets_lost_total=("packets_lost", "sum"),
        frames_dropped_total=("frames_dropped", "sum"),
        packets_lost_n=("packets_lost", "count"),
        frames_dropped_n=("frames_dropped", "count"),
        frame_width_median=("frame_width", "median"),
        frame_height_median=("frame_height", "median"),
        fps_median=("fps", "median"),
        mos_mean=("mos", "mean"),
        mos_estimated_mean=("mos_estimated", "mean"),
    )
    summary["quality_p10"] = grouped["quality"].quantile(0.10)
    summary["jitter_ms_p90"] = grouped["jitter_ms"].quantile(0.90)
    summary["rtt_ms_p90"] = grouped["rtt_ms"].quantile(0.90)
    for total in ("packets_lost", "frames_dropped"):  # a sum over no values is unknown, not 0
        summary[f"{total}_total"] = summary[f"{total}_total"].where(summary[f"{total}_n"] > 0)
    summary = summary.drop(columns=["packets_lost_n", "frames_dropped_n"]).reset_index()
    order = [*keys, "n_samples", "first_sample_at", "last_sample_at", "quality_mean", "quality_median",
             "quality_p10", "quality_below_poor_share", "jitter_ms_mean", "jitter_ms_p90", "rtt_ms_mean",
             "rtt_ms_p90", "loss_pct_mean", "loss_pct_max", "packets_lost_total", "frames_dropped_total",
             "frame_width_median", "frame_height_median", "fps_median", "mos_mean", "mos_estimated_mean"]
    summary = summary[order]
    return summary.astype({"n_samples": "int64"})


# ---------------------------------------------------------------------------------------------------------
# Poor intervals and verdicts (minimum evidence: 3 of the last 5 samples)
# ---------------------------------------------------------------------------------------------------------

INTERVAL_COLUMNS = ("participant_id", "peer_id", "kind", "source", "stream", "metric", "level", "start",
                    "end", "n_samples", "n_bad_samples", "value", "threshold", "unit", "source_of_threshold",
                    "reason")


def _grouped_alarm_runs(bad: np.ndarray, group_start: np.ndarray, window: int, min_bad: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Runs ``[first[k], last[k]]`` (inclusive row indices) where at least ``min_bad`` of the last ``window``
    samples *of the same group* were bad; ``group_start[i]`` is the first row of row i's group (rows are
    grouped contiguously, in time order).

    A run starts at the first bad sample of the window that raised the alarm and ends at the last bad
    sample before the alarm clears; runs never cross groups. Vectorised over all groups at once.
    """
    n = len(bad)
    empty = np.array([], dtype=np.int64)
    if n == 0:
        return empty, empty
    positions = np.arange(n)
    bad_count = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
    window_lo = np.maximum(positions - window + 1, group_start)
    alarm_at = np.flatnonzero(bad_count[positions + 1] - bad_count[window_lo] >= min_bad)
    if len(alarm_at) == 0:
        return empty, empty
    # next_bad[k]: the first bad row >= k (n if none); prev_bad[k]: the last bad row <= k (-1 if none)
    next_bad = np.minimum.accumulate(np.where(bad, positions, n)[::-1])[::-1]
    prev_bad = np.maximum.accumulate(np.where(bad, positions, -1))
    cover = np.zeros(n + 1, dtype=np.int64)  # each alarm covers [first bad of its window, alarm]
    np.add.at(cover, next_bad[window_lo[alarm_at]], 1)
    np.add.at(cover, alarm_at + 1, -1)
    member = np.cumsum(cover[:n]) > 0
    is_group_start = group_start == positions
    is_group_end = np.append(is_group_start[1:], True)
    previous_member = np.concatenate(([False], member[:-1]))
    next_member = np.append(member[1:], False)
    starts = np.flatnonzero(member & (~previous_member | is_group_start))
    ends = np.flatnonzero(member & (~next_member | is_group_end))
    return next_bad[starts], prev_bad[ends]


def _alarm_runs(bad: np.ndarray, window: int, min_bad: int) -> list[tuple[int, int]]:
    """:func:`_grouped_alarm_runs` for a single group, as a list of ``(first, last)`` pairs.

    Example:
        >>> _alarm_runs(np.array([0, 1, 0, 1, 1, 0, 0, 0, 0, 1], dtype=bool), 5, 3)
        [(1, 4)]
    """
    first, last = _grouped_alarm_runs(np.asarray(bad, dtype=bool), np.zeros(len(bad), dtype=np.int64),
                                      window, min_bad)
    return [(int(a), int(b)) for a, b in zip(first, last, strict=True)]


def _fmt_value(value: float, unit: str, extra_digits: int = 0) -> str:
    if unit == "%":
        return f"{value:.{1 + extra_digits}f} %"
    if unit == "MOS":
        return f"{value:.{2 + extra_digits}f}"
    if unit == "/100":
        return f"{value:.{extra_digits}f}/100"
    return f"{value:.{extra_digits}f} {unit}"


def _reason(kind: str, t: Threshold, value: float, limit: float, level: str = "poor") -> str:
    op = ">" if t.direction == "above" else "<"
    where = _short_source(t.source, level)
    shown_limit = _fmt_value(limit, t.unit)
    shown_value = _fmt_value(value, t.unit)
    extra = 0
    while shown_value == shown_limit and extra < 3:  # "14.6 fps < 15 fps", never "15 fps < 15 fps"
        extra += 1
        shown_value = _fmt_value(value, t.unit, extra)
    return f"{kind} {t.name()} {shown_value} {op} {shown_limit} ({where})"


def poor_intervals(
    samples: pd.DataFrame,
    thresholds: Sequence[Threshold] | pd.DataFrame = DEFAULT_THRESHOLDS,
    *,
    window: int = EVIDENCE_WINDOW_SAMPLES,
    min_bad: int = MIN_EVIDENCE_SAMPLES,
    levels: Iterable[str] = ("poor", "warn"),
) -> pd.DataFrame:
    """Intervals where a metric was bad in at least ``min_bad`` of the last ``window`` samples
    (Twilio's rule: 3 of the last 5), per peer segment, kind and stream, each with a one-line reason
    such as ``"video loss 7.2 % > 3.0 % (Twilio)"``. ``value`` is the mean of the interval's bad samples.

    Example:
        >>> import pandas as pd
        >>> qs = pd.DataFrame({"participant_id": ["p"] * 5, "peer_id": ["a"] * 5, "kind": ["audio"] * 5,
        ...     "timestamp": pd.date_range("2026-01-01", periods=5, freq="7s", tz="UTC"),
        ...     "jitter": [5.0, 40.0, 50.0, 60.0, 5.0]})
        >>> poor_intervals(quality_samples(qs), levels=["poor"]).loc[0, "reason"]
        'audio jitter 50 ms > 30 ms (Twilio)'
    """
    table = [t for t in _as_thresholds(thresholds) if t.metric in samples.columns]
    levels = tuple(levels)
    # one sort, then every (threshold, level) is a handful of numpy passes over all groups at once
    ordered = samples.sort_values([*_GROUP_KEYS, "timestamp"], kind="stable", na_position="last")
    group_ids = ordered.groupby(_GROUP_KEYS, dropna=False, sort=False).ngroup().to_numpy()
    kinds = ordered["kind"].to_numpy(dtype=object, na_value=None)
    times = ordered["timestamp"].to_numpy(dtype="datetime64[us]")  # UTC; object Timestamps cost ~100×
    parts: list[pd.DataFrame] = []
    for t in table:
        raw = ordered[t.metric].to_numpy(dtype="float64", na_value=np.nan)
        judged = ~np.isnan(raw) & np.isin(kinds, list(t.kinds))  # this metric's samples
        if t.only_where_missing and t.only_where_missing in ordered.columns:  # e.g. E-model MOS: a fallback
            judged &= ordered[t.only_where_missing].isna().to_numpy()
        rows = np.flatnonzero(judged)
        if len(rows) < min_bad:
            continue
        values, groups = raw[rows], group_ids[rows]
        new_group = np.concatenate(([True], groups[1:] != groups[:-1]))
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(rows)), 0))
        for level in levels:
            limit = t.poor if level == "poor" else t.warn
            if limit is None:
                continue
            bad = values > limit if t.direction == "above" else values < limit
            if level == "warn" and "poor" in levels:  # warn = bad but not already poor
                bad &= ~(values > t.poor if t.direction == "above" else values < t.poor)
            first, last = _grouped_alarm_runs(bad, group_start, window, min_bad)
            if len(first) == 0:
                continue
            bad_count = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
            bad_sum = np.concatenate(([0.0], np.cumsum(np.where(bad, values, 0.0))))
            n_bad = bad_count[last + 1] - bad_count[first]
            mean_bad = (bad_sum[last + 1] - bad_sum[first]) / n_bad  # the bad samples' mean
            part = ordered.iloc[rows[first]][_GROUP_KEYS].reset_index(drop=True)
            part["metric"], part["level"] = t.metric, level
            part["start"], part["end"] = times[rows[first]], times[rows[last]]
            part["n_samples"], part["n_bad_samples"] = last - first + 1, n_bad
            part["value"], part["threshold"], part["unit"] = mean_bad, limit, t.unit
            part["source_of_threshold"] = t.source
            part["reason"] = [_reason(k, t, v, limit, level)
                              for k, v in zip(part["kind"], mean_bad, strict=True)]
            parts.append(part)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(INTERVAL_COLUMNS))
    if len(frame):
        frame["start"] = pd.to_datetime(frame["start"], utc=True)
        frame["end"] = pd.to_datetime(frame["end"], utc=True)
    frame = frame[list(INTERVAL_COLUMNS)].astype({
        "participant_id": "str", "peer_id": "str", "kind": "str", "source": "str", "stream": "str",
        "metric": "str", "level": "str", "start": "datetime64[us, UTC]", "end": "datetime64[us, UTC]",
        "n_samples": "int64", "n_bad_samples": "int64", "value": "float64", "threshold": "float64",
        "unit": "str", "source_of_threshold": "str", "reason": "str",
    })
    return frame.sort_values([*_GROUP_KEYS, "start", "metric", "level"], kind="stable").reset_index(drop=True)


VERDICT_ORDER = {"poor": 0, "warn": 1, "good": 2, "insufficient data": 3}


def verdicts(
    samples: pd.DataFrame,
    thresholds: Sequence[Threshold] | pd.DataFrame = DEFAULT_THRESHOLDS,
    *,
    intervals: pd.DataFrame | None = None,
    min_samples: int = MIN_EVIDENCE_SAMPLES,
    window: int = EVIDENCE_WINDOW_SAMPLES,
) -> pd.DataFrame:
    """One verdict per participant: ``"poor"`` / ``"warn"`` / ``"good"``, or ``"insufficient data"`` when no
    metric had ``min_samples`` samples. ``reasons`` lists the distinct reasons (worst interval per metric
    and kind), ``poor_seconds`` the time covered by poor intervals.

    Example:
        >>> import pandas as pd
        >>> qs = pd.DataFrame({"participant_id": ["p"] * 2, "kind": ["audio"] * 2, "quality": [5.0, 5.0]})
        >>> verdicts(quality_samples(qs)).loc[0, "verdict"]   # two samples are not evidence
        'insufficient data'
    """
    table = _as_thresholds(thresholds)
    if intervals is None:
        intervals = poor_intervals(samples, table, window=window, min_bad=min_samples)
    metrics = [t.metric for t in table if t.metric in samples.columns]
    evidence = (
        samples.groupby(["participant_id", "kind"], dropna=False)[metrics].count().max(axis=1)
        .groupby(level="participant_id", dropna=False).max()
        if len(samples) else pd.Series(dtype="int64")
    )
    frame = pd.DataFrame({"participant_id": evidence.index.astype("str"),
                          "n_samples": evidence.to_numpy(dtype="int64")})
    reasons: dict[tuple[str, str], str] = {}
    poor_counts = pd.Series(dtype="int64")
    poor_seconds = pd.Series(dtype="float64")
    if len(intervals):
        reasons = _top_reasons(intervals, table)
        poor = intervals[intervals["level"] == "poor"]
        poor_counts = poor.groupby("participant_id").size()
        poor_seconds = (poor["end"] - poor["start"]).dt.total_seconds().groupby(poor["participant_id"]).sum()
    pids = frame["participant_id"]
    has = {level: pids.map(lambda p, lv=level: (p, lv) in reasons).to_numpy(dtype=bool)
           for level in ("poor", "warn")}
    enough = frame["n_samples"].to_numpy() >= min_samples
    frame["verdict"] = np.select([~enough, has["poor"], has["warn"]], ["insufficient data", "poor", "warn"],
                                 default="good")
    frame["reasons"] = [
        f"only {n} samples (need {min_samples})" if verdict == "insufficient data"
        else reasons.get((pid, verdict), "")
        for pid, n, verdict in zip(pids, frame["n_samples"], frame["verdict"], strict=True)
    ]
    frame["n_poor_intervals"] = pids.map(poor_counts).fillna(0).astype("int64")
    frame["poor_seconds"] = pids.map(poor_seconds).fillna(0.0).astype("float64")
    columns = ["participant_id", "verdict", "reasons", "n_samples", "n_poor_intervals", "poor_seconds"]
    frame = frame[columns].astype({"participant_id": "str", "verdict": "str", "reasons": "str"})
    order = frame["verdict"].map(VERDICT_ORDER)
    frame = frame.assign(_o=order).sort_values(["_o", "participant_id"]).drop(columns="_o")
    return frame.reset_index(drop=True)


MAX_REASONS = 4


def _top_reasons(intervals: pd.DataFrame, table: Sequence[Threshold]) -> dict[tuple[str, str], str]:
    """(participant, level) → its reasons joined by "; ": the worst interval per (metric, kind), relatively
    furthest past its threshold first; at most ``MAX_REASONS`` (then "+ N more")."""
    direction = {t.metric: t.direction for t in table}
    sign = intervals["metric"].map(direction).map({"above": 1.0, "below": -1.0}).fillna(1.0)
    scale = intervals["threshold"].abs().clip(lower=1e-9)
    ranked = intervals.assign(_excess=(intervals["value"] - intervals["threshold"]) * sign / scale)
    ranked = ranked.sort_values(["participant_id", "level", "_excess"], ascending=[True, True, False],
                                kind="stable")
    ranked = ranked.drop_duplicates(["participant_id", "level", "metric", "kind"])
    joined = ranked.groupby(["participant_id", "level"], sort=False)["reason"].agg(_join_reasons)
    return joined.to_dict()


def _join_reasons(reasons: pd.Series) -> str:
    texts = reasons.tolist()
    if len(texts) > MAX_REASONS:
        texts = [*texts[:MAX_REASONS], f"+ {len(texts) - MAX_REASONS} more"]
    return "; ".join(texts)


# ---------------------------------------------------------------------------------------------------------
# Likely cause
# ---------------------------------------------------------------------------------------------------------

SLOW_NETWORK_TYPES = frozenset({"slow-2g", "2g", "3g", "cellular"})
PRECALL_RTT_POOR_MS = 400.0
PRECALL_JITTER_POOR_MS = 30.0
PRECALL_LOSS_POOR_PCT = 3.0
NETWORK_METRICS = frozenset({"loss_pct", "jitter_ms"})
DEVICE_METRICS = frozenset({"fps", "frames_dropped"})


def likely_causes(
    verdict_frame: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    participants: pd.DataFrame | None = None,
    samples: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A short "likely cause" per participant whose verdict is poor or warn: ``network``, ``device``,
    ``network and device``, ``server/route`` or ``unknown``, with the evidence in words. Uses what the
    data shows: the encoder's ``quality_limitation_reason`` (cpu / bandwidth) from the peer report, the
    pre-call network test and network type (``participant_frame``'s ``precall_network_information_*``),
    and which metrics were bad
    (loss/jitter → network; high RTT with no loss or jitter → route/server distance; low fps or dropped
    frames with clean network → device). When none of these apply it says the data can't tell.

    Example:
        >>> import pandas as pd
        >>> v = pd.DataFrame({"participant_id": ["p"], "verdict": ["poor"]})
        >>> iv = pd.DataFrame({"participant_id": ["p"], "metric": ["rtt_ms"], "level": ["poor"]})
        >>> likely_causes(v, iv).loc[0, "cause"]
        'server/route'
    """
    flagged = verdict_frame[verdict_frame["verdict"].isin(["poor", "warn"])]
    bad_metrics = {key: set(group["metric"])
                   for key, group in intervals.groupby(["participant_id", "level"], sort=False)} \
        if len(intervals) else {}
    limitations = _limitation_counts(samples)
    precall = _precall_rows(participants)
    rows = []
    for participant_id, verdict in zip(flagged["participant_id"], flagged["verdict"], strict=True):
        cause, evidence = _diagnose(bad_metrics.get((participant_id, verdict), set()),
                                    limitations.get(participant_id), precall.get(participant_id, {}))
        rows.append({"participant_id": participant_id, "cause": cause, "evidence": evidence})
    return pd.DataFrame(rows, columns=["participant_id", "cause", "evidence"]).astype("str")


PRECALL_COLUMNS = {  # participant_frame's names (the flattener folds the wire's "effective_networktype")
    "rtt": "precall_network_information_rtt",
    "jitter": "precall_network_information_jitter",
    "loss": "precall_network_information_fractional_loss",
    "network_type": "precall_network_information_effective_network_type",
}


def _limitation_counts(samples: pd.DataFrame | None) -> dict[str, tuple[str, int]]:
    """participant → (the most frequent of cpu/bandwidth, its sample count) from the encoder's reason."""
    if samples is None or not len(samples) or "quality_limitation_reason" not in samples.columns:
        return {}
    reasons = samples[["participant_id", "quality_limitation_reason"]]
    reasons = reasons[reasons["quality_limitation_reason"].isin(["cpu", "bandwidth"])]
    if reasons.empty:
        return {}
    counts = reasons.value_counts().reset_index(name="n")  # sorted by n, largest first
    top = counts.drop_duplicates("participant_id")
    return {pid: (reason, int(n)) for pid, reason, n in top.itertuples(index=False)}


def _precall_rows(participants: pd.DataFrame | None) -> dict[str, dict[str, object]]:
    """participant → its pre-call test values (first non-NA per field) from ``participant_frame``."""
    if participants is None or not len(participants):
        return {}
    id_col = "participant_id"
    if id_col not in participants.columns:
        return {}
    out: dict[str, dict[str, object]] = {}
    for field, column in PRECALL_COLUMNS.items():
        if column not in participants.columns:
            continue
        values = participants[[id_col, column]].dropna().drop_duplicates(id_col)
        for pid, value in zip(values[id_col], values[column], strict=True):
            out.setdefault(pid, {})[field] = value
    return out


def _diagnose(bad_metrics: set[str], limitation: tuple[str, int] | None,
              precall_values: Mapping[str, object]) -> tuple[str, str]:
    """(cause, evidence): network / device / network and device / server/route / unknown, with every clue.

    Loss or jitter measured on the media path makes it "network" even when the encoder also reported CPU
    limitation (a congested path starves the encoder too); high RTT alone is "server/route".
    """
    network_clues: list[str] = []
    device_clues: list[str] = []
    # the encoder said why it limited video
    if limitation is not None and limitation[1] >= MIN_EVIDENCE_SAMPLES:
        reason, n = limitation
        if reason == "cpu":
            device_clues.append(f"the video encoder reported CPU limitation in {n} samples")
        else:
            network_clues.append(f"the video encoder reported bandwidth limitation in {n} samples")
    # the pre-call network test already looked bad
    precall = []
    rtt, jitter = precall_values.get("rtt"), precall_values.get("jitter")
    loss, net = precall_values.get("loss"), precall_values.get("network_type")
    if rtt is not None and float(rtt) > PRECALL_RTT_POOR_MS:
        precall.append(f"RTT {float(rtt):.0f} ms")
    if jitter is not None and float(jitter) > PRECALL_JITTER_POOR_MS:
        precall.append(f"jitter {float(jitter):.0f} ms")
    if loss is not None and 100.0 * float(loss) > PRECALL_LOSS_POOR_PCT:
        precall.append(f"loss {100.0 * float(loss):.1f} %")
    if net is not None and str(net).lower() in SLOW_NETWORK_TYPES:
        precall.append(f"network type {net}")
    if precall:
        network_clues.append("the pre-call network test already showed " + ", ".join(precall))
    # what went bad during the call
    if bad_metrics & NETWORK_METRICS:
        named = sorted(m.removesuffix("_pct").removesuffix("_ms") for m in bad_metrics & NETWORK_METRICS)
        network_clues.append(f"packet {' and '.join(named)} on the media path")
    elif "rtt_ms" in bad_metrics and not network_clues:
        return "server/route", "high RTT with no loss or jitter: distance or routing to the media server"
    elif bad_metrics & DEVICE_METRICS and not network_clues:
        device_clues.append("low frame rate / dropped frames while the network showed no loss or jitter")
    if not network_clues and not device_clues:
        return "unknown", "the data can't tell: no RTT, loss, jitter, pre-call or device signal explains it"
    if network_clues and device_clues:
        # loss/jitter measured on the media path outweigh an encoder's CPU report, not the other way round
        cause = "network" if bad_metrics & NETWORK_METRICS else "network and device"
    else:
        cause = "network" if network_clues else "device"
    return cause, "; ".join(network_clues + device_clues)


# ---------------------------------------------------------------------------------------------------------
# Across sessions
# ---------------------------------------------------------------------------------------------------------


def quality_by(table: pd.DataFrame, by: str | Sequence[str], *, value: str = "quality_mean",
               verdict_column: str = "verdict") -> pd.DataFrame:
    """Quality broken down by a dimension (browser, OS, SDK version, network type, country …) over a table
    with one row per participant (e.g. ``participant_summary`` joined with ``participant_frame`` columns
    and verdicts): participants, mean/median of ``value``, share with a poor verdict.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"browser": ["Chrome", "Chrome", "Safari"], "quality_mean": [80.0, 60.0, 30.0],
        ...                   "verdict": ["good", "poor", "poor"]})
        >>> quality_by(t, "browser").set_index("browser").loc["Chrome", "poor_share"].item()
        0.5
    """
    keys = [by] if isinstance(by, str) else list(by)
    t = table.assign(**{k: table[k].astype("str").fillna("(unknown)") for k in keys})
    if verdict_column in t.columns:
        t = t.assign(_poor=(t[verdict_column] == "poor").astype("float64"))
    else:
        t = t.assign(_poor=np.nan)
    out = t.groupby(keys, dropna=False).agg(
        participants=(value, "size"), mean=(value, "mean"), median=(value, "median"),
        poor_share=("_poor", "mean"),
    ).reset_index()
    return out.sort_values("mean", na_position="last").reset_index(drop=True)


def sessions_per_day(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions, minutes and peak participants per UTC day, from ``sessions_frame``.

    Example:
        >>> import pandas as pd
        >>> s = pd.DataFrame({"started_at": pd.to_datetime(["2026-01-01T09:00Z", "2026-01-01T15:00Z"]),
        ...                   "minutes_consumed": [10.0, 5.0], "max_concurrent_participants": [3, 4]})
        >>> sessions_per_day(s).loc[0, "sessions"].item(), sessions_per_day(s).loc[0, "minutes"].item()
        (2, 15.0)
    """
    started = pd.to_datetime(sessions["started_at"], utc=True)
    frame = pd.DataFrame({
        "day": started.dt.floor("D"),
        "minutes": pd.to_numeric(_col(sessions, "minutes_consumed")),
        "peak": pd.to_numeric(_col(sessions, "max_concurrent_participants")),
    })
    out = frame.groupby("day").agg(sessions=("minutes", "size"), minutes=("minutes", "sum"),
                                   max_concurrent_participants=("peak", "max")).reset_index()
    return out.astype({"sessions": "int64"})


def worst(
    table: pd.DataFrame, n: int = 10, *, by: str = "quality_mean", ascending: bool = True
) -> pd.DataFrame:
    """The ``n`` worst rows (sessions or participants) by a column; lower is worse unless ``ascending=False``.

    Example:
        >>> import pandas as pd
        >>> worst(pd.DataFrame({"id": ["a", "b"], "quality_mean": [80.0, 20.0]}), 1)["id"].tolist()
        ['b']
    """
    return table.sort_values(by, ascending=ascending, na_position="last").head(n).reset_index(drop=True)
