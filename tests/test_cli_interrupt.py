"""Ctrl-C in ``rtk-frames report`` and ``rtk-frames sync``: honoured at once (waits for the rate budget
included), one line on stderr, exit status 130, and the output directory either complete or untouched.

Each case runs the real command as a subprocess against the ``--demo`` sandbox slowed down with
``$RTK_DEMO_LATENCY`` and sends SIGINT at a random point (or while rate-budget waits hold every request),
once or several times in quick succession (still one line, still 130).
The ``timeout`` on ``wait`` is a hang guard that tells the fixed behaviour from the old one (which sat out
a 60 s rate wait, or every queued request of a thread pool), not a speed measurement.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rtk_frames.cli import EXIT_INTERRUPTED

REPO = Path(__file__).resolve().parents[1]
CREDENTIALS = ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "RTK_APP_ID", "RTK_BASE_URL")
HANG_GUARD_S = 8.0  # far below the 60 s a rate wait would last, far above a prompt exit on a busy machine
STARTED_S = 1.5  # the interpreter is up and main() has installed its Ctrl-C handling by then
INTERRUPTED_LINE = "rtk-frames: interrupted"
SYNC_INTERRUPTED_LINE = ("rtk-frames: interrupted; the sessions finished so far are kept: "
                         "run the same sync again to go on")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def _start(out: Path, *args: str, latency_s: float = 0.05) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "rtk_frames.cli", "report", "--demo", "--out", str(out), "--quiet",
               *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(RTK_DEMO_LATENCY=str(latency_s)), cwd=out.parent,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _start_sync(root: Path) -> subprocess.Popen[str]:
    """``rtk-frames sync ROOT --demo`` with a budget of 3 requests per minute: it soon waits ~60 s."""
    command = [sys.executable, "-m", "rtk_frames.cli", "sync", str(root), "--demo", "--quiet",
               "--rate", "3/60s"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=root.parent,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"Ctrl-C was not honoured within {HANG_GUARD_S} s")
    return process.returncode, out, err


def _assert_complete_or_untouched(out: Path, returncode: int, err: str = "") -> None:
    leftovers = [p.name for p in out.parent.iterdir() if ".partial-" in p.name]
    assert leftovers == [], f"temporary build directories left behind: {leftovers}"
    if returncode == EXIT_INTERRUPTED:
        assert not out.exists(), f"an interrupted run left {sorted(p.name for p in out.iterdir())}"
        return
    assert returncode == 0, (returncode, err)  # the run finished before the signal arrived: it is whole
    files = {p.name for p in out.iterdir()}
    assert "report.html" in files and len([f for f in files if f.endswith(".parquet")]) >= 10
    for parquet in out.glob("*.parquet"):
        pd.read_parquet(parquet)  # every file whole


def _assert_one_line(err: str, line: str = INTERRUPTED_LINE) -> None:
    assert "Traceback" not in err
    assert err.strip().splitlines() == [line]


@pytest.mark.parametrize("seed", [1, 2])
def test_ctrl_c_at_a_random_point_of_a_session_report(tmp_path, seed):
    out = tmp_path / "report"
    process = _start(out)
    time.sleep(STARTED_S + random.Random(seed).uniform(0.0, 4.0))
    returncode, _, err = _interrupt(process)
    if returncode == EXIT_INTERRUPTED:
        _assert_one_line(err)
    _assert_complete_or_untouched(out, returncode, err)


@pytest.mark.parametrize("delay_s", [0.0, 0.02, 0.1])
def test_ctrl_c_once_the_report_is_written_changes_nothing(tmp_path, delay_s):
    """Once the path is printed the work is done; what is left (closing the client, the interpreter's
    teardown, ~0.4 s with pandas and pyarrow loaded, where Python leaves SIGINT to its default action) has
    nothing to stop: exit 0, nothing printed. Before: death by SIGINT (status -2), or a KeyboardInterrupt
    inside urllib3's finalizer, printed as "Exception ignored in: <finalize object>" with a traceback."""
    out = tmp_path / "report"
    process = _start(out)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == str(out / "report.html")
    time.sleep(delay_s)
    returncode, _, err = _interrupt(process)
    assert (returncode, err) == (0, "")
    _assert_complete_or_untouched(out, returncode, err)


def test_a_ctrl_c_that_lands_in_a_finalizer_still_stops_the_command(capfd):
    """A finalizer (urllib3 closes a pool's sockets in one) swallows an exception raised in it and prints
    it: the first Ctrl-C must be raised again in the command's own code, and nothing printed."""
    import weakref

    from rtk_frames.cli import _ctrl_c_ends_waits

    class Pool:
        pass

    def close_sockets() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # Python code: the SIGINT handler runs here, inside the finalizer
            pass

    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), _ctrl_c_ends_waits(until_exit=False):
        pool = Pool()
        weakref.finalize(pool, close_sockets)
        del pool  # the finalizer runs now
        for _ in range(10_000_000):  # the command goes on: the interrupt comes back here
            pass
        reached_the_end = True
    assert not reached_the_end
    assert "Exception ignored" not in capfd.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the previous handler is back


def test_a_ctrl_c_that_a_library_turns_into_its_own_error_still_ends_as_an_interrupt(monkeypatch, tmp_path,
                                                                                        capsys):
    """matplotlib's Agg renderer, interrupted inside a callback, raises ``ValueError: Invalid bounding box``
    in place of the KeyboardInterrupt (seen in CI: a report's Ctrl-C ended in that traceback, exit 1). The
    command must still end as interrupted: one line, 130, the output untouched."""
    import rtk_frames.cli as cli

    def render_like_agg(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000_000):  # the handler raises here, inside the "renderer"
                pass
        except KeyboardInterrupt:
            raise ValueError("Invalid bounding box") from None
        pytest.fail("the Ctrl-C was not raised")

    monkeypatch.setattr("rtk_frames.report.render_session_report", render_like_agg)
    out = tmp_path / "report"
    assert cli.main(["report", "--demo", "--out", str(out), "--quiet"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.splitlines() == [cli.INTERRUPTED_LINE]
    assert not out.exists()
    with pytest.raises(ValueError, match="not interrupted"), cli._ctrl_c_ends_waits(until_exit=False):
        raise ValueError("not interrupted")  # without a Ctrl-C an error stays what it is


def test_ctrl_c_while_the_report_is_being_written_leaves_the_target_untouched(tmp_path):
    out = tmp_path / "report"
    process = _start(out)
    deadline = time.monotonic() + 60
    while not any(".partial-" in p.name for p in tmp_path.iterdir()):  # rendering has begun
        assert process.poll() is None and time.monotonic() < deadline, "the report never started writing"
        time.sleep(0.01)
    returncode, _, err = _interrupt(process)
    if returncode == EXIT_INTERRUPTED:
        _assert_one_line(err)
    _assert_complete_or_untouched(out, returncode, err)


def test_ctrl_c_ends_a_long_rate_budget_wait_in_the_fleet_reports_thread_pool(tmp_path):
    out = tmp_path / "fleet"
    process = _start(out, "--from", "2000-01-01", "--to", "2100-01-01", "--rate", "3/60s", latency_s=0.0)
    time.sleep(STARTED_S + 2.0)  # the 3 requests are spent: the pool's requests wait ~60 s for the budget
    assert process.poll() is None
    returncode, _, err = _interrupt(process)
    assert returncode == EXIT_INTERRUPTED
    _assert_one_line(err)
    _assert_complete_or_untouched(out, returncode, err)


def test_an_existing_output_directory_keeps_its_old_files_when_interrupted(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("the previous report")
    (out / "notes.txt").write_text("mine")
    process = _start(out, "--from", "2000-01-01", "--to", "2100-01-01", "--rate", "3/60s", latency_s=0.0)
    time.sleep(STARTED_S + 2.0)
    returncode, _, _ = _interrupt(process)
    assert returncode == EXIT_INTERRUPTED
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "report.html"]
    assert (out / "report.html").read_text() == "the previous report"


def test_ctrl_c_ends_a_sync_waiting_for_the_rate_budget(tmp_path):
    root = tmp_path / "fleet"
    process = _start_sync(root)
    time.sleep(STARTED_S + 2.0)  # the 3 requests are spent: the sync's pool waits ~60 s for the budget
    assert process.poll() is None
    returncode, _, err = _interrupt(process)
    assert returncode == EXIT_INTERRUPTED
    _assert_one_line(err, SYNC_INTERRUPTED_LINE)


# Two Ctrl-C in quick succession (a user who thinks the first was missed), or a burst of them: the first
# one stops the command; the ones after must neither print the line again, nor raise a second
# KeyboardInterrupt inside the clean-up (a traceback, a temporary directory left behind), nor kill the
# interpreter with the default SIGINT action while it shuts down (status -2 instead of 130).
SIGINT_PATTERNS = {  # the pauses after each SIGINT but the last, in seconds
    "twice-at-once": [0.01], "twice-100ms-apart": [0.1], "twice-300ms-apart": [0.3],
    "five-20ms-apart": [0.02] * 4}


def _interrupt_repeatedly(process: subprocess.Popen[str], pauses: list[float]) -> tuple[int, str, str]:
    for pause in pauses:
        process.send_signal(signal.SIGINT)
        time.sleep(pause)
    if process.poll() is not None:  # it already ended: the last signal has no one to go to
        out, err = process.communicate()
        return process.returncode, out, err
    return _interrupt(process)


def _assert_interrupted_once(returncode: int, err: str, line: str = INTERRUPTED_LINE) -> None:
    assert returncode == EXIT_INTERRUPTED, (returncode, err)
    _assert_one_line(err, line)


@pytest.mark.parametrize("pattern", sorted(SIGINT_PATTERNS))
def test_repeated_ctrl_c_during_a_fleet_reports_rate_wait_is_one_line_and_130(tmp_path, pattern):
    out = tmp_path / "fleet"
    process = _start(out, "--from", "2000-01-01", "--to", "2100-01-01", "--rate", "3/60s", latency_s=0.0)
    time.sleep(STARTED_S + 2.0)
    assert process.poll() is None
    returncode, _, err = _interrupt_repeatedly(process, SIGINT_PATTERNS[pattern])
    _assert_interrupted_once(returncode, err)
    _assert_complete_or_untouched(out, returncode, err)


@pytest.mark.parametrize("pattern", ["twice-100ms-apart", "five-20ms-apart"])
def test_repeated_ctrl_c_while_the_report_is_being_written_is_one_line_and_130(tmp_path, pattern):
    out = tmp_path / "report"
    process = _start(out, latency_s=0.2)
    deadline = time.monotonic() + 60
    while not any(".partial-" in p.name for p in tmp_path.iterdir()):  # rendering has begun
        assert process.poll() is None and time.monotonic() < deadline, "the report never started writing"
        time.sleep(0.01)
    returncode, _, err = _interrupt_repeatedly(process, SIGINT_PATTERNS[pattern])
    if returncode == 0:  # the report was finished before the first signal: then it is whole
        _assert_complete_or_untouched(out, returncode, err)
        return
    _assert_interrupted_once(returncode, err)
    _assert_complete_or_untouched(out, returncode, err)


@pytest.mark.parametrize("pattern", ["twice-100ms-apart", "five-20ms-apart"])
def test_repeated_ctrl_c_during_a_sync_is_one_line_and_130(tmp_path, pattern):
    root = tmp_path / "fleet"
    process = _start_sync(root)
    time.sleep(STARTED_S + 2.0)
    assert process.poll() is None
    returncode, _, err = _interrupt_repeatedly(process, SIGINT_PATTERNS[pattern])
    _assert_interrupted_once(returncode, err, SYNC_INTERRUPTED_LINE)


@pytest.mark.parametrize("interrupted", [False, True])
def test_from_the_shell_sigint_stays_ignored_after_the_command(interrupted):
    """Run from the shell, what follows the command is the interrupted line or the interpreter's teardown,
    where Python would leave a Ctrl-C to SIGINT's default action (death, status -2): it is ignored there,
    after a finished command and after an interrupted one (`rtk-frames sandbox` returns after its Ctrl-C)."""
    from rtk_frames.cli import _ctrl_c_ends_waits

    before = signal.getsignal(signal.SIGINT)
    try:
        with contextlib.suppress(KeyboardInterrupt), _ctrl_c_ends_waits(until_exit=True):
            if interrupted:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10_000_000):  # the handler raises here
                    pass
                pytest.fail("the Ctrl-C was not raised")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


NOTEBOOK_SYNC = """
import os, signal, sys, tempfile, threading, time
import rtk_frames as rtk
from rtk_frames.client.ratelimit import RateLimiter
from rtk_frames.dataset.state import StateStore
from rtk_frames.sandbox import Dataset, serve

where = sys.argv[1]  # which wait the Ctrl-C lands in: the listing's, or the workers'
root = tempfile.mkdtemp()
with serve(Dataset.synthetic(sessions=10, participants=2, samples=3, seed=1)) as api:
    client = api.client(rate_limiter=RateLimiter(((4, 3600.0),)))  # then a wait of an hour
    if where == "listing":
        for _ in range(4):
            client.get_sessions(per_page=1)
    threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT)).start()  # the kernel's interrupt
    try:
        rtk.sync_dataset(client, root, progress=False)
    except KeyboardInterrupt:
        print("interrupted")
    with StateStore.open(root) as state:
        print("complete before", sum(s.status == "complete" for s in state.sessions().values()))
    again = rtk.sync_dataset(api.client(), root, progress=False)  # waits are waits again
    print("again", again.new + again.updated + again.skipped, again.failed)
    print("handler restored", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
"""


@pytest.mark.parametrize("where", ["listing", "workers"])
def test_ctrl_c_in_a_notebook_ends_a_sync_waiting_for_the_rate_budget_at_once(tmp_path, where):
    """From Python (a notebook's kernel interrupt: KeyboardInterrupt in the main thread only) a sync whose
    listing or workers wait an hour for the rate budget stops at once: seen taking 28 s (the listing) and
    88 s (the workers) against a 30 s budget window. A sync right after in the same process waits and runs
    normally (the waits are not left cancelled), and SIGINT's handler is Python's again."""
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK_SYNC)
    process = subprocess.Popen([sys.executable, str(script), where], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    try:
        out, err = process.communicate(timeout=60)  # the hang guard: the old behaviour waits an hour
    finally:
        process.kill()
    lines = out.splitlines()
    assert process.returncode == 0, err
    assert lines[0] == "interrupted"
    assert lines[1] == "complete before 0"  # (4 requests: no session was finished)
    assert lines[2] == "again 9 0" and lines[3] == "handler restored True"


NOTEBOOK_FLEET = """
import os, signal, threading
from rtk_frames.client.ratelimit import RateLimiter
from rtk_frames.sandbox import Dataset, serve
from rtk_frames.sync import fetch_fleet

with serve(Dataset.synthetic(sessions=10, participants=6, samples=3, seed=1)) as api:
    client = api.client(rate_limiter=RateLimiter(((4, 3600.0),)))  # the pool's workers soon wait an hour
    threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        fetch_fleet(client, progress=False)
    except KeyboardInterrupt:
        print("interrupted")
    workers = [t for t in threading.enumerate() if t.name.startswith("rtk-frames")]
    for worker in workers:
        worker.join(timeout=30)
    print("workers left", sum(worker.is_alive() for worker in workers))
    print("handler restored", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
"""


def test_ctrl_c_in_a_notebook_also_ends_a_fleet_pulls_workers_waits(tmp_path):
    """``fetch_fleet`` returned at once on a notebook's Ctrl-C, but its pool's workers sat on in their
    rate-budget waits (an hour here), then sent their requests, and kept the kernel from exiting."""
    script = tmp_path / "fleet.py"
    script.write_text(NOTEBOOK_FLEET)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_env(), cwd=tmp_path)
    try:
        out, err = process.communicate(timeout=90)  # the hang guard: the old workers wait an hour
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.splitlines() == ["interrupted", "workers left 0", "handler restored True"]


NOTEBOOK_COMMIT = """
import os, signal, tempfile, threading, time
import rtk_frames as rtk
from rtk_frames.dataset import batch, write
from rtk_frames.dataset.state import StateStore, root_lock
from rtk_frames.sandbox import Dataset, serve

real_write, real_finish = write.write_parquet, batch.Writer.finish

def slow_write(data, target):  # a commit that takes a while (a big day, a slow disk)
    time.sleep(0.3)
    real_write(data, target)

def finish(self):  # Ctrl-C twice while the sync waits for its last commit
    for delay in (0.1, 0.2):
        threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()
    real_finish(self)

write.write_parquet, batch.Writer.finish = slow_write, finish
root = tempfile.mkdtemp()
ds = Dataset.synthetic(sessions=6, participants=2, samples=3, seed=1)
with serve(ds) as api:
    try:
        rtk.sync_dataset(api.client(), root, progress=False)
    except KeyboardInterrupt:
        print("interrupted")
    print("writer alive", any(t.name == "rtk-sync-writer" for t in threading.enumerate()))
    with root_lock(root), StateStore.open(root) as state:  # free: the sync is over
        done = sum(s.status == "complete" for s in state.sessions().values())
    print("complete", done, "of", sum(s["status"] == "ENDED" for s in ds.sessions))
"""


def test_ctrl_c_during_a_syncs_last_commit_waits_for_it_and_is_raised_once(tmp_path):
    """From Python, a Ctrl-C (twice) while the sync waits for its writer's last commit used to leave that
    commit running in a thread after the sync had raised and released the root's lock. Now the commit
    ends first (every finished session is kept), the interrupt is raised once, and the lock is free."""
    script = tmp_path / "commit.py"
    script.write_text(NOTEBOOK_COMMIT)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_env(), cwd=tmp_path)
    try:
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.splitlines() == ["interrupted", "writer alive False", "complete 5 of 5"], (out, err)
