"""The kept fleet dataset: sync_dataset / open_dataset / compaction, through the sandbox over real HTTP.

Request counts come from the sandbox's own request log, not from the client's counters.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import rtk_frames as rtk
from rtk_frames.dataset import TABLES, compact_dataset
from rtk_frames.dataset import batch as batch_module
from rtk_frames.dataset import state as state_module
from rtk_frames.dataset import sync as sync_module
from rtk_frames.dataset.state import (
    STAGING_DIR,
    STATE_FILE,
    DatasetLockedError,
    KnownSessions,
    StateStore,
    root_lock,
)
from rtk_frames.dataset.tables import table_schema
from rtk_frames.sandbox import Dataset, Faults, serve

REPO = Path(__file__).resolve().parents[1]


def synthetic(sessions: int = 5, participants: int = 2, samples: int = 4, seed: int = 11) -> Dataset:
    return Dataset.synthetic(sessions=sessions, participants=participants, samples=samples, seed=seed)


def endpoints(api) -> Counter:
    return Counter(record.endpoint for record in api.request_log)


def sync(api, root, **options):
    options.setdefault("progress", False)
    return rtk.sync_dataset(api.client(max_retries=0), root, **options)


def read_table(root: Path, table: str) -> pd.DataFrame:
    """A table as a plain directory reader sees it (pyarrow + hive), sorted, without the extras column."""
    files = sorted(str(p) for p in (root / table).glob("date=*/*.parquet"))
    if not files:
        return pd.DataFrame(columns=table_schema(table).names)
    data = pads.dataset(files, format="parquet", partitioning="hive",
                        partition_base_dir=str(root / table)).to_table()
    frame = data.to_pandas()
    return frame.sort_values(list(frame.columns), ignore_index=True, key=lambda c: c.astype("str"))


def ended(ds: Dataset) -> list[dict]:
    return [s for s in ds.sessions if s["status"] == "ENDED"]


# ------------------------------------------------------------------------------------------ first sync


def test_sync_writes_every_table_partitioned_by_start_day_with_the_declared_schema(tmp_path):
    ds = with_rooms()
    rooms = rooms_of_ended(ds)
    fetched = [s["id"] for s in ended(ds)] + list(rooms)
    with serve(ds) as api:
        summary = sync(api, tmp_path, chat=True, transcripts=True, breakout_rooms=True)
    assert summary.failed == 0 and summary.new == len(fetched)
    assert summary.live == len(ds.sessions) - len(ended(ds))
    for table in TABLES:
        files = sorted((tmp_path / table).glob("date=*/*.parquet"))
        assert files, table
        for path in files:
            assert pq.read_schema(path).remove_metadata().equals(table_schema(table)), path
    days = {s["id"]: s["started_at"][:10] for s in ds.sessions}
    days |= {room["id"]: room["started_at"][:10] for rooms in ds.breakout_rooms.values() for room in rooms}
    sessions = read_table(tmp_path, "sessions")
    assert sorted(sessions["session_id"]) == sorted([s["id"] for s in ds.sessions] + list(rooms))  # LIVE too
    for table in TABLES:  # every row sits in its session's start-day partition
        frame = read_table(tmp_path, table)
        assert (frame["date"].astype("str") == frame["session_id"].map(days)).all(), table
    participants = read_table(tmp_path, "participants")
    expected = sum(len(ds.participants[s]) for s in fetched)
    assert len(participants) == expected and len(read_table(tmp_path, "participant_details")) == expected
    assert len(read_table(tmp_path, "peer_reports")) == expected
    samples = sum(len(seg["audio_stats"]) + len(seg["video_stats"])
                  for s in fetched for row in ds.participants[s]
                  for seg in ds.details[row["id"]]["quality_stats"])
    assert len(read_table(tmp_path, "quality_stats")) == samples
    assert summary.rows["quality_stats"] == samples
    assert not any((tmp_path / STAGING_DIR).iterdir())


def test_requests_per_session_are_one_listing_page_plus_a_details_and_a_report_per_participant(tmp_path):
    ds = synthetic(sessions=4, participants=3)
    with serve(ds) as api:
        summary = sync(api, tmp_path)
        seen = endpoints(api)
    people = sum(len(ds.participants[s["id"]]) for s in ended(ds))
    assert seen == Counter({"get_sessions": 1, "get_session_participants": len(ended(ds)),
                            "get_session_participant_details": people,
                            "get_participant_data_from_peer_id": people})
    assert summary.requests == sum(seen.values())  # the summary's count is the service's count
    with serve(ds) as api:
        sync(api, tmp_path / "lean", peer_reports=False)
        assert endpoints(api)["get_participant_data_from_peer_id"] == 0
        assert endpoints(api)["get_session_participant_details"] == people


def test_a_second_run_over_the_same_window_sends_only_the_listing(tmp_path):
    ds = synthetic()
    with serve(ds) as api:
        sync(api, tmp_path, chat=True, transcripts=True)
        before = {t: read_table(tmp_path, t) for t in TABLES}
        api.reset_log()
        again = sync(api, tmp_path, chat=True, transcripts=True)
        assert endpoints(api) == Counter({"get_sessions": 1})
    assert again.skipped == len(ended(ds)) and again.new == again.updated == again.files_written == 0
    for table in TABLES:
        pd.testing.assert_frame_equal(read_table(tmp_path, table), before[table])


def test_new_sessions_are_added_and_only_they_are_fetched(tmp_path):
    ds = synthetic(sessions=6)
    days = sorted({s["started_at"][:10] for s in ended(ds)})
    cut = days[1]
    with serve(ds) as api:
        first = sync(api, tmp_path, end=cut)
        api.reset_log()
        second = sync(api, tmp_path)
        fetched = {r.path.split("/sessions/")[1].split("/")[0] for r in api.request_log
                   if r.endpoint == "get_session_participants"}
    early = {s["id"] for s in ended(ds) if s["started_at"][:10] < cut}
    assert first.new == len(early) and second.new == len(ended(ds)) - len(early)
    assert fetched == {s["id"] for s in ended(ds)} - early
    assert read_table(tmp_path, "sessions")["session_id"].is_unique


def test_a_live_session_is_listed_only_then_fetched_once_it_has_ended(tmp_path):
    ds = synthetic()
    live = next(s for s in ds.sessions if s["status"] == "LIVE")
    with serve(ds) as api:
        first = sync(api, tmp_path)
        assert first.live == 1
        assert all(live["id"] not in r.path for r in api.request_log if r.endpoint != "get_sessions")
        live["status"] = "ENDED"  # the call ends (the sandbox serves the same record)
        live["ended_at"] = live["updated_at"] = "2026-12-01T10:00:00.000Z"
        api.reset_log()
        second = sync(api, tmp_path)
        asked = {r.path.split("/sessions/")[1].split("/")[0] for r in api.request_log
                 if r.endpoint == "get_session_participants"}
    assert second.updated == 1 and second.skipped == len(ds.sessions) - 1 and asked == {live["id"]}
    sessions = read_table(tmp_path, "sessions")
    row = sessions[sessions["session_id"] == live["id"]]
    assert row["status"].tolist() == ["ENDED"]  # replaced, not duplicated
    participants = read_table(tmp_path, "participants")
    assert (participants["session_id"] == live["id"]).sum() == len(ds.participants[live["id"]])


def test_a_failed_session_is_recorded_with_why_and_tried_again(tmp_path):
    ds = synthetic()
    victim = ended(ds)[0]["id"]
    fault = Faults(server_errors_first=1, path_pattern=f"/sessions/{victim}/participants$")
    with serve(ds, faults=fault) as api:
        first = sync(api, tmp_path)
        assert first.failed == 1 and "ServerError" in first.failures[victim]
        with StateStore.open(tmp_path) as state:
            record = state.session(victim)
        assert record.status == "failed" and "core" in record.error
        assert victim not in set(read_table(tmp_path, "participants")["session_id"])
        api.reset_log()
        second = sync(api, tmp_path)
        asked = {r.path.split("/sessions/")[1].split("/")[0] for r in api.request_log
                 if r.endpoint == "get_session_participants"}
    assert second.updated == 1 and second.failed == 0 and asked == {victim}
    stored = read_table(tmp_path, "participants")
    assert (stored["session_id"] == victim).sum() == len(ds.participants[victim])
    with StateStore.open(tmp_path) as state:
        assert state.session(victim).status == "complete"


def test_a_session_without_a_date_fails_once_is_skipped_while_its_row_stays_and_fetched_once_dated(tmp_path):
    ds = synthetic()
    dateless = ended(ds)[0]
    started, created = dateless["started_at"], dateless["created_at"]
    dateless["started_at"] = dateless["created_at"] = None
    with serve(ds) as api:
        first = sync(api, tmp_path)
        assert first.failed == 1 and "no date partition" in first.failures[dateless["id"]]
        second = sync(api, tmp_path)  # the same row: said already, nothing to try (a cron job is not
        assert second.failed == 0 and second.skipped == len(ended(ds))  # told again every day)
        with StateStore.open(tmp_path) as state:
            assert state.session(dateless["id"]).status == "failed"  # still recorded, with why
        dateless["started_at"], dateless["created_at"] = started, created
        third = sync(api, tmp_path)  # its row changed: a date now, so it is fetched
    assert third.failed == 0 and third.updated == 1
    assert dateless["id"] in set(read_table(tmp_path, "participants")["session_id"])


def test_a_transcript_not_ready_is_fetched_on_a_later_run(tmp_path):
    ds = synthetic()
    late = ended(ds)[1]["id"]
    utterances = ds.transcripts.pop(late)
    with serve(ds) as api:
        first = sync(api, tmp_path, transcripts=True)
        assert first.transcripts_pending == 1 and first.failed == 0
        ds.transcripts[late] = utterances  # the service finished transcribing
        api.reset_log()
        second = sync(api, tmp_path, transcripts=True)
        seen = endpoints(api)
    assert seen == Counter({"get_sessions": 1, "get_session_transcripts": 1, "download": 1})
    assert second.completed == 1 and second.transcripts_pending == 0
    transcripts = read_table(tmp_path, "transcripts")
    assert (transcripts["session_id"] == late).sum() == len(utterances)


def test_chat_asked_for_on_a_later_run_fetches_only_the_chats(tmp_path):
    ds = synthetic()
    with serve(ds) as api:
        sync(api, tmp_path, peer_reports=False)
        api.reset_log()
        summary = sync(api, tmp_path, peer_reports=False, chat=True)
        seen = endpoints(api)
    n = len(ended(ds))
    assert seen == Counter({"get_sessions": 1, "get_session_chat": n, "download": n})
    assert summary.completed == n
    assert len(read_table(tmp_path, "chat")) == sum(len(ds.chats[s["id"]]) for s in ended(ds))


def test_peer_reports_added_later_use_the_stored_participant_list(tmp_path):
    ds = synthetic()
    with serve(ds) as api:
        sync(api, tmp_path, peer_reports=False)
        api.reset_log()
        sync(api, tmp_path)
        seen = endpoints(api)
    people = sum(len(ds.participants[s["id"]]) for s in ended(ds))
    assert seen == Counter({"get_sessions": 1, "get_participant_data_from_peer_id": people})


def test_a_sync_reads_the_state_of_the_sessions_it_lists_not_the_whole_table(tmp_path, monkeypatch):
    """A daily sync of a long-kept dataset reads its own day's sessions' states, not every session's."""
    ds = Dataset.synthetic(sessions=12, participants=2, samples=4, seed=21, days=4)
    with serve(ds) as api:
        sync(api, tmp_path)
        day = "2026-11-18"
        that_day = {s["id"] for s in ended(ds) if s["started_at"].startswith(day)}
        read: list[str] = []
        real = state_module._session_state
        monkeypatch.setattr(state_module, "_session_state", lambda row: read.append(row[0]) or real(row))
        api.reset_log()
        again = sync(api, tmp_path, start=day, end="2026-11-19")
        assert endpoints(api) == Counter({"get_sessions": 1})
    assert len(that_day) >= 2 and again.skipped == len(that_day)
    assert sorted(read) == sorted(that_day)  # the other days' sessions are never read


def test_known_sessions_are_the_state_as_of_their_making(tmp_path):
    """Read one by one, in bulk or by date, states stay as they were when KnownSessions was made, while a
    sync commits meanwhile; ids never seen are None (also past one query's 500 ids)."""
    ids = [f"s{i:04d}" for i in range(1200)]
    with StateStore.open(tmp_path) as state:
        with state.transaction() as db:
            for i, sid in enumerate(ids):
                db.execute("INSERT INTO sessions(session_id, date, status, parts)"
                           " VALUES (?, ?, 'complete', 'core')", (sid, f"2026-11-{1 + i % 28:02d}"))
        with KnownSessions(tmp_path) as known:
            with state.transaction() as db:  # committed after: unseen
                db.execute("UPDATE sessions SET status = 'failed'")
                db.execute("INSERT INTO sessions(session_id, date, status)"
                           " VALUES ('late', '2026-11-02', 'live')")
            known.preload([*ids[:700], "never"])
            assert [known.get(sid).status for sid in ids] == ["complete"] * len(ids)
            assert known.get("never") is None and known.get("late") is None
            dated = known.dated("2026-11-02", "2026-11-03")
            assert sorted(st.session_id for st in dated) == [s for i, s in enumerate(ids) if i % 28 in (1, 2)]
            assert known.dated(None, None)[0].parts == frozenset({"core"})
        assert state.session("late").status == "live" and state.session(ids[0]).status == "failed"


# ------------------------------------------------------------------------------------------ lock


def test_a_second_sync_on_the_same_root_refuses_while_one_runs(tmp_path):
    """... before it spends a request (the listing goes out as soon as the lock is held)."""
    with serve(synthetic(sessions=2)) as api, root_lock(tmp_path):
        with pytest.raises(DatasetLockedError, match="another rtk-frames sync"):
            sync(api, tmp_path)
        with pytest.raises(DatasetLockedError):
            compact_dataset(tmp_path)
        assert api.request_log == []


def test_a_sigkilled_lock_holder_leaves_the_root_unlocked(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from rtk_frames.dataset.state import root_lock
        with root_lock({str(tmp_path)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DatasetLockedError, match=f"pid {holder.pid}"), root_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    with root_lock(tmp_path):  # the kernel released it with the process
        pass


# ------------------------------------------------------------------------------------------ reading


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    ds = synthetic(sessions=8, participants=3, samples=5, seed=5)
    with serve(ds) as api:
        sync(api, root, chat=True, transcripts=True)
    return root, ds


def test_open_dataset_gives_every_table_with_the_declared_dtypes(tmp_path):
    with serve(with_rooms()) as api:
        sync(api, tmp_path, chat=True, transcripts=True, breakout_rooms=True)
    fleet = rtk.open_dataset(tmp_path)
    assert fleet.tables == list(TABLES)
    dtypes = {pa.string(): "str", pa.timestamp("us", tz="UTC"): "datetime64[us, UTC]",
              pa.float64(): "float64", pa.int64(): "Int64", pa.bool_(): "boolean"}
    for table in TABLES:
        frame = fleet.table(table)
        schema = table_schema(table)
        assert list(frame.columns) == schema.names and len(frame) > 0, table
        assert frame.dtypes.astype(str).tolist() == [dtypes[f.type] for f in schema], table


def test_table_prunes_partitions_by_day_and_selects_columns_and_rows(synced):
    root, ds = synced
    fleet = rtk.open_dataset(root)
    days = sorted({s["started_at"][:10] for s in ended(ds)})
    start = days[1]
    end = (dt.date.fromisoformat(start) + dt.timedelta(days=1)).isoformat()  # midnight: that day excluded
    frame = fleet.table("quality_stats", start=start, end=end,
                        columns=["session_id", "kind", "quality", "date"])
    assert list(frame.columns) == ["session_id", "kind", "quality", "date"]
    got_days = {d.isoformat() for d in frame["date"]}
    assert got_days == {start}
    everything = fleet.table("quality_stats")
    in_window = {s["id"] for s in ended(ds) if start <= s["started_at"][:10] < end}
    assert len(frame) == everything["session_id"].isin(in_window).sum()
    audio = fleet.table("quality_stats", filters=[("kind", "=", "audio")])
    assert len(audio) == (everything["kind"] == "audio").sum() and set(audio["kind"]) == {"audio"}
    either = fleet.table("quality_stats", filters=pads.field("quality") < 50)
    assert len(either) == (everything["quality"] < 50).sum()
    with pytest.raises(KeyError, match="no column"):
        fleet.table("sessions", columns=["nope"])
    with pytest.raises(KeyError, match="unknown table"):
        fleet.table("nope")
    for bad in ([("kidn", "=", "audio")], pads.field("kidn") == "audio"):  # a typo in a filter: its name,
        with pytest.raises(KeyError, match=r"has no column 'kidn' \(named in filters\)"):  # not the schema
            fleet.table("quality_stats", filters=bad)
    with pytest.raises(ValueError, match="must be after start"):  # a reversed window is not "no rows"
        fleet.table("quality_stats", start=end, end=start)


def test_sql_runs_over_a_view_per_table_and_agrees_with_pandas_and_duckdb_on_the_files(synced):
    root, _ = synced
    fleet = rtk.open_dataset(root)
    mine = fleet.sql("SELECT session_id, kind, count(*) AS n, avg(quality) AS q FROM quality_stats "
                     "GROUP BY ALL ORDER BY session_id, kind")
    frame = fleet.table("quality_stats")
    theirs = (frame.groupby(["session_id", "kind"]).agg(n=("quality", "size"), q=("quality", "mean"))
              .reset_index())
    assert mine["n"].tolist() == theirs["n"].tolist()
    assert mine["q"].round(9).tolist() == theirs["q"].round(9).tolist()
    files = f"{root}/quality_stats/*/*.parquet"
    raw = duckdb.sql(f"SELECT count(*) FROM read_parquet('{files}')").fetchall()[0][0]
    assert raw == len(frame) == len(pd.read_parquet(root / "quality_stats"))
    one = frame["session_id"][0]
    assert fleet.sql("SELECT count(*) AS n FROM quality_stats WHERE session_id = ?", one)["n"][0] == (
        frame["session_id"] == one).sum()


def test_an_empty_root_reads_as_empty_tables(tmp_path):
    fleet = rtk.open_dataset(tmp_path)
    assert fleet.table("peer_events").empty
    assert fleet.sql("SELECT count(*) AS n FROM peer_events")["n"].tolist() == [0]


# ------------------------------------------------------------------------------------------ compaction


def test_compaction_leaves_one_file_per_partition_and_the_same_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_module, "COMMIT_EVERY_SESSIONS", 1)  # a commit (files) per session
    monkeypatch.setattr(sync_module, "COMPACT_MAX_FILES", 10_000)  # no automatic compaction
    ds = synthetic(sessions=9, seed=3)
    with serve(ds) as api:
        sync(api, tmp_path)
    before = {t: read_table(tmp_path, t) for t in TABLES}
    assert any(len(list(d.glob("*.parquet"))) > 1 for d in (tmp_path / "quality_stats").iterdir())
    summary = compact_dataset(tmp_path)
    assert summary.files_after < summary.files_before
    assert f"compacted, {summary.files_before:,} files -> {summary.files_after:,}" in repr(summary)
    for table in TABLES:
        for day in (tmp_path / table).glob("date=*"):
            assert len(list(day.glob("*.parquet"))) == 1, day
        pd.testing.assert_frame_equal(read_table(tmp_path, table), before[table])
    with StateStore.open(tmp_path) as state:  # the state knows the new files, and which sessions they hold
        on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/date=*/*.parquet"))
        assert sorted(p for t in TABLES for p in state.live_files(t)) == on_disk
        victim = ended(ds)[0]["id"]
        assert state.files_of_sessions([victim], {"participants"})


def test_sync_compacts_automatically_past_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_module, "COMMIT_EVERY_SESSIONS", 1)
    monkeypatch.setattr(sync_module, "COMPACT_MAX_FILES", 1)
    ds = synthetic(sessions=9, seed=3)
    with serve(ds) as api:
        summary = sync(api, tmp_path)
    assert summary.files_compacted > 0
    for day in (tmp_path / "participants").iterdir():
        assert len(list(day.glob("*.parquet"))) == 1


# ------------------------------------------------------------------------------------------ summary, CLI


def test_summary_repr_reads_as_a_report(tmp_path):
    with serve(synthetic(sessions=3)) as api:
        summary = sync(api, tmp_path)
    text = repr(summary)
    assert "sessions: 2 new" in text and "per fetched session" in text and "rows written" in text


def test_summary_counts_read_in_the_singular_for_one():
    from rtk_frames.dataset.summary import SyncSummary

    one = repr(SyncSummary(root="r", listed=1, rooms=1, retries=1, files_written=1, rows={"chat": 1}))
    assert "1 session listed and 1 breakout room found" in one and "1 retry," in one and "; 1 file" in one
    many = repr(SyncSummary(root="r", listed=2, rooms=2, retries=0, files_written=1200, rows={"chat": 1}))
    assert "2 sessions listed and 2 breakout rooms found" in many and "0 retries," in many
    assert "; 1,200 files" in many


def test_progress_bar_counts_requests_and_sessions_and_the_summary_is_printed(tmp_path, capsys, monkeypatch):
    import rtk_frames.dataset.progress as sync_progress

    monkeypatch.setattr(sync_progress, "redraws_in_place", lambda: True)  # as in a terminal
    with serve(synthetic(sessions=3)) as api:
        rtk.sync_dataset(api.client(), tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "requests" in err and "sessions" in err and "sync of" in err
    assert "%|" in err and "\r" in err  # a bar, redrawn in place


def test_progress_in_a_log_is_a_few_plain_lines_not_a_redrawn_bar(tmp_path, capsys):
    with serve(synthetic(sessions=3)) as api:  # pytest captures stderr: not a terminal, as a cron job's log
        rtk.sync_dataset(api.client(), tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and "%|" not in err
    progress = [line for line in err.splitlines() if line.startswith("sync: ")]
    assert progress[0] == "sync: 2 sessions to fetch, about 19 requests in all"  # 2 ended, 1 LIVE
    assert 1 <= len(progress) <= 3 and "sync of" in err  # a line at most every 30 s, then the summary


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "rtk_frames.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_sync_and_compact(tmp_path):
    done = run_cli("sync", str(tmp_path), "--demo", "--chat", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "sync of" in done.stdout and (tmp_path / STATE_FILE).exists()
    assert rtk.open_dataset(tmp_path).table("chat").shape[0] > 0
    compacted = run_cli("compact", str(tmp_path))
    assert compacted.returncode == 0 and "compaction of" in compacted.stdout


@pytest.mark.parametrize("args", [
    ("sync", "ROOT", "--from", "2026-01-02", "--to", "2026-01-01"),
    ("sync", "ROOT", "--to", "2026-01-01"),  # --to alone: all history before it is rarely meant
    ("sync", "ROOT", "--demo", "--rate", "ten/s"),
    ("sync", "ROOT", "--demo", "--workers", "0"),
    ("compact", "ROOT"),
])
def test_cli_usage_errors_exit_2_with_one_clean_line(tmp_path, args):
    done = run_cli(*[str(tmp_path / "nothing") if a == "ROOT" else a for a in args])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert done.stderr.startswith("rtk-frames")


def test_cli_sync_refuses_a_locked_root_in_one_line(tmp_path):
    with root_lock(tmp_path):
        done = run_cli("sync", str(tmp_path), "--demo", "--quiet")
    assert done.returncode == 1  # EXIT_LOCAL_FAILURE: the machine's state, not the arguments
    assert done.stderr.count("\n") == 1 and "another rtk-frames sync" in done.stderr


def test_a_directory_holding_other_files_is_no_root_for_a_sync(tmp_path):
    """A mistyped root (a home or project directory) must not fill up with tables: a sync or compaction
    refuses it before writing anything, with a typed error naming what is there; the CLI says so in one
    line, exit 1. A new or empty directory, or a dataset's own root, is fine."""
    from rtk_frames.dataset import NotADatasetError

    project = tmp_path / "project"
    project.mkdir()
    (project / "analysis.ipynb").write_text("{}")
    (project / "data").mkdir()
    before = sorted(p.name for p in project.iterdir())
    with serve(synthetic(sessions=2)) as api:
        holds = r" holds analysis.ipynb and data but no rtk_frames dataset"
        with pytest.raises(NotADatasetError, match=holds):
            sync(api, project)
        assert not api.request_log  # refused before the listing
        with pytest.raises(NotADatasetError, match="a compaction writes its tables beside them"):
            compact_dataset(project)
        assert sorted(p.name for p in project.iterdir()) == before  # nothing written, not even the lock
        (project / "notes.txt").write_text("x")
        done = run_cli("sync", str(project), "--demo", "--quiet")
        assert done.returncode == 1 and done.stderr.count("\n") == 1
        assert "no rtk_frames dataset" in done.stderr
        fresh = tmp_path / "fleet"
        first = sync(api, fresh)
        assert first.new == 2
        assert sync(api, fresh).skipped == 2  # the dataset's own root: fine
    with pytest.raises(NotADatasetError, match="is a file, not a directory"):
        compact_dataset(project / "notes.txt")
    for name in ("b.csv", "c.csv"):
        (project / name).write_text("x")  # 5 entries: the first 3 named, then how many more
    with pytest.raises(NotADatasetError, match=r" holds analysis.ipynb, b.csv, c.csv and 2 more but no "):
        compact_dataset(project)


def test_sync_rejects_an_empty_window_and_no_workers(tmp_path):
    with serve(synthetic(sessions=1)) as api:
        with pytest.raises(ValueError, match="after start"):
            sync(api, tmp_path, start=dt.date(2026, 1, 2), end=dt.date(2026, 1, 1))
        with pytest.raises(ValueError, match="workers"):
            sync(api, tmp_path, workers=0)
        with pytest.raises(ValueError, match=r"^start='yesterday' is not a time: give a date"):
            sync(api, tmp_path / "words", start="yesterday")
        assert not api.request_log and not (tmp_path / "words").exists()  # refused before anything


def test_the_datasets_repr_says_what_it_holds_from_the_state_alone(synced, tmp_path):
    root, _ = synced
    ds = rtk.open_dataset(root)
    overview = ds.overview()
    assert overview is not None
    assert overview.rows == {t: n for t in ds.tables if (n := len(ds.table(t, columns=["session_id"])))}
    sessions = ds.table("sessions", columns=["session_id", "date"])
    assert overview.sessions == sum(overview.by_status.values()) == sessions["session_id"].nunique()
    days = sessions["date"].astype(str)
    assert (overview.first_day, overview.last_day) == (days.min(), days.max())
    assert overview.last_sync is not None and str(overview.last_sync.tz) == "UTC"
    text = repr(ds)
    assert text.startswith(f"FleetDataset({str(root)!r}): {overview.sessions} sessions from ")
    assert f"quality_stats {overview.rows['quality_stats']:,}" in text
    assert repr(rtk.dataset.FleetDataset(tmp_path)).endswith(": no sync has written here yet")


def test_the_repr_of_a_dataset_synced_over_an_empty_window_says_it_holds_nothing(tmp_path):
    with serve(synthetic(sessions=2)) as api:
        sync(api, tmp_path, start="2001-01-01", end="2001-01-02")
    head, rows = repr(rtk.open_dataset(tmp_path)).splitlines()
    assert head.startswith(f"FleetDataset({str(tmp_path)!r}): 0 sessions, last synced ")
    assert rows == "  rows: none yet"


def test_reading_with_a_bound_that_is_not_a_time_names_it(synced):
    with pytest.raises(ValueError, match=r"^end='next week' is not a time"):
        rtk.open_dataset(synced[0]).table("sessions", end="next week")


def test_the_window_is_by_start_time_with_the_end_excluded(tmp_path):
    ds = synthetic(sessions=6)
    first = min(s["started_at"] for s in ended(ds))
    start = pd.Timestamp(first)
    with serve(ds) as api:
        summary = sync(api, tmp_path, start=start, end=start + pd.Timedelta(microseconds=1))
    assert summary.listed == 1 and read_table(tmp_path, "sessions")["started_at"].tolist() == [start]
    time.sleep(0)  # (no timing assertions anywhere)


def test_an_answer_no_flattener_can_read_fails_only_its_session(tmp_path, monkeypatch):
    """Each session's answers become rows as it reaches the writer: one bad body marks its session
    failed (tried again next run) and the others are stored."""
    from rtk_frames.errors import PayloadError

    ds = synthetic(sessions=5)
    victim = ended(ds)[0]["id"]
    victim_people = {row["id"] for row in ds.participants[victim]}
    real = batch_module.ROWS_OF_PART["core"]

    def picky(payloads):
        if any(p["data"]["participant"]["id"] in victim_people for p in payloads):
            raise PayloadError("not the expected JSON")
        return real(payloads)

    monkeypatch.setitem(batch_module.ROWS_OF_PART, "core", picky)
    with serve(ds) as api:
        summary = sync(api, tmp_path)
        assert summary.failed == 1 and "PayloadError" in summary.failures[victim]
        stored = read_table(tmp_path, "quality_stats")
        assert victim not in set(stored["session_id"])
        assert set(stored["session_id"]) == {s["id"] for s in ended(ds)} - {victim}
        monkeypatch.setitem(batch_module.ROWS_OF_PART, "core", real)
        again = sync(api, tmp_path)
    assert again.updated == 1 and victim in set(read_table(tmp_path, "quality_stats")["session_id"])


def test_rows_naming_no_participant_asked_for_fail_only_their_session(tmp_path, monkeypatch):
    """Rows are placed in their session by the participant they were asked for. A session whose answers
    name someone else cannot be placed: sessions are built together, so the batch is redone session by
    session, that one fails (tried again next run) and the others are stored, each row once."""
    ds = synthetic(sessions=6)
    victim = ended(ds)[1]["id"]
    victim_people = {row["id"] for row in ds.participants[victim]}
    real = batch_module.ROWS_OF_PART["peer_reports"]

    def stranger(payloads):
        rows = real(payloads)
        if any(p["data"]["participant"]["id"] in victim_people for p in payloads):
            flat = rows["peer_reports"]
            columns = dict(flat.columns)
            columns["participant_id"] = ["someone-else"] * len(flat)
            rows["peer_reports"] = type(flat)(flat.name, columns, flat.report)
        return rows

    monkeypatch.setattr(batch_module, "ABSORB_EVERY_S", 3600.0)  # one build for all: the batch path
    monkeypatch.setitem(batch_module.ROWS_OF_PART, "peer_reports", stranger)
    with serve(ds) as api:
        summary = sync(api, tmp_path)
        assert summary.failed == 1 and "name no participant" in summary.failures[victim]
        reports = read_table(tmp_path, "peer_reports")
        assert set(reports["session_id"]) == {s["id"] for s in ended(ds)} - {victim}
        assert not reports.duplicated(["session_id", "participant_id"]).any()
        monkeypatch.setitem(batch_module.ROWS_OF_PART, "peer_reports", real)
        again = sync(api, tmp_path)
    assert again.updated == 1 and victim in set(read_table(tmp_path, "peer_reports")["session_id"])


def test_the_finished_sessions_are_built_while_the_last_ones_are_fetched(tmp_path, monkeypatch):
    """When the last sessions start, the writer builds those finished so far (not only at the end, nor
    only every ABSORB_EVERY_S): the tail after the last answer then builds only the last ones."""
    monkeypatch.setattr(batch_module, "ABSORB_EVERY_S", 3600.0)  # no timed absorb
    built_together: list[int] = []
    real = batch_module.Batch.absorb

    def absorb(self):
        if self.jobs:
            built_together.append(len(self.jobs))
        return real(self)

    monkeypatch.setattr(batch_module.Batch, "absorb", absorb)
    ds = synthetic(sessions=9)
    with serve(ds) as api:
        summary = sync(api, tmp_path, workers=1)  # 2 sessions open at a time: the last starts late
    assert summary.new == len(ended(ds)) and sum(built_together) == summary.new
    assert len(built_together) >= 2 and built_together[0] >= summary.new - 2


def test_sql_views_see_a_later_syncs_rows(tmp_path):
    ds = synthetic(sessions=6)
    days = sorted({s["started_at"][:10] for s in ended(ds)})
    with serve(ds) as api:
        sync(api, tmp_path, end=days[1])
        fleet = rtk.open_dataset(tmp_path)
        before = int(fleet.sql("SELECT count(*) AS n FROM sessions")["n"][0])
        sync(api, tmp_path)
    after = int(fleet.sql("SELECT count(*) AS n FROM sessions")["n"][0])
    assert before < after == len(ds.sessions)


def test_a_spent_rate_budget_stops_the_run_instead_of_failing_every_session(tmp_path):
    from rtk_frames.errors import RateLimitError

    ds = synthetic(sessions=12, participants=3)
    people = sum(len(ds.participants[s["id"]]) for s in ended(ds))
    with serve(ds, faults=Faults(rate_limited_first=10_000, retry_after_s=0,
                                 path_pattern="/participants/")) as api:
        with pytest.raises(RateLimitError):
            sync(api, tmp_path, workers=2)
        asked = endpoints(api)["get_session_participant_details"]
    assert asked < people  # it stopped; the rest of the fleet was not hammered
    with StateStore.open(tmp_path) as state:
        assert all(s.status != "complete" for s in state.sessions().values())


def test_the_progress_bar_shows_waits_for_the_rate_budget(tmp_path, capsys):
    with serve(synthetic(sessions=4), rate_limit=(6, 1.0)) as api:
        summary = rtk.sync_dataset(api.client(), tmp_path, progress=True, workers=2)  # the sandbox's budget
        too_many = sum(1 for r in api.request_log if r.status == 429)
    err = capsys.readouterr().err
    assert summary.wait_s > 0 and too_many == 0
    assert "s (rate budget)" in err and "ETA" in err


@pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")  # inside dask, not ours
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_any_parquet_reader_sees_the_same_rows(synced):
    """pandas, pyarrow.dataset, DuckDB and Dask read ROOT/<table> directly (no rtk_frames) alike."""
    import dask.dataframe as dd

    root, _ = synced
    for table in ("sessions", "quality_stats", "peer_events", "chat"):
        ours = rtk.open_dataset(root).table(table)
        by_pandas = pd.read_parquet(root / table)
        by_arrow = pads.dataset(root / table, format="parquet", partitioning="hive").to_table()
        by_duckdb = duckdb.sql(f"SELECT session_id FROM read_parquet('{root / table}/*/*.parquet')").df()
        by_dask = dd.read_parquet(str(root / table), columns=["session_id"]).compute()
        counts = {len(ours), len(by_pandas), by_arrow.num_rows, len(by_duckdb), len(by_dask)}
        assert counts == {len(ours)} and len(ours) > 0, (table, counts)
        per_session = Counter(ours["session_id"])
        assert Counter(by_dask["session_id"]) == per_session == Counter(by_duckdb["session_id"])


def test_compaction_splits_a_big_day_into_files_of_bounded_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_module, "COMMIT_EVERY_SESSIONS", 1)
    monkeypatch.setattr(sync_module, "COMPACT_MAX_FILES", 10_000)
    with serve(synthetic(sessions=9, seed=3)) as api:
        sync(api, tmp_path)
    before = read_table(tmp_path, "quality_stats")
    compact_dataset(tmp_path, target_rows=50)
    for day in (tmp_path / "quality_stats").glob("date=*"):
        rows = [pq.ParquetFile(p).metadata.num_rows for p in day.glob("*.parquet")]
        assert max(rows) <= 50 and len(rows) == -(-sum(rows) // 50), (day, rows)
    pd.testing.assert_frame_equal(read_table(tmp_path, "quality_stats"), before)
    again = compact_dataset(tmp_path, target_rows=50)  # already as compact as its rows allow
    assert again.files_before == again.files_after
    assert repr(again).endswith(f"nothing to do ({again.files_before:,} files, every partition already in as "
                                "few files as its rows need)")


def test_a_session_that_changed_is_refetched_and_its_rows_replaced_everywhere(tmp_path):
    ds = synthetic(sessions=6)
    changed = ended(ds)[1]
    with serve(ds) as api:
        sync(api, tmp_path, chat=True)
        before = {t: read_table(tmp_path, t) for t in TABLES}
        changed["updated_at"] = "2026-12-01T09:00:00.000Z"  # the service says it changed ...
        ds.participants[changed["id"]][0]["display_name"] = "Renamed Person"  # ... and how
        api.reset_log()
        summary = sync(api, tmp_path, chat=True)
        asked = {r.path.split("/sessions/")[1].split("/")[0] for r in api.request_log
                 if r.endpoint in ("get_session_participants", "get_session_chat")}
    assert summary.updated == 1 and asked == {changed["id"]}
    for table in TABLES:
        after = read_table(tmp_path, table)
        mine, others = after["session_id"] == changed["id"], before[table]["session_id"] != changed["id"]
        assert mine.sum() == (~others).sum(), table  # replaced, not added
        pd.testing.assert_frame_equal(after[~mine].reset_index(drop=True),
                                      before[table][others].reset_index(drop=True), obj=table)
    names = read_table(tmp_path, "participants")
    assert "Renamed Person" in set(names.loc[names["session_id"] == changed["id"], "display_name"])


def test_a_listing_row_has_the_same_fingerprint_as_a_record_and_as_a_row():
    """The planner hashes records (one conversion of the listing) where it used to hash row Series:
    both give the same fingerprint, so datasets synced by earlier versions are not refetched."""
    with serve(Dataset.synthetic(sessions=6, participants=4, samples=3, seed=5, messy=True)) as api:
        listing = sync_module.list_sessions(api.client())
    assert listing.isna().any().any()  # NA values among them
    records = listing.to_dict("records")
    by_row = [sync_module._fingerprint(listing.iloc[i]) for i in range(len(listing))]
    assert [sync_module._fingerprint(r) for r in records] == by_row and len(set(by_row)) == len(listing)


def test_one_day_of_synthetic_sessions_lands_in_one_partition(tmp_path):
    with serve(Dataset.synthetic(sessions=5, participants=2, samples=3, seed=5, days=1)) as api:
        summary = sync(api, tmp_path)
    days = {p.name for p in (tmp_path / "quality_stats").glob("date=*")}
    assert summary.listed == 5 and summary.new >= 4 and days == {"date=2026-11-16"}
    assert len(list((tmp_path / "quality_stats" / "date=2026-11-16").glob("*.parquet"))) == 1


def test_writing_a_dataset_off_posix_is_a_clear_error_not_an_import_error(tmp_path, monkeypatch):
    from rtk_frames.dataset import state as state_module

    monkeypatch.setattr(state_module.os, "name", "nt")
    with pytest.raises(rtk.RTKError, match="needs a POSIX system"), root_lock(tmp_path):
        pass
    assert not (tmp_path / "_sync.lock").exists()


# ------------------------------------------------------------------------------------------ breakout rooms


def with_rooms(sessions: int = 4, participants: int = 6) -> Dataset:
    """Every session of 6+ rows gets two breakout rooms (the last session is LIVE: not fetched)."""
    return Dataset.synthetic(sessions=sessions, participants=participants, samples=12, seed=5,
                             breakout_rooms=True)


def rooms_of_ended(ds: Dataset) -> dict[str, str]:
    """room id -> its session's id, for the ENDED sessions."""
    return {room["id"]: s["id"] for s in ended(ds) for room in ds.breakout_rooms.get(s["id"], [])}


def test_breakout_rooms_are_kept_as_sessions_of_their_own_when_asked(tmp_path):
    ds = with_rooms()
    rooms = rooms_of_ended(ds)
    assert len(rooms) >= 2
    with serve(ds) as api:
        summary = sync(api, tmp_path, breakout_rooms=True)
        seen = endpoints(api)
        api.reset_log()
        again = sync(api, tmp_path, breakout_rooms=True)
        assert endpoints(api) == Counter({"get_sessions": 1})  # rooms are not asked for again
    fetched = [s["id"] for s in ended(ds)] + list(rooms)
    people = sum(len(ds.participants[s]) for s in fetched)
    assert seen == Counter({"get_sessions": 1, "get_session_details": len(ended(ds)),  # one per session
                            "get_session_participants": len(fetched),
                            "get_session_participant_details": people,
                            "get_participant_data_from_peer_id": people})
    assert summary.rooms == len(rooms) and summary.new == len(fetched) and summary.failed == 0
    assert again.skipped == len(ended(ds)) and again.rooms == 0
    stored = read_table(tmp_path, "breakout_rooms")
    assert dict(zip(stored["session_id"], stored["parent_session_id"], strict=True)) == rooms
    sessions = rtk.open_dataset(tmp_path).table("sessions")
    assert set(rooms) <= set(sessions["session_id"])  # a room is a session: the fleet analysis sees it
    parents = sessions.set_index("session_id").loc[list(rooms), "extras"].map(json.loads)
    assert {room: extra["parent_session_id"] for room, extra in parents.items()} == rooms
    participants, samples = read_table(tmp_path, "participants"), read_table(tmp_path, "quality_stats")
    for room in rooms:  # the room's own rows, under its own id
        mine = participants.loc[participants["session_id"] == room, "participant_id"]
        assert sorted(mine) == sorted(p["id"] for p in ds.participants[room])
        assert set(samples.loc[samples["session_id"] == room, "participant_id"]) == set(mine)


def test_without_breakout_rooms_no_room_is_asked_for_or_stored(tmp_path):
    ds = with_rooms()
    with serve(ds) as api:
        summary = sync(api, tmp_path)
        seen = endpoints(api)
    assert seen["get_session_details"] == 0 and summary.rooms == 0
    assert read_table(tmp_path, "breakout_rooms").empty
    assert not set(rooms_of_ended(ds)) & set(read_table(tmp_path, "participants")["session_id"])


def test_a_failed_breakout_room_is_tried_again_alone_with_its_sessions_room_list(tmp_path):
    ds = with_rooms()
    room, parent = next(iter(rooms_of_ended(ds).items()))
    fault = Faults(server_errors_first=1, path_pattern=f"/sessions/{room}/participants$")
    with serve(ds, faults=fault) as api:
        first = sync(api, tmp_path, breakout_rooms=True)
        assert set(first.failures) == {parent, room}
        assert f"breakout room {room} failed" in first.failures[parent]
        api.reset_log()
        second = sync(api, tmp_path, breakout_rooms=True)
        seen = endpoints(api)
        asked = {r.path.split("/sessions/")[1].split("/")[0] for r in api.request_log
                 if r.endpoint == "get_session_participants"}
    n = len(ds.participants[room])
    assert asked == {room}
    assert seen == Counter({"get_sessions": 1, "get_session_details": 1, "get_session_participants": 1,
                            "get_session_participant_details": n, "get_participant_data_from_peer_id": n})
    assert second.failed == 0 and second.updated == 2  # the session (its rooms) and the room
    with StateStore.open(tmp_path) as state:
        assert state.session(parent).status == state.session(room).status == "complete"
        assert "breakout_rooms" in state.session(parent).parts
    stored = read_table(tmp_path, "participants")
    assert (stored["session_id"] == room).sum() == n


def test_a_rooms_transcript_not_ready_is_asked_for_again_with_its_sessions_rooms(tmp_path):
    ds = with_rooms()
    rooms = rooms_of_ended(ds)
    with serve(ds) as api:  # the sandbox keeps no transcript for a room: each run finds none ready
        sync(api, tmp_path, breakout_rooms=True, transcripts=True)
        runs = []
        for _ in range(batch_module.TRANSCRIPT_MAX_ATTEMPTS + 1):
            api.reset_log()
            summary = sync(api, tmp_path, breakout_rooms=True, transcripts=True)
            runs.append((endpoints(api), summary.transcripts_pending))
    parents = len(set(rooms.values()))
    retried = Counter({"get_sessions": 1, "get_session_details": parents,
                       "get_session_transcripts": len(rooms)})
    # the first run was attempt 1; attempts 2..MAX ask again; then nothing but the listing
    for seen, _ in runs[:batch_module.TRANSCRIPT_MAX_ATTEMPTS - 1]:
        assert seen == retried
    assert runs[batch_module.TRANSCRIPT_MAX_ATTEMPTS - 2][1] == 0  # the last attempt gave up
    for seen, _ in runs[batch_module.TRANSCRIPT_MAX_ATTEMPTS - 1:]:
        assert seen == Counter({"get_sessions": 1})


def test_a_part_asked_for_later_reaches_the_breakout_rooms_too(tmp_path):
    ds = with_rooms()
    rooms = rooms_of_ended(ds)
    for room, parent in rooms.items():  # rooms with a chat of their own
        ds.chats[room] = [{**message, "sessionId": room} for message in ds.chats[parent][:2]]
    with serve(ds) as api:
        sync(api, tmp_path, breakout_rooms=True, peer_reports=False)
        api.reset_log()
        later = sync(api, tmp_path, breakout_rooms=True, chat=True)  # chat and peer reports now
        seen = endpoints(api)
        api.reset_log()
        sync(api, tmp_path, breakout_rooms=True, chat=True)
        assert endpoints(api) == Counter({"get_sessions": 1})
    sessions = [s["id"] for s in ended(ds)] + list(rooms)
    people = sum(len(ds.participants[s]) for s in sessions)
    with_chat = sum(1 for s in sessions if ds.chats.get(s))
    assert seen == Counter({"get_sessions": 1, "get_session_details": len(ended(ds)),
                            "get_session_chat": len(sessions), "download": with_chat,
                            "get_participant_data_from_peer_id": people})  # no participant list twice
    assert later.completed == len(sessions) and later.failed == 0
    chat = read_table(tmp_path, "chat")
    for room in rooms:
        assert (chat["session_id"] == room).sum() == 2
    reports = read_table(tmp_path, "peer_reports")
    assert set(reports["session_id"]) == set(sessions) and len(reports) == people


def test_a_room_named_twice_or_also_listed_is_planned_once():
    from rtk_frames.dataset.fetching import SessionJob
    from rtk_frames.frames.sessions import breakout_rooms_frame

    rooms = breakout_rooms_frame({"data": {"id": "s1", "breakout_rooms": [
        {"id": "r1", "status": "ENDED", "started_at": "2026-11-16T10:00:00Z"},
        {"id": "r2", "status": "ENDED", "started_at": "2026-11-16T10:05:00Z"}]}})
    parent = SessionJob(session_id="s1", date="2026-11-16", kind="new", parts={"core"}, replace=False,
                        started_at=None, prev=None, listing_position=0, fingerprint="f")
    planner = sync_module._RoomPlanner({}, {"core", "breakout_rooms"})
    planner.planned = {"s1", "r2"}  # the listing named r2 itself
    first = planner(parent, rooms)
    again = planner(parent, rooms)  # another session naming the same room
    assert [job.session_id for job in first] == ["r1"] and again == [] and planner.rooms == 1
    assert first[0].date == "2026-11-16" and first[0].room_row is not None


def test_the_first_progress_line_counts_what_each_session_needs_not_everything(tmp_path, capsys):
    ds = synthetic(sessions=4)  # 3 ended, 1 LIVE
    with serve(ds) as api:
        sync(api, tmp_path)
        capsys.readouterr()
        api.reset_log()
        rtk.sync_dataset(api.client(), tmp_path, chat=True, progress=True)  # stored: only the chats are new
        asked = sum(endpoints(api).values())
    err = capsys.readouterr().err
    first = next(line for line in err.splitlines() if line.startswith("sync: "))
    # the listing (1) and 2 requests per chat; not a whole session's details and peer reports again
    n = len(ended(ds))
    assert first == f"sync: {n} sessions to fetch, about {1 + 2 * n} requests in all"
    assert asked <= 1 + 2 * len(ended(ds))


def test_a_file_that_fails_to_write_fails_the_commit_and_the_next_run_stores_it_all(tmp_path, monkeypatch):
    """Files are written on the IO threads, several at once: one that fails (a full disk) fails the run
    with that error once every other write has ended; nothing of the commit is visible, the next run
    cleans the staged files and stores everything."""
    import errno

    from rtk_frames.dataset import write as write_module

    real = write_module.write_parquet
    written: list[str] = []

    def full_disk(data, target):
        if "peer_reports--" in target.name:  # the costliest file, handed over first
            raise OSError(errno.ENOSPC, "No space left on device")
        real(data, target)
        written.append(target.name)

    ds = synthetic(sessions=6)
    with serve(ds) as api:
        monkeypatch.setattr(write_module, "write_parquet", full_disk)
        with pytest.raises(OSError, match="No space left"):
            sync(api, tmp_path)
        assert written and not list(tmp_path.glob("*/date=*/*.parquet"))  # the others were written, unseen
        assert len(list((tmp_path / STAGING_DIR).iterdir())) == len(written)  # every write had ended
        with StateStore.open(tmp_path) as state:
            assert not state.sessions() and not any(state.live_files(t) for t in TABLES)
        monkeypatch.setattr(write_module, "write_parquet", real)
        again = sync(api, tmp_path)
    assert again.new == len(ended(ds)) and again.failed == 0
    assert not list((tmp_path / STAGING_DIR).iterdir())
    assert set(read_table(tmp_path, "peer_reports")["session_id"]) == {s["id"] for s in ended(ds)}
