"""The README is executable: every ```python block runs (in one namespace, in order) and every line of
every ```bash block runs through a shell, against a sandbox serving the demo data, with
``CLOUDFLARE_API_TOKEN``/``CLOUDFLARE_ACCOUNT_ID``/``RTK_APP_ID``/``RTK_BASE_URL`` pointing at it and
``SESSION_ID`` set to a demo session, in a temporary working directory.

Skipped: only the README lines that ``.ci/run`` runs verbatim (the two set-up lines, the Development
block), found by matching them against ``.ci/run``'s own lines, so the two cannot drift apart.
Long-running commands (``rtk-frames sandbox``) are started, must print their ``export`` line, and are
stopped with Ctrl-C (exit 130); their ``--port 8787`` becomes ``--port 0`` so parallel runs never
collide.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rtk_frames.sandbox import Dataset, serve

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.M | re.S)
LONG_RUNNING = ("rtk-frames sandbox",)
COMMAND_TIMEOUT_S = 180
EXPORTED = ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "RTK_APP_ID", "RTK_BASE_URL")


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def _ci_lines() -> set[str]:
    return {line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


def _shell_lines(code: str) -> list[str]:
    """The commands of a bash block: one per line, comments (whole-line and trailing) removed."""
    lines = []
    for raw in code.splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            lines.append(_strip_comment(raw))
    return lines


def _strip_comment(line: str) -> str:
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def test_the_readme_set_up_lines_are_what_ci_runs():
    language, code = _blocks()[0]
    first = _shell_lines(code)
    assert language == "bash" and len(first) == 2
    assert "rtk-frames report --demo" in first[0] and "pytest" in first[1]
    assert set(first) <= _ci_lines(), "README's set-up lines and .ci/run have drifted apart"


@pytest.fixture()
def readme_env(tmp_path, monkeypatch):
    dataset = Dataset.from_samples()
    with serve(dataset) as api:
        env = {k: v for k, v in os.environ.items() if k not in EXPORTED}
        env.update({"CLOUDFLARE_API_TOKEN": api.api_token, "CLOUDFLARE_ACCOUNT_ID": api.account_id,
                    "RTK_APP_ID": api.app_id, "RTK_BASE_URL": api.base_url,
                    "SESSION_ID": dataset.sessions[0]["id"], "MPLBACKEND": "Agg",
                    "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
                    .rstrip(os.pathsep)})
        for name in (*EXPORTED, "SESSION_ID"):
            monkeypatch.setenv(name, env[name])
        monkeypatch.chdir(tmp_path)
        yield env


def _run_long(line: str, env: dict[str, str], cwd: Path) -> None:
    line = line.replace("--port 8787", "--port 0")
    process = subprocess.Popen(["bash", "-c", f"exec {line}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=cwd,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            output = process.stdout.readline()
            if not output:
                break
            seen.append(output)
            if output.strip().startswith("export "):
                break
        exports = next((s for s in seen if s.strip().startswith("export ")), "")
        assert all(f"{name}=" in exports for name in EXPORTED), f"{line!r} printed {seen}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 130, f"{line!r} exited {code} on Ctrl-C"


def test_every_readme_example_runs_against_the_sandbox(readme_env, tmp_path):
    namespace: dict[str, object] = {"__name__": "__readme__"}
    skipped_by_ci = _ci_lines()
    ran = {"python": 0, "bash": 0, "long": 0}
    for language, code in _blocks():
        if language == "python":
            exec(compile(code, str(README), "exec"), namespace)
            ran["python"] += 1
            continue
        for line in _shell_lines(code):
            if line in skipped_by_ci:
                continue
            if line.startswith(LONG_RUNNING):
                _run_long(line, readme_env, tmp_path)
                ran["long"] += 1
                continue
            done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=readme_env,
                                  cwd=tmp_path, timeout=COMMAND_TIMEOUT_S)
            assert done.returncode == 0, f"{line!r} exited {done.returncode}: {done.stderr[-2000:]}"
            assert "Traceback" not in done.stderr, line
            ran["bash"] += 1
    assert ran["python"] >= 2 and ran["bash"] >= 3 and ran["long"] >= 2, ran
    assert (tmp_path / "out" / "report.html").exists()
    assert (tmp_path / "fleet_report" / "report.html").exists()
    assert len(namespace["talk"]) > 0  # type: ignore[arg-type]  # the Quickstart's talk time
