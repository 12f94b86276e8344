"""Thresholds as data: when a metric is ``warn`` or ``poor``, and who says so (one row per metric).

Every function that takes ``thresholds`` reads ``None`` as :data:`DEFAULT_THRESHOLDS`, and accepts a tuple
of :class:`Threshold` or the table from :func:`thresholds_frame` (edited) as well.

Example:
    >>> [t.metric for t in DEFAULT_THRESHOLDS][:3]
    ['rtt_ms', 'jitter_ms', 'loss_pct']
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import pandas as pd

__all__ = ["DEFAULT_THRESHOLDS", "EVIDENCE_WINDOW_SAMPLES", "MIN_EVIDENCE_SAMPLES", "THRESHOLD_COLUMNS",
           "Threshold", "Thresholds", "thresholds_frame"]

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
        """The label shown in reasons (the metric when no label is set)."""
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

#: a threshold table: a sequence of :class:`Threshold` or its :func:`thresholds_frame` form
Thresholds: TypeAlias = Sequence[Threshold] | pd.DataFrame

THRESHOLD_COLUMNS = ("metric", "warn", "poor", "unit", "direction", "label", "kinds", "only_where_missing",
                     "source")


def thresholds_frame(thresholds: Thresholds | None = None) -> pd.DataFrame:
    """The threshold table as a DataFrame (one row per metric), for display or editing; ``None`` means
    :data:`DEFAULT_THRESHOLDS`.

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


def _as_thresholds(thresholds: Thresholds | None) -> tuple[Threshold, ...]:
    """The table as a tuple of :class:`Threshold` (``None``: the default table)."""
    if thresholds is None:
        return DEFAULT_THRESHOLDS
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
