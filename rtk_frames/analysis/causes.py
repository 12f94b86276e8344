"""A likely cause per poor or warn participant: network, device, server/route, or "the data can't tell".

Example:
    >>> import pandas as pd
    >>> v = pd.DataFrame({"participant_id": ["p"], "verdict": ["poor"]})
    >>> iv = pd.DataFrame({"participant_id": ["p"], "metric": ["jitter_ms"], "level": ["poor"]})
    >>> likely_causes(v, iv).loc[0, "cause"]
    'network'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from rtk_frames.analysis.thresholds import MIN_EVIDENCE_SAMPLES

__all__ = ["PRECALL_JITTER_POOR_MS", "PRECALL_LOSS_POOR_PCT", "PRECALL_RTT_POOR_MS", "SLOW_NETWORK_TYPES",
           "likely_causes"]

SLOW_NETWORK_TYPES = frozenset({"slow-2g", "2g", "3g", "cellular"})
PRECALL_RTT_POOR_MS = 400.0
PRECALL_JITTER_POOR_MS = 30.0
PRECALL_LOSS_POOR_PCT = 3.0
NETWORK_METRICS = frozenset({"loss_pct", "jitter_ms"})
DEVICE_METRICS = frozenset({"fps", "frames_dropped"})


def likely_causes(
    verdict_frame: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    participants: pd.DataFrame | None = None,
    samples: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A short "likely cause" per participant whose verdict is poor or warn: ``network``, ``device``,
    ``network and device``, ``server/route`` or ``unknown``, with the evidence in words. Uses what the
    data shows: the encoder's ``quality_limitation_reason`` (cpu / bandwidth) from the peer report, the
    pre-call network test and network type (``participant_frame``'s ``precall_network_information_*``),
    and which metrics were bad
    (loss/jitter → network; high RTT with no loss or jitter → route/server distance; low fps or dropped
    frames with clean network → device). When none of these apply it says the data can't tell.

    Example:
        >>> import pandas as pd
        >>> v = pd.DataFrame({"participant_id": ["p"], "verdict": ["poor"]})
        >>> iv = pd.DataFrame({"participant_id": ["p"], "metric": ["rtt_ms"], "level": ["poor"]})
        >>> likely_causes(v, iv).loc[0, "cause"]
        'server/route'
    """
    flagged = verdict_frame[verdict_frame["verdict"].isin(["poor", "warn"])]
    bad_metrics: dict[tuple[Any, Any], set[str]] = {}
    if len(intervals):  # distinct triples first: a loop over groups costs a frame slice per participant
        triples = intervals[["participant_id", "level", "metric"]].drop_duplicates()
        for pid, level, metric in triples.itertuples(index=False):
            bad_metrics.setdefault((pid, level), set()).add(metric)
    limitations = _limitation_counts(samples)
    precall = _precall_rows(participants)
    rows = []
    for participant_id, verdict in zip(flagged["participant_id"], flagged["verdict"], strict=True):
        cause, evidence = _diagnose(bad_metrics.get((participant_id, verdict), set()),
                                    limitations.get(participant_id), precall.get(participant_id, {}))
        rows.append({"participant_id": participant_id, "cause": cause, "evidence": evidence})
    return pd.DataFrame(rows, columns=["participant_id", "cause", "evidence"]).astype("str")


PRECALL_COLUMNS = {  # participant_frame's names (the flattener folds the wire's "effective_networktype")
    "rtt": "precall_network_information_rtt",
    "jitter": "precall_network_information_jitter",
    "loss": "precall_network_information_fractional_loss",
    "network_type": "precall_network_information_effective_network_type",
}


def _limitation_counts(samples: pd.DataFrame | None) -> dict[str, tuple[str, int]]:
    """participant → (the most frequent of cpu/bandwidth, its sample count) from the encoder's reason."""
    if samples is None or not len(samples) or "quality_limitation_reason" not in samples.columns:
        return {}
    reasons = samples[["participant_id", "quality_limitation_reason"]]
    reasons = reasons[reasons["quality_limitation_reason"].isin(["cpu", "bandwidth"])]
    if reasons.empty:
        return {}
    counts = reasons.value_counts().reset_index(name="n")  # sorted by n, largest first
    top = counts.drop_duplicates("participant_id")
    return {pid: (reason, int(n)) for pid, reason, n in top.itertuples(index=False)}


def _precall_rows(participants: pd.DataFrame | None) -> dict[str, dict[str, object]]:
    """participant → its pre-call test values (first non-NA per field) from ``participant_frame``."""
    if participants is None or not len(participants):
        return {}
    id_col = "participant_id"
    if id_col not in participants.columns:
        return {}
    out: dict[str, dict[str, object]] = {}
    for field, column in PRECALL_COLUMNS.items():
        if column not in participants.columns:
            continue
        values = participants[[id_col, column]].dropna().drop_duplicates(id_col)
        for pid, value in zip(values[id_col], values[column], strict=True):
            out.setdefault(pid, {})[field] = value
    return out


def _diagnose(bad_metrics: set[str], limitation: tuple[str, int] | None,
              precall_values: Mapping[str, Any]) -> tuple[str, str]:
    """(cause, evidence): network / device / network and device / server/route / unknown, with every clue.

    Loss or jitter measured on the media path makes it "network" even when the encoder also reported CPU
    limitation (a congested path starves the encoder too); high RTT alone is "server/route".
    """
    network_clues: list[str] = []
    device_clues: list[str] = []
    # the encoder said why it limited video
    if limitation is not None and limitation[1] >= MIN_EVIDENCE_SAMPLES:
        reason, n = limitation
        if reason == "cpu":
            device_clues.append(f"the video encoder reported CPU limitation in {n} samples")
        else:
            network_clues.append(f"the video encoder reported bandwidth limitation in {n} samples")
    # the pre-call network test already looked bad
    precall = []
    rtt, jitter = precall_values.get("rtt"), precall_values.get("jitter")
    loss, net = precall_values.get("loss"), precall_values.get("network_type")
    if rtt is not None and float(rtt) > PRECALL_RTT_POOR_MS:
        precall.append(f"RTT {float(rtt):.0f} ms")
    if jitter is not None and float(jitter) > PRECALL_JITTER_POOR_MS:
        precall.append(f"jitter {float(jitter):.0f} ms")
    if loss is not None and 100.0 * float(loss) > PRECALL_LOSS_POOR_PCT:
        precall.append(f"loss {100.0 * float(loss):.1f} %")
    if net is not None and str(net).lower() in SLOW_NETWORK_TYPES:
        precall.append(f"network type {net}")
    if precall:
        network_clues.append("the pre-call network test already showed " + ", ".join(precall))
    # what went bad during the call
    if bad_metrics & NETWORK_METRICS:
        named = sorted(m.removesuffix("_pct").removesuffix("_ms") for m in bad_metrics & NETWORK_METRICS)
        network_clues.append(f"packet {' and '.join(named)} on the media path")
    elif "rtt_ms" in bad_metrics and not network_clues:
        return "server/route", "high RTT with no loss or jitter: distance or routing to the media server"
    elif bad_metrics & DEVICE_METRICS and not network_clues:
        device_clues.append("low frame rate / dropped frames while the network showed no loss or jitter")
    if not network_clues and not device_clues:
        return "unknown", "the data can't tell: no RTT, loss, jitter, pre-call or device signal explains it"
    if network_clues and device_clues:
        # loss/jitter measured on the media path outweigh an encoder's CPU report, not the other way round
        cause = "network" if bad_metrics & NETWORK_METRICS else "network and device"
    else:
        cause = "network" if network_clues else "device"
    return cause, "; ".join(network_clues + device_clues)
