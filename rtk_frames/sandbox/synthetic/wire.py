"""How generated values look on the wire: timestamp text, ids derived from other ids, rounding.

Example:
    >>> iso(0.25), rounded(2.34567, 2)
    ('1970-01-01T00:00:00.250Z', 2.35)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

__all__ = ["derived_id", "iso", "rounded"]

_DAY_TEXT: dict[int, str] = {}


def iso(epoch_s: float) -> str:
    """Epoch seconds -> the service's timestamp text, e.g. ``2026-11-16T09:00:03.120Z`` (fast path)."""
    total_ms = round(float(epoch_s) * 1000)
    seconds, ms = divmod(total_ms, 1000)
    day, rest = divmod(seconds, 86_400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}Z"


def derived_id(text: str) -> str:
    """A stable UUID-shaped id derived from ``text`` (for ids that depend on other ids)."""
    h = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def rounded(value: float, digits: int = 3) -> float:
    return round(float(value), digits)
