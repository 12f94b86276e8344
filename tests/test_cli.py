"""The command line: the offline demo, real-API mode against the sandbox via the environment, and
one-line errors with documented exit statuses for expected failures."""

from __future__ import annotations

import base64
import csv

import pandas as pd
import pytest

from rtk_frames.cli import main

CREDENTIAL_VARS = ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "RTK_APP_ID", "RTK_BASE_URL")


@pytest.fixture()
def no_credentials(monkeypatch):
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def sandbox_env(monkeypatch, sample_api):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", sample_api.api_token)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", sample_api.account_id)
    monkeypatch.setenv("RTK_APP_ID", sample_api.app_id)
    monkeypatch.setenv("RTK_BASE_URL", sample_api.base_url)
    return sample_api


def test_demo_report_works_offline_without_credentials(no_credentials, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["report", "--demo", "--out", str(out), "--quiet"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    assert "Weekly sync" in html  # the demo's richest session (7 concurrent participants)
    assert "&lt;script&gt;" in html and "<script" not in html.lower()  # the demo's hostile display name
    images = [part.split('"', 1)[0] for part in html.split('src="data:image/png;base64,')[1:]]
    assert len(images) >= 5
    assert all(base64.b64decode(b64).startswith(b"\x89PNG") for b64 in images)
    assert pd.read_parquet(out / "quality_samples.parquet")["rtt_ms"].notna().any()


def test_report_uses_the_environment_and_rtk_base_url(sandbox_env, tmp_path):
    session_id = sandbox_env.dataset.sessions[0]["id"]
    assert main(["report", session_id, "--out", str(tmp_path), "--no-peer-reports", "--quiet"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert session_id in html
    assert sandbox_env.api_token not in html
    assert any(r.path.endswith(f"/sessions/{session_id}") for r in sandbox_env.request_log)


def test_missing_credentials_is_one_line_exit_3_naming_the_variables(no_credentials, tmp_path, capsys):
    assert main(["report", "some-session", "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for name in CREDENTIAL_VARS:
        assert name in err
    assert "from_env" not in err  # names the variables, not a Python function


def test_unknown_session_is_one_line_exit_4_without_the_token(sandbox_env, tmp_path, capsys):
    assert main(["report", "no-such-session", "--out", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("rtk-frames: error: HTTP 404") and err.count("\n") == 1
    assert sandbox_env.api_token not in err


def test_report_without_a_target_is_a_usage_error(no_credentials, tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path)]) == 2
    assert "give a SESSION_ID, --demo, or --from/--to" in capsys.readouterr().err


def test_bad_date_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--demo", "--from", "yesterday", "--out", "x"])
    assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_demo_fleet_report(no_credentials, tmp_path):
    assert main(["report", "--demo", "--from", "2000-01-01", "--to", "2100-01-01", "--out", str(tmp_path),
                 "--quiet"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Fleet call-quality report" in html and "Worst participants" in html
    assert len(pd.read_parquet(tmp_path / "session_table.parquet")) == 3


def test_a_fleet_report_over_an_empty_window_draws_no_bar_only_the_note(no_credentials, tmp_path, capsys):
    from rtk_frames.sync import EMPTY_WINDOW_NOTE

    out = tmp_path / "fleet"
    assert main(["report", "--demo", "--from", "2026-11-01", "--to", "2026-11-08", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "report.html")
    assert captured.err.strip().splitlines() == [EMPTY_WINDOW_NOTE]  # no "0/0" bar


def test_a_sync_over_an_empty_window_draws_no_bar_only_its_summary(no_credentials, tmp_path, capsys):
    root = tmp_path / "ds"
    assert main(["sync", str(root), "--demo", "--from", "2026-11-01", "--to", "2026-11-08"]) == 0
    err = capsys.readouterr().err
    assert "%|" not in err and "req [" not in err  # no bar over the listing request alone
    assert err.startswith(f"sync of {root} (") and "0 sessions listed" in err.splitlines()[0]


def test_a_sync_from_a_date_runs_up_to_now_and_one_without_a_start_is_a_usage_error(no_credentials, tmp_path,
                                                                                      capsys):
    root = tmp_path / "ds"
    assert main(["sync", str(root), "--demo", "--from", "2020-01-01", "--quiet"]) == 0  # a daily job's line
    out = capsys.readouterr().out
    assert out.startswith(f"sync of {root} (2020-01-01T00:00:00+00:00 to …): 3 sessions listed")
    assert len(pd.read_parquet(root / "sessions")) == 3  # every sample session, up to now
    assert main(["sync", str(tmp_path / "all")]) == 2  # all of history is rarely meant: say so
    assert "give --from DATE" in capsys.readouterr().err
    assert not (tmp_path / "all").exists()


def test_a_sync_that_loses_sessions_exits_7_with_one_line_and_its_rerun_exits_0(monkeypatch, tmp_path,
                                                                                 capsys):
    from rtk_frames.cli import EXIT_SESSIONS_FAILED
    from rtk_frames.client.transport import DEFAULT_MAX_RETRIES
    from rtk_frames.sandbox import Dataset, Faults, serve

    ds = Dataset.synthetic(sessions=4, participants=2, samples=3, seed=3)
    victim = next(s for s in ds.sessions if s["status"] != "LIVE")["id"]
    # every attempt of the first run at the victim's participant list fails (503 with Retry-After: 0, so
    # the retries do not wait); the rerun's attempt is answered
    fault = Faults(server_errors_first=1 + DEFAULT_MAX_RETRIES, retry_after_s=0,
                   path_pattern=f"/sessions/{victim}/participants$")
    root = tmp_path / "ds"
    with serve(ds, faults=fault) as api:
        for name, value in (("CLOUDFLARE_API_TOKEN", api.api_token), ("RTK_APP_ID", api.app_id),
                            ("CLOUDFLARE_ACCOUNT_ID", api.account_id), ("RTK_BASE_URL", api.base_url)):
            monkeypatch.setenv(name, value)
        command = ["sync", str(root), "--from", "2000-01-01", "--quiet"]
        assert main(command) == EXIT_SESSIONS_FAILED == 7
        first = capsys.readouterr()
        assert f"failed {victim}: core: ServerError" in first.out  # the summary names it and says why
        assert first.err.splitlines() == ["sync: 1 session failed (the summary says why); the dataset holds "
                                          "the others, and the next run tries it again"]
        stored = set(pd.read_parquet(root / "participants")["session_id"])
        assert victim not in stored and len(stored) >= 1  # the others are kept
        assert main(command) == 0
        second = capsys.readouterr()
        assert second.err == "" and "0 failed" in second.out
    assert victim in set(pd.read_parquet(root / "participants")["session_id"])


def test_a_fleet_report_without_some_sessions_exits_7_and_names_them_in_the_report(monkeypatch, tmp_path,
                                                                                     capsys):
    from rtk_frames.client.transport import DEFAULT_MAX_RETRIES
    from rtk_frames.sandbox import Dataset, Faults, serve

    ds = Dataset.synthetic(sessions=4, participants=2, samples=3, seed=3)
    victim = ds.sessions[1]["id"]
    fault = Faults(server_errors_first=1 + DEFAULT_MAX_RETRIES, retry_after_s=0,
                   path_pattern=f"/sessions/{victim}/participants$")
    with serve(ds, faults=fault) as api:
        for name, value in (("CLOUDFLARE_API_TOKEN", api.api_token), ("RTK_APP_ID", api.app_id),
                            ("CLOUDFLARE_ACCOUNT_ID", api.account_id), ("RTK_BASE_URL", api.base_url)):
            monkeypatch.setenv(name, value)
        command = ["report", "--from", "2000-01-01", "--to", "2100-01-01", "--quiet"]
        assert main([*command, "--out", str(tmp_path / "first")]) == 7
        first = capsys.readouterr()
        assert first.out.strip() == str(tmp_path / "first" / "report.html")  # written all the same
        assert first.err.splitlines() == [f"report: 1 of {len(ds.sessions)} sessions left out after errors "
                                          "(the report's data gaps say which and why)"]
        assert f"session {victim}: skipped (ServerError" in (tmp_path / "first" / "report.html").read_text()
        assert main([*command, "--out", str(tmp_path / "second")]) == 0  # the fault is spent: all of them
        assert capsys.readouterr().err == ""


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`rtk-frames sessions | head -1`: seen printing 'rtk-frames: error: [Errno 32] Broken pipe'."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from rtk_frames.cli import EXIT_BROKEN_PIPE

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = subprocess.Popen([sys.executable, "-m", "rtk_frames.cli", "sessions", "--demo"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert command.stdout is not None and command.stderr is not None
    command.stdout.close()  # before it writes a line (it is still importing pandas)
    errors = command.stderr.read().decode()
    assert command.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert errors == ""


def test_sessions_demo_prints_the_table_and_writes_safe_csv(no_credentials, tmp_path, capsys):
    path = tmp_path / "sessions.csv"
    assert main(["sessions", "--demo", "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["session_id", "meeting_display_name"]
    assert "Weekly sync" in out
    rows = list(csv.DictReader(path.open()))
    names = {r["meeting_display_name"] for r in rows}
    assert len(rows) == 3 and {"Weekly sync", "Support escalation"} <= names


def test_wrong_token_is_one_line_exit_3_and_never_echoed(sandbox_env, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "wrong-token-value-123")
    session_id = sandbox_env.dataset.sessions[0]["id"]
    assert main(["report", session_id, "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("rtk-frames: error: HTTP 401") and err.count("\n") == 1
    assert "wrong-token-value-123" not in err
    assert not (tmp_path / "report.html").exists()


# ---------------------------------------------------------------------------------- exit statuses


def test_a_reversed_window_is_a_usage_error_not_an_empty_report(no_credentials, tmp_path, capsys):
    out = tmp_path / "fleet"
    assert main(["report", "--demo", "--from", "2026-11-08", "--to", "2026-11-01", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--from 2026-11-08 00:00 is after --to 2026-11-01 00:00" in err and err.count("\n") == 1
    assert not out.exists()
    assert main(["sessions", "--demo", "--from", "2026-11-09", "--to", "2026-11-08"]) == 2


def test_no_peer_reports_on_a_fleet_report_is_a_usage_error(no_credentials, tmp_path, capsys):
    assert main(["report", "--demo", "--from", "2026-01-01", "--to", "2027-01-01", "--no-peer-reports",
                 "--out", str(tmp_path / "f")]) == 2
    assert "never fetches peer reports" in capsys.readouterr().err


def test_a_closed_port_is_a_network_failure_exit_5(monkeypatch, tmp_path, capsys):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "t0ken-value")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc")
    monkeypatch.setenv("RTK_APP_ID", "app")
    monkeypatch.setenv("RTK_BASE_URL", f"http://127.0.0.1:{port}/client/v4")
    assert main(["sessions"]) == 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "t0ken-value" not in err


def test_an_unwritable_output_is_a_local_failure_exit_1(no_credentials, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["report", "--demo", "--out", str(blocker / "out"), "--quiet"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_help_documents_every_exit_status_and_the_credential_variables(capsys):
    from rtk_frames.cli import EXIT_STATUSES

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for code, meaning in EXIT_STATUSES.items():
        assert f"{code:>3}  {meaning}" in text
    for name in CREDENTIAL_VARS:
        assert name in text


def test_readme_lists_the_same_exit_statuses():
    from pathlib import Path

    from rtk_frames.cli import EXIT_STATUSES

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for code in EXIT_STATUSES:
        assert f"| {code} |" in readme


def test_rate_sets_the_clients_budget(no_credentials):
    from rtk_frames.cli import _client, build_parser

    args = build_parser().parse_args(["sessions", "--demo", "--rate", "1000/300s", "--rate", "20/1s"])
    with _client(args.demo, args.rate) as client:
        assert client.rate_limiter.windows == ((1000, 300.0), (20, 1.0))
    for command in (["report", "--out", "x"], ["sessions"]):
        assert build_parser().parse_args([*command, "--rate", "5/2s"]).rate == [(5, 2.0)]
