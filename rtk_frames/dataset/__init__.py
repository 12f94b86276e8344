"""The kept fleet: a hive-partitioned parquet dataset of every session, synced incrementally.

- :func:`sync_dataset` (``sync.py``): list, plan, fetch what is missing (``fetching.py``), flatten and
  commit atomically (``batch.py``), with a progress bar (``progress.py``) and a summary (``summary.py``);
- :func:`open_dataset` (``read.py``): typed tables, partition pruning, DuckDB views;
- :func:`analyse_dataset` (``fleet.py``): the fleet analysis out of core or on Dask;
- :func:`compact_dataset` (``compact.py``): few files per table and day;
- ``tables.py`` (names, schemas, drift policy), ``state.py`` (SQLite state, the lock),
  ``write.py`` (the commit protocol).

Example:
    >>> from rtk_frames.dataset import TABLES
    >>> len(TABLES)
    11
"""

from rtk_frames.dataset.compact import CompactionSummary, compact_dataset
from rtk_frames.dataset.fleet import FleetSummary, analyse_dataset, fleet_summary
from rtk_frames.dataset.read import FleetDataset, open_dataset
from rtk_frames.dataset.state import DatasetLockedError, NotADatasetError
from rtk_frames.dataset.sync import SyncSummary, sync_dataset
from rtk_frames.dataset.tables import TABLES

__all__ = ["TABLES", "CompactionSummary", "DatasetLockedError", "FleetDataset", "FleetSummary",
           "NotADatasetError", "SyncSummary", "analyse_dataset", "compact_dataset", "fleet_summary",
           "open_dataset", "sync_dataset"]
