"""``rtk-frames sandbox`` from the shell: run as a subprocess, its printed ``export`` line used by
``rtk_frames.Client`` over real HTTP; its options, usage errors and Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import rtk_frames
from rtk_frames.fetch import fetch_sessions

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30
EXPORTED = ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "RTK_APP_ID", "RTK_BASE_URL")


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "rtk_frames.cli", "sandbox", *args]


def _env() -> dict[str, str]:
    # this checkout's code, whatever is pip-installed; no real credentials leak into the child
    env = {k: v for k, v in os.environ.items() if k not in EXPORTED}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _default_sigint() -> None:  # a child of a shell's background job would otherwise ignore Ctrl-C
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def _sandbox(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], list[str]]]:
    """Start ``rtk-frames sandbox ARGS``; yield the process, its exported variables and printed lines."""
    process = subprocess.Popen(_command("--port", "0", *args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env(), preexec_fn=_default_sigint)
    try:
        printed: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        exports = [line for line in printed if line.startswith("export ")]
        assert len(exports) == 1, (printed, process.stderr.read() if process.poll() is not None else "")
        variables = dict(word.split("=", 1) for word in shlex.split(exports[0])[1:])
        yield process, variables, printed
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=TIMEOUT_S)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _client(variables: dict[str, str]) -> rtk_frames.Client:
    return rtk_frames.Client(variables["CLOUDFLARE_ACCOUNT_ID"], variables["RTK_APP_ID"],
                             variables["CLOUDFLARE_API_TOKEN"], base_url=variables["RTK_BASE_URL"],
                             rate_limiter=None, max_retries=0)


def test_synthetic_sessions_are_served_to_a_client_built_from_the_printed_exports():
    args = ("--synthetic", "5", "--participants", "3", "--samples", "4", "--seed", "2", "--token", "tok-123")
    with _sandbox(*args) as (process, variables, printed):
        assert set(variables) == set(EXPORTED) and variables["CLOUDFLARE_API_TOKEN"] == "tok-123"
        sessions = fetch_sessions(_client(variables))
        assert len(sessions) == 5
        shown = [line.strip() for line in printed if line.startswith("    ")]
        assert set(shown) == set(sessions["session_id" if "session_id" in sessions else "id"])
        assert any(line.startswith("  sessions:   5") for line in printed)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT_S) == 130
        rest = process.stdout.read().strip().splitlines()
        assert rest == ["stopped"] and "Traceback" not in process.stderr.read()


def test_many_sessions_print_the_first_few_and_a_count():
    with _sandbox("--synthetic", "9", "--participants", "2", "--samples", "2") as (_, variables, printed):
        shown = [line.strip() for line in printed if line.startswith("    ")]
        assert shown[-1] == "… and 4 more" and len(shown) == 6
        assert len(fetch_sessions(_client(variables))) == 9


def test_rate_limit_and_faults_reach_the_wire():
    args = ("--rate-limit", "7/30s", "--faults", "rate_limited=2,retry_after=0",
            "--faults", "server-error,status=502", "--latency", "0.01")
    with _sandbox(*args) as (_, variables, printed):
        url = f"{variables['RTK_BASE_URL']}/accounts/{variables['CLOUDFLARE_ACCOUNT_ID']}" \
              f"/realtime/kit/{variables['RTK_APP_ID']}/sessions"
        auth = {"Authorization": f"Bearer {variables['CLOUDFLARE_API_TOKEN']}"}
        answers = [requests.get(url, headers=auth, timeout=TIMEOUT_S) for _ in range(4)]
        assert [a.status_code for a in answers] == [502, 429, 429, 200]
        assert answers[-1].headers["Ratelimit-Policy"] == '"default";q=7;w=30'
        assert answers[-1].headers["Ratelimit"].startswith('"default";r=')
        assert "  rate limit: 7 requests / 30 s" in printed and "  latency:    0.01 s" in printed


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--port", "99999"), "99999 is not a port"),
        (("--port", "http"), "not a port number"),
        (("--rate-limit", "250"), "not a rate like 250/10s"),
        (("--faults", "meteor"), "unknown fault 'meteor'"),
        (("--faults", "drop=many"), "is not a whole number"),
        (("--synthetic", "-1"), "less than 0"),
        (("--seed", "3"), "--seed needs --synthetic"),
        (("--latency", "nan"), "non-negative number of seconds"),
    ],
)
def test_bad_options_are_one_line_usage_errors(args, needle):
    done = subprocess.run(_command(*args), capture_output=True, text=True, env=_env(), timeout=TIMEOUT_S)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and needle in done.stderr
    assert "Traceback" not in done.stderr


def test_a_taken_port_is_one_clean_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run(_command("--port", port), capture_output=True, text=True, env=_env(),
                              timeout=TIMEOUT_S)
    assert done.returncode == 1  # EXIT_LOCAL_FAILURE: the machine's side, not the arguments
    expected = f"rtk-frames: error: port {port} is already in use: pick another with --port (--port 0 picks"
    assert done.stderr.strip().splitlines() == [f"{expected} a free one)"]
