"""Writing frames out: parquet for analysis, CSV that is safe to open in a spreadsheet.

Example:
    >>> import pandas as pd, tempfile
    >>> paths = write_parquet({"sessions": pd.DataFrame({"session_id": ["s1"]})}, tempfile.mkdtemp())
    >>> paths["sessions"].name
    'sessions.parquet'
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "atomic_output_dir", "neutralise_formula", "to_csv_safe", "write_parquet",
           "writes_output_dir"]

F = TypeVar("F", bound=Callable[..., Any])

# OWASP "CSV Injection": a cell starting with one of these is read as a formula by Excel/Sheets/LibreOffice
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def _file_stem(name: str) -> str:
    stem = _UNSAFE_NAME.sub("_", name).strip("._")
    return stem or "frame"


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build an output directory in a temporary sibling and move it into place only when the block ends
    without an exception (Ctrl-C included): ``path`` is then either complete or untouched.

    When ``path`` does not exist (or is an empty directory) the sibling is renamed to it in one step. When
    it already holds files, the new entries replace those of the same name one by one and other files
    are left alone (so ``--out .`` never deletes anything). On an exception the sibling is removed.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp()) / "report"
        >>> with atomic_output_dir(out) as building:
        ...     _ = (building / "a.txt").write_text("a")
        ...     print(out.exists())
        False
        >>> sorted(p.name for p in out.iterdir())
        ['a.txt']
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not final.is_dir():
        raise NotADirectoryError(f"{final} exists and is not a directory")
    # named before the try, made inside it: a Ctrl-C landing just after the directory appears still
    # finds the finally clause that removes it (tempfile.mkdtemp would return only after making it)
    building = final.parent / f".{final.name or 'out'}.partial-{secrets.token_hex(8)}"
    try:
        building.mkdir(mode=0o700)
        yield building
        if final.is_dir() and not any(final.iterdir()):
            final.rmdir()
        if not final.exists():
            building.rename(final)
        else:
            for entry in building.iterdir():
                target = final / entry.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)  # os.replace cannot put anything over a directory
                elif entry.is_dir() and target.exists():
                    target.unlink()
                os.replace(entry, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def writes_output_dir(argument: str = "out_dir") -> Callable[[F], F]:
    """Decorate a function that writes into the directory given as ``argument``: it writes into an
    :func:`atomic_output_dir` instead, and paths it returns are mapped to the final directory.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> @writes_output_dir()
        ... def write(out_dir):
        ...     return Path(out_dir, "x.txt"), Path(out_dir, "x.txt").write_text("x")
        >>> out = Path(tempfile.mkdtemp()) / "o"
        >>> write(out)[0] == out / "x.txt" and (out / "x.txt").read_text() == "x"
        True
    """

    def decorate(function: F) -> F:
        import inspect

        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            final = Path(bound.arguments[argument])
            with atomic_output_dir(final) as building:
                bound.arguments[argument] = building
                result = function(*bound.args, **bound.kwargs)
            return _relocate(result, building, final)

        return wrapper  # type: ignore[return-value]

    return decorate


def _relocate(value: Any, old: Path, new: Path) -> Any:
    """``value`` with every path under ``old`` moved under ``new`` (in tuples, lists and dicts too)."""
    if isinstance(value, Path):
        return new / value.relative_to(old) if value.is_relative_to(old) else value
    if isinstance(value, tuple | list):
        return type(value)(_relocate(v, old, new) for v in value)
    if isinstance(value, dict):
        return {k: _relocate(v, old, new) for k, v in value.items()}
    return value


def _keeps_index(frame: pd.DataFrame) -> bool:
    """A default 0..n-1 (unnamed ``RangeIndex``) carries nothing; any other index is data."""
    return not (isinstance(frame.index, pd.RangeIndex) and frame.index.names == [None])


def write_parquet(frames: Mapping[str, pd.DataFrame], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write each frame to ``out_dir/<name>.parquet`` (pyarrow); returns name → path.

    A meaningful index (a named one, a time index such as ``chat_activity``'s, a ``MultiIndex``) is
    kept and comes back from ``pd.read_parquet``; a default ``RangeIndex`` is not written.

    Names are made file-safe (anything but letters, digits, ``_ . -`` becomes ``_``); two names that would
    share a file are a ``ValueError`` before anything is written. dtypes round-trip:
    ``str``, ``datetime64[us, UTC]``, nullable ``Int64``/``boolean``.

    Example:
        >>> import pandas as pd, tempfile
        >>> out = write_parquet({"q/stats": pd.DataFrame({"x": [1.0]})}, tempfile.mkdtemp())
        >>> pd.read_parquet(out["q/stats"])["x"].tolist(), out["q/stats"].name
        ([1.0], 'q_stats.parquet')
        >>> timed = pd.DataFrame({"n": [1]}, index=pd.DatetimeIndex(["2026-11-03"], tz="UTC", name="minute"))
        >>> pd.read_parquet(write_parquet({"t": timed}, tempfile.mkdtemp())["t"]).index.name
        'minute'
    """
    directory = Path(out_dir)
    paths = {name: directory / f"{_file_stem(name)}.parquet" for name in frames}
    if len(set(paths.values())) < len(paths):  # "q/stats" and "q_stats": one file would overwrite the other
        clash = sorted(name for name, path in paths.items() if list(paths.values()).count(path) > 1)
        raise ValueError(f"frame names {clash} map to the same file name; rename one")
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(paths[name], index=_keeps_index(frame), engine="pyarrow")
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
