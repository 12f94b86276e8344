"""Parse the downloaded chat CSV and transcripts (every format and generation) into typed frames.

Pure functions: bytes (or text, a path, a file object) in, a DataFrame out; the Client downloads.

Transcript generations, detected from the content (see ``rtk_frames.sandbox.media`` for the writer):

==========  ====================================================================================
generation  what the file looks like
==========  ====================================================================================
iso         CSV with the header ``Timestamp, Participant ID, User ID, Custom Participant ID,
            Participant Name, Transcript`` and ISO start times (no end times)
iso_4col    the same without ``User ID`` / ``Custom Participant ID``
seconds     JSON ``[{startTime, endTime, sentence, peerData{id, userId, displayName, cpi}}]``, times in s;
            also a header CSV whose ``Timestamp`` cells are plain numbers (read as seconds)
current     CSV with no header, every field quoted: start ms, peer id, user id, custom id, name, text;
            JSON with times in ms and ``peerData.joinedAt/leftAt``; SRT/VTT cues ``Name: text``
==========  ====================================================================================

Decisions where the documentation is silent:

- CSV is read by pandas' C parser (about 3x faster than the csv module on 100k messages, and equally
  correct on quoted commas, quotes, CR/LF inside cells, a BOM and CR, LF or CRLF record endings), with
  every cell kept as text (``"NA"`` stays the word NA). A ragged file the C parser refuses falls back to
  the csv module, and cells beyond the header become ``extra_N`` columns: no row is ever dropped.
- JSON transcripts are "current" (times in ms) when any ``peerData`` has ``joinedAt``/``leftAt``,
  otherwise "seconds": the documented marker, not a guess from the magnitudes.
- SRT/VTT cues: the speaker is the text before the first ``": "`` (colon + space) of the cue's first line,
  so names may contain a bare colon (``Dr:Who``) but not ``": "``; a cue without ``": "`` has no speaker.
  VTT ``<v Name>`` voice tags are read too, and VTT's ``&amp; &lt; &gt;`` escapes are undone. Cue text is
  kept verbatim otherwise (HTML-looking text is data, never interpreted).
- Empty cells mean "no value" (NA) except in ``text`` / ``payload``, where an empty message stays ``""``.
- A 0-byte (or whitespace-only) file is an empty frame with every column, and a ``UserWarning`` saying so.
- A chat file without a ``payloadType`` column is read as all text messages.

Example:
    >>> from rtk_frames.sandbox.media import render_transcript
    >>> u = {"start_ms": 1000, "end_ms": 3500, "peer_id": "p1", "user_id": "u1",
    ...      "custom_participant_id": "c1", "name": "Alice", "text": "Hello everyone",
    ...      "joined_at": "2024-01-01T10:00:00Z", "left_at": ""}
    >>> df = transcript_frame(render_transcript([u], "CSV"), session_started_at="2024-01-01T10:00:00Z")
    >>> df.loc[0, ["display_name", "text", "generation"]].tolist(), float(df.loc[0, "start_offset_s"])
    (['Alice', 'Hello everyone', 'current'], 1.0)
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, BinaryIO, TextIO
from urllib.parse import unquote

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtk_frames.errors import PayloadError
from rtk_frames.frames._coerce import (
    CoercionReport,
    _first_caller_outside_the_package,
    build_frame,
    coerce_array,
    finish,
    normalize_key,
    parse_timestamps,
)
from rtk_frames.schemas.media import CHAT_SCHEMA, TRANSCRIPT_SCHEMA

__all__ = ["chat_frame", "transcript_frame"]

Content = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO | TextIO

UTF8_BOM = "\ufeff"
MS_PER_S = 1000.0
S_PER_MINUTE = 60.0
S_PER_HOUR = 3600.0
EPOCH_OFFSET_LIMIT_S = 1e9  # a "start" number this large is an epoch time, not an offset (~31 years)
MAX_OFFSET_S = 1e12  # ~31,700 years: an offset beyond this cannot be placed in time (NaT, counted)
TRANSCRIPT_FORMATS = ("CSV", "JSON", "SRT", "VTT")
FILE_PAYLOAD_TYPES = frozenset({"IMAGE", "FILE"})
TEXT_PAYLOAD_TYPE = "TEXT"
CURRENT_CSV_COLUMNS = ("start", "participant_id", "user_id", "custom_participant_id", "display_name", "text")
# header-CSV names (normalised) -> transcript columns
HEADER_CSV_COLUMNS = {
    "timestamp": "start",
    "participant_id": "participant_id",
    "peer_id": "participant_id",
    "user_id": "user_id",
    "custom_participant_id": "custom_participant_id",
    "participant_name": "display_name",
    "display_name": "display_name",
    "name": "display_name",
    "transcript": "text",
    "text": "text",
}
# the chat header (normalised), in the documented order; other names are kept as extras
CHAT_DOCUMENTED_ORDER = ("id", "participant_id", "session_id", "meeting_id", "display_name", "pinned",
                         "is_edited", "payload_type", "payload", "created_at")
# the chat header's key columns (normalised) -> the frame's names: `participantId` is sometimes a peer id,
# sometimes a user id (undocumented), so it is the sender's id, not a participant_id
CHAT_RENAMES = {"id": "message_id", "participant_id": "sender_id"}
_CUE_CLOCK = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
CUE_TIMING = re.compile(rf"^\s*{_CUE_CLOCK}\s*-->\s*{_CUE_CLOCK}")
VOICE_TAG = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]*)>(.*?)(?:</v>)?$", re.DOTALL)


# ------------------------------------------------------------------------------------------------
# Input


def _read_content(content: Content) -> bytes | str:
    """Bytes or text from any accepted input. A ``str`` is a path only if it names an existing file and
    holds no line break (a one-line CSV could otherwise never be passed as text)."""
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    if isinstance(content, os.PathLike):
        with open(content, "rb") as handle:
            return handle.read()
    if isinstance(content, str):
        if content and "\n" not in content and "\r" not in content and len(content) < 4096 \
                and os.path.isfile(content):
            with open(content, "rb") as handle:
                return handle.read()
        return content
    read = getattr(content, "read", None)
    if callable(read):
        return read()
    raise TypeError(f"expected bytes, str, a path or a file object, got {type(content).__name__}")


def _decode(raw: bytes | str, report: CoercionReport) -> str:
    """Text without a BOM. Bytes that are not UTF-8 become U+FFFD and are counted (never an error)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            report.add_repair("file", "bytes that are not UTF-8 (replaced by U+FFFD)", text.count("\ufffd"))
    else:
        text = raw
    return text[1:] if text.startswith(UTF8_BOM) else text


def _warn_empty(frame_name: str, size_bytes: int) -> None:
    what = "is empty (0 bytes)" if size_bytes == 0 else f"holds only whitespace ({size_bytes} bytes)"
    warnings.warn(f"{frame_name}: the file {what}: returning an empty frame with every column",
                  UserWarning, stacklevel=_first_caller_outside_the_package(caller_level=1))


def _csv_columns(text: str, *, skip_initial_space: bool) -> list[list[str]]:
    """The columns of a CSV (the first record included) as lists of text cells (never NA).

    pandas' C parser does the work (fast; RFC 4180 quoting; CR, LF or CRLF endings); a ragged file it
    refuses (a record with more cells than the first) goes through the csv module instead. Records
    shorter than the widest are padded with ``""``.
    """
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                            na_filter=False, skipinitialspace=skip_initial_space, engine="c",
                            skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        return []
    except pd.errors.ParserError:
        reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=skip_initial_space)
        rows = [row for row in reader if row]
        width = max(map(len, rows), default=0)
        padded = [row + [""] * (width - len(row)) for row in rows]
        return [list(col) for col in zip(*padded, strict=True)]
    # short records come back padded with NaN even with na_filter off: those cells were absent -> ""
    return [frame[col].fillna("").tolist() for col in frame.columns]


def _none_if_blank(values: Sequence[Any]) -> list[Any]:
    """Empty or blank text -> ``None`` (no value); everything else unchanged."""
    return [None if v is None or (v.isspace() or not v if type(v) is str else False) else v for v in values]


def _none_if_blank_cells(cells: Sequence[str]) -> list[str | None]:
    """The CSV-cell (all text) version of :func:`_none_if_blank`: the hot path on big files."""
    return [cell if cell and not cell.isspace() else None for cell in cells]


# ------------------------------------------------------------------------------------------------
# Chat


_FILE_URL_KEYS = ("link", "url", "fileUrl", "file_url", "src", "href")
_FILE_NAME_KEYS = ("name", "fileName", "file_name", "filename", "title")
_FILE_SIZE_KEYS = ("size", "fileSize", "file_size", "bytes")


def _first_present(blob: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = blob.get(key)
        if value is not None and value != "":
            return value
    return None


def _file_fields(payload: str | None, report: CoercionReport) -> tuple[str | None, str | None, Any]:
    """(file_name, file_url, file_size) of an IMAGE_/FILE_MESSAGE payload: a link, or a JSON blob."""
    if not payload or payload.isspace():
        return None, None, None
    text = payload.strip()
    if text[0] != "{":
        return _name_from_url(text), text, None
    try:
        blob = orjson.loads(text)
    except orjson.JSONDecodeError:
        blob = None
    if not isinstance(blob, dict):
        report.add("file_url", "file payload is neither a link nor a JSON object")
        return None, None, None
    url = _first_present(blob, _FILE_URL_KEYS)
    url = str(url) if url is not None else None
    name = _first_present(blob, _FILE_NAME_KEYS)
    name = str(name) if name is not None else _name_from_url(url)
    return name, url, _first_present(blob, _FILE_SIZE_KEYS)


def _name_from_url(url: str | None) -> str | None:
    """The last path segment of a link, percent-decoded (``…/cat%201.png`` -> ``cat 1.png``)."""
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    last = unquote(path.rstrip("/").rsplit("/", 1)[-1]) if "/" in path else ""
    return last or None


def _payload_kind(payload_type: str | None) -> str:
    """``TEXT_MESSAGE``/``text``/``Text`` -> ``TEXT`` (and IMAGE, FILE): the documented names and the
    short lower-case ones some exports use read alike; ``payload_type`` itself is kept verbatim."""
    kind = (payload_type or "").strip().upper()
    return kind.removesuffix("_MESSAGE")


def _chat_header(first_row: Sequence[str]) -> list[str] | None:
    """The normalised header, or ``None`` when the first record is data (a headerless file)."""
    names = [normalize_key(cell.strip()) for cell in first_row]
    return names if sum(name in CHAT_DOCUMENTED_ORDER for name in names) >= 2 else None


def chat_frame(content: Content, *, session_id: str | None = None) -> pd.DataFrame:
    """Parse a downloaded chat CSV into one row per message (``SCHEMAS["chat"]`` plus extra columns).

    The CSV's ``id`` is ``message_id``; its undocumented ``participantId`` (a peer id or a user id) is
    ``sender_id``: :func:`rtk_frames.join_chat` resolves it to a ``participant_id``.
    ``text`` holds the message of ``TEXT_MESSAGE`` rows; ``IMAGE_MESSAGE``/``FILE_MESSAGE`` payloads
    (a link, or a JSON blob with name/size/link) fill ``file_name``, ``file_url`` and ``file_size``;
    ``payload`` keeps the raw cell. ``session_id`` fills rows whose file has no ``sessionId``.
    Content can be bytes, text, a path or a file object; a UTF-8 BOM and CRLF are fine.

    Example:
        >>> from rtk_frames.sandbox.media import render_chat_csv
        >>> raw = render_chat_csv([{"id": "m1", "participantId": "p1", "displayName": "Alice",
        ...     "payloadType": "TEXT_MESSAGE", "payload": "hi, =1+1", "createdAt": "2024-01-01T10:00:00Z"}])
        >>> chat_frame(raw).loc[0, ["message_id", "sender_id", "display_name", "text"]].tolist()
        ['m1', 'p1', 'Alice', 'hi, =1+1']
    """
    report = CoercionReport("chat_frame")
    raw = _read_content(content)
    text = _decode(raw, report)
    if not text.strip():
        _warn_empty("chat_frame", len(raw))
    table = _csv_columns(text, skip_initial_space=False) if text.strip() else []
    header = _chat_header([col[0] for col in table]) if table else list(CHAT_DOCUMENTED_ORDER)
    if header is None:  # undocumented but cheap to support: no header row, the documented column order
        header = list(CHAT_DOCUMENTED_ORDER)
        first_data_row = 0
    else:
        first_data_row = 1
    width = max(len(header), len(table))
    names = [*header, *(f"extra_{i}" for i in range(len(header) + 1, width + 1))]
    n_rows = len(table[0]) - first_data_row if table else 0
    columns: dict[str, list[Any]] = {}
    for position, name in enumerate(names):
        name = CHAT_RENAMES.get(name, name) or f"extra_{position + 1}"
        if name in columns:  # a repeated header name: keep the first, the next as name_2
            name = f"{name}_2"
        columns[name] = table[position][first_data_row:] if position < len(table) else [""] * n_rows
    payloads: list[str | None] = columns.get("payload", [None] * n_rows)
    # no payloadType column at all: every payload is a message text
    kinds = ([_payload_kind(k) for k in columns["payload_type"]] if "payload_type" in columns
             else [TEXT_PAYLOAD_TYPE] * n_rows)
    texts = [p if kind == TEXT_PAYLOAD_TYPE else None for p, kind in zip(payloads, kinds, strict=True)]
    files = [_file_fields(p, report) if kind in FILE_PAYLOAD_TYPES else (None, None, None)
             for p, kind in zip(payloads, kinds, strict=True)]
    for name in list(columns):
        if name != "payload":
            columns[name] = _none_if_blank_cells(columns[name])
    if session_id is not None:
        columns["session_id"] = [v if v is not None else session_id
                                 for v in columns.get("session_id", [None] * n_rows)]
    columns["text"] = texts
    columns["file_name"] = [f[0] for f in files]
    columns["file_url"] = [f[1] for f in files]
    columns["file_size"] = [f[2] for f in files]
    frame = build_frame(columns, CHAT_SCHEMA, report=report)
    return finish(frame, report)


# ------------------------------------------------------------------------------------------------
# Transcripts


def _as_utc(value: str | datetime | pd.Timestamp | None) -> pd.Timestamp | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _sniff_format(text: str) -> str:
    head = text.lstrip()
    if head.startswith(("[", "{")):
        return "JSON"
    if head.startswith("WEBVTT"):
        return "VTT"
    first_lines = head.splitlines()[:2]
    if any(CUE_TIMING.match(line) for line in first_lines):
        return "SRT"
    return "CSV"


def _offsets_s(values: list[Any], *, scale_to_s: float, column: str, report: CoercionReport) -> pa.Array:
    """JSON times (numbers or numeric text) times ``scale_to_s``; the shared number coercion reads them
    and counts what is not a number."""
    return pc.multiply(coerce_array(values, pa.float64(), column=column, report=report), scale_to_s)


def _times_from_offsets(offsets_s: pd.Series, session_start: pd.Timestamp | None, *, column: str,
                        report: CoercionReport) -> pd.Series:
    """Session start + offsets (float seconds), to the microsecond; NaT where either is unknown, and
    (counted) where the offset is too large to be a time at all."""
    if session_start is None:
        return pd.Series(pd.NaT, index=offsets_s.index, dtype="datetime64[us, UTC]")
    offsets_s = offsets_s.astype("float64")
    fits = offsets_s.abs() <= MAX_OFFSET_S
    report.add(column, "offset out of range", int((offsets_s.notna() & ~fits).sum()))
    micros = (offsets_s.where(fits) * 1e6).round()
    return (session_start + pd.to_timedelta(micros, unit="us")).astype("datetime64[us, UTC]")


def _split_start(values: Sequence[str | None], *, scale_to_s: float,
                 ) -> tuple[list[float | None], list[str | None]]:
    """Start cells -> (offsets in s, absolute-time cells). Numbers below ~31 years are offsets scaled by
    ``scale_to_s``; larger numbers and anything else are absolute times (epoch or ISO), left for the
    timestamp parser, which counts what it cannot read."""
    cells: list[Any] = list(values)
    numbers = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").astype("float64") * scale_to_s
    is_offset = numbers.abs() < EPOCH_OFFSET_LIMIT_S
    flags = is_offset.tolist()
    offsets = [float(n) if ok else None for n, ok in zip(numbers.tolist(), flags, strict=True)]
    absolute = [v if v is not None and not ok else None for v, ok in zip(values, flags, strict=True)]
    return offsets, absolute


def _transcript_from_csv(text: str, report: CoercionReport) -> tuple[dict[str, list[Any]], str]:
    table = _csv_columns(text, skip_initial_space=True)
    if not table:
        return {}, "current"
    first = [normalize_key(col[0].strip()) for col in table]
    if first[0] == "timestamp":
        names = [HEADER_CSV_COLUMNS.get(name, name or f"extra_{i}") for i, name in enumerate(first, start=1)]
        has_ids = "user_id" in names or "custom_participant_id" in names
        generation = "iso" if has_ids else "iso_4col"
        first_data_row = 1
        scale_to_s = 1.0  # a numeric Timestamp in a header CSV is seconds (the "seconds" era's unit)
    else:
        names = list(CURRENT_CSV_COLUMNS)[: len(table)]
        generation = "current"
        first_data_row = 0
        scale_to_s = 1.0 / MS_PER_S
    names += [f"extra_{i}" for i in range(len(names) + 1, len(table) + 1)]
    columns: dict[str, list[Any]] = {}
    for name, values in zip(names, table, strict=True):
        columns[name if name not in columns else f"{name}_2"] = values[first_data_row:]
    for name in list(columns):
        if name != "text":
            columns[name] = _none_if_blank_cells(columns[name])
    n_rows = len(table[0]) - first_data_row
    offsets, absolute = _split_start(columns.pop("start", [None] * n_rows), scale_to_s=scale_to_s)
    if generation != "current" and any(o is not None for o in offsets):
        generation = "seconds"
    columns["start_offset_s"] = offsets
    columns["_start_absolute"] = absolute
    return columns, generation


def _transcript_from_json(text: str, report: CoercionReport) -> tuple[dict[str, list[Any]], str]:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"transcript_frame: the JSON transcript is not valid JSON ({exc})") from None
    if isinstance(document, dict):  # a wrapper object: take its (first) list of utterances
        document = next((v for v in document.values() if isinstance(v, list)), [document])
    if not isinstance(document, list):
        raise PayloadError(f"transcript_frame: a JSON transcript is a list of utterances, got "
                           f"{type(document).__name__}")
    items = [item for item in document if isinstance(item, dict)]
    peers: list[dict[str, Any]] = [item["peerData"] if isinstance(item.get("peerData"), dict) else {}
                                   for item in items]
    current = any("joinedAt" in peer or "leftAt" in peer for peer in peers)
    scale_to_s = 1.0 / MS_PER_S if current else 1.0
    known_item = {"startTime", "endTime", "sentence", "peerData"}
    known_peer = {"id", "userId", "displayName", "cpi", "joinedAt", "leftAt"}
    columns: dict[str, Any] = {
        "start_offset_s": _offsets_s([i.get("startTime") for i in items], scale_to_s=scale_to_s,
                                     column="start_offset_s", report=report),
        "end_offset_s": _offsets_s([i.get("endTime") for i in items], scale_to_s=scale_to_s,
                                   column="end_offset_s", report=report),
        "text": [i.get("sentence", i.get("text")) for i in items],
        "participant_id": _none_if_blank([p.get("id") for p in peers]),
        "user_id": _none_if_blank([p.get("userId") for p in peers]),
        "custom_participant_id": _none_if_blank([p.get("cpi") for p in peers]),
        "display_name": _none_if_blank([p.get("displayName") for p in peers]),
        "joined_at": _none_if_blank([p.get("joinedAt") for p in peers]),
        "left_at": _none_if_blank([p.get("leftAt") for p in peers]),
    }
    extras: dict[str, list[Any]] = {}
    for row, (item, peer) in enumerate(zip(items, peers, strict=True)):
        for key, value in item.items():
            if key not in known_item and key not in ("text",):
                extras.setdefault(normalize_key(key), [None] * len(items))[row] = value
        for key, value in peer.items():
            if key not in known_peer:
                extras.setdefault(f"peer_data_{normalize_key(key)}", [None] * len(items))[row] = value
    columns.update({k: v for k, v in extras.items() if k not in columns and k not in TRANSCRIPT_SCHEMA.names})
    return columns, "current" if current else "seconds"


def _cue_seconds(match: re.Match[str], first_group: int) -> float:
    hours, minutes, seconds, fraction = match.group(*range(first_group, first_group + 4))
    return (int(hours or 0) * S_PER_HOUR + int(minutes) * S_PER_MINUTE + int(seconds)
            + int(fraction.ljust(3, "0")) / MS_PER_S)


def _speaker_and_text(lines: list[str], *, vtt: bool) -> tuple[str | None, str]:
    body = "\n".join(lines)
    if vtt:
        voice = VOICE_TAG.match(body)
        if voice:
            return html.unescape(voice.group(1).strip()) or None, html.unescape(voice.group(2))
    name, sep, rest = body.partition(": ")
    if not sep or "\n" in name:
        name, rest = "", body
    if vtt:
        name, rest = html.unescape(name), html.unescape(rest)
    return (name.strip() or None), rest


def _transcript_from_cues(text: str, *, vtt: bool) -> dict[str, list[Any]]:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    columns: dict[str, list[Any]] = {"start_offset_s": [], "end_offset_s": [], "display_name": [], "text": []}
    for block in re.split(r"\n[ \t]*\n", normalised):
        lines = block.strip("\n").split("\n")
        timing_at = next((i for i, line in enumerate(lines) if CUE_TIMING.match(line)), None)
        if timing_at is None:  # the WEBVTT header, NOTE/STYLE/REGION blocks, stray text
            continue
        timing = CUE_TIMING.match(lines[timing_at])
        assert timing is not None
        name, said = _speaker_and_text(lines[timing_at + 1:], vtt=vtt)
        columns["start_offset_s"].append(_cue_seconds(timing, 1))
        columns["end_offset_s"].append(_cue_seconds(timing, 5))
        columns["display_name"].append(name)
        columns["text"].append(said)
    return columns


_PARSERS: dict[str, Callable[[str, CoercionReport], tuple[dict[str, list[Any]], str]]] = {
    "CSV": _transcript_from_csv,
    "JSON": _transcript_from_json,
    "SRT": lambda text, report: (_transcript_from_cues(text, vtt=False), "current"),
    "VTT": lambda text, report: (_transcript_from_cues(text, vtt=True), "current"),
}


def transcript_frame(content: Content, *, format: str | None = None,
                     session_started_at: str | datetime | pd.Timestamp | None = None,
                     session_id: str | None = None) -> pd.DataFrame:
    """Parse a downloaded transcript (CSV, JSON, SRT or VTT, any generation) into one row per utterance.

    Columns are ``SCHEMAS["transcript"]``: ``start``/``end`` (UTC) and ``start_offset_s``/``end_offset_s``
    (seconds since the session start) — offsets become times with ``session_started_at``, and ISO times
    become offsets with it; without it the missing side is NA. Speaker ids (``participant_id`` is the
    wire's ``Participant ID`` / ``peerData.id``, the participants' ``id``), ``display_name``, ``text``,
    ``joined_at``/``left_at`` (current JSON only), ``session_id``, and what was detected:
    ``source_format`` and ``generation``. ``format=None`` sniffs it from the content. The ISO CSVs carry
    no end times (``end`` is NaT there).

    Example:
        >>> vtt = b"WEBVTT\\n\\n00:00:01.000 --> 00:00:03.500\\nAlice: Hello everyone\\n"
        >>> df = transcript_frame(vtt, session_started_at="2024-01-01T10:00:00Z")
        >>> str(df.loc[0, "end"]), df.loc[0, "display_name"], df.loc[0, "source_format"]
        ('2024-01-01 10:00:03.500000+00:00', 'Alice', 'VTT')
    """
    report = CoercionReport("transcript_frame")
    raw = _read_content(content)
    text = _decode(raw, report)
    fmt = format.upper() if format else _sniff_format(text)
    if fmt not in _PARSERS:
        raise ValueError(
            f"transcript_frame: format must be one of {TRANSCRIPT_FORMATS} or None, got {format!r}"
        )
    session_start = _as_utc(session_started_at)
    if not text.strip():
        _warn_empty("transcript_frame", len(raw))
        columns: dict[str, list[Any]] = {}
        generation = None
    else:
        columns, generation = _PARSERS[fmt](text, report)
    n_rows = len(next(iter(columns.values()))) if columns else 0
    absolute = columns.pop("_start_absolute", None)
    columns["session_id"] = [session_id] * n_rows
    columns["source_format"] = [fmt] * n_rows
    columns["generation"] = [generation] * n_rows
    frame = build_frame(columns, TRANSCRIPT_SCHEMA, report=report)
    for name in ("start", "end"):
        offsets = frame[f"{name}_offset_s"]
        frame[name] = _times_from_offsets(offsets, session_start, column=name, report=report)
    if absolute is not None and any(a is not None for a in absolute):
        # rows whose start is an absolute time (ISO, or epoch): parse it (failures counted) and derive
        # the offset from the session start when known
        given = pd.Series([a is not None for a in absolute], index=frame.index)
        parsed = parse_timestamps(absolute, column="start", report=report).set_axis(frame.index)
        frame["start"] = frame["start"].where(~given, parsed)
        if session_start is not None:
            derived = (parsed - session_start).dt.total_seconds()
            frame["start_offset_s"] = frame["start_offset_s"].where(~given, derived)
    return finish(frame, report)
