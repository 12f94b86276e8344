"""Per-participant summaries, poor intervals (3 bad samples of the last 5) and verdicts with reasons.

Example:
    >>> import pandas as pd
    >>> from rtk_frames.analysis.samples import quality_samples
    >>> qs = pd.DataFrame({"participant_id": ["p1"] * 4, "peer_id": ["a"] * 4, "kind": ["audio"] * 4,
    ...                    "timestamp": pd.date_range("2026-01-01", periods=4, freq="7s", tz="UTC"),
    ...                    "quality": [90.0, 20.0, 15.0, 10.0], "jitter": [5.0, 40.0, 45.0, 50.0]})
    >>> verdicts(quality_samples(qs)).loc[0, "verdict"]
    'poor'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from rtk_frames.analysis.samples import _GROUP_KEYS, preferred_view
from rtk_frames.analysis.thresholds import (
    DEFAULT_THRESHOLDS,
    EVIDENCE_WINDOW_SAMPLES,
    MIN_EVIDENCE_SAMPLES,
    Threshold,
    Thresholds,
    _as_thresholds,
    _short_source,
)

__all__ = ["INTERVAL_COLUMNS", "VERDICT_ORDER", "participant_summary", "poor_intervals", "verdicts"]

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
        >>> from rtk_frames.analysis import quality_samples
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
    thresholds: Thresholds | None = None,
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
        >>> from rtk_frames.analysis import quality_samples
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
    kinds = ordered["kind"].astype("object").to_numpy()
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
    thresholds: Thresholds | None = None,
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
        >>> from rtk_frames.analysis import quality_samples
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
    grouped: dict[tuple[str, str], list[str]] = {}  # plain lists: a pandas group per participant is slow
    for pid, level, reason in zip(ranked["participant_id"].tolist(), ranked["level"].tolist(),
                                  ranked["reason"].tolist(), strict=True):
        if not (pd.isna(pid) or pd.isna(level)):  # as groupby: rows without a key belong to no group
            grouped.setdefault((str(pid), str(level)), []).append(str(reason))
    return {key: _join_reasons(texts) for key, texts in grouped.items()}


def _join_reasons(texts: list[str]) -> str:
    if len(texts) > MAX_REASONS:
        texts = [*texts[:MAX_REASONS], f"+ {len(texts) - MAX_REASONS} more"]
    return "; ".join(texts)
