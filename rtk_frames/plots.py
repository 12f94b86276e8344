"""Plots of call quality, participation and conversation (matplotlib; safe under the Agg backend).

Every function draws on the ``ax`` you pass (or a new figure) and returns the matplotlib ``Axes`` it drew
(:func:`plot_network`, small multiples, returns a numpy array of them), so notebooks can restyle and tests
can count lines. Time axes are UTC with concise ticks; colours are colour-blind-safe (Okabe–Ito, then
Paul Tol's muted set); with many participants the ``top_n`` worst are drawn in colour and the rest as thin
grey "others"; legends sit outside the plotting area so they never hide data.

**One colour per person.** :func:`participant_colours` assigns colours once (stable order, no two of the
first ``len(PARTICIPANT_PALETTE)`` people alike); pass the mapping as ``colours=`` to every participant
plot (:func:`plot_quality`, :func:`plot_network`, :func:`plot_participant_timeline`,
:func:`plot_talk_time`) and a person is the same colour in each. The HTML report does exactly that.

Example:
    >>> import pandas as pd
    >>> qs = pd.DataFrame({"participant_id": ["p1"] * 3, "peer_id": ["a"] * 3, "kind": ["audio"] * 3,
    ...                    "timestamp": pd.date_range("2026-01-01", periods=3, freq="7s", tz="UTC"),
    ...                    "quality": [90.0, 40.0, 70.0]})
    >>> ax = plot_quality(qs)
    >>> [line.get_label() for line in ax.get_lines()][:1]
    ['p1']
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rtk_frames.analysis.samples import is_samples, preferred_view, quality_samples
from rtk_frames.analysis.thresholds import DEFAULT_THRESHOLDS, Threshold, Thresholds, _as_thresholds

__all__ = [
    "OKABE_ITO",
    "PARTICIPANT_PALETTE",
    "participant_colours",
    "plot_chat_activity",
    "plot_network",
    "plot_participant_timeline",
    "plot_quality",
    "plot_quality_by",
    "plot_sessions_per_day",
    "plot_talk_time",
]

# Okabe & Ito (2008) colour-blind-safe palette, without its yellow (#F0E442 is near-invisible on white)
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
# Paul Tol's "muted" scheme (colour-blind safe), the colours of it unlike the ones above, and no grey
TOL_MUTED = ("#882255", "#332288", "#44AA99", "#999933", "#CC6677", "#AA4499")
#: one colour per person: 13 distinct colour-blind-safe colours (more people cycle through them again)
PARTICIPANT_PALETTE = OKABE_ITO + TOL_MUTED
OTHERS_COLOUR = "#9E9E9E"
# threshold lines: greys told apart by their dashes, never a participant's colour (a reader matches colours)
POOR_COLOUR = "#333333"
WARN_COLOUR = "#777777"
DEFAULT_TOP_N = 8
GAP_FACTOR = 3.0  # a pause longer than 3 × the usual sample interval breaks the line

METRIC_ALIASES = {
    "jitter": "jitter_ms", "rtt": "rtt_ms", "loss": "loss_pct", "packet_loss": "loss_pct",
    "frames_per_second": "fps", "mos_quality": "mos",
}
METRIC_LABELS = {
    "quality": "quality score (0–100)", "jitter_ms": "jitter (ms)", "rtt_ms": "RTT (ms)",
    "loss_pct": "packet loss (%)", "fps": "frame rate (fps)", "mos": "MOS (1–5)",
    "mos_estimated": "estimated MOS (1–5)", "frames_dropped": "frames dropped per sample",
}


def participant_colours(participants_or_ids: pd.DataFrame | pd.Series | Iterable[str], *,
                        palette: Sequence[str] | None = None) -> dict[str, str]:
    """participant id → colour, assigned once in the given order (first seen first; NA skipped), to pass
    as ``colours=`` to every chart so a person keeps one colour. The first ``len(palette)`` people all
    differ (13 with the default palette); more cycle through it again.

    ``participants_or_ids`` is a frame with a ``participant_id`` column (e.g. ``Analysis.participants``,
    worst first, or ``participants_frame``), a Series, or any iterable of ids. ``palette=None`` means
    :data:`PARTICIPANT_PALETTE`.

    Example:
        >>> colours = participant_colours([f"p{i}" for i in range(8)])
        >>> colours["p0"] != colours["p7"], len(set(colours.values()))
        (True, 8)
    """
    if isinstance(participants_or_ids, pd.DataFrame):
        ids: Iterable[Any] = participants_or_ids["participant_id"]
    else:
        ids = participants_or_ids
    unique = dict.fromkeys(str(i) for i in ids if not pd.isna(i))
    palette = PARTICIPANT_PALETTE if palette is None else tuple(palette)
    return {pid: palette[k % len(palette)] for k, pid in enumerate(unique)}


def new_figure(size: tuple[float, float]) -> Figure:
    """A constrained-layout figure made through pyplot, so Jupyter shows it under the cell like any
    matplotlib plot (pyplot falls back to Agg without a display). Close it with ``plt.close(fig)`` when
    drawing many (the report does).

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig = new_figure((4.0, 3.0))
        >>> fig.get_size_inches().tolist(), plt.close(fig)
        ([4.0, 3.0], None)
    """
    import matplotlib.pyplot as plt

    return plt.figure(figsize=size, layout="constrained")


def _new_ax(ax: Axes | None, size: tuple[float, float] = (10.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    return new_figure(size).add_subplot()


def _naive_utc(values: pd.Series) -> pd.Series:
    """tz-aware timestamps → naive UTC (matplotlib then labels them as UTC without tz surprises)."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None)


def _utc_time_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def _outside_legend(ax: Axes, **kwargs: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, fontsize="small", **kwargs)


def _as_samples(frame: pd.DataFrame) -> pd.DataFrame:
    """Accept a samples frame (``analysis.quality_samples``) or a raw ``quality_stats_frame``."""
    if is_samples(frame):
        return frame
    return quality_samples(frame)


def _threshold_for(metric: str, kind: str, thresholds: Thresholds | None) -> Threshold | None:
    return next((t for t in _as_thresholds(thresholds) if t.metric == metric and kind in t.kinds), None)


def _label(participant_id: str, names: Mapping[str, str] | None) -> str:
    if names and participant_id in names and isinstance(names[participant_id], str):
        return names[participant_id]
    return str(participant_id)


def _break_gaps(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN wherever the gap to the next sample is far longer than usual, so lines break there."""
    t = np.asarray(times, dtype="datetime64[us]")
    v = np.asarray(values, dtype="float64")
    if len(t) < 3:
        return t, v
    gaps = np.diff(t).astype("timedelta64[us]").astype("int64")
    usual = np.median(gaps)
    if usual <= 0:
        return t, v
    cut = np.flatnonzero(gaps > GAP_FACTOR * usual) + 1
    if len(cut) == 0:
        return t, v
    mid = t[cut - 1] + (t[cut] - t[cut - 1]) // 2
    return np.insert(t, cut, mid), np.insert(v, cut, np.nan)


def _segments(data: pd.DataFrame, metric: str) -> dict[str, tuple[np.ndarray, ...]]:
    """participant → (times, values, join times, join values): every peer segment (peer id, source, stream)
    in time order, joined into one array with a NaN between segments and inside long gaps."""
    ordered = data.sort_values(["participant_id", "peer_id", "source", "stream", "timestamp"], kind="stable")
    segment = ordered.groupby(["participant_id", "peer_id", "source", "stream"], dropna=False,
                              sort=False).ngroup().to_numpy()
    times = _naive_utc(ordered["timestamp"]).to_numpy(dtype="datetime64[us]")
    values = ordered[metric].to_numpy(dtype="float64", na_value=np.nan)
    owners = ordered["participant_id"].to_numpy()
    bounds = [0, *np.flatnonzero(np.diff(segment) != 0) + 1, len(segment)]
    pieces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for lo, hi in itertools.pairwise(bounds):  # slices of plain arrays: no pandas per segment
        if hi > lo:
            pieces.setdefault(owners[lo], []).append(_break_gaps(times[lo:hi], values[lo:hi]))
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for pid, parts in pieces.items():
        gap_t = [t[-1:] for t, _ in parts]
        t_all = np.concatenate([x for (t, _), g in zip(parts, gap_t, strict=True) for x in (t, g)][:-1])
        v_all = np.concatenate([x for _, v in parts for x in (v, np.array([np.nan]))][:-1])
        out[pid] = (t_all, v_all, np.array([t[0] for t, _ in parts]), np.array([v[0] for _, v in parts]))
    return out


def _distinct_colours(shown: Sequence[str], wanted: Mapping[str, str]) -> dict[str, str]:
    """The wanted colour per participant unless another shown participant already has it; then (and for
    participants without one) the first palette colour still free in this plot."""
    chosen: dict[str, str] = {}
    for pid in shown:
        colour = wanted.get(pid)
        if colour is None or colour in chosen.values():
            free = [c for c in PARTICIPANT_PALETTE if c not in chosen.values()]
            colour = free[0] if free else PARTICIPANT_PALETTE[len(chosen) % len(PARTICIPANT_PALETTE)]
        chosen[pid] = colour
    return chosen


def plot_quality(
    quality_stats: pd.DataFrame,
    *,
    metric: str = "quality",
    kind: str = "audio",
    ax: Axes | None = None,
    thresholds: Thresholds | None = None,
    names: Mapping[str, str] | None = None,
    top_n: int = DEFAULT_TOP_N,
    colours: Mapping[str, str] | None = None,
) -> Axes:
    """A metric over time, one colour per participant; each peer segment (a join → leave) is its own
    line, so leaves and rejoins show as breaks, and a marker sits at every (re)join. The threshold table's
    poor/warn lines are drawn dashed. With more than ``top_n`` participants the worst ``top_n`` (by the
    metric's mean) are coloured and the rest drawn thin grey as "others (k)". Where a samples frame has a
    metric from both sources, one is drawn (``analysis.preferred_view``), and of the peer report's streams
    the producer (the participant's uplink).

    ``quality_stats`` is a ``quality_stats_frame`` or an ``analysis.quality_samples`` frame. ``metric``:
    ``quality``, ``jitter`` / ``jitter_ms``, ``loss`` / ``loss_pct``, ``rtt`` / ``rtt_ms``, ``fps``,
    ``mos``, ``mos_estimated``, ``frames_dropped``. ``names`` maps participant id → display name;
    ``colours`` participant id → colour, to keep one colour per person across several plots (default:
    the palette by rank in this plot; see :func:`participant_colours`). ``thresholds=None`` means the
    default table.

    Example:
        >>> import pandas as pd
        >>> qs = pd.DataFrame({"participant_id": ["p1", "p1", "p2", "p2"], "peer_id": ["a", "a", "b", "b"],
        ...                    "kind": ["audio"] * 4, "quality": [90.0, 80.0, 30.0, 20.0],
        ...                    "timestamp": pd.to_datetime(["2026-01-01T10:00Z", "2026-01-01T10:01Z"] * 2)})
        >>> ax = plot_quality(qs, names={"p1": "Ada", "p2": "Bob"})
        >>> sorted(l.get_label() for l in ax.get_lines() if not l.get_label().startswith("_"))[:2]
        ['Ada', 'Bob']
    """
    ax = _new_ax(ax)
    metric = METRIC_ALIASES.get(metric, metric)
    samples = _as_samples(quality_stats)
    data = preferred_view(samples[(samples["kind"] == kind) & samples["timestamp"].notna()], [metric])
    data = data[data[metric].notna()]
    threshold = _threshold_for(metric, kind, thresholds)
    # which way is worse: the table's row, else the default table's (a table without the metric, or
    # thresholds=(), must not rank the best frame rate or MOS as the "worst")
    ranking = threshold or next((t for t in DEFAULT_THRESHOLDS if t.metric == metric), None)
    higher_is_worse = ranking is None or ranking.direction == "above"
    means = data.groupby("participant_id")[metric].mean().sort_values(ascending=not higher_is_worse)
    shown = list(means.index[:top_n])
    others = list(means.index[top_n:])
    colours = _distinct_colours(shown, colours or {})
    segments = _segments(data, metric)
    for pid in shown:
        t, v, join_t, join_v = segments[pid]
        colour = colours[pid]
        ax.plot(t, v, color=colour, linewidth=1.6, label=_label(pid, names), zorder=2.5)
        # a (re)join marker at the start of every peer segment
        ax.plot(join_t, join_v, marker="o", markersize=4, color=colour, linestyle="none", label="_join",
                zorder=2.6)
    if others:  # all the rest as one thin grey line (NaN-separated): one artist, however many people
        t = np.concatenate([np.append(segments[pid][0], segments[pid][0][-1:]) for pid in others])
        v = np.concatenate([np.append(segments[pid][1], np.nan) for pid in others])
        ax.plot(t, v, color=OTHERS_COLOUR, linewidth=0.8, alpha=0.6, label=f"others ({len(others)})",
                zorder=1.5)
    if threshold is not None:
        ax.axhline(threshold.poor, color=POOR_COLOUR, linestyle="--", linewidth=1.0,
                   label=f"poor {'>' if threshold.direction == 'above' else '<'} {threshold.poor:g}")
        if threshold.warn is not None:
            ax.axhline(threshold.warn, color=WARN_COLOUR, linestyle=":", linewidth=1.0,
                       label=f"warn {'>' if threshold.direction == 'above' else '<'} {threshold.warn:g}")
    if metric == "quality":
        ax.set_ylim(0, 100)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"{kind} {METRIC_LABELS.get(metric, metric)} over time")
    ax.grid(True, alpha=0.3)
    if data.empty:
        ax.text(0.5, 0.5, f"no {kind} {metric} samples", transform=ax.transAxes, ha="center", va="center")
    else:
        _utc_time_axis(ax)
    _outside_legend(ax)
    return ax


def plot_network(
    samples: pd.DataFrame,
    *,
    kind: str = "audio",
    metrics: Sequence[str] = ("jitter_ms", "loss_pct", "rtt_ms"),
    names: Mapping[str, str] | None = None,
    thresholds: Thresholds | None = None,
    top_n: int = DEFAULT_TOP_N,
    colours: Mapping[str, str] | None = None,
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Small multiples of network metrics over time (jitter, loss, RTT by default), sharing the time axis:
    one :func:`plot_quality` per metric. Returns the numpy array of the ``Axes`` drawn (one per metric,
    top to bottom; their figure is ``axes[0].figure``). Pass ``axes`` (one per metric) to draw into your
    own; ``colours`` as for :func:`plot_quality`.

    Example:
        >>> import pandas as pd
        >>> qs = pd.DataFrame({"participant_id": ["p1"] * 3, "kind": ["audio"] * 3, "jitter": [5.0, 9.0, 7.0],
        ...                    "timestamp": pd.date_range("2026-01-01", periods=3, freq="7s", tz="UTC")})
        >>> axes = plot_network(qs)
        >>> len(axes), axes[0].get_ylabel()
        (3, 'jitter (ms)')
    """
    if axes is None:
        fig = new_figure((10.0, 2.6 * len(metrics)))
        drawn = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    else:
        if len(axes) != len(metrics):
            raise ValueError(f"plot_network: {len(metrics)} metrics need as many axes, got {len(axes)}")
        drawn = np.asarray(axes, dtype=object)
    for ax, metric in zip(drawn, metrics, strict=True):
        plot_quality(samples, metric=metric, kind=kind, ax=ax, thresholds=thresholds, names=names,
                     top_n=top_n, colours=colours)
    for ax in drawn[:-1]:
        ax.set_xlabel("")
    return drawn


def plot_participant_timeline(
    participants: pd.DataFrame,
    *,
    segments: pd.DataFrame | None = None,
    names: Mapping[str, str] | None = None,
    verdicts: pd.DataFrame | None = None,
    ax: Axes | None = None,
    max_rows: int = 40,
    colours: Mapping[str, str] | None = None,
) -> Axes:
    """Who was there when: one row per participant, a bar from join to leave, in the person's colour
    (``colours``, participant id → colour, as for every participant plot; default
    :func:`participant_colours` in join order). With ``segments`` (rows with
    ``participant_id``/``start``/``end`` and ideally ``peer_id``, e.g. ``quality_segments_frame``) each
    peer connection is its own bar, so a rejoin shows as a second bar. With ``verdicts`` each name is
    followed by its verdict (``"Ada · poor"``) and, past ``max_rows``, every poor/warn participant is kept.

    Example:
        >>> import pandas as pd
        >>> p = pd.DataFrame({"participant_id": ["p1"], "display_name": ["Ada"],
        ...                   "joined_at": pd.to_datetime(["2026-01-01T10:00Z"]),
        ...                   "left_at": pd.to_datetime(["2026-01-01T10:30Z"])})
        >>> [t.get_text() for t in plot_participant_timeline(p).get_yticklabels()]
        ['Ada']
    """
    ax = _new_ax(ax, (10.0, 1.0 + 0.32 * min(max(len(participants), 1), max_rows)))
    names = dict(names or {})
    if "display_name" in participants.columns:
        for pid, name in zip(participants["participant_id"], participants["display_name"], strict=True):
            if isinstance(name, str):
                names.setdefault(pid, name)
    if segments is not None and len(segments) and {"participant_id", "start", "end"} <= set(segments.columns):
        bars = pd.DataFrame({"participant_id": segments["participant_id"].astype("str"),
                             "start": pd.to_datetime(segments["start"], utc=True),
                             "end": pd.to_datetime(segments["end"], utc=True)})
        if "peer_id" in segments.columns:  # one bar per peer (a connection); a new peer id is a rejoin
            bars = (bars.assign(peer_id=segments["peer_id"].astype("str").fillna(""))
                    .groupby(["participant_id", "peer_id"], sort=False)
                    .agg(start=("start", "min"), end=("end", "max")).reset_index())
    else:
        bars = pd.DataFrame({"participant_id": participants["participant_id"].astype("str"),
                             "start": pd.to_datetime(participants["joined_at"], utc=True),
                             "end": pd.to_datetime(participants["left_at"], utc=True)})
    bars = bars.dropna(subset=["start"])
    session_end = bars["end"].max() if bars["end"].notna().any() else bars["start"].max()
    bars = bars.assign(end=bars["end"].fillna(session_end))
    order = bars.groupby("participant_id")["start"].min().sort_values()
    verdict_of = {} if verdicts is None else dict(
        zip(verdicts["participant_id"], verdicts["verdict"], strict=True))
    # past max_rows: every poor/warn participant first, then the earliest others; shown in join order
    flagged = [pid for pid in order.index if verdict_of.get(pid) in ("poor", "warn")][:max_rows]
    others = [pid for pid in order.index if pid not in set(flagged)][: max_rows - len(flagged)]
    keep = set(flagged) | set(others)
    rows = [pid for pid in order.index if pid in keep]
    colour_of = dict(colours) if colours is not None else participant_colours(order.index)
    bars = bars.assign(s=mdates.date2num(_naive_utc(bars["start"])),
                       e=mdates.date2num(_naive_utc(bars["end"])))
    spans = {pid: list(zip(g["s"], np.maximum(g["e"] - g["s"], 1e-6), strict=True))
             for pid, g in bars.groupby("participant_id", sort=False)}
    labels = []
    for y, pid in enumerate(rows):  # one artist per participant (labelled with its name), a bar per segment
        label = _label(pid, names)
        if verdict_of.get(pid):
            label = f"{label} · {verdict_of[pid]}"
        labels.append(label)
        ax.broken_barh(spans[pid], (y - 0.35, 0.7), facecolors=colour_of.get(pid, OTHERS_COLOUR),
                       edgecolors="white", linewidth=0.8, label=_label(pid, names))
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    if len(order) > max_rows:
        ax.set_title(f"participants ({max_rows} of {len(order)}: every poor/warn one, then by join time)")
    else:
        ax.set_title("participants: joined → left")
    ax.xaxis_date()
    _utc_time_axis(ax)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_quality_by(table: pd.DataFrame, by: str, *, value: str = "mean", label: str | None = None,
                    ax: Axes | None = None) -> Axes:
    """Horizontal bars of quality (0–100) per category (the output of ``analysis.quality_by``), each bar
    annotated with its participant count and, when known, the share of participants with a poor verdict.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"browser": ["Chrome", "Safari"], "mean": [80.0, 40.0], "participants": [5, 2]})
        >>> len(plot_quality_by(t, "browser").patches)
        2
    """
    ax = _new_ax(ax, (6.0, 0.9 + 0.32 * max(len(table), 1)))
    labels = table[by].astype("str").tolist()
    values = pd.to_numeric(table[value]).astype("float64").fillna(0.0).to_numpy()
    bars = ax.barh(range(len(labels)), values, color=OKABE_ITO[0])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    if "participants" in table.columns:
        shares = table.get("poor_share", pd.Series(np.nan, index=table.index))
        for bar, n, share in zip(bars, table["participants"], shares, strict=True):
            text = f"n={n}" if pd.isna(share) else f"n={n} · {share:.0%} poor"
            ax.annotate(text, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize="small")
    ax.set_xlim(0, 125)  # room for the labels right of a full bar
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_xlabel(f"quality score, {value} (0–100)")
    ax.set_title(f"quality by {label or by}")
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def _time_column(frame: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    for name in candidates:
        if name in frame.columns:
            return name
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            return name
    return None


def plot_chat_activity(chat: pd.DataFrame, *, freq: str = "1min", ax: Axes | None = None) -> Axes:
    """Chat messages per time bucket (``freq``, default one minute), as bars on a UTC time axis.

    Example:
        >>> import pandas as pd
        >>> chat = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01T10:00:10Z", "2026-01-01T10:00:50Z",
        ...                                                      "2026-01-01T10:02:00Z"])})
        >>> len(plot_chat_activity(chat).patches)
        3
    """
    ax = _new_ax(ax, (10.0, 2.6))
    column = _time_column(chat, ("created_at", "timestamp", "time", "sent_at"))
    times = pd.to_datetime(chat[column], utc=True).dropna() if column is not None else pd.Series()
    if times.empty:  # no messages, or none with a readable time
        ax.text(0.5, 0.5, "no chat messages", transform=ax.transAxes, ha="center", va="center")
        return ax
    counts = times.dt.floor(freq).value_counts().sort_index()
    full = pd.date_range(counts.index.min(), counts.index.max(), freq=freq)
    counts = counts.reindex(full, fill_value=0)
    width = pd.Timedelta(freq) / pd.Timedelta(days=1) * 0.9
    ax.bar(mdates.date2num(full.tz_localize(None)), counts.to_numpy(), width=width, align="edge",
           color=OKABE_ITO[0])
    ax.xaxis_date()
    _utc_time_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"messages per {freq}")
    ax.set_title("chat activity")
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def plot_talk_time(talk: pd.DataFrame, *, ax: Axes | None = None, top_n: int = 20,
                   names: Mapping[str, str] | None = None, colours: Mapping[str, str] | None = None) -> Axes:
    """Horizontal bars of speaking time per participant (the output of ``conversation.talk_time``).
    With ``colours`` (participant id → colour, as for every participant plot) each bar is its speaker's
    colour (grey for a speaker not in it), matched on the ``participant_id`` column; ``names``
    (participant id → name) labels the bars as the other plots do.

    The name column is the first of ``display_name``/``name``/``speaker``/``participant_id`` present; the
    value column the first of ``speaking_s``/``talk_time_s``/``seconds``/``talk_seconds``/``duration_s``
    (else the first numeric column).

    Example:
        >>> import pandas as pd
        >>> ax = plot_talk_time(pd.DataFrame({"name": ["Ada", "Bob"], "talk_time_s": [120.0, 30.0]}))
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['Ada', 'Bob']
    """
    ax = _new_ax(ax, (8.0, 1.0 + 0.35 * min(max(len(talk), 1), top_n)))
    name_col = next((c for c in ("display_name", "name", "speaker", "participant_id", "peer_id", "person")
                     if c in talk.columns and talk[c].notna().any()), None)
    value_col = next((c for c in ("speaking_s", "talk_time_s", "seconds", "talk_seconds", "duration_s")
                      if c in talk.columns), None)
    if value_col is None:
        value_col = next((c for c in talk.columns if pd.api.types.is_numeric_dtype(talk[c])), None)
    if name_col is None or value_col is None or talk.empty:
        ax.text(0.5, 0.5, "no transcript", transform=ax.transAxes, ha="center", va="center")
        return ax
    values = talk[value_col]
    if pd.api.types.is_timedelta64_dtype(values):
        values = values.dt.total_seconds()
    seconds = pd.to_numeric(values).astype("float64")
    if not (seconds > 0).any() and "utterances" in talk.columns:  # e.g. transcripts without end times
        amount, xlabel, title = pd.to_numeric(talk["utterances"]).astype("float64"), "utterances", \
            "utterances per speaker (this transcript has no end times)"
    else:
        amount, xlabel, title = seconds / 60.0, "speaking time (min)", "talk time"
    ids = (talk["participant_id"].astype("str") if "participant_id" in talk.columns
           else pd.Series(pd.NA, index=talk.index, dtype="str"))
    shown_names = talk[name_col].astype("str").fillna("(unknown)")
    if names:
        own = ids.map(lambda pid: names.get(pid) if isinstance(pid, str) else None)
        shown_names = own.fillna(shown_names)
    data = pd.DataFrame({"name": shown_names.astype("str"), "amount": amount, "participant_id": ids})
    data = data.groupby("name", dropna=False).agg(amount=("amount", "sum"),
                                                  participant_id=("participant_id", "first"))
    data = data.sort_values("amount", ascending=False).head(top_n)
    if colours is None:
        bar_colours: str | list[str] = OKABE_ITO[2]
    else:
        bar_colours = [colours.get(pid, OTHERS_COLOUR) if isinstance(pid, str) else OTHERS_COLOUR
                       for pid in data["participant_id"]]
    ax.barh(range(len(data)), data["amount"].to_numpy(), color=bar_colours)
    ax.set_yticks(range(len(data)), data.index.tolist())
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_sessions_per_day(per_day: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Sessions per UTC day as bars, with minutes on a second axis (the output of
    ``analysis.sessions_per_day``).

    Example:
        >>> import pandas as pd
        >>> d = pd.DataFrame({"day": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
        ...                   "sessions": [3, 5], "minutes": [40.0, 90.0]})
        >>> len(plot_sessions_per_day(d).patches)
        2
    """
    ax = _new_ax(ax, (10.0, 3.0))
    days = mdates.date2num(_naive_utc(per_day["day"]))
    ax.bar(days, per_day["sessions"].to_numpy(), width=0.8, color=OKABE_ITO[0], label="sessions")
    ax.set_ylabel("sessions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    twin = ax.twinx()
    twin.plot(days, per_day["minutes"].to_numpy(), color=OKABE_ITO[1], marker="o", label="minutes")
    twin.set_ylabel("participant minutes")
    ax.xaxis_date()
    _utc_day_axis(ax, days)
    ax.set_title("sessions and minutes per day")
    return ax


#: a per-day axis up to this many days ticks whole days; a longer one ticks as a time axis does
DAY_TICKS_MAX_SPAN = 62


def _utc_day_axis(ax: Axes, days: np.ndarray) -> None:
    """Ticks on whole UTC days only, labelled by date: with a bar per day, a "12:00" tick between two
    bars (what a time axis picks over two days) means nothing. The year goes in the axis label."""
    if not len(days):
        ax.set_xlabel("day (UTC)")
        return
    first, last = float(days.min()), float(days.max())
    if last - first > DAY_TICKS_MAX_SPAN:
        _utc_time_axis(ax)
        ax.set_xlabel("day (UTC)")
        return
    years = sorted({mdates.num2date(first).year, mdates.num2date(last).year})
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, int(np.ceil((last - first + 1) / 8)))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d" if len(years) == 1 else "%Y-%m-%d"))
    ax.set_xlim(first - 0.6, last + 0.6)
    ax.set_xlabel(f"day (UTC, {years[0]})" if len(years) == 1 else "day (UTC)")
