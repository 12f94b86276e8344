"""Schemas of the API frames (sessions, participants, quality, peer report). Owned by the frames module."""

import pyarrow as pa

SCHEMAS: dict[str, pa.Schema] = {}
