"""Kill -9 a sync at random moments, rerun it, and get the dataset of an uninterrupted run, row for row.

The sandbox runs in this test process (it outlives every sync); each sync runs in a subprocess that is
SIGKILLed either after N requests seen in the sandbox's own request log (mid-session: between a
participant list and its details, between two details, …) or after a random delay (which also lands in
commits, file moves and compactions). The subprocess commits after every finished session and compacts
past 2 files per partition, so commits and compactions are frequent and kills land inside them.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest

import rtk_frames as rtk
from rtk_frames.dataset import TABLES
from rtk_frames.dataset.state import STAGING_DIR, StateStore
from rtk_frames.sandbox import Dataset, serve

REPO = Path(__file__).resolve().parents[1]
OPTIONS = {"chat": True, "transcripts": True, "breakout_rooms": True}  # every table gets rows
SYNC_SCRIPT = textwrap.dedent("""
    import os, sys
    import rtk_frames as rtk
    from rtk_frames.dataset import batch, sync
    batch.COMMIT_EVERY_S = 0.0              # commit after every finished session: many commits to land in
    sync.COMPACT_MAX_FILES = 2              # and compactions at the end of every run
    client = rtk.Client(os.environ["SBX_ACCOUNT"], os.environ["SBX_APP"], os.environ["SBX_TOKEN"],
                        base_url=os.environ["SBX_URL"], rate_limiter=None, max_retries=0)
    rtk.sync_dataset(client, sys.argv[1], chat=True, transcripts=True, breakout_rooms=True, workers=3,
                     progress=False)
    print("done", flush=True)
""")


def table_rows(root: Path, table: str) -> pd.DataFrame:
    """Every row of a table as a directory reader sees it, sorted on all columns."""
    files = sorted(str(p) for p in (root / table).glob("date=*/*.parquet"))
    data = pads.dataset(files, format="parquet", partitioning="hive", partition_base_dir=str(root / table))
    frame = data.to_table().to_pandas()
    return frame.sort_values(list(frame.columns), key=lambda c: c.astype("str"), ignore_index=True)


def start_sync(api, root: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SBX_ACCOUNT": api.account_id, "SBX_APP": api.app_id,
           "SBX_TOKEN": api.api_token, "SBX_URL": api.base_url}
    return subprocess.Popen([sys.executable, "-c", SYNC_SCRIPT, str(root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after_requests(api, process: subprocess.Popen, n: int, timeout_s: float = 60.0) -> bool:
    """SIGKILL ``process`` once the sandbox has seen ``n`` more requests; False if it finished first."""
    base = len(api.request_log)
    deadline = time.monotonic() + timeout_s
    while len(api.request_log) < base + n:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def kill_after_delay(process: subprocess.Popen, delay_s: float) -> bool:
    try:
        process.wait(timeout=delay_s)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


@pytest.fixture(scope="module")
def api():
    ds = Dataset.synthetic(sessions=5, participants=6, samples=12, seed=21, breakout_rooms=True)
    for parent, rooms in ds.breakout_rooms.items():  # rooms with a chat and a transcript of their own
        for room in rooms:
            ds.chats[room["id"]] = [{**m, "sessionId": room["id"]} for m in ds.chats.get(parent, [])[:3]]
            ds.transcripts[room["id"]] = ds.transcripts.get(parent, [])[:3]
    assert sum(map(len, ds.breakout_rooms.values())) >= 4
    with serve(ds, latency=0.002) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def reference(api, tmp_path_factory):
    root = tmp_path_factory.mktemp("uninterrupted")
    before = len(api.request_log)
    started = time.monotonic()
    process = start_sync(api, root)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0 and "done" in out, err
    return root, len(api.request_log) - before, time.monotonic() - started


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_points_then_rerun_gives_the_uninterrupted_dataset(api, reference, tmp_path, seed):
    ref_root, ref_requests, ref_seconds = reference
    assert all(len(table_rows(ref_root, table)) for table in TABLES)  # every table, rooms' included
    chance = random.Random(seed)
    root = tmp_path / "fleet"
    kills = 0
    # three kills mid-fetch (after N requests), then two at random times (commits, moves, compaction)
    for _ in range(3):
        kills += kill_after_requests(api, start_sync(api, root), chance.randint(1, ref_requests - 1))
    for _ in range(2):
        kills += kill_after_delay(start_sync(api, root), chance.uniform(0.3, ref_seconds))
    assert kills >= 3  # the test did interrupt syncs
    process = start_sync(api, root)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0 and "done" in out, err

    for table in TABLES:  # every row, none lost, none doubled
        pd.testing.assert_frame_equal(table_rows(root, table), table_rows(ref_root, table), obj=table)
    assert not list((root / STAGING_DIR).iterdir())
    with StateStore.open(root) as state:
        on_disk = sorted(p.relative_to(root).as_posix() for p in root.glob("*/date=*/*.parquet"))
        assert sorted(p for t in TABLES for p in state.live_files(t)) == on_disk
        assert state.pending_files() == ([], [])
        statuses = {s.status for s in state.sessions().values()}
    assert statuses <= {"complete", "live"}
    # and the next run has nothing left to do: only the listing goes out
    before = len(api.request_log)
    again = rtk.sync_dataset(api.client(), root, progress=False, **OPTIONS)
    assert len(api.request_log) - before == 1 and again.skipped + again.live == again.listed


class Killed(BaseException):
    """Stands for SIGKILL at one exact line (a BaseException: no ``except Exception`` stops it)."""


def test_a_crash_between_the_commit_transaction_and_the_file_moves_is_rolled_forward(api, reference,
                                                                                    tmp_path, monkeypatch):
    """The narrowest window: SQLite says committed, the files still wait in the staging area (or half of
    them moved). Whoever opens the root next finishes the moves, before anything else."""
    from rtk_frames.dataset import write

    ref_root = reference[0]
    moves = {"n": 0}
    real_replace = os.replace

    def replace_then_die(source, target):  # move two files, then "die"
        moves["n"] += 1
        if moves["n"] > 2:
            raise Killed
        real_replace(source, target)

    monkeypatch.setattr(write.os, "replace", replace_then_die)
    with pytest.raises(Killed):
        rtk.sync_dataset(api.client(), tmp_path, progress=False, **OPTIONS)
    monkeypatch.setattr(write.os, "replace", real_replace)
    with StateStore.open(tmp_path) as state:
        staged, _ = state.pending_files()
    assert staged and any((tmp_path / STAGING_DIR).iterdir())  # committed, not yet moved

    rtk.open_dataset(tmp_path)  # a reader finishes the moves when no sync runs
    with StateStore.open(tmp_path) as state:
        assert state.pending_files() == ([], [])
    assert not any((tmp_path / STAGING_DIR).iterdir())
    rtk.sync_dataset(api.client(), tmp_path, progress=False, **OPTIONS)
    for table in TABLES:
        pd.testing.assert_frame_equal(table_rows(tmp_path, table), table_rows(ref_root, table), obj=table)


def test_a_crash_before_the_commit_transaction_leaves_nothing_visible(api, tmp_path, monkeypatch):
    from rtk_frames.dataset import write

    def die(*_args, **_kwargs):
        raise Killed

    monkeypatch.setattr(write, "_upsert_session", die)  # inside the transaction: it rolls back
    with pytest.raises(Killed):
        rtk.sync_dataset(api.client(), tmp_path, progress=False, **OPTIONS)
    assert any((tmp_path / STAGING_DIR).iterdir())  # written, never committed
    assert not list(tmp_path.glob("*/date=*/*.parquet"))  # and no reader sees any of it
    monkeypatch.undo()
    rtk.open_dataset(tmp_path)
    assert not any((tmp_path / STAGING_DIR).iterdir())  # the orphans are gone
    with StateStore.open(tmp_path) as state:
        assert state.sessions() == {}


def test_every_new_file_and_directory_entry_is_fsynced_before_the_state_says_it_is_live(api, tmp_path,
                                                                                      monkeypatch):
    """Power-cut safety (a SIGKILL loses nothing the kernel has; a power cut loses what was not fsynced):
    when any transaction begins (the one that marks moved files live among them), every file in place
    has its name in its partition, its partition's name in its table directory and the table's in the
    root on disk; and each file's data was fsynced in the staging area before its commit point."""
    from rtk_frames.dataset import state as state_module
    from rtk_frames.dataset import write

    fsynced: list[Path] = []
    real_fsync = write._fsync_path
    monkeypatch.setattr(write, "_fsync_path", lambda path: (fsynced.append(Path(path)), real_fsync(path)))
    root = tmp_path / "fleet"
    checked = {"transactions": 0, "files": 0}
    real_transaction = state_module.StateStore.transaction

    def transaction(self):
        done = set(fsynced)
        for path in root.glob("*/date=*/*.parquet"):
            assert {path.parent, path.parent.parent, root} <= done, path
            checked["files"] += 1
        checked["transactions"] += 1
        return real_transaction(self)

    monkeypatch.setattr(state_module.StateStore, "transaction", transaction)
    rtk.sync_dataset(api.client(), root, progress=False, **OPTIONS)
    files = sorted(root.glob("*/date=*/*.parquet"))
    assert files and checked["files"] >= len(files) and checked["transactions"] >= 3
    assert root / STAGING_DIR in fsynced and root in fsynced  # the staging area, and its name in the root
    staged_names = {p.name for p in fsynced if p.parent == root / STAGING_DIR}
    assert {path.relative_to(root).as_posix().replace("/", "--") for path in files} <= staged_names
