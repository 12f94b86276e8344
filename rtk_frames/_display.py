"""Short reprs for the result containers (``Session``, ``FleetData``, ``FleetSummary``).

A dataclass's default repr prints every DataFrame it holds in full: a notebook cell that shows a session
or a fleet printed pages of columns. :func:`summary_repr` prints one line per field instead: a frame's
shape, a text's start, a list's items (a few), anything else as its repr.

Example:
    >>> from dataclasses import dataclass, field
    >>> import pandas as pd
    >>> @dataclass
    ... class Result:
    ...     samples: pd.DataFrame
    ...     note: str = "ok"
    ...     by: dict = field(default_factory=dict)
    ...     __repr__ = summary_repr
    >>> print(Result(pd.DataFrame({"a": [1, 2]})))
    Result
      samples  2 rows × 1 column
      note     'ok'
      by       {}
    >>> wide = {name: pd.DataFrame({"n": range(12)}) for name in ("browser", "os", "country", "region",
    ...                                                            "network_type", "device_type")}
    >>> print(Result(pd.DataFrame(), by=wide))
    Result
      samples  0 rows × 0 columns
      note     'ok'
      by       6 tables:
        browser: 12 rows × 1 column
        os: 12 rows × 1 column
        country: 12 rows × 1 column
        region: 12 rows × 1 column
        network_type: 12 rows × 1 column
        device_type: 12 rows × 1 column
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["describe_value", "plural", "summary_repr"]

MAX_TEXT = 60  # characters of a text field shown
MAX_ITEMS = 5  # items of a list of texts (data gaps) shown, one per line ...
MAX_NOTE = 110  # ... and their characters


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1.

    Example:
        >>> plural(1, "session"), plural(1200, "file")
        ('1 session', '1,200 files')
    """
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def describe_value(value: Any) -> str:
    """One line for one field's value.

    Example:
        >>> describe_value(pd.DataFrame({"a": [1], "b": [2]})), describe_value(None)
        ('1 row × 2 columns', 'None')
        >>> describe_value({"os": pd.DataFrame({"x": [1, 2, 3]})})
        'os: 3 rows'
    """
    if isinstance(value, pd.DataFrame):
        return f"{plural(len(value), 'row')} × {plural(value.shape[1], 'column')}"
    if isinstance(value, str):
        shown = value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
        return repr(shown) + (f" ({len(value):,} characters)" if len(value) > MAX_TEXT else "")
    if isinstance(value, Mapping) and value and all(isinstance(v, pd.DataFrame) for v in value.values()):
        return ", ".join(f"{key}: {plural(len(frame), 'row')}" for key, frame in value.items())
    return repr(value)


def summary_repr(self: Any) -> str:
    """A dataclass as its name, then one line per field (``__repr__ = summary_repr`` in the class)."""
    fields = [f for f in dataclasses.fields(self) if f.repr]
    width = max((len(f.name) for f in fields), default=0)
    lines = [type(self).__name__]
    for f in fields:
        value = getattr(self, f.name)
        if isinstance(value, Sequence) and not isinstance(value, str) and value and all(
                isinstance(item, str) for item in value):  # data gaps: worth reading, a few of them
            lines.append(f"  {f.name:<{width}}  {plural(len(value), 'item')}:")
            lines += [f"    - {item if len(item) <= MAX_NOTE else item[:MAX_NOTE] + '…'}"
                      for item in value[:MAX_ITEMS]]
            if len(value) > MAX_ITEMS:
                lines.append(f"    … and {len(value) - MAX_ITEMS:,} more")
            continue
        line = f"  {f.name:<{width}}  {describe_value(value)}"
        if len(line) > MAX_NOTE and isinstance(value, Mapping):  # quality_by's tables: one per line
            lines.append(f"  {f.name:<{width}}  {plural(len(value), 'table')}:")
            lines += [f"    {key}: {describe_value(item)}" for key, item in value.items()]
            continue
        lines.append(line)
    return "\n".join(lines)
