"""The fleet analysis on the dataset: out of core, on Dask, from the CLI without the network — and the
same numbers as the in-memory pandas path, a live pull of the same sandbox data, and DuckDB SQL."""

from __future__ import annotations

import itertools
import socket

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtk_frames as rtk
from rtk_frames.analysis import FLEET_DIMENSIONS, quality_by, quality_by_aggregate, sessions_per_day, worst
from rtk_frames.analysis.aggregates import sessions_per_day_aggregate, worst_aggregate
from rtk_frames.cli import main
from rtk_frames.dataset.fleet import analyse_dataset, fleet_batches, fleet_summary
from rtk_frames.sandbox import Dataset, serve
from rtk_frames.sync import FleetData, fetch_fleet, fleet_tables

COMPARED = ["participant_id", "session_id", "verdict", "reasons", "cause", "quality_mean", "quality_p10",
            "n_samples", "device_info_browser", "device_info_os"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A synced dataset and a live pull of the same sandbox data (then the sandbox is gone)."""
    root = tmp_path_factory.mktemp("fleet")
    data = Dataset.synthetic(sessions=9, participants=3, samples=12, seed=5)
    with serve(data) as api:
        rtk.sync_dataset(api.client(max_retries=0), root, progress=False)
        live = fetch_fleet(api.client(max_retries=0), progress=False)
    ended = set(live.sessions.loc[live.sessions["status"] == "ENDED", "session_id"])
    assert 0 < len(ended) < len(live.sessions)  # the synthetic data has a LIVE session: the dataset skips it
    return root, live, ended


def _ended(fleet: FleetData, ended: set[str]) -> FleetData:
    """The live pull restricted to ended sessions (the dataset keeps a LIVE session's listing row only)."""
    keep = lambda frame: frame[frame["session_id"].isin(ended)]  # noqa: E731
    return fleet_tables(FleetData(keep(fleet.sessions), keep(fleet.participants), keep(fleet.quality_stats),
                                  keep(fleet.quality_segments)))


def _people(table: pd.DataFrame, sessions: set[str] | None = None) -> pd.DataFrame:
    if sessions is not None:
        table = table[table["session_id"].isin(sessions)]
    out = table[COMPARED].astype({"n_samples": "float64"})
    return out.sort_values("participant_id", ignore_index=True)


def _assert_same_summary(a, b) -> None:
    pd.testing.assert_frame_equal(_people(a.participant_table), _people(b.participant_table),
                                  check_dtype=False, rtol=1e-9)
    for column in FLEET_DIMENSIONS:
        pd.testing.assert_frame_equal(a.quality_by[column], b.quality_by[column], check_dtype=False,
                                      rtol=1e-9)
    pd.testing.assert_frame_equal(a.sessions_per_day, b.sessions_per_day, check_dtype=False)
    tables = [t.sort_values("session_id", ignore_index=True)[["session_id", "participants", "quality_mean",
                                                               "poor_share"]] for t in (a.session_table,
                                                                                        b.session_table)]
    pd.testing.assert_frame_equal(*tables, check_dtype=False, rtol=1e-9)
    assert a.worst_participants["quality_mean"].tolist() == pytest.approx(
        b.worst_participants["quality_mean"].tolist(), nan_ok=True)


# ------------------------------------------------------------------------- one definition per aggregate

tables = st.lists(st.tuples(st.sampled_from(["Chrome", "Safari", None]),
                            st.one_of(st.none(), st.integers(0, 100).map(float)),
                            st.sampled_from(["good", "warn", "poor", None])), max_size=40)


@settings(max_examples=60, deadline=None)
@given(rows=tables, cuts=st.lists(st.integers(0, 40), max_size=4))
def test_aggregates_over_any_split_equal_the_in_memory_result(rows, cuts):
    table = pd.DataFrame(rows, columns=["browser", "quality_mean", "verdict"]).astype(
        {"browser": "str", "quality_mean": "float64", "verdict": "str"})
    bounds = [0, *sorted(c for c in cuts if c <= len(table)), len(table)]
    pieces = [table.iloc[lo:hi] for lo, hi in itertools.pairwise(bounds)]
    agg = quality_by_aggregate("browser")
    pd.testing.assert_frame_equal(agg.over(pieces), quality_by(table, "browser"), rtol=1e-12)
    # the old in-memory definition (pandas groupby) as an oracle: same numbers
    if len(table):
        keyed = table.assign(browser=table["browser"].fillna("(unknown)"),
                             _poor=(table["verdict"] == "poor").astype("float64"))
        oracle = keyed.groupby("browser").agg(participants=("quality_mean", "size"),
                                              mean=("quality_mean", "mean"),
                                              median=("quality_mean", "median"),
                                              poor_share=("_poor", "mean"))
        got = agg(table).set_index("browser").loc[oracle.index]
        pd.testing.assert_frame_equal(got, oracle, check_dtype=False, rtol=1e-12)
    picked = worst_aggregate(3).over(pieces)
    assert picked["quality_mean"].tolist() == pytest.approx(
        worst(table, 3)["quality_mean"].tolist(), nan_ok=True)


def test_sessions_per_day_merges_partials_by_day():
    s = pd.DataFrame({"started_at": pd.to_datetime(["2026-01-01T09:00Z", "2026-01-01T15:00Z",
                                                    "2026-01-02T01:00Z"]),
                      "minutes_consumed": [10.0, 5.0, 1.0], "max_concurrent_participants": [3, 7, 2]})
    split = sessions_per_day_aggregate().over([s.iloc[:1], s.iloc[1:]])
    pd.testing.assert_frame_equal(split, sessions_per_day(s))
    assert split[["sessions", "minutes", "max_concurrent_participants"]].values.tolist() == [
        [2, 15.0, 7.0], [1, 1.0, 2.0]]


# ------------------------------------------------------------------------------- out of core vs pandas

def test_out_of_core_equals_the_in_memory_pandas_path_and_the_live_pull(fleet):
    root, live, ended = fleet
    batches = fleet_batches(root, max_batch_rows=40)
    assert len(batches) > len({b.day for b in batches}) > 1  # days split into session groups
    out_of_core = analyse_dataset(root, max_batch_rows=40)
    assert out_of_core.batches == len(batches)
    ds = rtk.open_dataset(root)
    in_memory = fleet_summary(fleet_tables(FleetData(
        ds.table("sessions"), ds.table("participant_details"), ds.table("quality_stats"),
        ds.table("quality_segments"))))
    _assert_same_summary(out_of_core, in_memory)
    # the live pull of the same sandbox data: the same participants, verdicts and numbers
    from_live = fleet_summary(_ended(live, ended))
    pd.testing.assert_frame_equal(_people(out_of_core.participant_table),
                                  _people(from_live.participant_table), check_dtype=False, rtol=1e-9)
    assert set(out_of_core.sessions["session_id"]) == set(live.sessions["session_id"])  # LIVE row kept
    assert len(out_of_core.participant_table) == len(live.participant_table[
        live.participant_table["session_id"].isin(ended)])


def test_a_window_keeps_only_sessions_started_inside(fleet):
    root, live, _ = fleet
    days = sorted(pd.to_datetime(live.sessions["started_at"], utc=True).dt.floor("D").unique())
    first = analyse_dataset(root, start=days[0], end=days[1])
    started = pd.to_datetime(first.sessions["started_at"], utc=True)
    assert len(first.sessions) and (started < days[1]).all()
    assert set(first.participant_table["session_id"]) <= set(first.sessions["session_id"])
    assert len(analyse_dataset(root, start="2000-01-01", end="2000-01-02").participant_table) == 0
    with pytest.raises(ValueError, match="must be after start"):  # reversed: an error, not an empty fleet
        analyse_dataset(root, start=days[1], end=days[0])


def test_sql_in_duckdb_gives_the_same_aggregates(fleet):
    root, _, _ = fleet
    summary = analyse_dataset(root)
    ds = rtk.open_dataset(root)
    per_day = ds.sql("SELECT date_trunc('day', started_at) AS day, count(*) AS sessions, "
                     "sum(minutes_consumed) AS minutes, max(max_concurrent_participants) AS peak "
                     "FROM sessions GROUP BY 1 ORDER BY 1")
    assert per_day["sessions"].tolist() == summary.sessions_per_day["sessions"].tolist()
    assert per_day["minutes"].tolist() == pytest.approx(summary.sessions_per_day["minutes"].tolist())
    people = summary.participant_table  # noqa: F841  (DuckDB reads the local frame by name)
    by_browser = ds.duckdb.execute(
        "SELECT coalesce(device_info_browser, '(unknown)') AS device_info_browser, count(*) AS participants, "
        "avg(quality_mean) AS mean, median(quality_mean) AS median, "
        "avg(CASE WHEN verdict = 'poor' THEN 1.0 ELSE 0.0 END) AS poor_share "
        "FROM people GROUP BY 1").df()
    expected = summary.quality_by["device_info_browser"].set_index("device_info_browser")
    got = by_browser.set_index("device_info_browser").loc[expected.index]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)


# ------------------------------------------------------------------------------------------------ Dask

def test_dask_local_cluster_gives_the_same_numbers(fleet):
    distributed = pytest.importorskip("distributed")
    root, _, _ = fleet
    local = analyse_dataset(root, max_batch_rows=40)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = analyse_dataset(root, max_batch_rows=40, dask_client=client)
        assert len(client.scheduler_info()["workers"]) == 2
    assert on_dask.batches == local.batches > 1
    _assert_same_summary(on_dask, local)


# ------------------------------------------------------------------------------- the report, offline

@pytest.fixture()
def no_network(monkeypatch):
    """Credentials pointing at a closed port, and any new socket connection refused."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok-never-used")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc")
    monkeypatch.setenv("RTK_APP_ID", "app")
    monkeypatch.setenv("RTK_BASE_URL", "http://127.0.0.1:9")

    def refuse(*args, **kwargs):
        raise AssertionError("the dataset report touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_report_from_the_dataset_works_offline_and_matches_a_live_report(fleet, tmp_path, no_network,
                                                                         capsys):
    root, live, ended = fleet
    out = tmp_path / "from-dataset"
    assert main(["report", "--from", "2000-01-01", "--to", "2100-01-01", "--dataset", str(root),
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Fleet call-quality report" in html and "fleet dataset at" in html
    from rtk_frames.report import render_fleet_report

    live_out = tmp_path / "from-live"
    render_fleet_report(_ended(live, ended), live_out)
    mine = pd.read_parquet(out / "participant_table.parquet")
    theirs = pd.read_parquet(live_out / "participant_table.parquet")
    pd.testing.assert_frame_equal(_people(mine), _people(theirs), check_dtype=False, rtol=1e-9)
    sessions = pd.read_parquet(out / "session_table.parquet")
    assert len(sessions) == len(live.sessions)  # the LIVE session's row: listed, no participants yet
    live_sessions = pd.read_parquet(live_out / "session_table.parquet").set_index("session_id")
    mine_ended = sessions.set_index("session_id").loc[live_sessions.index]
    np.testing.assert_allclose(mine_ended["quality_mean"], live_sessions["quality_mean"], rtol=1e-9)
    assert (mine_ended["participants"] == live_sessions["participants"]).all()


LIVE_REPORT_FILES = {"sessions", "participant_details", "quality_stats", "quality_segments",
                     "participant_table", "session_table"}
DATASET_REPORT_FILES = {"sessions", "participant_table", "session_table"}  # the raw tables stay in ROOT


def _parquet_beside(report_dir) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in report_dir.glob("*.parquet")}


def _dataset_report(root, out, start: str, end: str) -> dict[str, pd.DataFrame]:
    """``rtk-frames report --dataset``: the parquet files it wrote beside the report."""
    assert main(["report", "--from", start, "--to", end, "--dataset", str(root), "--out", str(out),
                 "--quiet"]) == 0
    return _parquet_beside(out)


def test_a_dataset_report_writes_only_the_tables_it_had_and_each_holds_its_rows(fleet, tmp_path,
                                                                                no_network):
    root, live, _ = fleet
    out = tmp_path / "from-dataset"
    written = _dataset_report(root, out, "2000-01-01", "2100-01-01")
    assert set(written) == DATASET_REPORT_FILES  # no empty participant_details / quality_* posing as data
    summary = analyse_dataset(root, start="2000-01-01", end="2100-01-01")
    assert len(written["sessions"]) == len(summary.sessions) == len(live.sessions) > 0
    assert len(written["participant_table"]) == len(summary.participant_table) > 0
    assert len(written["session_table"]) == len(summary.session_table)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "participant_details.parquet" not in html and "session_table.parquet" in html
    from rtk_frames.report import render_fleet_report

    live_out = tmp_path / "from-live"  # a live pull had the raw frames: it writes them, with their rows
    render_fleet_report(live, live_out)
    from_live = _parquet_beside(live_out)
    assert set(from_live) == LIVE_REPORT_FILES
    assert len(from_live["quality_stats"]) == len(live.quality_stats) > 0


def test_a_dataset_report_over_an_empty_window_writes_empty_result_tables_only(fleet, tmp_path,
                                                                               no_network):
    root, _, _ = fleet
    out = tmp_path / "empty"
    written = _dataset_report(root, out, "1990-01-01", "1990-02-01")
    assert set(written) == DATASET_REPORT_FILES and not any(len(f) for f in written.values())
    assert "No session started in this window" in (out / "report.html").read_text(encoding="utf-8")


def test_a_dataset_report_says_how_many_of_its_sessions_are_breakout_rooms(tmp_path):
    dataset = Dataset.from_samples()
    rooms = sum(map(len, dataset.breakout_rooms.values()))
    with_rooms, without = tmp_path / "with", tmp_path / "without"
    with serve(dataset) as api:
        rtk.sync_dataset(api.client(), with_rooms, breakout_rooms=True, progress=False)
        rtk.sync_dataset(api.client(), without, progress=False)
    sessions = len(analyse_dataset(with_rooms).sessions)
    _dataset_report(with_rooms, tmp_path / "a", "2000-01-01", "2100-01-01")
    _dataset_report(without, tmp_path / "b", "2000-01-01", "2100-01-01")
    note = f"{rooms} of the {sessions} sessions are breakout rooms"
    assert rooms and note in (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert "breakout rooms (synced" not in (tmp_path / "b" / "report.html").read_text(encoding="utf-8")


def test_report_dataset_needs_a_window(tmp_path, capsys):
    assert main(["report", "--dataset", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "--dataset" in capsys.readouterr().err


def test_the_scale_benchmark_writes_a_dataset_the_analysis_reads(tmp_path):
    """benchmarks/fleet_scale.py at CI size: its generator writes through the dataset's writer and
    schemas, and the out-of-core analysis over it equals the in-memory one."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "fleet_scale.py"
    spec = importlib.util.spec_from_file_location("fleet_scale", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    counts = bench.write_dataset(tmp_path, 4_000, participants=2, samples=20, day_rows=2_000)
    assert counts == {"sessions": 100, "participants": 200, "samples": 4_000, "days": 2}
    summary = analyse_dataset(tmp_path, max_batch_rows=1_000)
    assert summary.batches == 4 and len(summary.participant_table) == 200
    assert set(summary.participant_table["verdict"]) <= {"good", "warn", "poor"}
    ds = rtk.open_dataset(tmp_path)
    whole = fleet_summary(fleet_tables(FleetData(ds.table("sessions"), ds.table("participant_details"),
                                                 ds.table("quality_stats"), ds.table("quality_segments"))))
    _assert_same_summary(summary, whole)
