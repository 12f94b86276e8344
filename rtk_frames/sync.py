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

import dataclasses
import datetime as dt
import functools
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from rtk_frames._display import summary_repr
from rtk_frames.analysis import analyse, fleet_participant_table, fleet_session_table
from rtk_frames.analysis.thresholds import Thresholds
from rtk_frames.errors import AuthenticationError, RTKError
from rtk_frames.progress import RateAwareProgress
from rtk_frames.session import DEFAULT_WORKERS, map_concurrently

if TYPE_CHECKING:
    from rtk_frames.client import Client

FLEET_SCOPE_NOTE = ("fleet pulls read participant details only (no per-peer reports): verdicts use the "
                    "quality score, jitter, segment-average loss and frame rate; RTT and MOS need a "
                    "single-session report; breakout rooms are not pulled (rtk-frames sync "
                    "--breakout-rooms keeps them)")
EMPTY_WINDOW_NOTE = "no session started in this window: nothing to analyse"

# map_concurrently and DEFAULT_WORKERS live in rtk_frames.session (fetching); named here for old imports
__all__ = ["DEFAULT_WORKERS", "FleetData", "fetch_fleet", "fleet_tables", "map_concurrently"]

@dataclass
class FleetData:
    """What a fleet report needs: the sessions, every participant's details and quality samples.

    ``participants`` holds ``participant_frame`` rows (device, network). ``participant_table`` (one row per
    participant with device/network columns, ``quality_mean`` and a verdict) and ``session_table`` (one
    row per session) are filled by :func:`fleet_tables`, which returns a new ``FleetData``.

    ``has_raw_frames`` is ``False`` when the raw frames (``participants``, ``quality_stats``,
    ``quality_segments``) were never loaded: an out-of-core analysis of a dataset
    (:meth:`rtk_frames.dataset.fleet.FleetSummary.fleet_data`) keeps them in the dataset and leaves them
    empty here, so :meth:`frames` (what the fleet report writes) leaves them out.

    Example:
        >>> import pandas as pd
        >>> sorted(FleetData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
        ...                  has_raw_frames=False).frames())
        ['participant_table', 'session_table', 'sessions']
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
    has_raw_frames: bool = True
    #: sessions a pull could not fetch (an error after retries): session id -> why; also in ``data_gaps``
    skipped_sessions: dict[str, str] = field(default_factory=dict)

    __repr__ = summary_repr  # a frame's shape per line, not every frame in full

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame it holds by the name the fleet report writes it under (the raw frames only when
        ``has_raw_frames``: an empty file must not stand for data that was never loaded)."""
        raw = {"participant_details": self.participants, "quality_stats": self.quality_stats,
               "quality_segments": self.quality_segments} if self.has_raw_frames else {}
        return {"sessions": self.sessions, **raw, "participant_table": self.participant_table,
                "session_table": self.session_table}


def fetch_fleet(
    client: Client,
    *,
    start_time: str | dt.datetime | dt.date | None = None,
    end_time: str | dt.datetime | dt.date | None = None,
    max_sessions: int | None = None,
    progress: bool = True,
    thresholds: Thresholds | None = None,
    workers: int = DEFAULT_WORKERS,
) -> FleetData:
    """Pull the sessions that started in ``[start_time, end_time)`` (UTC; dates mean midnight) and, per
    session, every participant's details and quality samples (``workers`` calls at a time), with a tqdm
    progress bar over sessions. A window with no session gives an empty ``FleetData`` that says so in
    ``data_gaps`` (and, with ``progress``, on stderr instead of a bar); a session that fails (an error
    after retries; not a rejected token, which raises) is left out, with why, in ``skipped_sessions``
    and ``data_gaps``; a start after the end raises ``ValueError``; ``thresholds=None`` means the
    default table.

    Example:
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> with serve(Dataset.from_samples()) as api:
        ...     fleet = fetch_fleet(api.client(), max_sessions=1, progress=False)
        >>> len(fleet.sessions)
        1
    """
    from rtk_frames import fetch
    from rtk_frames.dataset.sync import list_sessions, utc_window
    from rtk_frames.frames.participants import participant_frame
    from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame

    start, end = utc_window(start_time, end_time, names=("start_time", "end_time"))
    sessions = list_sessions(client, start, end)
    if max_sessions is not None:
        sessions = sessions.head(max_sessions)
    gaps: list[str] = [FLEET_SCOPE_NOTE] if len(sessions) else [EMPTY_WINDOW_NOTE]
    if progress and not len(sessions):  # nothing to fetch: the note, not a "0/0" bar
        print(EMPTY_WINDOW_NOTE, file=sys.stderr, flush=True)
    people, stats, segments = [], [], []
    skipped: dict[str, str] = {}
    limiter = getattr(client, "rate_limiter", None)  # the bar shows its waits and counts them in the ETA
    with RateAwareProgress(len(sessions), limiter=limiter, disable=not progress) as bar:
        for session_id in sessions["session_id"].tolist():
            try:
                participants = fetch.fetch_participants(client, session_id)
                payloads = map_concurrently(
                    functools.partial(client.get_session_participant_details, session_id),
                    participants["participant_id"].dropna().unique().tolist(), workers=workers)
            except AuthenticationError:
                raise
            except RTKError as exc:
                skipped[session_id] = f"{type(exc).__name__}: {exc}"
                gaps.append(f"session {session_id}: skipped ({skipped[session_id]})")
                continue
            finally:
                bar.update()
            people.append(participant_frame(payloads, session_id=session_id))
            stats.append(quality_stats_frame(payloads, session_id=session_id))
            segments.append(quality_segments_frame(payloads, session_id=session_id))
    fleet = FleetData(
        sessions=sessions,
        participants=pd.concat(people, ignore_index=True) if people else participant_frame([]),
        quality_stats=pd.concat(stats, ignore_index=True) if stats else quality_stats_frame([]),
        quality_segments=pd.concat(segments, ignore_index=True) if segments else quality_segments_frame([]),
        start_time=start, end_time=end, data_gaps=gaps, source=getattr(client, "base_url", ""),
        skipped_sessions=skipped,
    )
    return fleet_tables(fleet, thresholds)


def fleet_tables(fleet: FleetData, thresholds: Thresholds | None = None) -> FleetData:
    """A copy of ``fleet`` with ``participant_table`` and ``session_table`` filled from its frames by the
    one analysis pipeline (:func:`rtk_frames.analyse`); pure: no network, ``fleet`` is not changed.

    Example:
        >>> import pandas as pd
        >>> empty = pd.DataFrame({"participant_id": pd.Series(dtype="str"),
        ...                       "session_id": pd.Series(dtype="str")})
        >>> sessions = pd.DataFrame({"session_id": ["s"],
        ...                          "started_at": [pd.Timestamp("2026-01-01", tz="UTC")]})
        >>> fleet = FleetData(sessions, empty, pd.DataFrame(), pd.DataFrame())
        >>> fleet_tables(fleet).session_table["participants"].tolist(), len(fleet.session_table)
        ([0], 0)
    """
    analysis = analyse(fleet, thresholds=thresholds)
    participant_table = fleet_participant_table(analysis, fleet.sessions)
    session_table = fleet_session_table(participant_table, fleet.sessions)
    return dataclasses.replace(fleet, participant_table=participant_table, session_table=session_table)
