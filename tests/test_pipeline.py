"""One analysis pipeline: analyse() on a whole session or on frames, computed once, inputs never changed;
collect_session is public; the fleet on an empty window; one colour per person in every chart."""

from __future__ import annotations

import dataclasses
import inspect

import pandas as pd
import pytest
from matplotlib.colors import to_hex

import rtk_frames as rtk
from rtk_frames import analysis, plots
from rtk_frames.report import build
from rtk_frames.sync import EMPTY_WINDOW_NOTE, fetch_fleet, fleet_tables

T0 = pd.Timestamp("2026-03-02T10:00:00Z")


@pytest.fixture(scope="module")
def demo_session(sample_api):
    """The sample dataset's session with the most participants, fetched whole."""
    client = sample_api.client()
    sessions = rtk.fetch_sessions(client)
    richest = sessions.sort_values("max_concurrent_participants", ascending=False)["session_id"].iloc[0]
    return rtk.collect_session(client, richest)


def _frames_of(session: rtk.Session) -> dict[str, pd.DataFrame]:
    return {name: frame.copy(deep=True) for name, frame in session.frames().items()}


# ------------------------------------------------------------------------------------------ analyse()

def test_collect_session_and_analyse_are_public_at_top_level(demo_session):
    assert rtk.collect_session.__module__ == "rtk_frames.session"
    assert rtk.analyse.__module__ == "rtk_frames.analysis.pipeline"
    assert isinstance(demo_session, rtk.Session) and isinstance(rtk.analyse(demo_session), rtk.Analysis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo_session.source = "elsewhere"  # type: ignore[misc]


def test_a_session_or_a_fleet_shows_as_a_line_per_frame_not_every_frame_in_full(demo_session, sample_api):
    text = repr(demo_session)
    lines = text.splitlines()
    assert lines[0] == "Session" and len(lines) < 25  # the default dataclass repr printed whole frames
    rows, columns = demo_session.quality_stats.shape
    assert "  quality_stats" in text and f"{rows:,} rows × {columns} columns" in text
    assert all(f"  {name}" in text for name in demo_session.frames())
    assert sample_api.api_token not in text
    fleet = fetch_fleet(sample_api.client(), progress=False)
    shown = repr(fleet)
    assert shown.startswith("FleetData\n") and len(shown.splitlines()) < 25
    assert f"{len(fleet.quality_stats):,} rows × {fleet.quality_stats.shape[1]} columns" in shown
    assert all(gap[:50] in shown for gap in fleet.data_gaps)
    from rtk_frames.dataset import fleet_summary

    summary = fleet_summary(fleet)  # its quality_by holds five tables: one line each, not one long line
    shown = repr(summary).splitlines()
    assert shown[0] == "FleetSummary" and max(map(len, shown)) <= 112, max(shown, key=len)
    first = shown.index(f"  {'quality_by':<18}  {len(summary.quality_by)} tables:")
    assert shown[first + 1:first + 1 + len(summary.quality_by)] == [
        f"    {dimension}: {len(table):,} row{'s' if len(table) != 1 else ''} × {table.shape[1]} columns"
        for dimension, table in summary.quality_by.items()]


def test_analyse_a_session_is_the_steps_spelled_out(demo_session):
    result = rtk.analyse(demo_session)
    samples = analysis.quality_samples(demo_session.quality_stats, demo_session.peer_report_series,
                                       segments=demo_session.quality_segments)
    intervals = analysis.poor_intervals(samples)
    expected = analysis.verdicts(samples, intervals=intervals)
    pd.testing.assert_frame_equal(result.samples, samples)
    pd.testing.assert_frame_equal(result.intervals, intervals)
    pd.testing.assert_frame_equal(result.verdicts, expected)
    pd.testing.assert_frame_equal(result.summary, analysis.participant_summary(samples))
    causes = analysis.likely_causes(expected, intervals, participants=demo_session.participant_details,
                                    samples=samples)
    pd.testing.assert_frame_equal(result.causes, causes)
    # one row per participant of the session, samples or not
    assert set(result.participants["participant_id"]) == set(demo_session.participants["participant_id"])
    assert len(result.participants) == len(demo_session.participants)


def test_analyse_accepts_quality_stats_peer_report_series_or_samples(demo_session):
    qs, series = demo_session.quality_stats, demo_session.peer_report_series
    from_stats = rtk.analyse(qs)
    assert set(from_stats.samples["source"]) == {"quality_stats"}
    from_series = rtk.analyse(series)
    assert set(from_series.samples["source"]) == {"peer_report"}
    both = rtk.analyse(qs, peer_report_series=series, segments=demo_session.quality_segments)
    pd.testing.assert_frame_equal(both.verdicts, rtk.analyse(demo_session).verdicts)
    again = rtk.analyse(both.samples)  # an already converted samples frame is used as is
    pd.testing.assert_frame_equal(again.verdicts, both.verdicts)


def test_analyse_never_changes_its_inputs(demo_session):
    before = _frames_of(demo_session)
    rtk.analyse(demo_session)
    rtk.analyse(demo_session.quality_stats, participants=demo_session.participants)
    for name, frame in demo_session.frames().items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_thresholds_none_means_the_default_table(demo_session):
    default = rtk.analyse(demo_session)
    explicit = rtk.analyse(demo_session, thresholds=analysis.DEFAULT_THRESHOLDS)
    as_frame = rtk.analyse(demo_session, thresholds=analysis.thresholds_frame())
    pd.testing.assert_frame_equal(default.verdicts, explicit.verdicts)
    pd.testing.assert_frame_equal(default.verdicts, as_frame.verdicts)
    lenient = tuple(dataclasses.replace(t, warn=None, poor=1e9 if t.direction == "above" else -1e9)
                    for t in analysis.DEFAULT_THRESHOLDS)
    assert set(rtk.analyse(demo_session, thresholds=lenient).verdicts["verdict"]) <= {
        "good", "insufficient data"}


def test_the_report_analyses_once_or_not_at_all(demo_session, tmp_path, monkeypatch):
    calls = []
    real = build.analyse
    monkeypatch.setattr(build, "analyse", lambda *a, **k: calls.append(1) or real(*a, **k))
    build.render_session_report(demo_session, tmp_path / "a")
    assert calls == [1]
    given = real(demo_session)
    build.render_session_report(demo_session, tmp_path / "b", analysis=given)
    assert calls == [1]  # given an analysis, the report only renders it


def test_the_report_renders_the_analysis_it_is_given(demo_session, tmp_path):
    strict = tuple(dataclasses.replace(t, warn=None, poor=-1e9 if t.direction == "above" else 1e9)
                   for t in analysis.DEFAULT_THRESHOLDS)  # everything is poor
    given = rtk.analyse(demo_session, thresholds=strict)
    path = build.render_session_report(demo_session, tmp_path, analysis=given)
    written = pd.read_parquet(tmp_path / "verdicts.parquet")
    assert set(written["verdict"]) <= {"poor", "insufficient data"} and "poor" in set(written["verdict"])
    assert "-1e+09" in path.read_text() or "-1,000,000,000" in path.read_text()


# ------------------------------------------------------------------------------------------ the fleet

def test_fleet_tables_returns_a_new_fleet_and_leaves_its_argument_alone(sample_api):
    pulled = fetch_fleet(sample_api.client(), progress=False)
    bare = dataclasses.replace(pulled, participant_table=pd.DataFrame(), session_table=pd.DataFrame())
    filled = fleet_tables(bare)
    assert filled is not bare and bare.participant_table.empty and bare.session_table.empty
    pd.testing.assert_frame_equal(filled.participant_table, pulled.participant_table)
    # the same verdicts as analysing the fleet's frames directly
    verdicts = rtk.analyse(pulled).verdicts.set_index("participant_id")["verdict"]
    table = filled.participant_table.dropna(subset=["verdict"]).set_index("participant_id")["verdict"]
    assert table[table != "no data"].sort_index().equals(verdicts.sort_index().rename("verdict"))


def test_an_empty_window_is_an_empty_fleet_and_an_empty_report(sample_api, tmp_path):
    fleet = fetch_fleet(sample_api.client(), start_time="2001-01-01", end_time="2001-01-08", progress=False)
    assert len(fleet.sessions) == 0 and len(fleet.participant_table) == 0 and len(fleet.session_table) == 0
    assert EMPTY_WINDOW_NOTE in fleet.data_gaps
    path = build.render_fleet_report(fleet, tmp_path)
    html = path.read_text()
    assert "No session started in this window" in html and "No sessions in this period." in html
    assert "no participant has" not in html  # no per-dimension noise on an empty window


def test_a_reversed_window_is_refused(sample_api):
    with pytest.raises(ValueError, match=r"^end_time \(.*\) must be after start_time"):
        fetch_fleet(sample_api.client(), start_time="2026-11-08", end_time="2026-11-01", progress=False)


def test_cli_fleet_report_on_an_empty_window_and_a_reversed_one(monkeypatch, tmp_path, capsys):
    from rtk_frames.cli import main

    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "RTK_APP_ID", "RTK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "fleet"
    assert main(["report", "--demo", "--from", "2001-11-01", "--to", "2001-11-08", "--out", str(out),
                 "--quiet"]) == 0
    assert "No session started in this window" in (out / "report.html").read_text()
    assert main(["report", "--demo", "--from", "2026-11-08", "--to", "2026-11-01", "--out",
                 str(tmp_path / "reversed")]) == 2
    assert "is after --to" in capsys.readouterr().err


def test_fleet_session_table_on_no_sessions_keeps_its_columns():
    empty = pd.DataFrame({"session_id": pd.Series(dtype="str"),
                          "started_at": pd.Series(dtype="datetime64[us, UTC]")})
    table = analysis.fleet_session_table(pd.DataFrame(), empty)
    assert list(table.columns) == ["session_id", "started_at", "participants", "quality_mean", "poor_share"]
    assert len(table) == 0


# ------------------------------------------------------------------------------- one colour per person

def test_participant_colours_are_stable_and_distinct_for_the_default_top_n():
    ids = [f"p{i}" for i in range(plots.DEFAULT_TOP_N)]
    colours = plots.participant_colours(ids)
    assert list(colours) == ids and len(set(colours.values())) == len(ids)
    assert colours["p0"] != colours["p7"]
    assert plots.participant_colours(pd.DataFrame({"participant_id": ids[::-1]}))["p7"] == colours["p0"]
    assert plots.participant_colours(["a", None, "a", "b"]) == {"a": plots.PARTICIPANT_PALETTE[0],
                                                                "b": plots.PARTICIPANT_PALETTE[1]}
    assert len(set(plots.PARTICIPANT_PALETTE)) == len(plots.PARTICIPANT_PALETTE) >= 12
    assert plots.OTHERS_COLOUR not in plots.PARTICIPANT_PALETTE


def _colours_by_label(drawn) -> dict[str, set[str]]:
    """label -> colours used for it in one chart: lines, timeline bars and talk-time bars."""
    axes = list(drawn.flat) if hasattr(drawn, "flat") else [drawn]
    found: dict[str, set[str]] = {}
    skip = ("_", "others", "poor ", "warn ")
    for ax in axes:
        for line in ax.get_lines():
            if not line.get_label().startswith(skip):
                found.setdefault(line.get_label(), set()).add(to_hex(line.get_color()))
        for bars in ax.collections:  # the timeline: one broken_barh per person, labelled with the name
            if not bars.get_label().startswith(skip):
                found.setdefault(bars.get_label(), set()).add(to_hex(bars.get_facecolor()[0]))
        if ax.get_title() == "talk time":
            for tick, patch in zip(ax.get_yticklabels(), ax.patches, strict=True):
                found.setdefault(tick.get_text(), set()).add(to_hex(patch.get_facecolor()))
    return found


def test_a_person_has_one_colour_in_every_chart_of_a_report(demo_session, tmp_path, monkeypatch):
    drawn = []
    real_plot = build._plot
    monkeypatch.setattr(build, "_plot", lambda title, draw, gaps: real_plot(
        title, lambda: drawn.append((title, draw())) or drawn[-1][1], gaps))
    build.render_session_report(demo_session, tmp_path)
    charts = {title: _colours_by_label(result) for title, result in drawn}
    people = [c for c in charts.values() if c]
    assert len(people) >= 4  # timeline, audio and video quality, network, MOS (talk time when present)
    colour_of: dict[str, set[str]] = {}
    for chart in people:
        for label, colours in chart.items():
            colour_of.setdefault(label, set()).update(colours)
    assert colour_of and all(len(colours) == 1 for colours in colour_of.values()), colour_of
    shown = [label for label in colour_of if any(label in chart for chart in people)]
    assert len({next(iter(colour_of[label])) for label in shown}) == len(shown)  # no two people alike
    assert any(title.startswith("Talk time") for title, _ in drawn)
    talk = next(_colours_by_label(result) for title, result in drawn if title.startswith("Talk time"))
    assert talk and all(label in colour_of for label in talk)


def test_the_timeline_title_claims_verdicts_only_when_there_are_some(tmp_path, monkeypatch):
    titles = []
    real_plot = build._plot
    monkeypatch.setattr(build, "_plot", lambda title, draw, gaps: titles.append(title) or real_plot(
        title, draw, gaps))
    people = pd.DataFrame({"participant_id": ["p"], "display_name": ["Ada"], "joined_at": [T0],
                           "left_at": [T0 + pd.Timedelta(minutes=2)]})
    build.render_session_report(rtk.Session("s", pd.DataFrame({"session_id": ["s"]}), people), tmp_path)
    timeline = [t for t in titles if t.startswith("Who was there")]
    assert timeline and "verdict" not in timeline[0]


# ------------------------------------------------------------------------------------------ signatures

def _public_callables():
    modules = [rtk.analysis, rtk.plots, rtk.report, rtk.sync, rtk.session, rtk.fetch, rtk.conversation]
    seen = {}
    for name in rtk.__all__:
        value = getattr(rtk, name)
        if callable(value):
            seen[f"rtk_frames.{name}"] = value
    for module in modules:
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if inspect.isfunction(value) or inspect.isclass(value):
                seen[f"{module.__name__}.{name}"] = value
    return seen


def test_signatures_read_well_in_help():
    long = {}
    for qualified, value in _public_callables().items():
        try:
            signature = inspect.signature(value)
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            continue
        for parameter in signature.parameters.values():
            if parameter.default is not inspect.Parameter.empty and len(repr(parameter.default)) > 60:
                long[f"{qualified}({parameter.name}=…)"] = len(repr(parameter.default))
    assert not long, long
    assert str(inspect.signature(plots.plot_quality)).count("thresholds: 'Thresholds | None' = None") == 1


def test_public_functions_are_annotated():
    missing = []
    for qualified, value in _public_callables().items():
        if not inspect.isfunction(value):
            continue
        signature = inspect.signature(value)
        unannotated = [p.name for p in signature.parameters.values()
                       if p.annotation is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL,
                                                                                    p.VAR_KEYWORD)]
        if unannotated or signature.return_annotation is inspect.Signature.empty:
            missing.append(f"{qualified}: {unannotated or 'return'}")
    assert not missing, missing


def test_analysis_imports_nothing_above_or_beside_the_frames():
    import ast
    from pathlib import Path

    package = Path(analysis.__file__).parent
    allowed = ("rtk_frames.analysis", "rtk_frames._display")  # _display: a leaf (pandas only) for reprs
    forbidden = []
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            forbidden.extend(f"{path.name}: {name}" for name in names
                             if name.startswith("rtk_frames") and not name.startswith(allowed))
    assert not forbidden, forbidden  # pure functions on frames: no client, fetch, plots, report or sync
