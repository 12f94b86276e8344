"""The records a sandbox serves and their JSON files: the bottom floor of the sandbox.

Records are plain JSON-ready dicts in the service's own field names (SDK 5.9.0 shapes, plus the seed's
extra blocks); the server reshapes them per endpoint and flavor. :class:`DatasetRecords` holds them:

- ``sessions``: top-level sessions (SDK ``DataSession`` fields + ``meta`` + ``breakout_rooms``).
- ``breakout_rooms[parent_session_id]``: child sessions (same fields; ``meta.parent_session_id``).
- ``participants[session_id]``: participant rows (SDK ``DataParticipant`` fields incl. ``peer_events``);
  a row's ``id`` is its peer id; a rejoin is a second row with a new id and the same ``user_id``.
- ``details[peer_id]``: ``{"peer_stats": {...}, "quality_stats": [segments]}`` (participant details).
- ``peer_reports[peer_id]``: ``{"role", "peer_report": {metadata, quality}, "peer_stats", "quality_stats"}``.
- ``chats[session_id]``: rows keyed by the chat CSV header; ``transcripts[session_id]``: utterances
  ``{start_ms, end_ms, peer_id, user_id, custom_participant_id, name, text, joined_at, left_at}``;
  ``transcript_generation[session_id]``; ``summaries[session_id]``: text (absent = not generated yet).

The generators (:mod:`rtk_frames.sandbox.synthetic`) build these; :class:`rtk_frames.sandbox.Dataset`
adds the constructors that need the generators and the bundled samples. Imports flow one way:
``records`` <- ``synthetic`` <- ``dataset`` <- ``server``.

Example:
    >>> records = DatasetRecords(sessions=[{"id": "s1"}], participants={"s1": [{"id": "p1"}]})
    >>> records.counts()["participants"], next(records.all_sessions())["id"]
    (1, 's1')
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

__all__ = ["DATASET_FILES", "META_FILE", "DatasetRecords", "LazyRecords", "Record"]

Record = dict[str, Any]

# file name -> DatasetRecords attribute, as written by DatasetRecords.to_dir()
DATASET_FILES: dict[str, str] = {
    "sessions.json": "sessions",
    "breakout_rooms.json": "breakout_rooms",
    "participants.json": "participants",
    "participant_details.json": "details",
    "peer_reports.json": "peer_reports",
    "chats.json": "chats",
    "transcripts.json": "transcripts",
    "transcript_generation.json": "transcript_generation",
    "summaries.json": "summaries",
}
META_FILE = "dataset.json"
#: built records a :class:`LazyRecords` keeps (a synthetic record is a few KB to a few hundred KB)
KEEP_BUILT = 256


class LazyRecords(Mapping[str, Record]):
    """A read-only mapping whose values are built on access by ``build(key)``; the last ``keep`` built
    records are kept (least recently used out), so memory stays bounded however large the dataset.

    The synthetic generator keeps quality series as numpy arrays and builds each participant's JSON
    only when a request asks for it. A real service answers from stored reports; rebuilding one (its
    percentiles and means) on every request made the sandbox, not the client, the slow side of a
    benchmark that fetches the same sessions again. Records are read-only to their users (the server
    copies what it changes), so a kept record can be handed out again.

    Example:
        >>> lazy = LazyRecords(["a", "b"], lambda key: {"id": key})
        >>> lazy["b"], len(lazy), "c" in lazy, lazy["a"] is lazy["a"]
        ({'id': 'b'}, 2, False, True)
    """

    def __init__(self, keys: list[str], build: Callable[[str], Record], keep: int = KEEP_BUILT) -> None:
        self._keys = list(keys)
        self._key_set = set(self._keys)
        self._build = functools.lru_cache(maxsize=keep)(build) if keep > 0 else build

    def __getitem__(self, key: str) -> Record:
        if key not in self._key_set:
            raise KeyError(key)
        return self._build(key)

    def __contains__(self, key: object) -> bool:
        return key in self._key_set

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"LazyRecords({len(self._keys)} records)"


@dataclass(repr=False)
class DatasetRecords:
    """Everything one sandbox serves (see the module docstring for the record shapes), and its files.

    Example:
        >>> DatasetRecords().counts()["sessions"]
        0
    """

    account_id: str = "sandbox-account"
    app_id: str = "sandbox-app"
    sessions: list[Record] = field(default_factory=list)
    breakout_rooms: dict[str, list[Record]] = field(default_factory=dict)
    participants: dict[str, list[Record]] = field(default_factory=dict)
    details: MutableMapping[str, Record] | Mapping[str, Record] = field(default_factory=dict)
    peer_reports: MutableMapping[str, Record] | Mapping[str, Record] = field(default_factory=dict)
    chats: dict[str, list[Record]] = field(default_factory=dict)
    transcripts: dict[str, list[Record]] = field(default_factory=dict)
    transcript_generation: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    quirks: list[dict[str, str]] = field(default_factory=list)  # messy cases added on purpose, where/what

    @classmethod
    def from_dir(cls, path: str | Path) -> Self:
        """Load records written by :meth:`to_dir` (missing files mean empty collections).

        Example:
            >>> from rtk_frames.sandbox.dataset import samples_dir
            >>> DatasetRecords.from_dir(samples_dir() / "demo").account_id != ""
            True
        """
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"no dataset directory at {root}")
        meta = _read_json(root / META_FILE, {})
        records = cls(
            account_id=meta.get("account_id", cls.account_id),
            app_id=meta.get("app_id", cls.app_id),
            quirks=meta.get("quirks", []),
        )
        for name, attribute in DATASET_FILES.items():
            default: list[Record] | dict[str, Any] = [] if attribute == "sessions" else {}
            setattr(records, attribute, _read_json(root / name, default))
        return records

    def to_dir(self, path: str | Path) -> Path:
        """Write the records as JSON files (one per collection) into ``path``; returns the directory.

        Example:
            >>> import tempfile
            >>> records = DatasetRecords(sessions=[{"id": "s1"}])
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     DatasetRecords.from_dir(records.to_dir(tmp)).sessions
            [{'id': 's1'}]
        """
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        _write_json(
            root / META_FILE,
            {
                "account_id": self.account_id,
                "app_id": self.app_id,
                "files": sorted(DATASET_FILES),
                "quirks": self.quirks,
            },
        )
        for name, attribute in DATASET_FILES.items():
            value = getattr(self, attribute)
            if isinstance(value, Mapping):
                value = {key: value[key] for key in value}
            _write_json(root / name, value)
        return root

    def __repr__(self) -> str:  # short: a notebook cell showing a dataset must not print megabytes
        counts = ", ".join(f"{name}={n}" for name, n in self.counts().items())
        return f"{type(self).__name__}(account_id={self.account_id!r}, app_id={self.app_id!r}, {counts})"

    def all_sessions(self) -> Iterator[Record]:
        """Every session record: the top-level ones, then each one's breakout rooms.

        Example:
            >>> [s["id"] for s in DatasetRecords(sessions=[{"id": "a"}],
            ...                                  breakout_rooms={"a": [{"id": "b"}]}).all_sessions()]
            ['a', 'b']
        """
        yield from self.sessions
        for children in self.breakout_rooms.values():
            yield from children

    def counts(self) -> dict[str, int]:
        """How much data there is (``sessions`` top-level; ``breakout_rooms`` their child sessions).

        Example:
            >>> DatasetRecords().counts()["sessions"]
            0
        """
        return {
            "sessions": len(self.sessions),
            "breakout_rooms": sum(len(children) for children in self.breakout_rooms.values()),
            "participants": sum(len(rows) for rows in self.participants.values()),
            "chats": sum(len(rows) for rows in self.chats.values()),
            "utterances": sum(len(rows) for rows in self.transcripts.values()),
            "summaries": len(self.summaries),
        }


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
