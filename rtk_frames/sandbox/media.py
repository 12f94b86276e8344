"""Render the sandbox's downloadable files: chat CSV, transcripts (every generation), summaries.

The sandbox is the parsers' opponent in tests, so nothing here imports from ``rtk_frames.frames``:
the renderers write the wire formats from the documentation, independently of how they are read.

Transcript generations (all describe the same utterances; the parsers must read every one):

- ``"iso"``: CSV with the header ``Timestamp, Participant ID, User ID, Custom Participant ID,
  Participant Name, Transcript`` (a space after each comma) and ISO-8601 start times
  (session start + offset). No end times.
- ``"iso_4col"``: the older variant of the above without the user/custom ids:
  ``Timestamp, Participant ID, Participant Name, Transcript``.
- ``"seconds"``: the same header CSV as ``"iso"``; JSON is a list of
  ``{"startTime", "endTime", "sentence", "peerData": {"id", "userId", "displayName", "cpi"}}`` with the
  times in **seconds** since the session start.
- ``"current"``: CSV with **no header** and every field quoted: start (ms since the session start),
  peer id, user id, custom participant id, name, text. JSON like ``"seconds"`` but with the times in
  **milliseconds** and ``peerData.joinedAt`` / ``peerData.leftAt`` (``leftAt`` may be ``""``).
  SRT and VTT cues read ``Alice: Hello everyone``.

An empty transcript renders as a 0-byte file in every format (that is what the service serves).

Example:
    >>> u = {"start_ms": 1000, "end_ms": 3500, "peer_id": "p1", "user_id": "u1",
    ...      "custom_participant_id": "c1", "name": "Alice", "text": "Hello everyone",
    ...      "joined_at": "2024-01-01T10:00:00.000Z", "left_at": ""}
    >>> render_transcript([u], "CSV")
    b'"1000","p1","u1","c1","Alice","Hello everyone"\\r\\n'
    >>> print(render_transcript([u], "SRT").decode())
    1
    00:00:01,000 --> 00:00:03,500
    Alice: Hello everyone
    <BLANKLINE>
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CHAT_CSV_HEADER",
    "TRANSCRIPT_FORMATS",
    "TRANSCRIPT_GENERATIONS",
    "render_chat_csv",
    "render_summary",
    "render_transcript",
]

CHAT_CSV_HEADER: tuple[str, ...] = (
    "id", "participantId", "sessionId", "meetingId", "displayName", "pinned", "isEdited",
    "payloadType", "payload", "createdAt",
)
TRANSCRIPT_FORMATS: tuple[str, ...] = ("CSV", "JSON", "SRT", "VTT")
TRANSCRIPT_GENERATIONS: tuple[str, ...] = ("current", "seconds", "iso", "iso_4col")

ISO_CSV_HEADER_6COL: tuple[str, ...] = (
    "Timestamp", "Participant ID", "User ID", "Custom Participant ID", "Participant Name", "Transcript",
)
ISO_CSV_HEADER_4COL: tuple[str, ...] = ("Timestamp", "Participant ID", "Participant Name", "Transcript")
UTF8_BOM = b"\xef\xbb\xbf"
MS_PER_S = 1000


def _cell(value: Any) -> str:
    """One CSV cell as the service writes it: ``None`` -> empty, booleans lower-case (JSON style)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_chat_csv(rows: Sequence[Mapping[str, Any]], *, bom: bool = False,
                    line_terminator: str = "\r\n") -> bytes:
    """Render chat messages as the downloadable chat CSV (RFC 4180 quoting, header row, UTF-8).

    ``rows`` are keyed exactly by :data:`CHAT_CSV_HEADER`; keys beyond the header are written as extra
    columns after it (in first-seen order), a missing key is an empty cell.

    Example:
        >>> row = {"id": "m1", "participantId": "p1", "sessionId": "s1", "meetingId": "mt1",
        ...        "displayName": "Alice", "pinned": False, "isEdited": False,
        ...        "payloadType": "TEXT_MESSAGE", "payload": "hi, you", "createdAt": "2024-01-01T10:00:00Z"}
        >>> render_chat_csv([row]).splitlines()[1]
        b'm1,p1,s1,mt1,Alice,false,false,TEXT_MESSAGE,"hi, you",2024-01-01T10:00:00Z'
    """
    extra: list[str] = []
    for row in rows:
        extra.extend(k for k in row if k not in CHAT_CSV_HEADER and k not in extra)
    header = [*CHAT_CSV_HEADER, *extra]
    records = [header, *([_cell(row.get(name)) for name in header] for row in rows)]
    body = _csv_text(records, quote_all=False, line_terminator=line_terminator)
    return UTF8_BOM + body if bom else body


def render_summary(text: str) -> bytes:
    """Render a session summary: the plain UTF-8 text file the summary URL serves.

    Example:
        >>> render_summary("Alice greeted everyone.")
        b'Alice greeted everyone.'
    """
    return text.encode("utf-8")


def _parse_session_start(session_started_at: str | None, generation: str) -> datetime:
    if session_started_at is None:
        raise ValueError(
            f"render_transcript: generation {generation!r} writes ISO timestamps and needs session_started_at"
        )
    started = datetime.fromisoformat(session_started_at.replace("Z", "+00:00"))
    return started.replace(tzinfo=UTC) if started.tzinfo is None else started.astimezone(UTC)


def _iso_ms(moment: datetime) -> str:
    """``2024-01-01T10:00:01.250Z``: millisecond precision, UTC, ``Z`` suffix (the API's own style)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(value: float) -> int | float:
    """A JSON number without a spurious ``.0`` (``0`` and ``2.5``, as the docs show them)."""
    return int(value) if float(value).is_integer() else float(value)


def _csv_field(cell: str, *, quote: bool) -> str:
    """One RFC 4180 field. Quoted when asked, or when it holds a comma, a quote, a CR or an LF, or starts
    with whitespace (so a reader that skips the space after a comma keeps it). Hand-written because the
    csv module quotes CR/LF only when they belong to *its* line terminator and never leading spaces."""
    if quote or (cell and (cell[0].isspace() or any(ch in cell for ch in ',"\r\n'))):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_text(records: Iterable[Sequence[str]], *, quote_all: bool, line_terminator: str = "\r\n") -> bytes:
    lines = (",".join(_csv_field(cell, quote=quote_all) for cell in record) + line_terminator
             for record in records)
    return "".join(lines).encode("utf-8")


def _render_header_csv(utterances: Sequence[Mapping[str, Any]], *, four_columns: bool,
                       session_start: datetime) -> bytes:
    header = ISO_CSV_HEADER_4COL if four_columns else ISO_CSV_HEADER_6COL
    rows: list[Sequence[str]] = []
    for u in utterances:
        stamp = _iso_ms(session_start + timedelta(milliseconds=float(u["start_ms"])))
        if four_columns:
            rows.append([stamp, _cell(u.get("peer_id")), _cell(u.get("name")), _cell(u.get("text"))])
        else:
            rows.append([stamp, _cell(u.get("peer_id")), _cell(u.get("user_id")),
                         _cell(u.get("custom_participant_id")), _cell(u.get("name")), _cell(u.get("text"))])
    # the documented header has a space after each comma; the body is ordinary RFC 4180 CSV
    return (", ".join(header) + "\r\n").encode("utf-8") + _csv_text(rows, quote_all=False)


def _render_current_csv(utterances: Sequence[Mapping[str, Any]]) -> bytes:
    rows = [
        [_cell(_number(float(u["start_ms"]))), _cell(u.get("peer_id")), _cell(u.get("user_id")),
         _cell(u.get("custom_participant_id")), _cell(u.get("name")), _cell(u.get("text"))]
        for u in utterances
    ]
    return _csv_text(rows, quote_all=True)


def _render_json(utterances: Sequence[Mapping[str, Any]], *, milliseconds: bool) -> bytes:
    items = []
    for u in utterances:
        scale = 1 if milliseconds else MS_PER_S
        peer: dict[str, Any] = {
            "id": u.get("peer_id"),
            "userId": u.get("user_id"),
            "displayName": u.get("name"),
            "cpi": u.get("custom_participant_id"),
        }
        if milliseconds:
            peer["joinedAt"] = u.get("joined_at") or ""
            peer["leftAt"] = u.get("left_at") or ""
        items.append({
            "startTime": _number(float(u["start_ms"]) / scale),
            "endTime": _number(float(u["end_ms"]) / scale),
            "sentence": u.get("text") or "",
            "peerData": peer,
        })
    return json.dumps(items, ensure_ascii=False).encode("utf-8")


def _cue_clock(ms: float, separator: str) -> str:
    total_ms = round(float(ms))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _cue_text(u: Mapping[str, Any], *, vtt: bool) -> str:
    text = _cell(u.get("text"))
    if vtt:  # WebVTT cue text: &, < and > must be escaped (a '<' would open a tag)
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # a blank line ends a cue, so a multi-line utterance keeps only its non-empty lines
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    name = _cell(u.get("name"))
    if vtt:
        name = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{name}: " + "\n".join(lines)


def _render_cues(utterances: Sequence[Mapping[str, Any]], *, vtt: bool) -> bytes:
    separator = "." if vtt else ","
    blocks = ["WEBVTT\n"] if vtt else []
    for index, u in enumerate(utterances, start=1):
        timing = f"{_cue_clock(u['start_ms'], separator)} --> {_cue_clock(u['end_ms'], separator)}"
        cue = f"{timing}\n{_cue_text(u, vtt=vtt)}\n"
        blocks.append(cue if vtt else f"{index}\n{cue}")
    return "\n".join(blocks).encode("utf-8")


def render_transcript(utterances: Sequence[Mapping[str, Any]], fmt: str = "CSV", *,
                      generation: str = "current", session_started_at: str | None = None) -> bytes:
    """Render a session's utterances as the transcript file of one format and one generation.

    Args:
        utterances: ``{start_ms, end_ms, peer_id, user_id, custom_participant_id, name, text,
            joined_at, left_at}`` (times in ms since the session start; ``left_at`` may be ``""``).
        fmt: ``"CSV"``, ``"JSON"``, ``"SRT"`` or ``"VTT"`` (case-insensitive).
        generation: ``"current"``, ``"seconds"``, ``"iso"`` or ``"iso_4col"`` (see the module docstring).
        session_started_at: ISO time of the session start; required where ISO timestamps are written
            (the header CSV of ``"iso"``, ``"iso_4col"`` and ``"seconds"``).

    Pairs the documentation does not describe are rendered as the nearest documented one:
    JSON of ``"iso"``/``"iso_4col"`` -> the ``"seconds"`` JSON (the JSON of that era); SRT/VTT of any
    older generation -> the current SRT/VTT (cues carry only offsets and names, so they never changed).

    Example:
        >>> u = {"start_ms": 0, "end_ms": 2500, "peer_id": "p1", "user_id": "u1",
        ...      "custom_participant_id": "c1", "name": "Bo", "text": "Hi", "joined_at": "", "left_at": ""}
        >>> import json
        >>> item = json.loads(render_transcript([u], "JSON", generation="seconds"))[0]
        >>> item["startTime"], item["endTime"], item["peerData"]["cpi"]
        (0, 2.5, 'c1')
    """
    fmt_upper = fmt.upper()
    if fmt_upper not in TRANSCRIPT_FORMATS:
        raise ValueError(f"render_transcript: format must be one of {TRANSCRIPT_FORMATS}, got {fmt!r}")
    if generation not in TRANSCRIPT_GENERATIONS:
        raise ValueError(
            f"render_transcript: generation must be one of {TRANSCRIPT_GENERATIONS}, got {generation!r}"
        )
    if not utterances:
        return b""
    if fmt_upper == "SRT":
        return _render_cues(utterances, vtt=False)
    if fmt_upper == "VTT":
        return _render_cues(utterances, vtt=True)
    if fmt_upper == "JSON":
        return _render_json(utterances, milliseconds=generation == "current")
    if generation == "current":
        return _render_current_csv(utterances)
    return _render_header_csv(utterances, four_columns=generation == "iso_4col",
                              session_start=_parse_session_start(session_started_at, generation))
