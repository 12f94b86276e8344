"""Fleet pulls: many sessions' participants and quality samples, with a progress bar.

One ``GET sessions`` listing (paged) for the period, then per session the participants and each
participant's details (device, network, quality samples). A session that fails with a typed API error
(404, 5xx after retries) is skipped and named in ``data_gaps``; an authentication failure stops the pull.

Example:
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     fleet = fetch_fleet(api.client(), progress=False)
    >>> len(fleet.sessions) > 0 and "verdict" in fleet.participant_table.columns
    True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd
from tqdm.auto import tqdm

from rtk_frames.errors import AuthenticationError, RTKError
from rtk_frames.quality import (
    DEFAULT_THRESHOLDS,
    Threshold,
    likely_causes,
    participant_summary,
    poor_intervals,
    quality_samples,
    verdicts,
)

FLEET_SCOPE_NOTE = ("fleet pulls read participant details only (no per-peer reports): verdicts use the "
                    "quality score, jitter, segment-average loss and frame rate; RTT and MOS need a "
                    "single-session report")
T = TypeVar("T")
R = TypeVar("R")

__all__ = ["DEFAULT_WORKERS", "FleetData", "fetch_fleet", "fleet_tables", "map_concurrently"]

DEFAULT_WORKERS = 4  # concurrent API calls: they wait on the network, not the CPU; the Client is thread-safe


def map_concurrently(fn: Callable[[T], R], items: Iterable[T], *, workers: int = DEFAULT_WORKERS) -> list[R]:
    """``[fn(x) for x in items]`` on a small thread pool (for I/O-bound API calls), results in input
    order; the first exception is raised. ``workers=1`` runs in this thread.

    Example:
        >>> map_concurrently(lambda x: x * x, [1, 2, 3])
        [1, 4, 9]
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="rtk-frames") as pool:
        return list(pool.map(fn, items))

PARTICIPANT_COLUMNS = ("participant_id", "session_id", "display_name", "joined_at", "left_at", "duration",
                       "device_info_browser", "device_info_browser_version", "device_info_os",
                       "device_info_os_version", "device_info_is_mobile", "device_info_sdk_name",
                       "device_info_sdk_version", "precall_network_information_effective_network_type",
                       "precall_network_information_rtt", "ip_information_country")


@dataclass
class FleetData:
    """What a fleet report needs: the sessions, every participant's details and quality samples.

    ``participant_table`` (one row per participant with device/network columns, ``quality_mean`` and a
    verdict) and ``session_table`` (one row per session) are computed by :func:`fleet_tables`.
    """

    sessions: pd.DataFrame
    participants: pd.DataFrame
    quality_stats: pd.DataFrame
    quality_segments: pd.DataFrame
    start_time: Any = None
    end_time: Any = None
    data_gaps: list[str] = field(default_factory=list)
    source: str = ""
    participant_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    session_table: pd.DataFrame = field(default_factory=pd.DataFrame)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"sessions": self.sessions, "participant_details": self.participants,
                "quality_stats": self.quality_stats, "quality_segments": self.quality_segments,
                "participant_table": self.participant_table, "session_table": self.session_table}


def _as_utc(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def fetch_fleet(
    client: Any,
    *,
    start_time: str | dt.datetime | dt.date | None = None,
    end_time: str | dt.datetime | dt.date | None = None,
    max_sessions: int | None = None,
    progress: bool = True,
    thresholds: Sequence[Threshold] | pd.DataFrame = DEFAULT_THRESHOLDS,
    workers: int = DEFAULT_WORKERS,
) -> FleetData:
    """Pull the sessions that started in ``[start_time, end_time)`` (UTC; dates mean midnight) and, per
    session, every participant's details and quality samples (``workers`` calls at a time), with a tqdm
    progress bar over sessions.

    Example:
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     fleet = fetch_fleet(api.client(), max_sessions=1, progress=False)
        >>> len(fleet.sessions)
        1
    """
    from rtk_frames import fetch
    from rtk_frames.frames.participants import participant_frame
    from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame

    start, end = _as_utc(start_time), _as_utc(end_time)
    sessions = fetch.fetch_sessions(
        client, start_time=start.to_pydatetime() if start is not None else None,
        end_time=end.to_pydatetime() if end is not None else None)
    sessions = _in_window(sessions, start, end)
    if max_sessions is not None:
        sessions = sessions.head(max_sessions)
    gaps: list[str] = [FLEET_SCOPE_NOTE]
    people, stats, segments = [], [], []
    bar = tqdm(sessions["session_id"].tolist(), desc="sessions", unit="session", disable=not progress)
    for session_id in bar:
        try:
            participants = fetch.fetch_participants(client, session_id)
            payloads = map_concurrently(
                lambda pid, sid=session_id: client.get_session_participant_details(sid, pid),
                participants["participant_id"].dropna().unique(), workers=workers)
        except AuthenticationError:
            raise
        except RTKError as exc:
            gaps.append(f"session {session_id}: skipped ({type(exc).__name__}: {exc})")
            continue
        people.append(participant_frame(payloads, session_id=session_id))
        stats.append(quality_stats_frame(payloads, session_id=session_id))
        segments.append(quality_segments_frame(payloads, session_id=session_id))
    bar.close()
    fleet = FleetData(
        sessions=sessions,
        participants=pd.concat(people, ignore_index=True) if people else participant_frame([]),
        quality_stats=pd.concat(stats, ignore_index=True) if stats else quality_stats_frame([]),
        quality_segments=pd.concat(segments, ignore_index=True) if segments else quality_segments_frame([]),
        start_time=start, end_time=end, data_gaps=gaps, source=getattr(client, "base_url", ""),
    )
    return fleet_tables(fleet, thresholds)


def _in_window(sessions: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    """Keep the sessions that started in the window (the API's own filter is applied too; this makes the
    period exact whatever the service does with it)."""
    started = pd.to_datetime(sessions["started_at"], utc=True)
    keep = pd.Series(True, index=sessions.index)
    if start is not None:
        keep &= started >= start
    if end is not None:
        keep &= started < end
    return sessions[keep.fillna(False)].reset_index(drop=True)


def fleet_tables(fleet: FleetData,
                 thresholds: Sequence[Threshold] | pd.DataFrame = DEFAULT_THRESHOLDS) -> FleetData:
    """Fill ``participant_table`` and ``session_table`` from the fleet's frames (pure; no network).

    Example:
        >>> import pandas as pd
        >>> empty = pd.DataFrame({"participant_id": pd.Series(dtype="str"),
        ...                       "session_id": pd.Series(dtype="str")})
        >>> sessions = pd.DataFrame({"session_id": ["s"],
        ...                          "started_at": [pd.Timestamp("2026-01-01", tz="UTC")]})
        >>> f = fleet_tables(FleetData(sessions, empty, pd.DataFrame(), pd.DataFrame()))
        >>> f.session_table["participants"].tolist()
        [0]
    """
    samples = quality_samples(fleet.quality_stats, segments=fleet.quality_segments)
    summary = participant_summary(samples, by=("participant_id",))
    intervals = poor_intervals(samples, thresholds)
    verdict_frame = verdicts(samples, thresholds, intervals=intervals)
    causes = likely_causes(verdict_frame, intervals, participants=fleet.participants, samples=samples)
    people = fleet.participants
    cols = [c for c in PARTICIPANT_COLUMNS if c in people.columns]
    table = people[cols] if len(cols) else pd.DataFrame(
        {"participant_id": pd.Series(dtype="str"), "session_id": pd.Series(dtype="str")})
    table = table.astype({"participant_id": "str"})
    table = table.merge(summary[["participant_id", "quality_mean", "quality_p10", "n_samples"]],
                        on="participant_id", how="left")
    table = table.merge(verdict_frame[["participant_id", "verdict", "reasons"]], on="participant_id",
                        how="left")
    table = table.merge(causes, on="participant_id", how="left")
    if "meeting_display_name" in fleet.sessions.columns and "session_id" in table.columns:
        meetings = fleet.sessions[["session_id", "meeting_display_name"]]
        table = table.merge(meetings.drop_duplicates("session_id"), on="session_id", how="left")
    fleet.participant_table = table

    sessions = fleet.sessions
    if len(table):
        marked = table.assign(_poor=(table["verdict"] == "poor").astype("float64"))
        per_session = marked.groupby("session_id").agg(
            participants=("participant_id", "nunique"), quality_mean=("quality_mean", "mean"),
            poor_share=("_poor", "mean"))
    else:
        per_session = pd.DataFrame(columns=["participants", "quality_mean", "poor_share"])
    keep = [c for c in ("session_id", "meeting_display_name", "started_at", "ended_at", "minutes_consumed",
                        "max_concurrent_participants") if c in sessions.columns]
    session_table = sessions[keep].merge(
        per_session, left_on="session_id", right_index=True, how="left")
    session_table = session_table.assign(participants=session_table["participants"].fillna(0).astype("int64"))
    fleet.session_table = session_table.reset_index(drop=True)
    return fleet
