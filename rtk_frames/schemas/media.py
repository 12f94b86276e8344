"""Schemas of the chat and transcript frames (the parsed downloads of the chat/transcript URLs).

Conventions (docs/DESIGN.md): ids and text are pandas ``str`` (pyarrow ``string``), times
``datetime64[us, UTC]`` (``timestamp("us", tz="UTC")``), flags nullable ``boolean`` (``bool_``),
counters nullable ``Int64`` (``int64``), measures ``float64``.

Example:
    >>> from rtk_frames.schemas.media import SCHEMAS
    >>> SCHEMAS["transcript"].field("start_offset_s").type
    DataType(double)
"""

import pyarrow as pa

UTC_US = pa.timestamp("us", tz="UTC")
TEXT = pa.string()

CHAT_SCHEMA = pa.schema([
    pa.field("message_id", TEXT),       # the CSV's `id`
    pa.field("session_id", TEXT),
    pa.field("meeting_id", TEXT),
    pa.field("sender_id", TEXT),        # the CSV's undocumented `participantId`: a participant (peer) id
                                        # or a user id, so not a key; join_chat adds the participant_id
    pa.field("display_name", TEXT),
    pa.field("created_at", UTC_US),
    pa.field("payload_type", TEXT),     # TEXT_MESSAGE | IMAGE_MESSAGE | FILE_MESSAGE (others kept as sent)
    pa.field("text", TEXT),             # the message text of TEXT_MESSAGE rows, else NA
    pa.field("file_name", TEXT),        # IMAGE_/FILE_MESSAGE: blob's name, else the URL's last segment
    pa.field("file_url", TEXT),         # IMAGE_/FILE_MESSAGE: a bare URL payload or the blob's link
    pa.field("file_size", pa.int64()),  # bytes, when the payload's blob says
    pa.field("payload", TEXT),          # the raw payload cell, verbatim
    pa.field("pinned", pa.bool_()),
    pa.field("is_edited", pa.bool_()),
])

TRANSCRIPT_SCHEMA = pa.schema([
    pa.field("start", UTC_US),            # session start + offset (NaT when neither is known)
    pa.field("end", UTC_US),              # NaT for the ISO CSV generations (they carry no end time)
    pa.field("start_offset_s", pa.float64()),  # seconds since the session start
    pa.field("end_offset_s", pa.float64()),
    pa.field("participant_id", TEXT),     # "Participant ID" / peerData.id: the participants' `id`
    pa.field("user_id", TEXT),
    pa.field("custom_participant_id", TEXT),
    pa.field("display_name", TEXT),
    pa.field("text", TEXT),
    pa.field("joined_at", UTC_US),        # peerData.joinedAt (current JSON only)
    pa.field("left_at", UTC_US),          # peerData.leftAt ("" -> NaT: still in the session)
    pa.field("session_id", TEXT),
    pa.field("source_format", TEXT),      # CSV | JSON | SRT | VTT
    pa.field("generation", TEXT),         # current | seconds | iso | iso_4col (what the content showed)
])

SCHEMAS: dict[str, pa.Schema] = {"chat": CHAT_SCHEMA, "transcript": TRANSCRIPT_SCHEMA}
