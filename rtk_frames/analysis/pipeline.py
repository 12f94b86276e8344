"""The one analysis pipeline: frames in, an :class:`Analysis` out; the report, the fleet and the notebooks
all use it.

::

    quality_stats / peer_report_series  ->  quality_samples()       one row per sample, units in names
                                        ->  participant_summary()   mean/median/p10 … per participant and kind
                                        ->  poor_intervals()        runs of bad samples, each with a reason
                                        ->  verdicts()              good / warn / poor / insufficient data
                                        ->  likely_causes()         network / device / server-route / unknown
                                        ->  one participant table   who, when, device, network, verdict

Example:
    >>> import pandas as pd
    >>> qs = pd.DataFrame({"participant_id": ["p1"] * 4, "peer_id": ["a"] * 4, "kind": ["audio"] * 4,
    ...                    "timestamp": pd.date_range("2026-01-01", periods=4, freq="7s", tz="UTC"),
    ...                    "quality": [90.0, 20.0, 15.0, 10.0]})
    >>> analyse(qs).verdicts[["participant_id", "verdict"]].values.tolist()
    [['p1', 'poor']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from rtk_frames._display import summary_repr
from rtk_frames.analysis.causes import likely_causes
from rtk_frames.analysis.samples import is_samples, quality_samples
from rtk_frames.analysis.thresholds import Thresholds, _as_thresholds, thresholds_frame
from rtk_frames.analysis.verdict import VERDICT_ORDER, participant_summary, poor_intervals, verdicts

__all__ = ["DETAIL_COLUMNS", "Analysis", "SessionFrames", "analyse", "display_names"]

NO_DATA = "no data"  # the verdict of a participant with no quality samples at all

#: device and network columns of ``participant_frame`` carried into the participant table
DETAIL_COLUMNS = ("device_info_browser", "device_info_browser_version", "device_info_os",
                  "device_info_os_version", "device_info_is_mobile", "device_info_sdk_name",
                  "device_info_sdk_version", "precall_network_information_effective_network_type",
                  "precall_network_information_rtt", "ip_information_country", "ip_information_city")
_BASE_COLUMNS = ("participant_id", "session_id", "display_name", "custom_participant_id", "preset_name",
                 "joined_at", "left_at", "duration")
_PIVOTED = ("quality_mean", "quality_p10", "jitter_ms_mean", "loss_pct_mean", "rtt_ms_mean", "mos_mean",
            "mos_estimated_mean", "fps_median", "n_samples", "frame_width_median", "frame_height_median")


class SessionFrames(Protocol):
    """What :func:`analyse` reads from a whole session (``rtk_frames.Session``) or a fleet pull: the
    quality samples' frames and the participants. Every attribute may be ``None`` except ``participants``;
    ``participant_details`` and ``peer_report_series`` may also be absent."""

    @property
    def participants(self) -> pd.DataFrame: ...

    @property
    def quality_stats(self) -> pd.DataFrame | None: ...

    @property
    def quality_segments(self) -> pd.DataFrame | None: ...


@dataclass(frozen=True, eq=False)
class Analysis:
    """The analysis of one session (or many): every step's frame, computed once by :func:`analyse`.

    Attributes:
        samples: :func:`quality_samples` (one row per sample, units in the column names).
        summary: :func:`participant_summary` per participant and kind.
        intervals: :func:`poor_intervals` (poor and warn runs, each with a reason).
        verdicts: :func:`verdicts`, one row per participant with samples.
        causes: :func:`likely_causes`, one row per poor/warn participant.
        participants: one row per participant (who, when, device/network, per-kind means, verdict —
            ``"no data"`` without samples — reasons, cause), worst verdicts first.
        thresholds: the threshold table used (:func:`thresholds_frame`).
    """

    samples: pd.DataFrame
    summary: pd.DataFrame
    intervals: pd.DataFrame
    verdicts: pd.DataFrame
    causes: pd.DataFrame
    participants: pd.DataFrame
    thresholds: pd.DataFrame

    __repr__ = summary_repr  # a frame's shape per line, not every frame in full

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame by the name it is written under (the report's parquet files).

        Example:
            >>> sorted(analyse(pd.DataFrame()).frames())[:3]
            ['likely_causes', 'participant_summary', 'participant_table']
        """
        return {"quality_samples": self.samples, "participant_summary": self.summary,
                "poor_intervals": self.intervals, "verdicts": self.verdicts, "likely_causes": self.causes,
                "participant_table": self.participants, "thresholds": self.thresholds}


def analyse(
    data: SessionFrames | pd.DataFrame | None = None,
    *,
    thresholds: Thresholds | None = None,
    participants: pd.DataFrame | None = None,
    participant_details: pd.DataFrame | None = None,
    peer_report_series: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
) -> Analysis:
    """Analyse call quality: samples → per-participant summary → poor intervals → verdicts → likely
    causes → one participant table, each computed once. Pure: the inputs are never changed.

    ``data`` is a whole session (:func:`rtk_frames.collect_session`'s ``Session``, or a fleet pull: its
    ``quality_stats``, ``quality_segments``, ``peer_report_series``, ``participants`` and
    ``participant_details`` are read), or one frame: a ``quality_stats_frame``, a
    ``peer_report_series_frame`` or an already converted :func:`quality_samples` frame. The keywords add
    (or, for a session, replace) frames: ``participants`` (``participants_frame`` or ``participant_frame``
    rows: names, join times, device and pre-call network), ``participant_details`` (``participant_frame``),
    ``peer_report_series`` and ``segments`` (``quality_segments_frame``, for segment-average loss).
    ``thresholds=None`` means :data:`~rtk_frames.analysis.DEFAULT_THRESHOLDS`.

    Example:
        >>> import rtk_frames as rtk
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     client = api.client()
        ...     session = rtk.collect_session(client, rtk.fetch_sessions(client)["session_id"][0])
        >>> result = rtk.analyse(session)
        >>> set(result.verdicts["verdict"]) <= {"good", "warn", "poor", "insufficient data"}
        True
    """
    table = _as_thresholds(thresholds)
    quality_stats: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    if isinstance(data, pd.DataFrame):
        if is_samples(data):
            samples = data
        elif "stream" in data.columns:
            peer_report_series = data if peer_report_series is None else peer_report_series
        else:
            quality_stats = data
    elif data is not None:
        quality_stats = data.quality_stats
        segments = data.quality_segments if segments is None else segments
        if peer_report_series is None:
            peer_report_series = getattr(data, "peer_report_series", None)
        if participants is None:
            participants = data.participants
        if participant_details is None:
            participant_details = getattr(data, "participant_details", None)
    if samples is None:
        samples = quality_samples(quality_stats, peer_report_series, segments=segments)
    summary = participant_summary(samples)
    intervals = poor_intervals(samples, table)
    verdict_frame = verdicts(samples, table, intervals=intervals)
    details = participant_details if participant_details is not None else participants
    causes = likely_causes(verdict_frame, intervals, participants=details, samples=samples)
    people = _participant_table(participants, participant_details, summary, verdict_frame, causes)
    return Analysis(samples=samples, summary=summary, intervals=intervals, verdicts=verdict_frame,
                    causes=causes, participants=people, thresholds=thresholds_frame(table))


def display_names(participants: pd.DataFrame | None) -> dict[str, str]:
    """participant id → display name; a name two ids share gets the id's first 4 characters appended.

    Example:
        >>> p = pd.DataFrame({"participant_id": ["p1x", "p2y"], "display_name": ["Ada", "Ada"]})
        >>> display_names(p)
        {'p1x': 'Ada [p1x]', 'p2y': 'Ada [p2y]'}
    """
    if participants is None or not len(participants) or "display_name" not in participants.columns:
        return {}
    pairs = participants[["participant_id", "display_name"]].dropna().drop_duplicates("participant_id")
    ids, names = pairs["participant_id"].astype("str"), pairs["display_name"].astype("str")
    shared = names.duplicated(keep=False)
    labels = names.where(~shared, names + " [" + ids.str[:4] + "]")
    return dict(zip(ids, labels, strict=True))


def _pivot_kind(summary: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    if summary.empty:
        return pd.DataFrame({"participant_id": pd.Series(dtype="str")})
    wide = summary.pivot_table(index="participant_id", columns="kind", values=list(columns), aggfunc="first")
    pairs: list[Any] = wide.columns.to_list()  # (metric, kind) pairs
    wide.columns = pd.Index([f"{kind}_{column}" for column, kind in pairs])
    return wide.reset_index()


def _participant_table(participants: pd.DataFrame | None, details: pd.DataFrame | None,
                       summary: pd.DataFrame, verdict_frame: pd.DataFrame,
                       causes: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: the participants' own columns (and device/network ones, from ``details``
    or from ``participants`` when they are ``participant_frame`` rows), the per-kind summary pivoted
    (``audio_quality_mean`` …), the verdict with its reasons and the likely cause."""
    if participants is None or "participant_id" not in participants.columns:
        known = pd.concat([verdict_frame["participant_id"], summary.get("participant_id", pd.Series())])
        participants = pd.DataFrame({"participant_id": known.dropna().astype("str").unique()})
    base = [c for c in (*_BASE_COLUMNS, *(DETAIL_COLUMNS if details is None else ()))
            if c in participants.columns]
    table = participants[base]
    table = table.assign(participant_id=table["participant_id"].astype("str"))
    if details is not None and len(details) and "participant_id" in details.columns:
        cols = [c for c in DETAIL_COLUMNS if c in details.columns]
        extra = details[["participant_id", *cols]].drop_duplicates("participant_id")
        table = table.merge(extra.astype({"participant_id": "str"}), on="participant_id", how="left")
    wide = _pivot_kind(summary, _PIVOTED)
    table = table.merge(wide, on="participant_id", how="left")
    table = table.merge(verdict_frame[["participant_id", "verdict", "reasons"]], on="participant_id",
                        how="left")
    table = table.merge(causes, on="participant_id", how="left")
    table = table.assign(verdict=table["verdict"].fillna(NO_DATA))
    order = table["verdict"].map(VERDICT_ORDER).fillna(len(VERDICT_ORDER))  # "no data" last
    sort_cols = ["_o", "joined_at"] if "joined_at" in table.columns else ["_o"]
    table = table.assign(_o=order).sort_values(sort_cols, kind="stable").drop(columns="_o")
    return table.reset_index(drop=True)
