"""The HTML quality report: render one self-contained file from frames it is given (no network).

The report renders what it is given: a :class:`rtk_frames.Session` (fetched by
:func:`rtk_frames.collect_session`, or built by hand) and, optionally, its :class:`rtk_frames.Analysis`
(computed once here by :func:`rtk_frames.analyse` when not given). :func:`render_session_report` writes
plots (PNG data URIs), ``report.html`` (jinja2, autoescaped: names, titles and chat text are data, never
markup) and every frame used as parquet beside it. :func:`render_fleet_report` does the same over many
sessions (``rtk_frames.sync.fetch_fleet``).

Example:
    >>> import tempfile
    >>> import rtk_frames as rtk
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     client = api.client()
    ...     session = rtk.collect_session(client, rtk.fetch_sessions(client)["session_id"][0])
    >>> render_session_report(session, tempfile.mkdtemp()).name
    'report.html'
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd

from rtk_frames import plots
from rtk_frames._version import __version__
from rtk_frames.analysis import (
    EMODEL_FORMULA,
    EMODEL_SOURCE,
    EVIDENCE_WINDOW_SAMPLES,
    FLEET_DIMENSIONS,
    MIN_EVIDENCE_SAMPLES,
    PRECALL_JITTER_POOR_MS,
    PRECALL_LOSS_POOR_PCT,
    PRECALL_RTT_POOR_MS,
    SLOW_NETWORK_TYPES,
    Analysis,
    Thresholds,
    analyse,
    display_names,
    quality_by,
    sessions_per_day,
    thresholds_frame,
    worst,
)
from rtk_frames.export import write_parquet, writes_output_dir
from rtk_frames.session import Session

if TYPE_CHECKING:
    from rtk_frames.sync import FleetData

__all__ = [
    "condensed_intervals",
    "render_fleet_report",
    "render_session_report",
]

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).with_name("templates")
REPORT_FILE = "report.html"
MAX_CHAT_ROWS = 500
MAX_TRANSCRIPT_ROWS = 500
MAX_INTERVAL_ROWS = 100
MAX_OPEN_PARTICIPANTS = 20  # beyond this, participants without a poor/warn verdict fold into <details>
PLOT_DPI = 110


# ---------------------------------------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every value is escaped unless a template says otherwise (only the data URIs)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["when"] = _when
    env.filters["clock"] = _clock
    return env


def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    """Numbers for people: NA → '—', floats rounded, an optional unit."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, pd.Timestamp):
        return _when(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
        return f"{text} {unit}".strip()
    return str(value)


def _when(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "—"
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if ts is pd.NaT:
        return "—"
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(value: Any) -> str:
    """Time of day in UTC (the date is in the report's header)."""
    text = _when(value)
    return text[11:19] if len(text) > 19 else text


def _duration(start: Any, end: Any) -> str:
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return "—"
    seconds = int((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h {rest // 60:02d}m {rest % 60:02d}s" if hours else f"{rest // 60}m {rest % 60:02d}s"


def _png_data_uri(figure: Any) -> str:
    """A matplotlib Figure as a ``data:image/png;base64,…`` URI (the report opens offline)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PLOT_DPI, facecolor="white")  # constrained layout: no "tight"
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _plot(title: str, draw: Callable[[], Any], gaps: list[str]) -> dict[str, str] | None:
    """Draw one plot; a plotting failure is a data gap, never a failed report."""
    try:
        drawn = draw()
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        gaps.append(f"plot '{title}' was skipped: {type(exc).__name__}: {exc}")
        logger.debug("plot %s failed", title, exc_info=True)
        return None
    first = drawn.flat[0] if hasattr(drawn, "flat") else drawn  # plot_network: an array of Axes
    figure = first if hasattr(first, "savefig") else first.figure
    try:
        return {"title": title, "src": _png_data_uri(figure)}
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)  # pyplot keeps every open figure alive; a report draws many


def _records(frame: pd.DataFrame | None, columns: Sequence[str], limit: int | None = None) -> list[dict]:
    if frame is None or not len(frame):
        return []
    present = [c for c in columns if c in frame.columns]
    rows = frame[present].head(limit) if limit else frame[present]
    out = []
    for row in rows.to_dict("records"):
        out.append({c: (None if _is_na(row.get(c)) else row.get(c)) for c in columns})
    return out


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _coercion_gaps(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """One line per frame and outcome from the counts in ``attrs``: values set to NA, values repaired (a
    repair's reason reads "repaired …": those values were kept)."""
    notes = []
    for name, frame in frames.items():
        coercions = (frame.attrs.get("rtk_frames") or {}).get("coercions") or {}
        repaired = {k: v for k, v in coercions.items() if ": repaired " in k}
        for outcome, counts in (("set to NA", {k: v for k, v in coercions.items() if k not in repaired}),
                                ("repaired", repaired)):
            if counts:
                parts = ", ".join(f"{k.replace(': repaired ', ': ')} ×{v}" for k, v in counts.items())
                notes.append(f"{name}: values {outcome} while reading: {parts}")
    return notes


def _write_frames(frames: Mapping[str, pd.DataFrame], out_dir: Path, gaps: list[str]) -> dict[str, str]:
    written: dict[str, str] = {}
    for name, frame in frames.items():
        try:
            path = write_parquet({name: frame}, out_dir)[name]
        except (ValueError, TypeError, OSError, ImportError) as exc:  # pyarrow's errors subclass these
            gaps.append(f"{name}: not written as parquet ({type(exc).__name__}: {exc})")
            continue
        written[name] = path.name
    return written


def _methodology(thresholds: pd.DataFrame) -> dict[str, Any]:
    return {
        "thresholds": _records(thresholds, ["metric", "label", "warn", "poor", "unit", "direction", "kinds",
                                            "only_where_missing", "source"]),
        "emodel_formula": EMODEL_FORMULA,
        "emodel_source": EMODEL_SOURCE,
        "min_evidence": MIN_EVIDENCE_SAMPLES,
        "window": EVIDENCE_WINDOW_SAMPLES,
        "precall": {"rtt_ms": PRECALL_RTT_POOR_MS, "jitter_ms": PRECALL_JITTER_POOR_MS,
                    "loss_pct": PRECALL_LOSS_POOR_PCT, "network_types": "/".join(sorted(SLOW_NETWORK_TYPES))},
    }


# ---------------------------------------------------------------------------------------------------------
# Session report
# ---------------------------------------------------------------------------------------------------------


REPORT_TOP_N = 6  # coloured lines per plot; the rest are grey "others"


def _session_plots(data: Session, analysis: Analysis, colours: Mapping[str, str],
                   gaps: list[str]) -> list[dict[str, str]]:
    """Every chart of a session report, each given the same ``colours`` (one colour per person)."""
    names = display_names(data.participants)
    samples = analysis.samples
    style: dict[str, Any] = {"names": names, "colours": colours, "top_n": REPORT_TOP_N}
    out: list[dict[str, str] | None] = []
    if "joined_at" in data.participants.columns and data.participants["joined_at"].notna().any():
        judged = len(analysis.verdicts) > 0
        out.append(_plot("Who was there: joined → left (a bar per connection, so a rejoin is a second bar"
                         + ("; each name followed by its verdict)" if judged else ")"),
                         lambda: plots.plot_participant_timeline(
                             data.participants, segments=data.quality_segments, names=names,
                             verdicts=analysis.verdicts if judged else None, colours=colours), gaps))
    for kind in ("audio", "video"):
        if ((samples["kind"] == kind) & samples["quality"].notna()).any():
            out.append(_plot(f"{kind.capitalize()} quality over time",
                             functools.partial(plots.plot_quality, samples, metric="quality", kind=kind,
                                               **style), gaps))
    network = [m for m in ("jitter_ms", "loss_pct", "rtt_ms") if samples[m].notna().any()]
    if network:
        out.append(_plot("Audio network: " + ", ".join(plots.METRIC_LABELS[m] for m in network),
                         lambda: plots.plot_network(samples, kind="audio", metrics=network, **style), gaps))
    if samples["mos_estimated"].notna().any() or samples["mos"].notna().any():
        metric = "mos" if samples["mos"].notna().any() else "mos_estimated"
        out.append(_plot(f"Audio {plots.METRIC_LABELS[metric]}",
                         lambda: plots.plot_quality(samples, metric=metric, kind="audio", **style), gaps))
    chat, transcript = data.chat, data.transcript
    if chat is not None and len(chat):
        out.append(_plot("Chat messages per minute", lambda: plots.plot_chat_activity(chat), gaps))
    if transcript is not None and len(transcript):
        out.append(_talk_time_plot(transcript, names, colours, gaps))
    return [p for p in out if p is not None]


def _talk_time_plot(transcript: pd.DataFrame, names: Any, colours: Any,
                    gaps: list[str]) -> dict[str, str] | None:
    """The talk-time chart; when utterances had no end time (a CSV transcript) its title says the times
    are estimated and the data gaps say how (the report's reader sees no Python warning)."""
    from rtk_frames.conversation import ESTIMATED_END_RULE, EstimatedTalkTimeWarning, talk_time

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatedTalkTimeWarning)  # said in the report instead
        spoken = talk_time(transcript)
    estimated = int(spoken["utterances_without_end"].sum())  # always there, int64
    title = "Talk time (from the transcript)"
    if estimated:
        title = "Talk time, estimated (from a transcript without end times)"
        gaps.append(f"talk time: {estimated} utterance(s) have no end time, so their length is estimated: "
                    f"{ESTIMATED_END_RULE} (a JSON transcript has real end times)")
    return _plot(title, lambda: plots.plot_talk_time(spoken, names=names, colours=colours), gaps)


def _header(data: Session) -> dict[str, Any]:
    row = data.session.iloc[0].to_dict() if len(data.session) else {}
    started, ended = row.get("started_at"), row.get("ended_at")
    return {
        "meeting": row.get("meeting_display_name") if not _is_na(row.get("meeting_display_name")) else None,
        "session_id": data.session_id,
        "status": row.get("status"),
        "started_at": started,
        "ended_at": ended,
        "duration": _duration(started, ended),
        "participants": (int(data.participants["participant_id"].nunique())
                         if "participant_id" in data.participants else 0),
        "max_concurrent": row.get("max_concurrent_participants"),
        "minutes": row.get("minutes_consumed"),
        "associated_id": row.get("associated_id"),
    }


def _analysis_gaps(data: Session, analysis: Analysis) -> list[str]:
    gaps = []
    names = display_names(data.participants)
    with_samples = set(analysis.samples["participant_id"].dropna())
    known = data.participants.get("participant_id", pd.Series(dtype="str")).dropna()
    missing = [names.get(p, p) for p in known if p not in with_samples]
    if missing:
        listed = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        gaps.append(f"no quality samples for {len(missing)} participant(s): {listed}")
    if data.peer_report_series is None or not len(data.peer_report_series):
        gaps.append("no peer-report samples: RTT and the E-model MOS estimate are unavailable "
                    "(participant-details quality_stats carry no RTT)")
    if analysis.samples["loss_pct"].isna().all() and len(analysis.samples):
        gaps.append("no packet-loss percentage: quality_stats report lost packets but not packets sent")
    elif (analysis.samples["source"] == "quality_stats").any():
        gaps.append("quality_stats loss % is the segment average (audio_packet_loss / video_packet_loss), "
                    "so loss verdicts from quality_stats cover whole segments")
    return gaps


@writes_output_dir()
def render_session_report(
    data: Session,
    out_dir: str | Path,
    *,
    analysis: Analysis | None = None,
    thresholds: Thresholds | None = None,
    colours: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Path:
    """Write ``out_dir/report.html`` for one session (self-contained: inline CSS, plots as PNG data URIs,
    no external resources) plus every frame used as parquet beside it. Returns the HTML's path.

    ``analysis`` is the session's :class:`rtk_frames.Analysis`; when not given it is computed here, once,
    by :func:`rtk_frames.analyse` with ``thresholds`` (``None``: the default table; ignored when
    ``analysis`` is given — it carries its own). ``colours`` (participant id → colour) is passed to every
    chart; by default :func:`rtk_frames.plots.participant_colours` of the participants, worst verdict
    first.

    Example:
        >>> import pandas as pd, tempfile
        >>> data = Session("s1", pd.DataFrame({"session_id": ["s1"],
        ...                                    "meeting_display_name": ["<b>Standup</b>"]}),
        ...                pd.DataFrame({"participant_id": ["p1"], "display_name": ["Ada"]}))
        >>> html = render_session_report(data, tempfile.mkdtemp()).read_text()
        >>> "&lt;b&gt;Standup&lt;/b&gt;" in html and "<b>Standup" not in html
        True
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if analysis is None:
        analysis = analyse(data, thresholds=thresholds)
    if colours is None:
        colours = plots.participant_colours(analysis.participants)
    gaps = list(data.data_gaps)
    gaps.extend(_analysis_gaps(data, analysis))
    gaps.extend(_coercion_gaps(data.frames()))
    figures = _session_plots(data, analysis, colours, gaps)
    files = _write_frames({**data.frames(), **analysis.frames()}, out, gaps)
    verdict_counts = analysis.participants["verdict"].value_counts().to_dict()
    condensed = condensed_intervals(analysis.intervals)
    context = {
        "title": title or "Call quality report",
        "generated_at": _when(pd.Timestamp.now(tz="UTC")),
        "version": __version__,
        "source": data.source,
        "header": _header(data),
        "verdict_counts": {k: int(verdict_counts.get(k, 0))
                           for k in ("poor", "warn", "good", "insufficient data", "no data")},
        "participants": _records(analysis.participants, [
            "participant_id", "display_name", "joined_at", "left_at", "duration", "verdict", "reasons",
            "cause", "evidence", "device_info_browser", "device_info_browser_version", "device_info_os",
            "device_info_is_mobile", "device_info_sdk_version",
            "precall_network_information_effective_network_type", "ip_information_country",
            "audio_quality_mean", "video_quality_mean", "audio_jitter_ms_mean", "audio_loss_pct_mean",
            "video_loss_pct_mean", "audio_rtt_ms_mean", "audio_mos_mean", "audio_mos_estimated_mean",
            "video_fps_median", "video_frame_width_median", "video_frame_height_median"]),
        "max_open_participants": MAX_OPEN_PARTICIPANTS,
        "intervals": _records(_named(condensed, data.participants),
                              ["display_name", "kind", "start", "end", "intervals", "seen_in", "reason"],
                              MAX_INTERVAL_ROWS),
        "n_intervals": len(condensed),
        "n_raw_intervals": int((analysis.intervals["level"] == "poor").sum()),
        "max_interval_rows": MAX_INTERVAL_ROWS,
        "figures": figures,
        "chat": _records(data.chat, ["created_at", "display_name", "payload_type", "text", "file_name",
                                     "pinned"], MAX_CHAT_ROWS),
        "n_chat": 0 if data.chat is None else len(data.chat),
        "max_chat_rows": MAX_CHAT_ROWS,
        "transcript": _records(data.transcript, ["start", "start_offset_s", "display_name", "text"],
                               MAX_TRANSCRIPT_ROWS),
        "n_transcript": 0 if data.transcript is None else len(data.transcript),
        "max_transcript_rows": MAX_TRANSCRIPT_ROWS,
        "summary": data.summary,
        "methodology": _methodology(analysis.thresholds),
        "data_gaps": gaps,
        "files": files,
    }
    html = _environment().get_template("session.html.j2").render(**context)
    path = out / REPORT_FILE
    path.write_text(html, encoding="utf-8")
    return path


def condensed_intervals(intervals: pd.DataFrame) -> pd.DataFrame:
    """Poor intervals for people: one row per participant, kind and metric (sources and streams merged),
    from the first start to the last end, with the reason of the worst interval and where it was seen.

    Example:
        >>> import pandas as pd
        >>> iv = pd.DataFrame({"participant_id": ["p", "p"], "kind": ["audio"] * 2,
        ...     "metric": ["jitter_ms"] * 2, "level": ["poor"] * 2,
        ...     "source": ["quality_stats", "peer_report"], "stream": ["audio", "audio_producer"],
        ...     "start": pd.to_datetime(["2026-01-01T10:00Z", "2026-01-01T10:01Z"]),
        ...     "end": pd.to_datetime(["2026-01-01T10:02Z", "2026-01-01T10:03Z"]), "n_samples": [5, 6],
        ...     "value": [40.0, 60.0], "threshold": [30.0, 30.0], "reason": ["a", "b"]})
        >>> condensed_intervals(iv)[["reason", "intervals", "seen_in"]].values.tolist()
        [['b', 2, 'peer_report · audio_producer, quality_stats']]
    """
    poor = intervals[intervals["level"] == "poor"]
    columns = ["participant_id", "kind", "metric", "start", "end", "intervals", "seen_in", "reason"]
    if poor.empty:
        return pd.DataFrame(columns=columns)
    where = poor["source"].where(poor["source"] != "peer_report", poor["source"] + " · " + poor["stream"])
    excess = (poor["value"] - poor["threshold"]).abs() / poor["threshold"].abs()
    ranked = poor.assign(_where=where, _excess=excess)
    ranked = ranked.sort_values("_excess", ascending=False)
    keys = ["participant_id", "kind", "metric"]
    out = ranked.groupby(keys, sort=False).agg(
        start=("start", "min"), end=("end", "max"), intervals=("reason", "size"),
        seen_in=("_where", lambda w: ", ".join(sorted(set(w)))), reason=("reason", "first")).reset_index()
    return out.sort_values(["participant_id", "kind", "start"]).reset_index(drop=True)[columns]


def _named(frame: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    names = display_names(participants)
    return frame.assign(display_name=frame["participant_id"].map(lambda p: names.get(p, p)))


# ---------------------------------------------------------------------------------------------------------
# Fleet report
# ---------------------------------------------------------------------------------------------------------


@writes_output_dir()
def render_fleet_report(fleet: FleetData, out_dir: str | Path, *,
                        thresholds: Thresholds | None = None) -> Path:
    """Write ``out_dir/report.html`` for many sessions (a ``rtk_frames.sync.FleetData``): sessions and
    minutes per day, quality by browser / OS / SDK version / network type / country, the worst sessions
    and participants, methodology and data gaps; every frame it holds as parquet beside it
    (``fleet.frames()``). A fleet with no session gives a report that says so. ``thresholds`` (``None``:
    the default table) is the table shown in the methodology: pass the one the fleet was analysed with.

    The output directory lists ``report.html`` and, from a live pull (:func:`rtk_frames.sync.fetch_fleet`),
    ``sessions``, ``participant_details``, ``quality_stats``, ``quality_segments``, ``participant_table``
    and ``session_table`` ``.parquet``; from a dataset (:func:`rtk_frames.dataset.fleet.dataset_report`,
    ``rtk-frames report --dataset``) only ``sessions``, ``participant_table`` and ``session_table``: the
    raw tables were never loaded (``FleetData.has_raw_frames`` is false) and stay in the dataset, rather
    than empty files that look like data. Over an empty window each file it writes has no rows (true).

    Example:
        >>> import tempfile
        >>> from rtk_frames.sandbox import Dataset, serve
        >>> from rtk_frames.sync import fetch_fleet
        >>> with serve(Dataset.from_samples()) as api:
        ...     fleet = fetch_fleet(api.client(), progress=False)
        >>> render_fleet_report(fleet, tempfile.mkdtemp()).name
        'report.html'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gaps = list(fleet.data_gaps)
    table = fleet.participant_table
    figures: list[dict[str, str] | None] = []
    sessions = fleet.sessions
    if len(sessions) and sessions["started_at"].notna().any():
        per_day = sessions_per_day(sessions)
        figures.append(_plot("Sessions and participant minutes per day (UTC)",
                             lambda: plots.plot_sessions_per_day(per_day), gaps))
    breakdowns = []
    for column, label in FLEET_DIMENSIONS.items():
        if column in table.columns and table[column].notna().any():
            by = quality_by(table, column)
            figure = _plot(f"Quality by {label}",
                           functools.partial(plots.plot_quality_by, by, column, label=label), gaps)
            breakdowns.append({"label": label, "column": column, "figure": figure,
                               "rows": _records(by, [column, "participants", "mean", "median",
                                                     "poor_share"])})
        elif len(table):
            gaps.append(f"quality by {label}: no participant has {column}")
    session_table = fleet.session_table
    # a session with no quality sample (left out after an error, live when synced, nobody measured) is
    # unknown, not bad: it is counted under the ranking, not ranked last in it
    measured = session_table["quality_mean"].notna() if "quality_mean" in session_table.columns else None
    ranked = session_table if measured is None else session_table[measured]
    context = {
        "title": "Fleet call-quality report",
        "generated_at": _when(pd.Timestamp.now(tz="UTC")),
        "version": __version__,
        "source": fleet.source,
        "period": {"start": fleet.start_time, "end": fleet.end_time,
                   "first": sessions["started_at"].min() if len(sessions) else None,
                   "last": sessions["started_at"].max() if len(sessions) else None},
        "totals": {
            "sessions": len(sessions),
            "minutes": float(pd.to_numeric(sessions.get("minutes_consumed",
                                                        pd.Series(dtype="float64"))).sum()),
            "participants": len(table),
            "poor": int((table.get("verdict", pd.Series(dtype="str")) == "poor").sum()),
            "left_out": len(fleet.skipped_sessions),
        },
        "unranked_sessions": len(session_table) - len(ranked),
        "figures": [f for f in figures if f is not None],
        "breakdowns": breakdowns,
        "worst_sessions": _records(worst(ranked, 15), [
            "session_id", "meeting_display_name", "started_at", "participants", "quality_mean", "poor_share",
            "minutes_consumed"]),
        "worst_participants": _records(worst(table, 20), ["session_id", "meeting_display_name",
                                                          "display_name", "verdict", "reasons",
                                                          "cause", "quality_mean", "device_info_browser",
                                                          "device_info_os", "ip_information_country"]),
        "methodology": _methodology(thresholds_frame(thresholds)),
        "data_gaps": gaps,
        "files": {},
    }
    context["files"] = _write_frames(fleet.frames(), out, gaps)
    html = _environment().get_template("fleet.html.j2").render(**context)
    path = out / REPORT_FILE
    path.write_text(html, encoding="utf-8")
    return path
