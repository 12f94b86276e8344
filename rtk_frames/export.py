"""Writing frames out: parquet for analysis, CSV that is safe to open in a spreadsheet.

Example:
    >>> import pandas as pd, tempfile
    >>> paths = write_parquet({"sessions": pd.DataFrame({"session_id": ["s1"]})}, tempfile.mkdtemp())
    >>> paths["sessions"].name
    'sessions.parquet'
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_formula", "to_csv_safe", "write_parquet"]

# OWASP "CSV Injection": a cell starting with one of these is read as a formula by Excel/Sheets/LibreOffice
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def _file_stem(name: str) -> str:
    stem = _UNSAFE_NAME.sub("_", name).strip("._")
    return stem or "frame"


def write_parquet(frames: Mapping[str, pd.DataFrame], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write each frame to ``out_dir/<name>.parquet`` (pyarrow, no index); returns name → path.

    Names are made file-safe (anything but letters, digits, ``_ . -`` becomes ``_``); two names that would
    share a file are a ``ValueError`` before anything is written. dtypes round-trip:
    ``str``, ``datetime64[us, UTC]``, nullable ``Int64``/``boolean``.

    Example:
        >>> import pandas as pd, tempfile
        >>> out = write_parquet({"q/stats": pd.DataFrame({"x": [1.0]})}, tempfile.mkdtemp())
        >>> pd.read_parquet(out["q/stats"])["x"].tolist(), out["q/stats"].name
        ([1.0], 'q_stats.parquet')
    """
    directory = Path(out_dir)
    paths = {name: directory / f"{_file_stem(name)}.parquet" for name in frames}
    if len(set(paths.values())) < len(paths):  # "q/stats" and "q_stats": one file would overwrite the other
        clash = sorted(name for name, path in paths.items() if list(paths.values()).count(path) > 1)
        raise ValueError(f"frame names {clash} map to the same file name; rename one")
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(paths[name], index=False, engine="pyarrow")
    return paths


def neutralise_formula(value: object) -> object:
    """Prefix ``'`` to a text cell that a spreadsheet would run as a formula; leave anything else alone.

    Plain numbers written as text (``"-12.5"``) stay numbers: they are data, not formulas.

    Example:
        >>> neutralise_formula("=SUM(A1:A9)"), neutralise_formula("-3"), neutralise_formula("hi")
        ("'=SUM(A1:A9)", '-3', 'hi')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def to_csv_safe(df: pd.DataFrame, path_or_buf: str | os.PathLike[str] | io.TextIOBase | None = None,
                **to_csv_kwargs) -> str | None:
    """``DataFrame.to_csv`` with spreadsheet formula injection neutralised (OWASP): text cells beginning
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a leading ``'``. Numeric columns — negative
    numbers included — are written as numbers, and so are text cells that are plain numbers. Column names
    are neutralised too. Records end in CRLF (RFC 4180) unless ``lineterminator`` is given. Returns the CSV
    text when ``path_or_buf`` is None, like ``to_csv``.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"name": ["=1+2", "Ada"], "delta": [-3.5, 2.0]})
        >>> to_csv_safe(frame, index=False).splitlines()
        ['name,delta', "'=1+2,-3.5", 'Ada,2.0']
    """
    safe = df.rename(columns=lambda c: neutralise_formula(c) if isinstance(c, str) else c)
    for position in range(safe.shape[1]):
        values = safe.iloc[:, position]
        is_number = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        if is_number or pd.api.types.is_datetime64_any_dtype(values):
            continue
        # by position: with a repeated column name, safe[column] = … would overwrite every column of that name
        neutral = values.astype("object").map(neutralise_formula, na_action="ignore")
        safe.isetitem(position, neutral.to_numpy())
    # RFC 4180 CRLF records: the csv writer then also quotes cells holding a bare CR (with "\n" records a
    # lone CR would go out unquoted and split the row in a spreadsheet)
    to_csv_kwargs.setdefault("lineterminator", "\r\n")
    return safe.to_csv(path_or_buf, **to_csv_kwargs)
