"""The ``rtk-frames`` command: argument parsing only; the work is done by the package's functions.

Commands::

    rtk-frames report SESSION_ID --out DIR          one session, credentials from the environment
    rtk-frames report --demo --out DIR               the bundled sample data, served by an in-process sandbox
    rtk-frames report --from DATE --to DATE --out DIR [--demo]   a fleet report over many sessions
    rtk-frames sessions [--demo] [--from DATE] [--to DATE] [--status ENDED|LIVE] [--csv PATH]
    rtk-frames sandbox [--port N] [--flavor sdk|seed]

Credentials: ``CLOUDFLARE_API_TOKEN``, ``CLOUDFLARE_ACCOUNT_ID``, ``RTK_APP_ID`` and optionally
``RTK_BASE_URL`` (see ``rtk_frames.Client.from_env``). Expected failures (a typed ``rtk_frames`` error:
missing credentials, 401, 404, rate limits, a dropped connection) print one line on stderr and exit 2.

Example:
    >>> import tempfile
    >>> main(["report", "--demo", "--out", tempfile.mkdtemp(), "--quiet"])  # doctest: +ELLIPSIS
    /.../report.html
    0
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rtk_frames.errors import RTKError

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_EXPECTED_FAILURE = 2  # a typed rtk_frames error or bad arguments (argparse uses 2 as well)
DEMO_SOURCE = "the bundled demo dataset (served by an in-process sandbox)"
SESSION_COLUMNS = ("id", "meeting_display_name", "status", "started_at", "ended_at",
                   "max_concurrent_participants", "minutes_consumed")


def _date(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` or an ISO timestamp; naive means UTC."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or ISO timestamp: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests).

    Example:
        >>> build_parser().parse_args(["sessions", "--demo"]).command
        'sessions'
    """
    parser = argparse.ArgumentParser(
        prog="rtk-frames",
        description="Cloudflare RealtimeKit sessions as pandas frames, reports and a sandbox.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser("report",
                                 help="write a self-contained HTML quality report (+ parquet frames)")
    report.add_argument("session_id", nargs="?", help="the session to report on (omit with --demo or --from)")
    report.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    report.add_argument("--demo", action="store_true",
                        help="use the bundled sample data in an in-process sandbox (no credentials needed)")
    report.add_argument("--from", dest="start", type=_date,
                        help="fleet report: sessions started from this date (UTC)")
    report.add_argument("--to", dest="end", type=_date,
                        help="fleet report: ... up to (not including) this date")
    report.add_argument("--max-sessions", type=int, default=None,
                        help="fleet report: at most this many sessions")
    report.add_argument("--no-peer-reports", action="store_true",
                        help="skip the per-peer reports (faster; no RTT or E-model MOS)")
    report.add_argument("--quiet", action="store_true", help="no progress bar, only the output path")

    sessions = commands.add_parser("sessions", help="print the sessions table")
    sessions.add_argument("--demo", action="store_true", help="list the bundled sample sessions")
    sessions.add_argument("--from", dest="start", type=_date)
    sessions.add_argument("--to", dest="end", type=_date)
    sessions.add_argument("--status", choices=["LIVE", "ENDED"])
    sessions.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    sessions.add_argument("--csv", type=Path, help="also write the full table as spreadsheet-safe CSV")

    sandbox = commands.add_parser("sandbox", help="serve the sandbox API on 127.0.0.1 until Ctrl-C")
    sandbox.add_argument("--port", type=int, default=8787)
    sandbox.add_argument("--flavor", choices=["sdk", "seed"], default="sdk",
                         help="response shapes: the official SDK's (default) or the reference's seed")
    return parser


@contextlib.contextmanager
def _client(demo: bool) -> Iterator[Any]:
    """A client for the real API (from the environment) or for an in-process demo sandbox."""
    if demo:
        from rtk_frames.sandbox import Dataset, serve

        with serve(Dataset.from_samples()) as api:
            client = api.client()
            yield client
        return
    from rtk_frames.client import Client

    yield Client.from_env()


def _pick_demo_session(client: Any) -> str:
    """The demo's richest session: most participants, then most minutes."""
    from rtk_frames.fetch import fetch_sessions

    sessions = fetch_sessions(client)
    if sessions.empty:
        raise RTKError("the demo dataset has no sessions")
    ranked = sessions.sort_values(["max_concurrent_participants", "minutes_consumed"], ascending=False,
                                  na_position="last")
    return str(ranked["id"].iloc[0])


def _report(args: argparse.Namespace) -> int:
    from rtk_frames.report.build import collect_session, render_fleet_report, render_session_report

    fleet = args.start is not None or args.end is not None
    if not fleet and not args.session_id and not args.demo:
        raise _UsageError("report: give a SESSION_ID, --demo, or --from/--to for a fleet report")
    with _client(args.demo) as client:
        if fleet:
            from rtk_frames.sync import fetch_fleet

            data = fetch_fleet(client, start_time=args.start, end_time=args.end,
                               max_sessions=args.max_sessions, progress=not args.quiet)
            if args.demo:
                data.source = DEMO_SOURCE
            path = render_fleet_report(data, args.out)
        else:
            session_id = args.session_id or _pick_demo_session(client)
            data = collect_session(client, session_id, peer_reports=not args.no_peer_reports)
            if args.demo:
                data.source = DEMO_SOURCE
            path = render_session_report(data, args.out)
    print(path)
    return EXIT_OK


def _sessions(args: argparse.Namespace) -> int:
    import pandas as pd

    from rtk_frames.fetch import fetch_sessions

    with _client(args.demo) as client:
        frame = fetch_sessions(client, status=args.status, start_time=args.start, end_time=args.end)
    if args.csv is not None:
        from rtk_frames.export import to_csv_safe

        to_csv_safe(frame, args.csv, index=False)
    columns = [c for c in SESSION_COLUMNS if c in frame.columns]
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.max_colwidth", 40):
        print(frame[columns].head(args.limit).to_string(index=False) if len(frame) else "no sessions")
    if len(frame) > args.limit:
        print(f"… {len(frame) - args.limit} more (use --limit or --csv)")
    return EXIT_OK


def _sandbox(args: argparse.Namespace) -> int:
    from rtk_frames.sandbox import Dataset
    from rtk_frames.sandbox.server import run_forever

    run_forever(Dataset.from_samples(), args.port, flavor=args.flavor)
    return EXIT_OK


class _UsageError(Exception):
    """Arguments that parse but make no sense together."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 for an expected failure, with one line on
    stderr and no traceback).

    Example:
        >>> main(["sessions", "--demo", "--limit", "1"])  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        id meeting_display_name ...
        … 2 more (use --limit or --csv)
        0
    """
    args = build_parser().parse_args(argv)
    handlers = {"report": _report, "sessions": _sessions, "sandbox": _sandbox}
    try:
        return handlers[args.command](args)
    except _UsageError as exc:
        print(f"rtk-frames: {exc}", file=sys.stderr)
    except RTKError as exc:
        print(f"rtk-frames: error: {exc}", file=sys.stderr)
    except OSError as exc:  # e.g. the output directory cannot be written, the port is taken
        print(f"rtk-frames: error: {exc}", file=sys.stderr)
    return EXIT_EXPECTED_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
