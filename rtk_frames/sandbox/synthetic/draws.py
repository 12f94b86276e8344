"""Random draws: one buffered ``numpy.random.Generator`` behind every generated value.

Example:
    >>> rng = Draws(1)
    >>> 0.0 <= rng.random() < 1.0, len(rng.uuid()), len(short_id(rng))
    (True, 36, 6)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Draws", "short_id"]


class Draws:
    """Scalar random draws from a buffered numpy Generator (numpy's per-call overhead dominates
    otherwise); ``gen`` is the Generator itself for array draws."""

    BUFFER = 4096

    def __init__(self, seed: int) -> None:
        self.gen = np.random.default_rng(seed)
        self._buffer: list[float] = []

    def random(self) -> float:
        if not self._buffer:
            self._buffer = self.gen.random(self.BUFFER).tolist()
            self._buffer.reverse()
        return self._buffer.pop()

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def exponential(self, scale: float) -> float:
        return -scale * math.log(1.0 - self.random())

    def index(self, n: int) -> int:
        return min(int(self.random() * n), n - 1)

    def pick(self, items: Sequence[Any]) -> Any:
        return items[self.index(len(items))]

    def weighted(self, weights: np.ndarray) -> int:
        cumulative = np.cumsum(weights)
        return min(
            int(np.searchsorted(cumulative, self.random() * cumulative[-1], side="right")), len(weights) - 1
        )

    def uuid(self) -> str:
        raw = bytearray(self.gen.bytes(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def short_id(rng: Draws, length: int = 6) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[i] for i in rng.gen.integers(0, len(alphabet), size=length))
