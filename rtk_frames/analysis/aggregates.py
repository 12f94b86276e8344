"""Fleet aggregates defined once as partial → combine → finalize, so the same code runs in memory, out of
core over batches, and on a Dask cluster.

An :class:`Aggregate` is three pure pandas functions:

- ``chunk(frame)``: one batch's rows → a *partial* (a small frame: one row per group, or per group and
  value for an exact median);
- ``combine(partials)``: concatenated partials → one partial (associative, so batches combine in any
  order and in a tree);
- ``finalize(partial)``: the partial → the result.

In memory ``agg(frame)`` is ``finalize(combine(chunk(frame)))``; out of core :meth:`Aggregate.over` keeps
only the running partial; on Dask each worker runs ``chunk`` on its batches and ``combine`` merges them
(``rtk_frames.dataset.fleet``). There is no second copy of any definition.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"browser": ["Chrome", "Chrome", "Safari"], "quality_mean": [80.0, 60.0, 30.0],
    ...                   "verdict": ["good", "poor", "poor"]})
    >>> agg = quality_by_aggregate("browser")
    >>> halves = agg.over([t.iloc[:1], t.iloc[1:]])
    >>> halves.equals(agg(t)), halves["median"].tolist()
    (True, [30.0, 70.0])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Aggregate", "quality_by_aggregate", "sessions_per_day_aggregate", "worst_aggregate"]

UNKNOWN = "(unknown)"  # the group of rows whose dimension is missing


@dataclass(frozen=True)
class Aggregate:
    """One aggregate as partial → combine → finalize (see the module docstring).

    Example:
        >>> import pandas as pd
        >>> count = Aggregate(chunk=lambda f: pd.DataFrame({"n": [len(f)]}),
        ...                   combine=lambda p: pd.DataFrame({"n": [p["n"].sum()]}),
        ...                   finalize=lambda p: p)
        >>> int(count.over([pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [3]})])["n"][0])
        3
    """

    chunk: Callable[[pd.DataFrame], pd.DataFrame]
    combine: Callable[[pd.DataFrame], pd.DataFrame]
    finalize: Callable[[pd.DataFrame], pd.DataFrame]

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The aggregate of one in-memory frame."""
        return self.finalize(self.combine(self.chunk(frame)))

    def merge(self, partials: Iterable[pd.DataFrame]) -> pd.DataFrame:
        """Partials (from ``chunk`` or earlier merges) → one partial."""
        parts = list(partials)
        return self.combine(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])

    def over(self, frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
        """The aggregate of the rows of many batches, holding one batch and the running partial at a time.
        No batch at all is the aggregate of an empty frame only if ``chunk`` accepts one; pass at least
        one (possibly empty) frame."""
        partial: pd.DataFrame | None = None
        for frame in frames:
            piece = self.chunk(frame)
            partial = piece if partial is None else self.merge([partial, piece])
        if partial is None:
            raise ValueError("Aggregate.over: no batch given")
        return self.finalize(partial)


def _as_float(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return pd.to_numeric(frame[name]).astype("float64")
    return pd.Series(np.nan, index=frame.index, dtype="float64")


# ---------------------------------------------------------------------------------------------- quality_by

def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of ``values`` each repeated ``weights`` times (values sorted, no NaN)."""
    total = weights.sum()
    if total == 0:
        return float("nan")
    cumulative = np.cumsum(weights)
    low = values[np.searchsorted(cumulative, (total + 1) // 2)]  # the lower middle (1-based rank)
    high = values[np.searchsorted(cumulative, total // 2 + 1)]  # the upper middle
    return float((low + high) / 2.0)


def quality_by_aggregate(by: str | Sequence[str], *, value: str = "quality_mean",
                         verdict_column: str = "verdict") -> Aggregate:
    """Quality by a dimension over one-row-per-participant tables: participants, mean and (exact) median
    of ``value``, share with a poor verdict (NaN without a verdict column), sorted by the mean (NA last).

    The partial holds one row per (group, distinct value) with its count and poor count, so the median
    stays exact and the partial is never larger than the participants it summarises.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"os": ["iOS", None], "quality_mean": [50.0, 70.0]})
        >>> quality_by_aggregate("os")(t)[["os", "participants", "poor_share"]].values.tolist()
        [['iOS', 1, nan], ['(unknown)', 1, nan]]
    """
    keys = [by] if isinstance(by, str) else list(by)

    def chunk(table: pd.DataFrame) -> pd.DataFrame:
        parts = {k: (table[k] if k in table.columns else pd.Series(pd.NA, index=table.index))
                 .astype("str").fillna(UNKNOWN) for k in keys}  # a missing dimension: all unknown
        has_verdict = verdict_column in table.columns
        poor = (table[verdict_column] == "poor").astype("float64") if has_verdict else \
            pd.Series(0.0, index=table.index)
        narrow = pd.DataFrame({**parts, "_value": _as_float(table, value), "n": 1.0, "n_poor": poor,
                               "n_judged": 1.0 if has_verdict else 0.0})
        return combine(narrow)

    def combine(partial: pd.DataFrame) -> pd.DataFrame:
        summed = partial.groupby([*keys, "_value"], dropna=False, sort=False)[["n", "n_poor", "n_judged"]]
        return summed.sum().reset_index()

    def finalize(partial: pd.DataFrame) -> pd.DataFrame:
        rows = []
        for group, part in partial.groupby(keys, dropna=False, sort=True):
            labels = group if isinstance(group, tuple) else (group,)
            valued = part[part["_value"].notna()].sort_values("_value")
            values, weights = valued["_value"].to_numpy(), valued["n"].to_numpy()
            n, judged = part["n"].sum(), part["n_judged"].sum()
            rows.append({**dict(zip(keys, labels, strict=True)), "participants": int(n),
                         "mean": float((values * weights).sum() / weights.sum()) if weights.sum() else np.nan,
                         "median": _weighted_median(values, weights),
                         "poor_share": float(part["n_poor"].sum() / n) if judged else np.nan})
        columns = {**{k: "str" for k in keys}, "participants": "int64", "mean": "float64",
                   "median": "float64", "poor_share": "float64"}
        out = pd.DataFrame(rows, columns=list(columns)).astype(columns)
        return out.sort_values("mean", na_position="last", kind="stable").reset_index(drop=True)

    return Aggregate(chunk, combine, finalize)


# ---------------------------------------------------------------------------------------- sessions_per_day

def _sessions_per_day_chunk(sessions: pd.DataFrame) -> pd.DataFrame:
    started = pd.to_datetime(sessions["started_at"], utc=True).astype("datetime64[us, UTC]")
    frame = pd.DataFrame({"day": started.dt.floor("D"), "sessions": 1,
                          "minutes": _as_float(sessions, "minutes_consumed"),
                          "max_concurrent_participants": _as_float(sessions, "max_concurrent_participants")})
    return _sessions_per_day_combine(frame)


def _sessions_per_day_combine(partial: pd.DataFrame) -> pd.DataFrame:
    out = partial.groupby("day").agg(sessions=("sessions", "sum"), minutes=("minutes", "sum"),
                                     max_concurrent_participants=("max_concurrent_participants", "max"))
    return out.reset_index()


def _sessions_per_day_finalize(partial: pd.DataFrame) -> pd.DataFrame:
    return partial.sort_values("day").reset_index(drop=True).astype({"sessions": "int64"})


def sessions_per_day_aggregate() -> Aggregate:
    """Sessions, minutes and peak participants per UTC day, from ``sessions_frame`` rows.

    Example:
        >>> import pandas as pd
        >>> s = pd.DataFrame({"started_at": pd.to_datetime(["2026-01-01T09:00Z", "2026-01-02T15:00Z"]),
        ...                   "minutes_consumed": [10.0, 5.0]})
        >>> sessions_per_day_aggregate()(s)["sessions"].tolist()
        [1, 1]
    """
    return Aggregate(_sessions_per_day_chunk, _sessions_per_day_combine, _sessions_per_day_finalize)


# --------------------------------------------------------------------------------------------------- worst

def worst_aggregate(n: int = 10, *, by: str = "quality_mean", ascending: bool = True) -> Aggregate:
    """The ``n`` worst rows by ``by`` (lower is worse unless ``ascending=False``; NA last): each batch
    keeps its own ``n`` worst, so the partial never exceeds ``n`` rows per batch merged.

    Example:
        >>> import pandas as pd
        >>> worst_aggregate(1)(pd.DataFrame({"id": ["a", "b"], "quality_mean": [80.0, 20.0]}))["id"].tolist()
        ['b']
    """
    def top(frame: pd.DataFrame) -> pd.DataFrame:
        ordered = frame.sort_values(by, ascending=ascending, na_position="last", kind="stable")
        return ordered.head(n).reset_index(drop=True)

    return Aggregate(top, top, lambda partial: partial.reset_index(drop=True))
