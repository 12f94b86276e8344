"""Waits for the rate budget are visible while they happen: the limiter says how long, progress bars show
it, their ETA counts it, Ctrl-C ends it; the budget is set from Python as a rate string."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from rtk_frames.client import Client
from rtk_frames.client.ratelimit import RateLimiter, cancel_waits, parse_rate
from rtk_frames.progress import RateAwareProgress, rate_wait_postfix
from rtk_frames.sandbox import Dataset, serve


def _fake_clock() -> tuple[list[float], dict]:
    now = [0.0]
    return now, {"clock": lambda: now[0], "sleep": lambda s: now.__setitem__(0, now[0] + s)}


def test_on_wait_hears_each_wait_and_waited_s_adds_them_up():
    _, fake = _fake_clock()
    heard: list[float] = []
    limiter = RateLimiter(["2/10s"], on_wait=heard.append, **fake)
    assert [limiter.acquire() for _ in range(5)] == [0.0, 0.0, 10.0, 0.0, 10.0]
    assert heard == [10.0, 10.0] and limiter.waited_s == 20.0


def test_waiting_s_is_the_time_left_of_a_wait_in_progress():
    limiter = RateLimiter(["1/30s"])
    limiter.acquire()
    entered, done = threading.Event(), threading.Event()
    limiter.on_wait = lambda seconds: entered.set()
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            limiter.acquire()
        except KeyboardInterrupt as exc:
            outcome.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=blocked)
    thread.start()
    try:
        assert entered.wait(10)
        assert 25.0 < limiter.waiting_s() <= 30.0
        assert rate_wait_postfix(limiter) in {f"waiting {n}s (rate budget)" for n in (29, 30)}
    finally:
        cancel_waits()  # what the CLI's Ctrl-C does: the waiting thread wakes now, not in 30 s
        try:
            assert done.wait(10), "cancel_waits did not end the wait"
        finally:
            cancel_waits.reset()  # type: ignore[attr-defined]
            thread.join()
    assert outcome and isinstance(outcome[0], KeyboardInterrupt)
    assert limiter.waiting_s() == 0.0 and limiter.granted == 1


def test_the_eta_counts_the_budget_not_only_the_time_per_item_so_far():
    limiter = RateLimiter(["10/60s"])
    progress = RateAwareProgress(11, limiter=limiter, disable=True)
    for _ in range(5):  # 5 requests for the first item, done at once (no wait yet)
        limiter.acquire()
    progress.update()
    # 10 items left x 5 requests each at 10 per 60 s: 300 s, though the first item took milliseconds
    assert progress.eta_s() == pytest.approx(300.0)
    assert progress.postfix() == "ETA 5m00s"


def test_a_rate_string_sets_the_clients_budget():
    client = Client("acc", "app", "t0ken-value", rate_limiter="1000/300s")
    assert client.rate_limiter.windows == ((1000, 300.0),)
    several = Client("acc", "app", "t0ken-value", rate_limiter=["1000/300s", "200/10s"])
    assert several.rate_limiter.windows == ((1000, 300.0), (200, 10.0))
    assert Client("acc", "app", "t0ken-value", rate_limiter=None).rate_limiter is None
    with pytest.raises(ValueError, match="not a rate like"):
        parse_rate("fast")


def test_the_fleet_progress_bar_says_when_it_waits_for_the_rate_budget(capsys):
    from rtk_frames.sync import fetch_fleet

    with serve(Dataset.from_samples()) as api:
        client = api.client(rate_limiter="3/2s")  # ~9 requests for one session: waits of up to 2 s
        fleet = fetch_fleet(client, max_sessions=1, progress=True)
    bar = capsys.readouterr().err
    assert len(fleet.sessions) == 1
    assert "s (rate budget)" in bar and "ETA " in bar
    assert client.rate_limiter.waited_s > 0


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_bars_redraw_only_on_a_terminal_or_in_a_notebook():
    import io

    from rtk_frames.progress import redraws_in_place

    assert redraws_in_place(_Terminal())
    assert not redraws_in_place(io.StringIO())  # a log file, a pipe, pytest's capture
    assert not redraws_in_place(object())  # no isatty at all


def _read_all(fd: int) -> str:
    import os
    import select

    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side is closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


@pytest.mark.parametrize("columns", [0, 60])
def test_a_bar_shows_on_a_terminal_that_reports_no_width(columns):
    """A pseudo-terminal nobody sized reports 0 columns; tqdm then draws an empty bar (nothing at all:
    seen running ``rtk-frames sync`` under ``script``). It gets a fixed width; a sized one keeps its own."""
    pty = pytest.importorskip("pty")  # POSIX only
    import fcntl
    import os
    import struct
    import termios

    from rtk_frames.progress import FALLBACK_COLUMNS, terminal_bar

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with os.fdopen(child, "w") as terminal:
        assert terminal.isatty() and os.get_terminal_size(child).columns == columns
        bar = terminal_bar(10, desc="sync", unit="req", stream=terminal,
                           bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} requests")
        bar.update(4)
        bar.close()
        terminal.flush()
        drawn = _read_all(parent)
    os.close(parent)
    last = [line for line in drawn.replace("\n", "\r").split("\r") if line.strip()][-1]
    assert last.startswith("sync:  40%|") and last.rstrip().endswith("4/10 requests")
    assert (columns or FALLBACK_COLUMNS) - 1 <= len(last.rstrip()) <= (columns or FALLBACK_COLUMNS)  # filled


def test_the_sync_bar_shows_a_wait_for_the_rate_budget_on_an_80_column_terminal():
    """tqdm cuts a line at the terminal's width: the wait, the one thing that explains a stall, must be in
    the first 80 columns even with a large sync's counts."""
    from tqdm import tqdm

    from rtk_frames.dataset.progress import SYNC_BAR_FORMAT, sync_postfix

    limiter = RateLimiter(["1/60s"])
    limiter.acquire()
    def next_request() -> None:  # waits ~60 s, until cancel_waits ends it
        with contextlib.suppress(KeyboardInterrupt):
            limiter.acquire()

    waiting = threading.Thread(target=next_request)
    waiting.start()
    try:
        deadline = time.monotonic() + 10
        while not rate_wait_postfix(limiter) and time.monotonic() < deadline:
            time.sleep(0.01)
        postfix = sync_postfix(4 * 3600 + 5 * 60, rate_wait_postfix(limiter), 12345, 98765)
        line = tqdm.format_meter(n=45678, total=123456, elapsed=3 * 3600 + 1, ncols=80, prefix="sync",
                                 bar_format=SYNC_BAR_FORMAT, postfix=postfix)
    finally:
        cancel_waits()
        waiting.join()
        cancel_waits.reset()  # type: ignore[attr-defined]
    assert len(line) <= 80
    assert "ETA 4h05m" in line and "s (rate budget)" in line, line


def test_the_sync_eta_is_never_shorter_than_the_wait_under_way(capsys):
    """Seen in a sync: 'ETA 8s, waiting 9s (rate budget)'."""
    from rtk_frames.dataset.progress import Progress, WaitWatch

    class Limiter:  # a budget that grants the rest at once, but a request has 30 s still to wait
        def waiting_s(self) -> float:
            return 30.0

        def time_for(self, requests: int) -> float:
            return 1.0

    bar = Progress(True, WaitWatch(Limiter()))
    bar.begin({frozenset({"core"}): 5}, 0, {"core"})  # pytest's stderr is no terminal: plain lines
    bar.update(10, 1, 5, [2], queued={frozenset({"core"}): 3}, in_flight=1, unlisted=0)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "ETA 30s, waiting 30s (rate budget)" in last, last


def test_a_log_gets_a_line_every_interval_and_when_a_wait_begins_not_every_redraw():
    import io

    from rtk_frames.progress import LogLines

    now = [0.0]
    out = io.StringIO()
    lines = LogLines(every_s=30, stream=out, clock=lambda: now[0])
    written = []
    for second in range(0, 95, 1):  # a redraw a second for 95 s, a wait from 50 s to 55 s
        now[0] = float(second)
        if lines.emit(f"t={second}", waiting=50 <= second < 55):
            written.append(second)
    assert written == [0, 30, 50, 80]  # every 30 s from the last line; the wait's start at once
    assert out.getvalue().splitlines() == [f"t={s}" for s in written]
    assert lines.emit("the end", force=True) and out.getvalue().endswith("the end\n")


def test_the_fleet_progress_in_a_log_is_plain_lines_ending_with_the_count(capsys):
    with RateAwareProgress(3, desc="sessions", unit="session") as progress:  # stderr is captured: a log
        for _ in range(3):
            progress.update()
    err = capsys.readouterr().err
    assert "\r" not in err and "%|" not in err
    first, last = err.splitlines()  # the first count at once, then nothing new for 30 s, then the end
    assert first.startswith("sessions: 1/3 sessions") and last == "sessions: 3/3 sessions"
