"""The ``rtk-frames`` command: argument parsing only; the work is done by the package's functions.

Commands::

    rtk-frames report SESSION_ID --out DIR          one session, credentials from the environment
    rtk-frames report --demo --out DIR               the bundled sample data, served by an in-process sandbox
    rtk-frames report --from DATE --to DATE --out DIR [--demo]   a fleet report over many sessions
    rtk-frames report --from DATE --to DATE --dataset ROOT --out DIR   ... from a synced dataset, offline
    rtk-frames sessions [--demo] [--from DATE] [--to DATE] [--status ENDED|LIVE] [--csv PATH]
    rtk-frames sandbox [--port N] [--synthetic SESSIONS] [--rate-limit N/Ss] [--faults KIND] [--token T]
    rtk-frames sync ROOT --from DATE --to DATE [--no-peer-reports] [--chat] [--transcripts]
                      [--breakout-rooms] [--rate N/Ss]
                    [--workers N] [--demo] [--quiet]   keep the fleet dataset at ROOT up to date
    rtk-frames compact ROOT                          merge the dataset's small files

Credentials: ``CLOUDFLARE_API_TOKEN``, ``CLOUDFLARE_ACCOUNT_ID``, ``RTK_APP_ID`` and optionally
``RTK_BASE_URL`` (see ``rtk_frames.Client.from_env``). Expected failures print one line on stderr (no
traceback) and exit with a status that says what went wrong (:data:`EXIT_STATUSES`): 2 usage, 3
authentication (missing or rejected credentials), 4 not found, 5 network, 6 another API error, 7 a sync
or fleet report that finished without some sessions, 1 a local failure (e.g. the output directory cannot
be written), 130 interrupted (Ctrl-C). An output directory is built beside the target and moved into place
at the end: complete or untouched.

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
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rtk_frames.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PayloadError,
    RTKError,
    TransportError,
)

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_LOCAL_FAILURE = 1  # the machine's side: an output directory that cannot be written, a port in use
EXIT_USAGE = 2  # bad arguments (argparse's own, and ours: --from after --to, ...)
EXIT_AUTHENTICATION = 3  # credentials missing from the environment, or rejected (401/403)
EXIT_NOT_FOUND = 4  # an unknown session/participant/peer id (404)
EXIT_NETWORK = 5  # no answer: connection refused or dropped, DNS, timeout
EXIT_API_ERROR = 6  # any other answer the service gave: rate limited, 5xx after retries, an unreadable body
EXIT_SESSIONS_FAILED = 7  # a sync or fleet report finished without some sessions (cron should hear of it)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
EXIT_BROKEN_PIPE = 141  # the reader of the output went away (``… | head``): 128 + SIGPIPE, as for cat
EXIT_EXPECTED_FAILURE = EXIT_USAGE  # kept for callers of the old single status
#: exit status -> what it means (the CLI's --help epilog and the README list the same)
EXIT_STATUSES = {
    EXIT_OK: "success",
    EXIT_LOCAL_FAILURE: "a local failure (the output directory cannot be written, the port is in use, "
                        "another sync holds the dataset)",
    EXIT_USAGE: "usage error (bad or contradictory arguments)",
    EXIT_AUTHENTICATION: "authentication: credentials missing from the environment or rejected (401/403)",
    EXIT_NOT_FOUND: "not found: an unknown session or participant id (404)",
    EXIT_NETWORK: "network: no answer from the API (connection refused or dropped, timeout)",
    EXIT_API_ERROR: "another API error (rate limited or a 5xx after retries, an unreadable answer)",
    EXIT_SESSIONS_FAILED: "finished without some sessions (an error after retries): a sync's summary or a "
                          "fleet report's data gaps say which and why; a sync's next run tries them again",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); an output directory is left untouched",
    EXIT_BROKEN_PIPE: "the output's reader went away (e.g. piped into head): stopped quietly",
}
DEMO_SOURCE = "the bundled demo dataset (served by an in-process sandbox)"
SESSION_COLUMNS = ("session_id", "meeting_display_name", "status", "started_at", "ended_at",
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
        prog="rtk-frames", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Cloudflare RealtimeKit sessions as pandas frames, reports and a sandbox.",
        epilog=_EPILOG)
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
                        help="session report: skip the per-peer reports (faster; no RTT or E-model MOS); "
                             "a usage error on a fleet report, which never fetches them")
    _add_rate_argument(report)
    report.add_argument("--dataset", type=Path, metavar="ROOT",
                        help="fleet report: from the fleet dataset at ROOT (rtk-frames sync), not the API")
    report.add_argument("--quiet", action="store_true", help="no progress bar, only the output path")

    sessions = commands.add_parser("sessions", help="print the sessions table")
    sessions.add_argument("--demo", action="store_true", help="list the bundled sample sessions")
    sessions.add_argument("--from", dest="start", type=_date)
    sessions.add_argument("--to", dest="end", type=_date)
    sessions.add_argument("--status", choices=["LIVE", "ENDED"])
    sessions.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    sessions.add_argument("--csv", type=Path, help="also write the full table as spreadsheet-safe CSV")
    _add_rate_argument(sessions)

    _add_sandbox_parser(commands)
    _add_dataset_parsers(commands)
    return parser


def _add_dataset_parsers(commands: Any) -> None:
    sync = commands.add_parser("sync", help="keep a fleet dataset (hive-partitioned parquet) up to date")
    sync.add_argument("root", type=Path, help="the dataset's directory: a new or empty one (created if "
                      "missing), or an existing dataset's")
    sync.add_argument("--from", dest="start", type=_date, metavar="DATE",
                      help="sessions started from this date (UTC)")
    sync.add_argument("--to", dest="end", type=_date, metavar="DATE",
                      help="... up to (not including) this date (default: now, for a daily job)")
    sync.add_argument("--no-peer-reports", action="store_true",
                      help="skip the per-peer reports (half the requests; no RTT or MOS tables)")
    sync.add_argument("--chat", action="store_true", help="also keep each session's chat")
    sync.add_argument("--transcripts", action="store_true", help="also keep each session's transcript")
    sync.add_argument("--breakout-rooms", action="store_true",
                      help="also keep each session's breakout rooms, each fetched as a session of its own "
                           "(1 more request per session to find them)")
    _add_rate_argument(sync)
    sync.add_argument("--workers", type=_count(1), default=None, metavar="N",
                      help="requests in flight at once (default 8)")
    sync.add_argument("--demo", action="store_true",
                      help="sync the bundled sample data from an in-process sandbox (no credentials)")
    sync.add_argument("--quiet", action="store_true", help="no progress bar; the summary on stdout")
    compact = commands.add_parser("compact", help="merge a fleet dataset's small files (few per table/day)")
    compact.add_argument("root", type=Path, help="the dataset's directory")
    sync.error = _one_line_error(sync.prog)  # type: ignore[method-assign]
    compact.error = _one_line_error(compact.prog)  # type: ignore[method-assign]


def _sync(args: argparse.Namespace) -> int:
    from rtk_frames._display import plural
    from rtk_frames.dataset.sync import sync_dataset

    if not args.demo and args.start is None:  # all of an organisation's history is rarely meant
        raise _UsageError("sync: give --from DATE (and --to DATE; default: now), or --demo for the sample "
                          "data")
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise _UsageError("sync: --to must be after --from")
    with _client(args.demo, args.rate) as client:
        summary = sync_dataset(client, args.root, start=args.start, end=args.end,
                               peer_reports=not args.no_peer_reports, chat=args.chat,
                               transcripts=args.transcripts, breakout_rooms=args.breakout_rooms,
                               workers=args.workers, progress=not args.quiet)
        _output_in_place()
    if args.quiet:
        print(summary)
    if summary.failed:  # stored the rest; a daily job's status must still say that some are missing
        print(f"sync: {plural(summary.failed, 'session')} failed (the summary says why); the dataset holds "
              f"the others, and the next run tries {'it' if summary.failed == 1 else 'them'} again",
              file=sys.stderr)
        return EXIT_SESSIONS_FAILED
    return EXIT_OK


def _compact(args: argparse.Namespace) -> int:
    from rtk_frames.dataset.compact import compact_dataset
    from rtk_frames.dataset.state import STATE_FILE

    if not (args.root / STATE_FILE).exists():
        raise _UsageError(f"compact: {args.root} is not a dataset (no {STATE_FILE}); run rtk-frames sync")
    summary = compact_dataset(args.root)
    _output_in_place()
    print(summary)
    return EXIT_OK


_EPILOG = ("credentials (not needed with --demo): CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, RTK_APP_ID,\n"
           "  optional RTK_BASE_URL (e.g. the URL `rtk-frames sandbox` prints)\n\nexit statuses:\n"
           + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_STATUSES.items()))


def _add_rate_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=_requests_per_window, action="append", metavar="N/Ss",
                        help="the client's request budget, e.g. 1000/300s (repeat for several windows; "
                             "default: below Cloudflare's 1200/300s and RealtimeKit's 250/10s)")


@contextlib.contextmanager
def _client(demo: bool, rate: Sequence[tuple[int, float]] | None = None) -> Iterator[Any]:
    """A client for the real API (from the environment) or for an in-process demo sandbox; ``rate``
    (``--rate``) replaces its request budget."""
    kwargs: dict[str, Any] = {}
    if rate:
        from rtk_frames.client.ratelimit import RateLimiter

        kwargs["rate_limiter"] = RateLimiter(tuple(rate))
    if demo:
        from rtk_frames.sandbox import Dataset, serve

        with serve(Dataset.from_samples(), latency=_demo_latency_s()) as api:
            client = api.client(**kwargs)
            yield client
        return
    from rtk_frames.client import Client

    yield Client.from_env(**kwargs)


DEMO_LATENCY_ENV = "RTK_DEMO_LATENCY"  # seconds the --demo sandbox waits before each answer (tests, demos)


def _demo_latency_s() -> float:
    import os

    text = os.environ.get(DEMO_LATENCY_ENV, "").strip()
    if not text:
        return 0.0
    try:
        return _seconds(text)
    except argparse.ArgumentTypeError as exc:
        raise _UsageError(f"${DEMO_LATENCY_ENV}: {exc}") from None


def _pick_demo_session(client: Any) -> str:
    """The demo's richest session: most participants, then most minutes."""
    from rtk_frames.fetch import fetch_sessions

    sessions = fetch_sessions(client)
    if sessions.empty:
        raise RTKError("the demo dataset has no sessions")
    ranked = sessions.sort_values(["max_concurrent_participants", "minutes_consumed"], ascending=False,
                                  na_position="last")
    return str(ranked["session_id"].iloc[0])


def _report(args: argparse.Namespace) -> int:
    import dataclasses

    from rtk_frames.report import render_fleet_report, render_session_report
    from rtk_frames.session import collect_session

    fleet = args.start is not None or args.end is not None
    if args.dataset is not None and not fleet:
        raise _UsageError("report: --dataset makes a fleet report: give --from and/or --to")
    if not fleet and not args.session_id and not args.demo:
        raise _UsageError("report: give a SESSION_ID, --demo, or --from/--to for a fleet report")
    if fleet and args.session_id:
        raise _UsageError("report: give a SESSION_ID or --from/--to (a fleet report), not both")
    if args.start is not None and args.end is not None and args.start > args.end:
        raise _UsageError(f"report: --from {args.start:%Y-%m-%d %H:%M} is after "
                          f"--to {args.end:%Y-%m-%d %H:%M}")
    if fleet and args.no_peer_reports:
        raise _UsageError("report: --no-peer-reports is for a session report; a fleet report never "
                          "fetches peer reports")
    if args.dataset is not None:
        from rtk_frames.dataset.fleet import dataset_report

        written = dataset_report(args.dataset, args.out, start=args.start, end=args.end)
        _output_in_place()
        print(written)
        return EXIT_OK
    skipped = 0
    with _client(args.demo, args.rate) as client:
        if fleet:
            from rtk_frames.sync import fetch_fleet

            fleet_data = fetch_fleet(client, start_time=args.start, end_time=args.end,
                                     max_sessions=args.max_sessions, progress=not args.quiet)
            if args.demo:
                fleet_data = dataclasses.replace(fleet_data, source=DEMO_SOURCE)
            path = render_fleet_report(fleet_data, args.out)
            skipped = len(fleet_data.skipped_sessions)
        else:
            session_id = args.session_id or _pick_demo_session(client)
            session = collect_session(client, session_id, peer_reports=not args.no_peer_reports)
            if args.demo:
                session = dataclasses.replace(session, source=DEMO_SOURCE)
            path = render_session_report(session, args.out)
        _output_in_place()  # before the client closes (its pools' finalizers)
    print(path)
    if skipped:  # the report says so; a scheduled job's status must too
        print(f"report: {skipped:,} of {len(fleet_data.sessions):,} sessions left out after errors (the "
              f"report's data gaps say which and why)", file=sys.stderr)
        return EXIT_SESSIONS_FAILED
    return EXIT_OK


def _sessions(args: argparse.Namespace) -> int:
    import pandas as pd

    from rtk_frames.fetch import fetch_sessions

    if args.start is not None and args.end is not None and args.start > args.end:
        raise _UsageError("sessions: --from is after --to")
    with _client(args.demo, args.rate) as client:
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


# ---------------------------------------------------------------- rtk-frames sandbox

SANDBOX_EXIT_INTERRUPTED = 130  # stopped with Ctrl-C (128 + SIGINT), as shells report it
SANDBOX_SYNTHETIC_OPTIONS = ("participants", "samples", "seed")


def _port(text: str) -> int:
    """A TCP port number, 0..65535 (0: a free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0..65535; 0 picks a free one)")
    return port


def _count(minimum: int) -> Any:
    """An argparse type: an integer >= ``minimum``."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    read.__name__ = f"integer >= {minimum}"
    return read


def _seconds(text: str) -> float:
    """A non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a non-negative number of seconds")
    return value


def _requests_per_window(text: str) -> tuple[int, float]:
    """``N/Ss``: at most N requests per S seconds, e.g. ``250/10s`` (the ``s`` is optional)."""
    from rtk_frames.client.ratelimit import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _faults(text: str) -> Any:
    from rtk_frames.sandbox.faults import parse_faults

    try:
        parse_faults([text])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _one_line_error(prog: str) -> Any:
    """An ``ArgumentParser.error`` that prints one line (no usage block) and exits 2."""

    def error(message: str) -> Any:
        print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    return error


def _add_sandbox_parser(commands: Any) -> None:
    from rtk_frames.sandbox.faults import FAULT_KINDS, FAULT_PARAMETERS

    sandbox = commands.add_parser(
        "sandbox", help="serve the sandbox API on 127.0.0.1 until Ctrl-C",
        description="Serve the RealtimeKit sandbox on 127.0.0.1 until Ctrl-C. It prints its base URL, the "
                    "session ids and an export line that points rtk_frames (Client.from_env) at it.")
    sandbox.error = _one_line_error(sandbox.prog)  # type: ignore[method-assign]
    sandbox.add_argument("--port", type=_port, default=8787, help="TCP port (default 8787; 0: a free one)")
    sandbox.add_argument("--flavor", choices=["sdk", "seed"], default="sdk",
                         help="response shapes: the official SDK's (default) or the reference's seed")
    data = sandbox.add_argument_group("data (default: the bundled 3-session demo)")
    data.add_argument("--synthetic", type=_count(0), metavar="SESSIONS",
                      help="serve a generated dataset of this many sessions instead")
    data.add_argument("--participants", type=_count(1), help="--synthetic: participant rows per session "
                                                              "(default 8)")
    data.add_argument("--samples", type=_count(1), help="--synthetic: quality samples per participant, "
                                                         "~7 s apart (default 60)")
    data.add_argument("--seed", type=_count(0), help="--synthetic: random seed (default 0)")
    behaviour = sandbox.add_argument_group("behaviour")
    behaviour.add_argument("--latency", type=_seconds, default=0.0, metavar="SECONDS",
                           help="answer each request this long after it arrived (own work included)")
    behaviour.add_argument("--rate-limit", type=_requests_per_window, metavar="N/Ss",
                           help="a request budget with Ratelimit headers and 429s, e.g. 250/10s")
    kinds = ", ".join(FAULT_KINDS)
    parameters = ", ".join(f"{name}=VALUE" for name in FAULT_PARAMETERS)
    behaviour.add_argument("--faults", type=_faults, action="append", default=[], metavar="KIND[,KIND...]",
                           help=f"inject failures: KIND[=COUNT] (the first COUNT requests, default 1) of "
                                f"{kinds}; parameters {parameters} (retry_after seconds, status of the "
                                f"server errors, latency seconds, path regex). Repeatable.")
    behaviour.add_argument("--token", help="use this API token (default: a random one)")


def _sandbox(args: argparse.Namespace) -> int:
    import errno

    from rtk_frames.sandbox import Dataset
    from rtk_frames.sandbox.faults import parse_faults
    from rtk_frames.sandbox.server import run_forever

    given = [f"--{name}" for name in SANDBOX_SYNTHETIC_OPTIONS if getattr(args, name) is not None]
    if given and args.synthetic is None:
        verb = "needs" if len(given) == 1 else "need"
        raise _UsageError(f"sandbox: {', '.join(given)} {verb} --synthetic SESSIONS")
    try:
        if args.synthetic is None:
            dataset = Dataset.from_samples()
        else:
            options = {name: getattr(args, name) for name in SANDBOX_SYNTHETIC_OPTIONS}
            dataset = Dataset.synthetic(sessions=args.synthetic,
                                        **{k: v for k, v in options.items() if v is not None})
        run_forever(dataset, args.port, flavor=args.flavor, latency=args.latency,
                    rate_limit=args.rate_limit, faults=parse_faults(args.faults) if args.faults else None,
                    api_token=args.token)
    except KeyboardInterrupt:  # Ctrl-C before the server was up (run_forever handles it after)
        print("stopped", flush=True)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"port {args.port} is already in use: pick another with --port "
                          "(--port 0 picks a free one)") from None
        raise
    return SANDBOX_EXIT_INTERRUPTED


class _UsageError(Exception):
    """Arguments that parse but make no sense together."""


def _exit_status(exc: BaseException) -> int:
    """The documented exit status for an expected failure."""
    from rtk_frames.client import MissingCredentialsError

    if isinstance(exc, AuthenticationError | MissingCredentialsError):
        return EXIT_AUTHENTICATION
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, TransportError):
        return EXIT_NETWORK
    if isinstance(exc, APIError | PayloadError):
        return EXIT_API_ERROR
    return EXIT_LOCAL_FAILURE  # OSError, or a local RTKError (e.g. another sync holds the dataset root)


INTERRUPTED_LINE = "rtk-frames: interrupted"
#: what an interrupted sync keeps (its finished sessions are committed before it stops)
SYNC_INTERRUPTED_LINE = (f"{INTERRUPTED_LINE}; the sessions finished so far are kept: "
                         "run the same sync again to go on")


def _flush_and_exit(status: int) -> None:
    """End the process now with ``status``: flush what was printed, skip the interpreter's shutdown (no
    joining of pool threads, no SIGINT reset to the default action while it finalizes)."""
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


#: a Ctrl-C swallowed by a finalizer is sent to the main thread again this much later
REDELIVER_AFTER_S = 0.005


def _output_in_place() -> None:
    """The command's output is complete (the report moved into place, the sync committed): from here a
    Ctrl-C has nothing to stop and would make a finished run look interrupted (status 130, or death by
    SIGINT in the interpreter's teardown, where Python leaves SIGINT to its default action). So SIGINT is
    ignored from now until the process ends (from the shell) or :func:`main` returns (called from
    Python: the previous handler comes back)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _ctrl_c_ends_waits(*, until_exit: bool) -> Iterator[None]:
    """While the command runs, Ctrl-C also ends every wait for the rate budget or a retry, in every
    thread (so pools stop at once instead of sitting out their sleeps). ``until_exit`` (the command run
    from the shell): afterwards SIGINT stays ignored (the interrupted line or the interpreter's teardown
    is all that is left: a Ctrl-C there would be death by SIGINT); otherwise the previous handler comes
    back.

    Only the first Ctrl-C raises ``KeyboardInterrupt``; later ones do nothing: the first already stops
    everything, and a second ``KeyboardInterrupt`` would cut short the clean-up it started (removing the
    temporary output directory, committing the finished sessions) and print a traceback. A first Ctrl-C
    that lands while a finalizer runs (urllib3 closes a pool's sockets in one, on any thread) would be
    swallowed there, printed as "Exception ignored in: <finalize object>": it is raised again in the
    main thread's own code instead, silently. A Ctrl-C that a library turns into an error of its own
    (matplotlib's Agg renderer, interrupted in a callback, raises ``ValueError: Invalid bounding box``)
    is an interrupt all the same: any error after a Ctrl-C leaves as ``KeyboardInterrupt``. After an
    interrupted command run from the shell :func:`main` prints one line and exits 130 at once.
    """
    from rtk_frames.client.ratelimit import cancel_waits

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = redeliver = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted, redeliver
        if interrupted and not redeliver:  # a later Ctrl-C
            return
        interrupted, redeliver = True, False
        cancel_waits()
        raise KeyboardInterrupt

    def on_unraisable(unraisable: Any) -> None:  # sys.unraisablehook: an exception no caller can get
        nonlocal redeliver
        if interrupted and unraisable.exc_type is not None and issubclass(unraisable.exc_type,
                                                                          KeyboardInterrupt):
            redeliver = True  # ours, swallowed by a finalizer: sent again, from another thread, so that
            again = threading.Timer(REDELIVER_AFTER_S, signal.pthread_kill,  # it lands past the finalizer
                                    (threading.main_thread().ident, signal.SIGINT))
            again.daemon = True
            again.start()
            return
        previous_hook(unraisable)

    previous = signal.signal(signal.SIGINT, on_sigint)
    previous_hook, sys.unraisablehook = sys.unraisablehook, on_unraisable
    try:
        yield
    except Exception as exc:  # (not KeyboardInterrupt or SystemExit: they leave as they are)
        if interrupted:  # the Ctrl-C's doing: a library turned it into its own error
            raise KeyboardInterrupt from exc
        raise
    finally:
        sys.unraisablehook = previous_hook
        # from the shell, what is left is the one line of an interrupted run or the interpreter's teardown
        signal.signal(signal.SIGINT, previous if not until_exit else signal.SIG_IGN)
        cancel_waits.reset()  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (:data:`EXIT_STATUSES`: 0 ok, 2 usage, 3
    authentication, 4 not found, 5 network, 6 another API error, 1 local, 130 Ctrl-C). Failures print
    one line on stderr and no traceback.

    Example:
        >>> main(["sessions", "--demo", "--limit", "1"])  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        session_id meeting_display_name ...
        … 2 more (use --limit or --csv)
        0
    """
    handlers = {"report": _report, "sessions": _sessions, "sandbox": _sandbox, "sync": _sync,
                "compact": _compact}
    from_shell = argv is None  # run as the rtk-frames command (not called from Python)
    command = None
    try:
        with _ctrl_c_ends_waits(until_exit=from_shell):
            args = build_parser().parse_args(argv)
            command = args.command
            return handlers[command](args)
    except KeyboardInterrupt:
        print(SYNC_INTERRUPTED_LINE if command == "sync" else INTERRUPTED_LINE, file=sys.stderr, flush=True)
        if from_shell:  # nothing may follow the line: not a second one, not SIGINT's default action
            _flush_and_exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except _UsageError as exc:
        print(f"rtk-frames: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `rtk-frames sessions | head`: the reader has what it wanted; no error line
        if from_shell:  # and no second one when Python flushes stdout at exit
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (RTKError, OSError) as exc:  # OSError: e.g. the output directory cannot be written
        print(f"rtk-frames: error: {exc}", file=sys.stderr)
        return _exit_status(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
