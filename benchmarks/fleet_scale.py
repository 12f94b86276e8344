"""The fleet analysis at scale: time and peak RSS of the out-of-core path over a dataset of N quality
samples, against the in-memory pandas path on a tenth of it.

The dataset is written straight from a vectorised numpy generator (no HTTP) through the dataset's own
writer (``Commit.add_batches``) and schemas: ``sessions``, ``participant_details`` and ``quality_stats``,
``--participants`` × ``--samples`` samples per session, one day partition per ``--day-rows`` samples.
Each analysis runs in a fresh subprocess that reports its own peak RSS (``ru_maxrss``).

Usage:
    python benchmarks/fleet_scale.py                       # 5M, 20M, 50M samples (a few minutes)
    python benchmarks/fleet_scale.py --rows 200000         # CI-sized
    python benchmarks/fleet_scale.py --rows 5000000 --rows 50000000 --keep /tmp/fleet
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from rtk_frames.dataset.state import StateStore
from rtk_frames.dataset.tables import conform
from rtk_frames.dataset.write import Commit

DEFAULT_ROWS = (5_000_000, 20_000_000, 50_000_000)
FIRST_DAY = dt.date(2026, 1, 1)
SAMPLE_INTERVAL_S = 7
BROWSERS = np.array(["Chrome", "Safari", "Firefox", "Edge"])
OSES = np.array(["Windows", "macOS", "iOS", "Android", "Linux"])
COUNTRIES = np.array(["US", "DE", "IN", "BR", "JP", "GB"])
NETWORKS = np.array(["4g", "wifi", "3g"])


def _strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``prefix`` + number, built by Arrow (fast: no Python string per row)."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(pa.array(numbers), pa.string()), "")


def _day(rng: np.random.Generator, day: int, first_session: int, sessions: int, participants: int,
         samples: int) -> dict[str, pa.Table]:
    """One day's sessions, participants and quality samples, generated with numpy."""
    midnight = np.datetime64(FIRST_DAY + dt.timedelta(days=day), "us")
    session_no = np.arange(first_session, first_session + sessions)
    start = midnight + (rng.integers(0, 20 * 3600, sessions) * 1_000_000).astype("timedelta64[us]")
    length_s = samples * SAMPLE_INTERVAL_S
    sessions_table = pa.table({
        "session_id": _strings("s", session_no),
        "meeting_display_name": _strings("meeting ", session_no % 500),
        "status": pa.array(["ENDED"] * sessions),
        "started_at": pa.array(start, pa.timestamp("us", tz="UTC")),
        "ended_at": pa.array(start + np.timedelta64(length_s, "s"), pa.timestamp("us", tz="UTC")),
        "max_concurrent_participants": pa.array(np.full(sessions, participants), pa.int64()),
        "minutes_consumed": pa.array(np.full(sessions, participants * length_s / 60.0)),
    })
    n_people = sessions * participants
    person_session = np.repeat(session_no, participants)
    person_no = np.arange(n_people) + first_session * participants
    person_start = np.repeat(start, participants)
    details = pa.table({
        "participant_id": _strings("p", person_no),
        "session_id": _strings("s", person_session),
        "display_name": _strings("user ", person_no % 10_000),
        "joined_at": pa.array(person_start, pa.timestamp("us", tz="UTC")),
        "left_at": pa.array(person_start + np.timedelta64(length_s, "s"), pa.timestamp("us", tz="UTC")),
        "duration": pa.array(np.full(n_people, length_s / 60.0)),
        "device_info_browser": pa.array(BROWSERS[rng.integers(0, len(BROWSERS), n_people)]),
        "device_info_os": pa.array(OSES[rng.integers(0, len(OSES), n_people)]),
        "device_info_sdk_version": pa.array(np.array(["1.2.0", "1.3.1"])[rng.integers(0, 2, n_people)]),
        "ip_information_country": pa.array(COUNTRIES[rng.integers(0, len(COUNTRIES), n_people)]),
        "precall_network_information_effective_network_type":
            pa.array(NETWORKS[rng.integers(0, len(NETWORKS), n_people)]),
        "precall_network_information_rtt": pa.array(rng.gamma(2.0, 40.0, n_people)),
    })
    n = n_people * samples
    person = np.repeat(np.arange(n_people), samples)
    step = np.tile(np.arange(samples), n_people)
    level = rng.beta(5.0, 2.0, n_people) * 100.0  # each person's usual quality
    bad = rng.random(n_people) < 0.15  # some people have a bad stretch in the middle of their call
    quality = level[person] + rng.normal(0.0, 8.0, n)
    dip = bad[person] & (step > samples // 3) & (step < samples // 2)
    quality = np.clip(np.where(dip, quality - 50.0, quality), 0.0, 100.0)
    video = (step % 2).astype(bool)
    timestamp = person_start[person] + (step * SAMPLE_INTERVAL_S * 1_000_000).astype("timedelta64[us]")
    stats = pa.table({
        "session_id": _strings("s", person_session[person]),
        "participant_id": _strings("p", person_no[person]),
        "peer_id": _strings("peer", person_no[person]),
        "kind": pa.array(np.where(video, "video", "audio")),
        "timestamp": pa.array(timestamp, pa.timestamp("us", tz="UTC")),
        "quality": pa.array(quality),
        "jitter": pa.array(rng.gamma(2.0, 6.0, n) + np.where(dip, 30.0, 0.0)),
        "packets_lost": pa.array(rng.poisson(0.3, n).astype("float64")),
        "frames_per_second": pa.array(np.where(video, np.clip(rng.normal(24.0, 4.0, n), 0.0, 30.0), np.nan)),
    })
    return {"sessions": sessions_table, "participant_details": details, "quality_stats": stats}


def write_dataset(root: Path, rows: int, *, participants: int, samples: int, day_rows: int,
                  seed: int = 0) -> dict[str, int]:
    """A dataset of about ``rows`` quality samples (whole sessions), day by day; returns its counts."""
    rng = np.random.default_rng(seed)
    per_session = participants * samples
    total_sessions = max(1, rows // per_session)
    per_day = max(1, day_rows // per_session)
    counts = {"sessions": 0, "participants": 0, "samples": 0, "days": 0}
    with StateStore.open(root) as state:
        run_id = state.start_run("benchmark", {"rows": rows})
        for day, first in enumerate(range(0, total_sessions, per_day)):
            tables = _day(rng, day, first, min(per_day, total_sessions - first), participants, samples)
            commit = Commit(root, state, run_id)
            date = (FIRST_DAY + dt.timedelta(days=day)).isoformat()
            for name, data in tables.items():
                typed = conform(data, name)
                commit.add_batches(name, date, typed.to_batches(max_chunksize=250_000),
                                   max_rows_per_file=2_000_000)
            commit.apply()
            counts["sessions"] += tables["sessions"].num_rows
            counts["participants"] += tables["participant_details"].num_rows
            counts["samples"] += tables["quality_stats"].num_rows
            counts["days"] += 1
        state.finish_run(run_id, counts)
    return counts


# ------------------------------------------------------------------------------------------ measurement

def _child(engine: str, root: str, batch_rows: int) -> None:
    """Run one analysis in this (fresh) process and print its time and peak RSS as JSON."""
    began = time.perf_counter()
    if engine == "dataset":
        from rtk_frames.dataset.fleet import analyse_dataset

        summary = analyse_dataset(root, max_batch_rows=batch_rows)
    else:  # the in-memory pandas path: every table read whole, one analysis
        from rtk_frames.dataset.fleet import fleet_summary
        from rtk_frames.dataset.read import open_dataset
        from rtk_frames.sync import FleetData, fleet_tables

        ds = open_dataset(root)
        fleet = FleetData(sessions=ds.table("sessions"), participants=ds.table("participant_details"),
                          quality_stats=ds.table("quality_stats"),
                          quality_segments=ds.table("quality_segments"))
        summary = fleet_summary(fleet_tables(fleet))
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024.0,
                      "participants": len(summary.participant_table),
                      "poor": int((summary.participant_table["verdict"] == "poor").sum())}))


def measure(engine: str, root: Path, batch_rows: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, __file__, "--child", engine, str(root), "--batch-rows",
                           str(batch_rows)], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append",
                        help="quality samples in the dataset (repeatable; default 5M, 20M, 50M)")
    parser.add_argument("--participants", type=int, default=10, help="participants per session")
    parser.add_argument("--samples", type=int, default=200, help="samples per participant")
    parser.add_argument("--day-rows", type=int, default=1_000_000, help="samples per day partition")
    parser.add_argument("--batch-rows", type=int, default=1_000_000, help="analyse_dataset(max_batch_rows=)")
    parser.add_argument("--keep", type=Path, help="write the datasets under this directory and keep them")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.batch_rows)
        return 0
    sizes = args.rows or list(DEFAULT_ROWS)
    base = args.keep or Path(tempfile.mkdtemp(prefix="fleet_scale_"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"disk free under {base}: {shutil.disk_usage(base).free / 1e9:.1f} GB; "
          f"{args.participants} participants x {args.samples} samples per session, "
          f"{args.day_rows:,} samples per day, batches of {args.batch_rows:,}")
    header = (f"{'engine':<22}{'samples':>12}{'write s':>9}{'analyse s':>11}{'us/sample':>11}"
              f"{'peak RSS MiB':>14}{'participants':>14}")
    print(header)
    print("-" * len(header))
    try:
        for rows in sizes:
            root = base / f"rows_{rows}"
            began = time.perf_counter()
            counts = write_dataset(root, rows, participants=args.participants, samples=args.samples,
                                   day_rows=args.day_rows)
            written = time.perf_counter() - began
            runs = [("out of core (dataset)", "dataset", root, counts["samples"])]
            if rows == min(sizes):  # the in-memory pandas path, on the smallest (a tenth of 50M by default)
                runs.append(("in memory (pandas)", "pandas", root, counts["samples"]))
            for label, engine, where, samples in runs:
                result = measure(engine, where, args.batch_rows)
                print(f"{label:<22}{samples:>12,}{written:>9.1f}{result['seconds']:>11.1f}"
                      f"{1e6 * result['seconds'] / samples:>11.2f}{result['peak_mib']:>14.0f}"
                      f"{result['participants']:>14,}", flush=True)
            if args.keep is None:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
