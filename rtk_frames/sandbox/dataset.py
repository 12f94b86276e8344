"""The data a sandbox serves, and where it comes from: the bundled samples, the generator, a directory.

:class:`Dataset` is :class:`~rtk_frames.sandbox.records.DatasetRecords` (the records, their shapes and
their JSON files) plus the constructors that need the generators and the bundled samples. Imports flow
one way: ``records`` <- ``synthetic`` (the generators) <- ``dataset`` <- ``server``.

Example:
    >>> from rtk_frames.sandbox import Dataset
    >>> ds = Dataset.from_samples()
    >>> len(ds.sessions) >= 3 and all(s["id"] in ds.participants for s in ds.sessions)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rtk_frames.sandbox import synthetic
from rtk_frames.sandbox.records import DATASET_FILES, DatasetRecords, LazyRecords

__all__ = ["DATASET_FILES", "Dataset", "LazyRecords", "samples_dir"]


def samples_dir() -> Path:
    """Where the bundled sample data lives: the wheel's ``_data_samples``, else the repo's ``data_samples``.

    Example:
        >>> (samples_dir() / "demo").is_dir()
        True
    """
    package_dir = Path(__file__).resolve().parents[1]  # rtk_frames/, found without importing it
    installed = package_dir / "_data_samples"
    if installed.is_dir():
        return installed
    return package_dir.parent / "data_samples"


@dataclass(repr=False)
class Dataset(DatasetRecords):
    """Everything one sandbox serves (see :mod:`rtk_frames.sandbox.records` for the record shapes).

    Example:
        >>> ds = Dataset.synthetic(sessions=2, participants=3, samples=5, seed=1)
        >>> sorted(ds.counts())
        ['breakout_rooms', 'chats', 'participants', 'sessions', 'summaries', 'utterances']
        >>> repr(ds).startswith("Dataset(account_id=")
        True
    """

    @classmethod
    def from_records(cls, records: DatasetRecords) -> Dataset:
        """A Dataset holding the same collections as ``records`` (not copied).

        Example:
            >>> Dataset.from_records(DatasetRecords(app_id="x")).app_id
            'x'
        """
        return cls(**{f.name: getattr(records, f.name) for f in fields(DatasetRecords)})

    @classmethod
    def from_samples(cls) -> Dataset:
        """The small realistic dataset bundled in ``data_samples/demo`` (3 sessions).

        Example:
            >>> Dataset.from_samples().sessions[0]["status"] in ("LIVE", "ENDED")
            True
        """
        return cls.from_dir(samples_dir() / "demo")

    @classmethod
    def synthetic(
        cls, sessions: int = 5, participants: int = 8, samples: int = 60, seed: int = 0, **options: Any
    ) -> Dataset:
        """A realistic, reproducible dataset of any size (see :mod:`rtk_frames.sandbox.synthetic`).

        ``participants`` is the number of participant rows per session (rejoins included) and
        ``samples`` the number of quality samples (~7 s apart) per participant.

        Example:
            >>> a = Dataset.synthetic(sessions=1, participants=3, samples=4, seed=3)
            >>> b = Dataset.synthetic(sessions=1, participants=3, samples=4, seed=3)
            >>> a.sessions == b.sessions
            True
        """
        records = synthetic.generate(
            sessions=sessions, participants=participants, samples=samples, seed=seed, **options
        )
        return cls.from_records(records)
