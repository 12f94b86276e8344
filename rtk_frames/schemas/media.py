"""Schemas of the chat and transcript frames."""

import pyarrow as pa

SCHEMAS: dict[str, pa.Schema] = {}
