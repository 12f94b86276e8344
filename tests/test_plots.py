"""Plots return the Axes they drew (plot_network: an array of them), with the lines, labels and thresholds
a reader expects."""

from __future__ import annotations

import io
import re

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from rtk_frames import plots
from rtk_frames.analysis import quality_samples

T0 = pd.Timestamp("2026-03-02T10:00:00Z")


@pytest.fixture(autouse=True)
def _close_figures():
    """Plots made without an ``ax`` are pyplot figures (so notebooks show them): close them after."""
    import matplotlib.pyplot as plt

    open_before = set(plt.get_fignums())
    yield
    for number in set(plt.get_fignums()) - open_before:
        plt.close(number)


def qs(participant: str, peer: str, values: list[float], *, start=T0, kind="audio", metric="quality"):
    return pd.DataFrame({
        "participant_id": participant, "peer_id": peer, "kind": kind,
        "timestamp": pd.date_range(start, periods=len(values), freq="7s"), metric: values,
    })


def labelled(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_plot_quality_one_labelled_line_per_participant_plus_threshold_lines():
    frame = pd.concat([qs("p1", "a", [90.0, 85.0, 80.0]), qs("p2", "b", [30.0, 35.0, 20.0])])
    ax = plots.plot_quality(frame, names={"p1": "Ada", "p2": "Bob"})
    assert labelled(ax) == ["Bob", "Ada", "poor < 40", "warn < 60"]  # worst participant first
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_ylim() == (0.0, 100.0)
    assert ax.get_legend() is not None


def test_plot_quality_rejoin_breaks_the_line_and_marks_each_join():
    frame = pd.concat([qs("p1", "first-peer", [80.0, 80.0, 80.0]),
                       qs("p1", "second-peer", [70.0, 70.0], start=T0 + pd.Timedelta(minutes=10))])
    ax = plots.plot_quality(frame, thresholds=())
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "p1"]  # one legend entry for both peers
    ydata = np.asarray(line.get_ydata(), dtype="float64")
    assert np.isnan(ydata).sum() == 1 and list(ydata[~np.isnan(ydata)]) == [80.0] * 3 + [70.0] * 2
    (joins,) = [ln for ln in ax.get_lines() if ln.get_label() == "_join"]
    assert list(joins.get_ydata()) == [80.0, 70.0]  # a marker where each peer segment starts
    assert joins.get_color() == line.get_color()


def test_plot_quality_breaks_the_line_over_a_long_gap_inside_one_peer():
    times = [T0 + pd.Timedelta(seconds=s) for s in (0, 7, 14, 21, 600, 607)]
    frame = pd.DataFrame({"participant_id": "p1", "peer_id": "a", "kind": "audio", "timestamp": times,
                          "quality": [50.0] * 6})
    ax = plots.plot_quality(frame, thresholds=())
    ydata = np.asarray(ax.get_lines()[0].get_ydata(), dtype="float64")
    assert np.isnan(ydata).sum() == 1 and len(ydata) == 7


def test_plot_quality_many_participants_top_n_plus_others():
    frame = pd.concat([qs(f"p{i:02d}", f"peer{i}", [float(i * 4)] * 3) for i in range(12)])
    ax = plots.plot_quality(frame, top_n=5, thresholds=())
    names = labelled(ax)
    assert names[:5] == ["p00", "p01", "p02", "p03", "p04"]  # the 5 lowest quality
    assert names[5] == "others (7)"
    assert len(names) == 6
    (others,) = [ln for ln in ax.get_lines() if ln.get_label() == "others (7)"]  # one artist for all 7
    values = np.asarray(others.get_ydata(), dtype="float64")
    assert sorted(set(values[~np.isnan(values)])) == [float(i * 4) for i in range(5, 12)]


def test_plot_quality_jitter_from_raw_frame_uses_ms_and_the_30ms_line():
    frame = qs("p1", "a", [12.0, 45.0, 50.0], metric="jitter")
    ax = plots.plot_quality(frame, metric="jitter")
    assert "poor > 30" in labelled(ax)
    assert ax.get_ylabel() == "jitter (ms)"
    assert list(ax.get_lines()[0].get_ydata()) == [12.0, 45.0, 50.0]


def test_plot_quality_kind_filter_and_empty_message():
    frame = qs("p1", "a", [60.0, 61.0], kind="video")
    ax = plots.plot_quality(frame, kind="audio")
    assert ax.get_lines()[0].get_label().startswith("poor")  # only threshold lines
    assert any("no audio quality samples" in t.get_text() for t in ax.texts)


def test_plot_quality_time_axis_is_utc():
    frame = qs("p1", "a", [60.0, 61.0, 62.0])
    ax = plots.plot_quality(frame)
    x0 = mdates.num2date(ax.get_lines()[0].get_xdata(orig=False)[0])
    assert x0.replace(tzinfo=None) == T0.tz_localize(None).to_pydatetime()


def test_plot_network_small_multiples_on_a_samples_frame():
    pr = pd.DataFrame({"participant_id": "p", "peer_id": "a", "stream": "audio_producer",
                       "timestamp": pd.date_range(T0, periods=4, freq="10s"), "rtt": [0.1, 0.5, 0.6, 0.7],
                       "jitter": [0.01] * 4, "packets_sent": [100.0, 200.0, 300.0, 400.0],
                       "packets_lost": [0.0, 5.0, 10.0, 15.0]})
    axes = plots.plot_network(quality_samples(peer_report_series=pr))
    assert isinstance(axes, np.ndarray) and len(axes) == 3 and all(isinstance(ax, Axes) for ax in axes)
    assert isinstance(axes[0].figure, Figure) and list(axes[0].figure.axes) == list(axes)
    assert [ax.get_ylabel() for ax in axes] == ["jitter (ms)", "packet loss (%)", "RTT (ms)"]
    assert list(axes[2].get_lines()[0].get_ydata()) == pytest.approx([100.0, 500.0, 600.0, 700.0])


def test_plot_network_draws_into_the_axes_it_is_given():
    import matplotlib.pyplot as plt

    frame = qs("p1", "a", [5.0, 9.0, 7.0], metric="jitter")
    fig, given_axes = plt.subplots(2, 1)
    axes = plots.plot_network(frame, metrics=("jitter_ms", "loss_pct"), axes=given_axes)
    assert list(axes) == list(given_axes) and axes[0].get_lines()[0].get_label() == "p1"
    with pytest.raises(ValueError, match="2 metrics need as many axes"):
        plots.plot_network(frame, metrics=("jitter_ms", "loss_pct"), axes=given_axes[:1])
    plt.close(fig)


def test_participant_timeline_rows_and_rejoin_bars():
    participants = pd.DataFrame({"participant_id": ["p1", "p2"], "display_name": ["Ada", "<b>Bob</b>"],
                                 "joined_at": [T0, T0 + pd.Timedelta(minutes=1)],
                                 "left_at": [T0 + pd.Timedelta(minutes=30), pd.NaT]})
    segments = pd.DataFrame({"participant_id": ["p1", "p1", "p2"],
                             "start": [T0, T0 + pd.Timedelta(minutes=10), T0 + pd.Timedelta(minutes=1)],
                             "end": [T0 + pd.Timedelta(minutes=5), T0 + pd.Timedelta(minutes=30), pd.NaT]})
    verdicts = pd.DataFrame({"participant_id": ["p1", "p2"], "verdict": ["poor", "good"]})
    ax = plots.plot_participant_timeline(participants, segments=segments, verdicts=verdicts)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ada · poor", "<b>Bob</b> · good"]
    assert [len(c.get_paths()) for c in ax.collections] == [2, 1]  # two bars for p1's rejoin, one for p2
    # bars are the person's colour (the verdict is in the label), so they match every other chart
    colours = plots.participant_colours(["p1", "p2"])
    assert [to_hex(c.get_facecolor()[0]) for c in ax.collections] == [colours["p1"].lower(),
                                                                       colours["p2"].lower()]
    assert "verdict" not in ax.get_title()


def test_timeline_without_verdicts_names_people_only():
    participants = pd.DataFrame({"participant_id": ["p1"], "display_name": ["Ada"], "joined_at": [T0],
                                 "left_at": [T0 + pd.Timedelta(minutes=3)]})
    ax = plots.plot_participant_timeline(participants, colours={"p1": "#882255"})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ada"]
    assert to_hex(ax.collections[0].get_facecolor()[0]) == "#882255"
    assert ax.get_legend() is None and "verdict" not in ax.get_title()


def test_quality_by_and_talk_time_and_chat_bars():
    table = pd.DataFrame({"device_info_browser": ["Safari", "Chrome"], "mean": [40.0, 80.0],
                          "participants": [2, 9]})
    ax = plots.plot_quality_by(table, "device_info_browser")
    assert [p.get_width() for p in ax.patches] == [40.0, 80.0]
    assert [t.get_text() for t in ax.texts] == ["n=2", "n=9"]

    talk = pd.DataFrame({"display_name": ["Ada", "Bob", "Ada"], "talk_time_s": [60.0, 300.0, 60.0]})
    ax = plots.plot_talk_time(talk)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Bob", "Ada"]
    assert [p.get_width() for p in ax.patches] == pytest.approx([5.0, 2.0])  # minutes

    chat = pd.DataFrame({"created_at": [T0, T0 + pd.Timedelta(seconds=30), T0 + pd.Timedelta(minutes=3)]})
    ax = plots.plot_chat_activity(chat)
    assert [p.get_height() for p in ax.patches] == [2, 0, 0, 1]


def test_sessions_per_day_bars_and_minutes_line():
    per_day = pd.DataFrame({"day": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True), "sessions": [3, 5],
                            "minutes": [40.0, 90.0]})
    ax = plots.plot_sessions_per_day(per_day)
    assert [p.get_height() for p in ax.patches] == [3, 5]


def test_figures_render_to_png_without_pyplot():
    ax = plots.plot_quality(qs("p1", "a", [60.0, 61.0, 62.0]))
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG\r\n\x1a\n")


def test_wanted_colours_are_kept_but_never_shared_within_a_plot():
    frame = pd.concat([qs("p1", "a", [10.0] * 3), qs("p2", "b", [20.0] * 3), qs("p3", "c", [30.0] * 3)])
    wanted = {"p1": "#0072B2", "p2": "#0072B2", "p3": "#CC79A7"}
    ax = plots.plot_quality(frame, colours=wanted, thresholds=())
    by_label = {ln.get_label(): ln.get_color() for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert by_label["p1"] == "#0072B2" and by_label["p3"] == "#CC79A7"
    assert by_label["p2"] not in ("#0072B2", "#CC79A7")


def test_timeline_merges_quality_segments_of_one_peer_and_keeps_flagged_rows():
    participants = pd.DataFrame({"participant_id": [f"p{i}" for i in range(5)], "display_name": list("ABCDE"),
                                 "joined_at": [T0 + pd.Timedelta(minutes=i) for i in range(5)],
                                 "left_at": [T0 + pd.Timedelta(minutes=30)] * 5})
    # p0: two back-to-back quality segments of the same peer -> one bar; p4 rejoined on a new peer
    segments = pd.DataFrame({
        "participant_id": ["p0", "p0", "p1", "p2", "p3", "p4", "p4"],
        "peer_id": ["a", "a", "b", "c", "d", "e1", "e2"],
        "start": [T0 + pd.Timedelta(minutes=i) for i in (0, 5, 1, 2, 3, 4, 20)],
        "end": [T0 + pd.Timedelta(minutes=5), *[T0 + pd.Timedelta(minutes=10)] * 4,
                T0 + pd.Timedelta(minutes=10), T0 + pd.Timedelta(minutes=30)]})
    verdicts = pd.DataFrame({"participant_id": ["p4"], "verdict": ["poor"]})
    ax = plots.plot_participant_timeline(participants, segments=segments, verdicts=verdicts, max_rows=3)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "E · poor"]  # E is poor: always shown
    assert [len(c.get_paths()) for c in ax.collections] == [1, 1, 2]


def test_new_figures_are_pyplot_figures_so_notebooks_show_them():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    ax = plots.plot_quality(qs("p1", "a", [60.0, 61.0, 62.0]))
    assert ax.figure.number in set(plt.get_fignums()) - before
    plt.close(ax.figure)


def test_the_report_closes_every_figure_it_draws(tmp_path):
    import matplotlib.pyplot as plt

    from rtk_frames import Session
    from rtk_frames.report import render_session_report

    before = set(plt.get_fignums())
    frame = pd.concat([qs("p1", "a", [60.0, 20.0, 10.0, 15.0]), qs("p1", "a", [9.0] * 4, metric="jitter")])
    people = pd.DataFrame({"participant_id": ["p1"], "joined_at": [T0],
                           "left_at": [T0 + pd.Timedelta(minutes=1)]})
    data = Session("s", pd.DataFrame({"session_id": ["s"]}), people, quality_stats=frame)
    html = render_session_report(data, tmp_path).read_text()
    assert html.count("data:image/png;base64,") >= 3
    assert set(plt.get_fignums()) == before


def test_talk_time_falls_back_to_ids_when_names_are_missing():
    talk = pd.DataFrame({"peer_id": ["peer-1", "peer-2"], "speaking_s": [30.0, 90.0],
                         "display_name": pd.Series([None, None], dtype="str")})
    ax = plots.plot_talk_time(talk)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["peer-2", "peer-1"]


def test_top_n_keeps_the_lowest_frame_rate_even_without_an_fps_threshold():
    frame = pd.concat([qs("smooth", "a", [30.0] * 3, kind="video", metric="frames_per_second"),
                       qs("choppy", "b", [5.0] * 3, kind="video", metric="frames_per_second")])
    for thresholds in ((), plots.DEFAULT_THRESHOLDS):
        ax = plots.plot_quality(frame, metric="fps", kind="video", top_n=1, thresholds=thresholds)
        assert labelled(ax)[:2] == ["choppy", "others (1)"]


def test_chat_activity_with_no_readable_times_says_so_instead_of_crashing():
    chat = pd.DataFrame({"created_at": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us, UTC]"),
                         "text": ["hi", "there"]})
    ax = plots.plot_chat_activity(chat)
    assert [t.get_text() for t in ax.texts] == ["no chat messages"] and not ax.patches


def test_threshold_lines_never_take_a_participants_colour():
    ax = plots.plot_quality(qs("p1", "a", [60.0, 30.0, 20.0]))
    thresholds = [ln for ln in ax.get_lines() if ln.get_label().startswith(("poor", "warn"))]
    assert len(thresholds) == 2 and [ln.get_linestyle() for ln in thresholds] == ["--", ":"]
    assert not {to_hex(ln.get_color()) for ln in thresholds} & {c.lower() for c in plots.PARTICIPANT_PALETTE}


@pytest.mark.parametrize("days", [1, 2, 3, 7, 31, 62, 400])
def test_the_per_day_chart_ticks_whole_days_only(days):
    """Over two days a time axis ticked "12:00" between the bars (seen in a fleet report); a day axis
    ticks whole days, at most about 8 of them, and a long window ticks as a time axis does."""
    first = pd.Timestamp("2026-12-30", tz="UTC") if days == 3 else pd.Timestamp("2026-11-16", tz="UTC")
    per_day = pd.DataFrame({"day": pd.date_range(first, periods=days, freq="D"),
                            "sessions": range(1, days + 1), "minutes": [10.0] * days})
    ax = plots.plot_sessions_per_day(per_day)
    ax.figure.canvas.draw()
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks and len(ticks) <= 12
    labels = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
    if days <= plots.DAY_TICKS_MAX_SPAN:
        assert all(float(t).is_integer() for t in ticks), ticks  # midnight UTC: whole days
        assert ":" not in "".join(labels)
        assert min(ticks) >= mdates.date2num(first.tz_localize(None)) - 0.6
        last = first + pd.Timedelta(days=days - 1)
        if last.year != first.year:  # the year in every label
            assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", label) for label in labels), labels
            assert days != 3 or "2027-01-01" in labels
        else:
            assert ax.get_xlabel() == "day (UTC, 2026)" and all(len(label.split()) == 2 for label in labels)
