"""E-model MOS: an estimated mean opinion score (1–5) from RTT, jitter and loss.

Example:
    >>> round(estimate_mos(100.0, 10.0, 1.0), 2)
    4.31
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

__all__ = ["EMODEL_FORMULA", "EMODEL_SOURCE", "MetricValues", "estimate_mos"]

EMODEL_SOURCE = (
    "simplified ITU-T G.107 E-model as popularised by Cole & Rosenbluth, 'Voice over IP performance "
    "monitoring', ACM SIGCOMM CCR 31(2), 2001"
)
EMODEL_FORMULA = (
    "latency = RTT/2 (one-way, assuming a symmetric path); EL = latency + 2·jitter + 10 ms; "
    "R = 93.2 − EL/40 if EL < 160 ms else 93.2 − (EL − 120)/10; R −= 2.5·loss%; R clipped to [0, 100]; "
    "MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R), clipped to [1, 4.5]"
)
EMODEL_CODEC_DELAY_MS = 10.0
EMODEL_R0 = 93.2


MetricValues: TypeAlias = float | Sequence[float] | np.ndarray | pd.Series


def estimate_mos(rtt_ms: MetricValues, jitter_ms: MetricValues,
                 loss_pct: MetricValues) -> float | np.ndarray | pd.Series:
    """Estimated MOS (1–5) from RTT, jitter and loss with the simplified E-model (see ``EMODEL_FORMULA``).

    Works on scalars, numpy arrays or Series (a Series keeps its index). NA in any input gives NaN.
    One-way latency is taken as RTT/2.

    Example:
        >>> round(estimate_mos(100.0, 10.0, 1.0), 3)   # EL = 50 + 20 + 10 = 80; R = 91.2 − 2.5 = 88.7
        4.306
    """
    index = next((x.index for x in (rtt_ms, jitter_ms, loss_pct) if isinstance(x, pd.Series)), None)
    rtt = _as_float_array(rtt_ms)
    jitter = _as_float_array(jitter_ms)
    loss = _as_float_array(loss_pct)
    effective_latency_ms = rtt / 2.0 + 2.0 * jitter + EMODEL_CODEC_DELAY_MS
    r = np.where(
        effective_latency_ms < 160.0,
        EMODEL_R0 - effective_latency_ms / 40.0,
        EMODEL_R0 - (effective_latency_ms - 120.0) / 10.0,
    )
    r = np.clip(r - 2.5 * loss, 0.0, 100.0)
    mos = np.clip(1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r), 1.0, 4.5)  # dips < 1 for R < 6.5
    if index is not None:
        return pd.Series(mos, index=index, dtype="float64")
    if np.ndim(mos) == 0:
        return float(mos)
    return mos


def _as_float_array(values: MetricValues) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        return pd.to_numeric(values).astype("float64").to_numpy(na_value=np.nan)
    return np.asarray(values, dtype="float64")
