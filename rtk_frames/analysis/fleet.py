"""Fleet summaries: one row per participant and per session across many sessions, quality broken down
by a dimension (browser, OS, …), sessions per day, the worst rows.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"browser": ["Chrome", "Safari"], "quality_mean": [80.0, 30.0],
    ...                   "verdict": ["good", "poor"]})
    >>> quality_by(t, "browser")["browser"].tolist()
    ['Safari', 'Chrome']
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from rtk_frames.analysis.aggregates import quality_by_aggregate, sessions_per_day_aggregate, worst_aggregate
from rtk_frames.analysis.pipeline import Analysis
from rtk_frames.analysis.samples import _col
from rtk_frames.analysis.verdict import participant_summary

__all__ = ["FLEET_DIMENSIONS", "FLEET_PARTICIPANT_COLUMNS", "fleet_participant_table", "fleet_session_table",
           "quality_by", "sessions_per_day", "worst"]
#: the participant columns a fleet table keeps (plus the pooled quality, the verdict and the cause)
FLEET_PARTICIPANT_COLUMNS = (
    "participant_id", "session_id", "display_name", "joined_at", "left_at", "duration", "device_info_browser",
    "device_info_browser_version", "device_info_os", "device_info_os_version", "device_info_is_mobile",
    "device_info_sdk_name", "device_info_sdk_version", "precall_network_information_effective_network_type",
    "precall_network_information_rtt", "ip_information_country")
#: the dimensions the fleet report breaks quality down by: participant-table column -> label
FLEET_DIMENSIONS = {
    "device_info_browser": "browser",
    "device_info_os": "OS",
    "device_info_sdk_version": "SDK version",
    "precall_network_information_effective_network_type": "network type",
    "ip_information_country": "country",
}
_SESSION_COLUMNS = ("session_id", "meeting_display_name", "started_at", "ended_at", "minutes_consumed",
                    "max_concurrent_participants")


def fleet_participant_table(analysis: Analysis, sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per participant across many sessions: who, device and network, quality pooled over audio
    and video (``quality_mean``, ``quality_p10``, ``n_samples``), verdict, reasons, likely cause and, with
    ``sessions`` (``sessions_frame``), the meeting's name.

    Example:
        >>> from rtk_frames.analysis import analyse
        >>> qs = pd.DataFrame({"participant_id": ["p"] * 3, "kind": ["audio"] * 3,
        ...                    "quality": [80.0, 90.0, 70.0]})
        >>> table = fleet_participant_table(analyse(qs))
        >>> table[["participant_id", "quality_mean", "verdict"]].values.tolist()
        [['p', 80.0, 'good']]
    """
    people = analysis.participants
    keep = [c for c in (*FLEET_PARTICIPANT_COLUMNS, "verdict", "reasons", "cause", "evidence")
            if c in people.columns]
    table = people[keep]
    pooled = participant_summary(analysis.samples, by=("participant_id",))
    table = table.merge(pooled[["participant_id", "quality_mean", "quality_p10", "n_samples"]].astype(
        {"participant_id": "str"}), on="participant_id", how="left")
    if sessions is not None and {"session_id", "meeting_display_name"} <= set(sessions.columns) \
            and "session_id" in table.columns:
        meetings = sessions[["session_id", "meeting_display_name"]].drop_duplicates("session_id")
        table = table.merge(meetings.astype({"session_id": "str"}), on="session_id", how="left")
    return table.reset_index(drop=True)


def fleet_session_table(participant_table: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per session of ``sessions`` (``sessions_frame``): its name, times and minutes, how many
    participants it had, their mean quality and the share of them with a poor verdict. An empty
    ``sessions`` gives an empty table with the same columns.

    Example:
        >>> sessions = pd.DataFrame({"session_id": ["s1", "s2"]})
        >>> people = pd.DataFrame({"session_id": ["s1", "s1"], "participant_id": ["a", "b"],
        ...                        "quality_mean": [80.0, 40.0], "verdict": ["good", "poor"]})
        >>> fleet_session_table(people, sessions)[["participants", "poor_share"]].values.tolist()
        [[2.0, 0.5], [0.0, nan]]
    """
    keep = [c for c in _SESSION_COLUMNS if c in sessions.columns]
    table = sessions[keep].astype({"session_id": "str"}) if "session_id" in keep else \
        pd.DataFrame({"session_id": pd.Series(dtype="str")})
    people = participant_table
    if len(people) and {"session_id", "participant_id"} <= set(people.columns):
        verdict = people["verdict"] if "verdict" in people.columns else pd.Series(pd.NA, index=people.index)
        quality = _col(people, "quality_mean")
        marked = pd.DataFrame({"session_id": people["session_id"].astype("str"),
                               "participant_id": people["participant_id"], "quality_mean": quality,
                               "_poor": (verdict == "poor").astype("float64")})
        per_session = marked.groupby("session_id").agg(
            participants=("participant_id", "nunique"), quality_mean=("quality_mean", "mean"),
            poor_share=("_poor", "mean")).reset_index()
    else:
        per_session = pd.DataFrame({"session_id": pd.Series(dtype="str"),
                                    "participants": pd.Series(dtype="int64"),
                                    "quality_mean": pd.Series(dtype="float64"),
                                    "poor_share": pd.Series(dtype="float64")})
    table = table.merge(per_session, on="session_id", how="left")
    table = table.assign(participants=table["participants"].fillna(0).astype("int64"))
    return table.reset_index(drop=True)


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
    return quality_by_aggregate(by, value=value, verdict_column=verdict_column)(table)


def sessions_per_day(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions, minutes and peak participants per UTC day, from ``sessions_frame``.

    Example:
        >>> import pandas as pd
        >>> s = pd.DataFrame({"started_at": pd.to_datetime(["2026-01-01T09:00Z", "2026-01-01T15:00Z"]),
        ...                   "minutes_consumed": [10.0, 5.0], "max_concurrent_participants": [3, 4]})
        >>> sessions_per_day(s).loc[0, "sessions"].item(), sessions_per_day(s).loc[0, "minutes"].item()
        (2, 15.0)
    """
    return sessions_per_day_aggregate()(sessions)


def worst(
    table: pd.DataFrame, n: int = 10, *, by: str = "quality_mean", ascending: bool = True
) -> pd.DataFrame:
    """The ``n`` worst rows (sessions or participants) by a column; lower is worse unless ``ascending=False``.

    Example:
        >>> import pandas as pd
        >>> worst(pd.DataFrame({"id": ["a", "b"], "quality_mean": [80.0, 20.0]}), 1)["id"].tolist()
        ['b']
    """
    return worst_aggregate(n, by=by, ascending=ascending)(table)

