"""The column/dtype contract of every frame, as explicit pyarrow schemas, in one place.

``SCHEMAS`` maps a frame's name (``"sessions"``, ``"quality_stats"``, ``"chat"``, …) to its schema.
Flatteners build their frames from these, so an empty or partial payload still yields every declared
column with its declared dtype, and parquet round-trips exactly.

Example:
    >>> from rtk_frames.schemas import SCHEMAS
    >>> "sessions" in SCHEMAS
    True
"""

from __future__ import annotations

import pyarrow as pa

from rtk_frames.schemas import core, media

SCHEMAS: dict[str, pa.Schema] = {**core.SCHEMAS, **media.SCHEMAS}

__all__ = ["SCHEMAS"]
