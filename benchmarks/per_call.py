"""Benchmark: the per-call cost of each single-payload ``fetch_*`` against the official SDK's call.

One process; the sandbox (``rtk_frames.sandbox.serve``, bundled sample data, no added latency) answers
on 127.0.0.1 from its own thread. For each pair, both sides make the same request ``--calls`` times
(default 500), interleaved in rounds so both see the same machine load; the per-call time is the
best round's mean (the machine is shared: the best round is the one least disturbed by other work, as
``timeit`` advises). The SDK is ``cloudflare.Cloudflare(...).realtime_kit.sessions`` pointed at
the sandbox with its token (``max_retries=0``); it returns a pydantic model, rtk_frames a typed DataFrame.

rtk_frames' client runs here with ``rate_limiter=None``: the SDK has no request budget, and a budget
only adds waiting, not cost (the default 250/10 s budget would make 500 calls wait for the window).
The last two columns show where the time goes (best of 25 x 4 calls): "client" is rtk_frames' raw client
method alone (request + JSON parse), "flatten" the flattener alone on the same, already parsed payload.

Goal (issue 8, item 7): every ratio <= 1.3.

Run: ``python benchmarks/per_call.py`` (``--calls N``; ``--profile NAME`` for a cProfile of one fetcher).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
import warnings
from collections.abc import Callable
from typing import Any

import cloudflare

import rtk_frames as rtk
from rtk_frames.sandbox import Dataset, serve

GOAL_RATIO = 1.3
ROUNDS = 100  # short rounds: on a shared machine a short round is more often undisturbed
WARMUP_CALLS = 20


def per_call_ms(call: Callable[[], Any], calls: int) -> float:
    """Mean milliseconds per call over ``calls`` calls (GC left on: the user's process has it on)."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) * 1000.0 / calls


def compare(ours: Callable[[], Any], sdk: Callable[[], Any], calls: int) -> tuple[float, float]:
    """(ours, sdk) per-call ms: the best of ``ROUNDS`` interleaved rounds of ``calls / ROUNDS`` calls."""
    for _ in range(WARMUP_CALLS):
        ours()
        sdk()
    per_round = max(1, calls // ROUNDS)
    ours_ms, sdk_ms = [], []
    for _ in range(ROUNDS):
        gc.collect()
        ours_ms.append(per_call_ms(ours, per_round))
        gc.collect()
        sdk_ms.append(per_call_ms(sdk, per_round))
    return min(ours_ms), min(sdk_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per fetcher and side (default 500)")
    parser.add_argument("--profile", metavar="NAME", help="cProfile one fetcher (e.g. fetch_participant)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", rtk.CoercionWarning)

    dataset = Dataset.from_samples()
    with serve(dataset) as api:
        client = api.client(rate_limiter=None)
        sdk = cloudflare.Cloudflare(api_token=api.api_token, base_url=api.base_url, max_retries=0)
        sessions = sdk.realtime_kit.sessions
        kw = {"account_id": api.account_id, "app_id": api.app_id}
        session_id = dataset.sessions[0]["id"]
        participant_id = dataset.participants[session_id][0]["id"]
        peer_id = participant_id  # the sandbox (like the service) answers peer reports by participant id

        pairs: dict[str, tuple[Callable[[], Any], ...]] = {}
        details = client.get_session_participant_details(session_id, participant_id)
        quality = client.get_session_participant_details(session_id, participant_id,
                                                         filters=["quality_stats"])
        session = client.get_session_details(session_id)
        report = client.get_participant_data_from_peer_id(peer_id)
        pairs["fetch_participant"] = (
            lambda: rtk.fetch_participant(client, session_id, participant_id),
            lambda: sessions.get_session_participant_details(participant_id, session_id=session_id, **kw),
            lambda: rtk.participant_frame(details, session_id=session_id),
            lambda: client.get_session_participant_details(session_id, participant_id),
        )
        pairs["fetch_session"] = (
            lambda: rtk.fetch_session(client, session_id),
            lambda: sessions.get_session_details(session_id, **kw),
            lambda: rtk.session_frame(session),
            lambda: client.get_session_details(session_id),
        )
        pairs["fetch_peer_report"] = (
            lambda: rtk.fetch_peer_report(client, peer_id),
            lambda: sessions.get_participant_data_from_peer_id(peer_id, **kw),
            lambda: rtk.peer_report_frame(report, peer_id=peer_id),
            lambda: client.get_participant_data_from_peer_id(peer_id),
        )
        pairs["fetch_quality_stats"] = (
            lambda: rtk.fetch_quality_stats(client, session_id, participant_id),
            lambda: sessions.get_session_participant_details(
                participant_id, session_id=session_id, extra_query={"filters": "quality_stats"}, **kw),
            lambda: rtk.quality_stats_frame(quality),
            lambda: client.get_session_participant_details(session_id, participant_id,
                                                           filters=["quality_stats"]),
        )

        if args.profile:
            ours = pairs[args.profile][0]
            profiler = cProfile.Profile()
            profiler.runcall(per_call_ms, ours, args.calls)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return

        print(f"per-call cost against the sandbox (no added latency), {args.calls} calls per side, "
              f"best of {ROUNDS} interleaved rounds")
        print(f"{'fetcher':<22}{'rtk_frames ms':>15}{'SDK ms':>10}{'ratio':>8}"
              f"{'of which: client':>18}{'flatten':>9}")
        worst = 0.0
        for name, (ours, theirs, flatten, raw_call) in pairs.items():
            ours_ms, sdk_ms = compare(ours, theirs, args.calls)
            client_ms = min(per_call_ms(raw_call, 4) for _ in range(25))
            flatten_ms = min(per_call_ms(flatten, 4) for _ in range(25))
            ratio = ours_ms / sdk_ms
            worst = max(worst, ratio)
            print(f"{name:<22}{ours_ms:>15.2f}{sdk_ms:>10.2f}{ratio:>7.2f}x{client_ms:>18.2f}{flatten_ms:>9.2f}")
        verdict = "meets" if worst <= GOAL_RATIO else "misses"
        print(f"worst ratio {worst:.2f}x: {verdict} the goal (<= {GOAL_RATIO}x the SDK's per-call time)")


if __name__ == "__main__":
    main()
