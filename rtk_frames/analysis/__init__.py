"""Call-quality analytics: pure functions on frames (no network), and the one pipeline :func:`analyse`.

Modules, in the order the data flows:

- :mod:`.samples` — one frame of samples with explicit units (``quality_samples``, ``preferred_view``)
- :mod:`.mos` — the E-model MOS estimate (``estimate_mos``)
- :mod:`.thresholds` — the threshold table as data (``Threshold``, ``DEFAULT_THRESHOLDS``,
  ``thresholds_frame``)
- :mod:`.verdict` — ``participant_summary``, ``poor_intervals``, ``verdicts``
- :mod:`.causes` — ``likely_causes``
- :mod:`.pipeline` — ``analyse`` → :class:`Analysis` (every step once; used by the report, the fleet and
  the notebooks)
- :mod:`.aggregates` — fleet aggregates as partial → combine → finalize (in memory, out of core, Dask)
- :mod:`.fleet` — across sessions: ``fleet_participant_table``, ``fleet_session_table``, ``quality_by``,
  ``sessions_per_day``, ``worst``

Example:
    >>> import pandas as pd
    >>> from rtk_frames.analysis import analyse
    >>> qs = pd.DataFrame({"participant_id": ["p1"] * 4, "peer_id": ["a"] * 4, "kind": ["audio"] * 4,
    ...                    "timestamp": pd.date_range("2026-01-01", periods=4, freq="7s", tz="UTC"),
    ...                    "quality": [90.0, 20.0, 15.0, 10.0], "jitter": [5.0, 40.0, 45.0, 50.0]})
    >>> analyse(qs).verdicts.loc[0, "verdict"]
    'poor'
"""

from rtk_frames.analysis.aggregates import (
    Aggregate,
    quality_by_aggregate,
    sessions_per_day_aggregate,
    worst_aggregate,
)
from rtk_frames.analysis.causes import (
    PRECALL_JITTER_POOR_MS,
    PRECALL_LOSS_POOR_PCT,
    PRECALL_RTT_POOR_MS,
    SLOW_NETWORK_TYPES,
    likely_causes,
)
from rtk_frames.analysis.fleet import (
    FLEET_DIMENSIONS,
    FLEET_PARTICIPANT_COLUMNS,
    fleet_participant_table,
    fleet_session_table,
    quality_by,
    sessions_per_day,
    worst,
)
from rtk_frames.analysis.mos import EMODEL_FORMULA, EMODEL_SOURCE, estimate_mos
from rtk_frames.analysis.pipeline import Analysis, SessionFrames, analyse, display_names
from rtk_frames.analysis.samples import (
    PREFERRED_SOURCE,
    SAMPLE_COLUMNS,
    is_samples,
    preferred_view,
    quality_samples,
)
from rtk_frames.analysis.thresholds import (
    DEFAULT_THRESHOLDS,
    EVIDENCE_WINDOW_SAMPLES,
    MIN_EVIDENCE_SAMPLES,
    Threshold,
    Thresholds,
    thresholds_frame,
)
from rtk_frames.analysis.verdict import VERDICT_ORDER, participant_summary, poor_intervals, verdicts

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EMODEL_FORMULA",
    "EMODEL_SOURCE",
    "EVIDENCE_WINDOW_SAMPLES",
    "FLEET_DIMENSIONS",
    "FLEET_PARTICIPANT_COLUMNS",
    "MIN_EVIDENCE_SAMPLES",
    "PRECALL_JITTER_POOR_MS",
    "PRECALL_LOSS_POOR_PCT",
    "PRECALL_RTT_POOR_MS",
    "PREFERRED_SOURCE",
    "SAMPLE_COLUMNS",
    "SLOW_NETWORK_TYPES",
    "VERDICT_ORDER",
    "Aggregate",
    "Analysis",
    "SessionFrames",
    "Threshold",
    "Thresholds",
    "analyse",
    "display_names",
    "estimate_mos",
    "fleet_participant_table",
    "fleet_session_table",
    "is_samples",
    "likely_causes",
    "participant_summary",
    "poor_intervals",
    "preferred_view",
    "quality_by",
    "quality_by_aggregate",
    "quality_samples",
    "sessions_per_day",
    "sessions_per_day_aggregate",
    "thresholds_frame",
    "verdicts",
    "worst",
    "worst_aggregate",
]
