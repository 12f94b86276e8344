"""The fleet analysis over a dataset: out of core on one machine, or on a Dask cluster — the same code.

Sessions are independent, so the work splits into **batches of whole sessions** (a day partition, or a
group of one day's sessions when the day holds more than ``max_batch_rows`` quality samples). Each batch
is read from the parquet files alone and turned into a :class:`FleetPartial` by :func:`analyse_batch`:
the one pipeline (:func:`rtk_frames.sync.fleet_tables` → ``analyse``) gives its participant and session
tables, and each fleet aggregate (:mod:`rtk_frames.analysis.aggregates`) its ``chunk``. Partials merge
associatively (:meth:`FleetPartial.merge`) and :meth:`FleetPartial.finish` finalizes them.

- in memory: :func:`fleet_summary` of a ``FleetData`` (a live pull) is one batch;
- out of core: :func:`analyse_dataset` loops over the batches, holding one batch's samples at a time
  plus the result (one row per participant and per session, and the aggregates' small partials);
- on Dask: ``analyse_dataset(root, dask_client=Client("tcp://scheduler:8786"))`` runs the same
  :func:`analyse_batch` on the workers (each reads its batch from ``root``, which must be a path every
  worker sees: shared or object storage) and merges the partials in a tree on the cluster.

Example:
    >>> import tempfile
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> from rtk_frames.dataset.sync import sync_dataset
    >>> root = tempfile.mkdtemp()
    >>> with serve(Dataset.from_samples()) as api:
    ...     _ = sync_dataset(api.client(), root, progress=False)
    >>> result = analyse_dataset(root)
    >>> int(result.sessions_per_day["sessions"].sum()) == len(result.sessions) == len(result.session_table)
    True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.parquet as pq

from rtk_frames._display import summary_repr
from rtk_frames.analysis.aggregates import (
    Aggregate,
    quality_by_aggregate,
    sessions_per_day_aggregate,
    worst_aggregate,
)
from rtk_frames.analysis.fleet import FLEET_DIMENSIONS
from rtk_frames.analysis.thresholds import Thresholds
from rtk_frames.analysis.verdict import VERDICT_ORDER
from rtk_frames.dataset.read import FleetDataset, open_dataset
from rtk_frames.dataset.sync import as_utc, utc_window
from rtk_frames.dataset.tables import EXTRAS_COLUMN, PARTITION_COLUMN, table_schema

if TYPE_CHECKING:
    from rtk_frames.sync import FleetData

__all__ = ["DEFAULT_BATCH_ROWS", "WORST_PARTICIPANTS", "WORST_SESSIONS", "FleetBatch", "FleetPartial",
           "FleetSummary", "analyse_batch", "analyse_dataset", "dataset_report", "fleet_batches",
           "fleet_summary", "sessions_without_details"]

DEFAULT_BATCH_ROWS = 1_000_000  # quality samples per batch: ~0.9 GB peak RSS (benchmarks/fleet_scale.py)
WORST_PARTICIPANTS = 20
WORST_SESSIONS = 15
DATASET_SCOPE_NOTE = ("analysed from the dataset's participant details, quality samples and segments (the "
                      "same inputs as a live fleet pull); the raw tables stay in the dataset and are not "
                      "copied beside the report")


def _aggregates() -> dict[str, Aggregate]:
    """Every fleet aggregate by name: the one list the three engines run."""
    found: dict[str, Aggregate] = {f"quality_by:{column}": quality_by_aggregate(column)
                                   for column in FLEET_DIMENSIONS}
    found["worst_participants"] = worst_aggregate(WORST_PARTICIPANTS)
    found["worst_sessions"] = worst_aggregate(WORST_SESSIONS)
    return found


# sessions_per_day reads the sessions table, the others the participant / session tables
_INPUT = {"worst_sessions": "session_table"}


@dataclass
class FleetSummary:
    """The fleet analysis' result: the sessions, one row per participant and per session, and the
    aggregates (``quality_by[column]`` for each of :data:`~rtk_frames.analysis.fleet.FLEET_DIMENSIONS`,
    ``sessions_per_day``, ``worst_participants``, ``worst_sessions``). Made by :func:`analyse_dataset`
    and :func:`fleet_summary`; ``fleet_data()`` turns it into what the fleet report renders.

    Example:
        >>> import tempfile
        >>> summary = analyse_dataset(tempfile.mkdtemp())   # an empty dataset: empty, typed results
        >>> summary.batches, len(summary.participant_table), sorted(summary.quality_by)[:1]
        (0, 0, ['device_info_browser'])
    """

    sessions: pd.DataFrame
    participant_table: pd.DataFrame
    session_table: pd.DataFrame
    sessions_per_day: pd.DataFrame
    quality_by: dict[str, pd.DataFrame]
    worst_participants: pd.DataFrame
    worst_sessions: pd.DataFrame
    batches: int = 1

    __repr__ = summary_repr  # a frame's shape per line, not every frame in full

    def fleet_data(self, *, start: Any = None, end: Any = None, source: str = "",
                   data_gaps: Sequence[str] = (),
                   skipped_sessions: dict[str, str] | None = None) -> FleetData:
        """A ``FleetData`` for :func:`rtk_frames.report.render_fleet_report`: the sessions and the result
        tables; the raw frames were never loaded (``has_raw_frames=False``: left empty, not written)."""
        from rtk_frames.frames.participants import participant_frame
        from rtk_frames.frames.quality import quality_segments_frame, quality_stats_frame
        from rtk_frames.sync import FleetData

        return FleetData(sessions=self.sessions, participants=participant_frame([]),
                         quality_stats=quality_stats_frame([]), quality_segments=quality_segments_frame([]),
                         start_time=start, end_time=end, data_gaps=list(data_gaps), source=source,
                         participant_table=self.participant_table, session_table=self.session_table,
                         has_raw_frames=False, skipped_sessions=dict(skipped_sessions or {}))


@dataclass
class FleetPartial:
    """One or more batches' share of the fleet analysis: its tables (kept as a list of pieces: joined
    once, at the end) and each aggregate's partial.

    Example:
        >>> import tempfile
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> import rtk_frames as rtk
        >>> root = tempfile.mkdtemp()
        >>> with serve(Dataset.from_samples()) as api:
        ...     _ = rtk.sync_dataset(api.client(), root, progress=False)
        >>> parts = [analyse_batch(root, batch) for batch in fleet_batches(root)]
        >>> merged = FleetPartial.merge(parts).finish()
        >>> sessions = rtk.open_dataset(root).table("sessions")
        >>> merged.batches == len(parts), len(merged.sessions) == len(sessions)
        (True, True)
    """

    sessions: list[pd.DataFrame] = field(default_factory=list)
    participant_table: list[pd.DataFrame] = field(default_factory=list)
    session_table: list[pd.DataFrame] = field(default_factory=list)
    partials: dict[str, pd.DataFrame] = field(default_factory=dict)
    batches: int = 0

    @staticmethod
    def of(fleet: FleetData) -> FleetPartial:
        """The partial of one batch whose ``participant_table`` / ``session_table`` are filled."""
        tables = {"sessions": fleet.sessions, "participant_table": fleet.participant_table,
                  "session_table": fleet.session_table}
        partials = {"sessions_per_day": sessions_per_day_aggregate().chunk(fleet.sessions)}
        for name, aggregate in _aggregates().items():
            partials[name] = aggregate.chunk(tables[_INPUT.get(name, "participant_table")])
        return FleetPartial([fleet.sessions], [fleet.participant_table], [fleet.session_table], partials, 1)

    @staticmethod
    def merge(parts: Iterable[FleetPartial]) -> FleetPartial:
        """Partials → one (associative: any order, any tree)."""
        items = [p for p in parts if p.batches]
        if not items:
            return FleetPartial()
        aggregates = {"sessions_per_day": sessions_per_day_aggregate(), **_aggregates()}
        return FleetPartial(
            sessions=[f for p in items for f in p.sessions],
            participant_table=[f for p in items for f in p.participant_table],
            session_table=[f for p in items for f in p.session_table],
            partials={name: agg.merge([p.partials[name] for p in items]) for name, agg in aggregates.items()},
            batches=sum(p.batches for p in items))

    def finish(self) -> FleetSummary:
        """Finalize every aggregate and join the tables."""
        if not self.batches:
            from rtk_frames.sync import FleetData, fleet_tables

            empty = fleet_tables(FleetData(_empty_sessions(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame()))
            return dataclasses.replace(FleetPartial.of(empty).finish(), batches=0)
        aggregates = _aggregates()
        people = _concat(self.participant_table)
        if len(people) and "verdict" in people.columns:  # the pipeline's order: worst verdicts first
            order = people["verdict"].map(VERDICT_ORDER).fillna(len(VERDICT_ORDER))
            keys = ["_o", "joined_at"] if "joined_at" in people.columns else ["_o"]
            people = people.assign(_o=order).sort_values(keys, kind="stable").drop(columns="_o")
        return FleetSummary(
            sessions=_concat(self.sessions), participant_table=people.reset_index(drop=True),
            session_table=_concat(self.session_table),
            sessions_per_day=sessions_per_day_aggregate().finalize(self.partials["sessions_per_day"]),
            quality_by={column: aggregates[f"quality_by:{column}"].finalize(
                self.partials[f"quality_by:{column}"]) for column in FLEET_DIMENSIONS},
            worst_participants=aggregates["worst_participants"].finalize(self.partials["worst_participants"]),
            worst_sessions=aggregates["worst_sessions"].finalize(self.partials["worst_sessions"]),
            batches=self.batches)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame()
    non_empty = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(non_empty, ignore_index=True)


def _empty_sessions() -> pd.DataFrame:
    from rtk_frames.frames.sessions import sessions_frame

    return sessions_frame([])


def fleet_summary(fleet: FleetData) -> FleetSummary:
    """The fleet analysis of an in-memory pull (``fetch_fleet``'s ``FleetData``, tables filled by
    ``fleet_tables``): one batch through the same definitions as :func:`analyse_dataset`.

    Example:
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> from rtk_frames.sync import fetch_fleet
        >>> with serve(Dataset.from_samples()) as api:
        ...     summary = fleet_summary(fetch_fleet(api.client(), progress=False))
        >>> int(summary.sessions_per_day["sessions"].sum()) == len(summary.sessions)
        True
    """
    return FleetPartial.of(fleet).finish()


# ---------------------------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class FleetBatch:
    """A batch of whole sessions: one day partition (``part`` of ``parts`` of its sessions when the day
    is too big for one batch)."""

    day: str
    part: int = 0
    parts: int = 1


def _day_rows(ds: FleetDataset, table: str) -> dict[str, int]:
    rows: dict[str, int] = {}
    for path in ds.files(table):
        day = path.parent.name.removeprefix(f"{PARTITION_COLUMN}=")
        rows[day] = rows.get(day, 0) + pq.ParquetFile(path).metadata.num_rows
    return rows


def fleet_batches(root: str | os.PathLike[str], *, start: Any = None, end: Any = None,
                  max_batch_rows: int = DEFAULT_BATCH_ROWS) -> list[FleetBatch]:
    """The batches of the sessions that started in ``[start, end)``: a day each, split into
    ``ceil(quality samples / max_batch_rows)`` groups of its sessions when it has more (row counts from the
    parquet footers: nothing but metadata is read).

    Example:
        >>> import tempfile
        >>> fleet_batches(tempfile.mkdtemp())
        []
    """
    ds = FleetDataset(root)
    low, high = utc_window(start, end)
    samples = _day_rows(ds, "quality_stats")
    batches: list[FleetBatch] = []
    for day in sorted(_day_rows(ds, "sessions")):
        midnight = pd.Timestamp(day, tz="UTC")
        before = low is not None and midnight + pd.Timedelta(days=1) <= low
        if before or (high is not None and midnight >= high):
            continue
        parts = max(1, math.ceil(samples.get(day, 0) / max(1, max_batch_rows)))
        batches.extend(FleetBatch(day, part, parts) for part in range(parts))
    return batches


def _batch_sessions(ds: FleetDataset, batch: FleetBatch, start: Any, end: Any) -> pd.DataFrame:
    day = dt.date.fromisoformat(batch.day)
    sessions = ds.table("sessions", start=day, end=day + dt.timedelta(days=1))
    started = pd.to_datetime(sessions["started_at"], utc=True)
    keep = pd.Series(True, index=sessions.index)
    low, high = as_utc(start, "start"), as_utc(end, "end")
    if low is not None:
        keep &= started >= low
    if high is not None:
        keep &= started < high
    sessions = sessions[keep.fillna(False)].drop_duplicates("session_id")
    sessions = sessions.sort_values(["started_at", "session_id"], kind="stable").reset_index(drop=True)
    if batch.parts > 1:
        sessions = sessions.iloc[batch.part::batch.parts].reset_index(drop=True)
    return sessions.drop(columns=[EXTRAS_COLUMN], errors="ignore")


def _columns(table: str) -> list[str]:
    return [c for c in table_schema(table).names if c != EXTRAS_COLUMN]


def analyse_batch(root: str | os.PathLike[str], batch: FleetBatch, *, start: Any = None, end: Any = None,
                  thresholds: Thresholds | None = None) -> FleetPartial:
    """One batch's partial: its sessions' rows read from the dataset at ``root`` (partition pruning by
    day, a row filter by session) and analysed by the one pipeline. Runs anywhere ``root`` is readable
    (a Dask worker included).

    Example:
        >>> import tempfile
        >>> analyse_batch(tempfile.mkdtemp(), FleetBatch("2026-01-01")).batches
        1
    """
    from rtk_frames.sync import FleetData, fleet_tables

    ds = FleetDataset(root)
    sessions = _batch_sessions(ds, batch, start, end)
    day = dt.date.fromisoformat(batch.day)
    ids = sessions["session_id"].dropna().astype("str").tolist()

    def read(table: str) -> pd.DataFrame:
        return ds.table(table, start=day, end=day + dt.timedelta(days=1), columns=_columns(table),
                        filters=[("session_id", "in", ids)] if ids else [("session_id", "=", "")])

    fleet = FleetData(sessions=sessions, participants=read("participant_details"),
                      quality_stats=read("quality_stats"), quality_segments=read("quality_segments"))
    return FleetPartial.of(fleet_tables(fleet, thresholds))


def _tree(parts: list[Any], merge: Any, fan_in: int = 8) -> Any:
    while len(parts) > 1:
        parts = [merge(parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def analyse_dataset(root: str | os.PathLike[str], *, start: Any = None, end: Any = None,
                    thresholds: Thresholds | None = None, max_batch_rows: int = DEFAULT_BATCH_ROWS,
                    dask_client: Any = None) -> FleetSummary:
    """The fleet analysis of the sessions in the dataset at ``root`` that started in ``[start, end)``
    (UTC), out of core: batch by batch (:func:`fleet_batches`), so memory is bounded by one batch plus
    the result. With ``dask_client`` (a ``dask.distributed.Client``) the batches run on its workers and
    their partials merge in a tree on the cluster; the numbers are the same.

    Example:
        >>> import tempfile
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> import rtk_frames as rtk
        >>> root = tempfile.mkdtemp()
        >>> with serve(Dataset.from_samples()) as api:
        ...     _ = rtk.sync_dataset(api.client(), root, progress=False)
        >>> summary = analyse_dataset(root)
        >>> verdicts = {"good", "warn", "poor", "insufficient data", "no data"}
        >>> set(summary.participant_table["verdict"]) <= verdicts
        True
    """
    path = open_dataset(root).root  # finishes a killed sync's commit first, as every reader does
    batches = fleet_batches(path, start=start, end=end, max_batch_rows=max_batch_rows)
    options = {"start": start, "end": end, "thresholds": thresholds}
    if dask_client is None:
        partial = FleetPartial()
        for batch in batches:
            partial = FleetPartial.merge([partial, analyse_batch(path, batch, **options)])
        return partial.finish()
    futures = dask_client.map(analyse_batch, [str(path)] * len(batches), batches, pure=False,
                              **options)
    if not futures:
        return FleetPartial().finish()
    final = _tree(futures, lambda group: dask_client.submit(_merge_list, group, pure=False))
    return dask_client.submit(FleetPartial.finish, final, pure=False).result()


def _merge_list(parts: list[FleetPartial]) -> FleetPartial:
    return FleetPartial.merge(parts)


def _rooms_among(root: str | os.PathLike[str], sessions: pd.DataFrame) -> int:
    """How many of ``sessions`` are breakout rooms (the dataset's ``breakout_rooms`` table names them)."""
    if not len(sessions):
        return 0
    rooms = FleetDataset(root).table("breakout_rooms", columns=["session_id"])
    return int(sessions["session_id"].astype("str").isin(set(rooms["session_id"].astype("str"))).sum())


def sessions_without_details(root: str | os.PathLike[str],
                             sessions: pd.DataFrame) -> tuple[dict[str, str], int]:
    """Of ``sessions`` (a window's ``sessions`` rows), those whose participants the dataset lacks by its
    sync state's own account: ``{session_id: why}`` of those whose last sync failed before their
    participant details were stored, and how many were live when last synced.

    Example:
        >>> import tempfile
        >>> sessions_without_details(tempfile.mkdtemp(), pd.DataFrame({"session_id": ["s1"]}))
        ({}, 0)
    """
    from rtk_frames.dataset.state import STATE_FILE, KnownSessions

    ids = sessions["session_id"].dropna().astype("str").tolist() if "session_id" in sessions.columns else []
    if not ids or not (Path(root) / STATE_FILE).exists():  # (parquet files copied without their state)
        return {}, 0
    with KnownSessions(root) as known:
        known.preload(ids)
        states = [state for state in map(known.get, ids) if state is not None]
    failed = {state.session_id: state.error or "no reason was kept" for state in states
              if state.status == "failed" and "core" not in state.parts}
    return failed, sum(state.status == "live" for state in states)


def dataset_report(root: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, start: Any = None,
                   end: Any = None, thresholds: Thresholds | None = None, dask_client: Any = None) -> Path:
    """Write the fleet report (``out_dir/report.html``) of the sessions in the dataset at ``root`` that
    started in ``[start, end)``, from the parquet files alone: no network. The analysis runs out of core
    (or on ``dask_client``'s cluster). Beside the report go ``sessions.parquet`` (the sessions of the
    window), ``participant_table.parquet`` and ``session_table.parquet`` (the analysis' result); the raw
    tables (participant details, quality stats and segments) stay in the dataset and are not written (a
    live report, :func:`rtk_frames.sync.fetch_fleet`, writes them too: it has them in memory).

    Example:
        >>> import tempfile
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> import rtk_frames as rtk
        >>> root = tempfile.mkdtemp()
        >>> with serve(Dataset.from_samples()) as api:
        ...     _ = rtk.sync_dataset(api.client(), root, progress=False)
        >>> dataset_report(root, tempfile.mkdtemp()).name   # the sandbox is gone: the files suffice
        'report.html'
    """
    from rtk_frames.report import render_fleet_report
    from rtk_frames.sync import EMPTY_WINDOW_NOTE

    summary = analyse_dataset(root, start=start, end=end, thresholds=thresholds, dask_client=dask_client)
    gaps = [DATASET_SCOPE_NOTE if len(summary.sessions) else EMPTY_WINDOW_NOTE]
    rooms = _rooms_among(root, summary.sessions)
    if rooms:
        gaps.append(f"{rooms} of the {len(summary.sessions)} sessions are breakout rooms (synced with "
                    "--breakout-rooms): each room is counted as a session of its own")
    left_out, live = sessions_without_details(root, summary.sessions)
    gaps += [f"session {session_id}: left out: its last sync failed before its participants were stored "
             f"({why}); the next sync tries it again" for session_id, why in left_out.items()]
    if live:
        were = "was" if live == 1 else "were"
        gaps.append(f"{live} of the {len(summary.sessions)} sessions {were} live when last synced: only the "
                    "listing row is stored until a sync after the session ends")
    fleet = summary.fleet_data(start=as_utc(start, "start"), end=as_utc(end, "end"),
                               source=f"the fleet dataset at {root}", data_gaps=gaps,
                               skipped_sessions=left_out)
    return render_fleet_report(fleet, Path(out_dir), thresholds=thresholds)
