"""Chat and transcript parsing: files written by the sandbox's renderers read back to the same records.

The renderers (rtk_frames.sandbox.media) and the parsers (rtk_frames.frames.media) share no code, so
a round trip through both checks each against the documented wire formats.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtk_frames
from rtk_frames.frames.media import chat_frame, transcript_frame
from rtk_frames.sandbox.media import render_chat_csv, render_summary, render_transcript
from rtk_frames.schemas import SCHEMAS

SESSION_START = "2024-03-05T09:30:00.000Z"
SESSION_START_TS = pd.Timestamp(SESSION_START)
HOSTILE_TEXT = "He said \"stop\", then\r\nleft; =cmd|' /C calc'!A0 <script>alert(1)</script> 🎉 שלום עולם"
GENERATIONS = ("current", "seconds", "iso", "iso_4col")
FORMATS = ("CSV", "JSON", "SRT", "VTT")

UTTERANCES = [
    {
        "start_ms": 1000,
        "end_ms": 3500,
        "peer_id": "peer-a",
        "user_id": "user-a",
        "custom_participant_id": "cpi-a",
        "name": "Alice",
        "text": "Hello everyone",
        "joined_at": "2024-03-05T09:29:58.000Z",
        "left_at": "",
    },
    {
        "start_ms": 4250,
        "end_ms": 9000,
        "peer_id": "peer-b",
        "user_id": "user-b",
        "custom_participant_id": "cpi-b",
        "name": 'Bob, "the" builder 🚧',
        "text": HOSTILE_TEXT,
        "joined_at": "2024-03-05T09:30:01.000Z",
        "left_at": "2024-03-05T10:00:00.000Z",
    },
    {
        "start_ms": 3_600_000 + 61_001,
        "end_ms": 3_600_000 + 65_000,
        "peer_id": "peer-c",
        "user_id": "user-c",
        "custom_participant_id": "",
        "name": "مريم",
        "text": "a: b, c",
        "joined_at": "2024-03-05T09:31:00.000Z",
        "left_at": "",
    },
]

# which fields each (generation, format) file carries
# the frame's id columns -> the sandbox utterance's keys (the wire's "Participant ID" is participant_id)
CARRIED_IDS = {"participant_id": "peer_id", "user_id": "user_id",
               "custom_participant_id": "custom_participant_id"}


def carried_fields(generation: str, fmt: str) -> set[str]:
    if fmt in ("SRT", "VTT"):
        return {"start", "end", "name", "text"}
    if fmt == "JSON":
        joined = {"joined_at", "left_at"} if generation == "current" else set()
        return {"start", "end", "name", "text", *CARRIED_IDS, *joined}
    if generation == "iso_4col":
        return {"start", "name", "text", "participant_id"}
    return {"start", "name", "text", *CARRIED_IDS}


def _blank_to_none(value):
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _cue_text(text: str) -> str:
    """What a cue can carry: blank lines end a cue, so multi-line text keeps its non-empty lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line for line in lines if line.strip())


def expected_rows(utterances, fields: set[str], *, cues: bool = False) -> list[dict]:
    rows = []
    for u in utterances:
        row = {
            "display_name": _blank_to_none(u["name"]),
            "text": _cue_text(u["text"]) if cues else u["text"],
            "start_offset_s": u["start_ms"] / 1000,
        }
        if "end" in fields:
            row["end_offset_s"] = u["end_ms"] / 1000
        for key in CARRIED_IDS.keys() & fields:
            row[key] = _blank_to_none(u[CARRIED_IDS[key]])
        for key in {"joined_at", "left_at"} & fields:
            row[key] = pd.Timestamp(u[key]) if u[key] else None
        rows.append(row)
    return rows


def parsed_rows(frame: pd.DataFrame, fields: set[str]) -> list[dict]:
    columns = ["display_name", "text", "start_offset_s"]
    columns += ["end_offset_s"] if "end" in fields else []
    columns += sorted(CARRIED_IDS.keys() & fields) + sorted({"joined_at", "left_at"} & fields)
    rows = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    for row in rows:  # float offsets from ms: compare at the millisecond
        for key in ("start_offset_s", "end_offset_s"):
            if key in row and row[key] is not None:
                row[key] = round(row[key], 3)
    return rows


@pytest.mark.parametrize("generation", GENERATIONS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_generation_and_format_parses_to_the_same_people_texts_and_times(generation, fmt):
    raw = render_transcript(UTTERANCES, fmt, generation=generation, session_started_at=SESSION_START)
    frame = transcript_frame(raw, session_started_at=SESSION_START, session_id="sess-1")
    fields = carried_fields(generation, fmt)
    assert parsed_rows(frame, fields) == expected_rows(UTTERANCES, fields, cues=fmt in ("SRT", "VTT"))
    # absolute times agree with the offsets, whatever the file carried
    expected_starts = [SESSION_START_TS + pd.Timedelta(milliseconds=u["start_ms"]) for u in UTTERANCES]
    assert frame["start"].tolist() == expected_starts
    assert frame["session_id"].tolist() == ["sess-1"] * len(UTTERANCES)
    assert set(frame["source_format"]) == {fmt}


@pytest.mark.parametrize(
    ("generation", "fmt", "detected"),
    [
        ("current", "CSV", "current"),
        ("current", "JSON", "current"),
        ("seconds", "JSON", "seconds"),
        ("iso", "CSV", "iso"),
        ("iso_4col", "CSV", "iso_4col"),
        ("current", "SRT", "current"),
    ],
)
def test_the_generation_is_detected_from_the_content(generation, fmt, detected):
    raw = render_transcript(UTTERANCES, fmt, generation=generation, session_started_at=SESSION_START)
    frame = transcript_frame(raw)
    assert set(frame["generation"]) == {detected}


def test_transcript_frame_has_the_declared_schema_columns_and_dtypes():
    frame = transcript_frame(render_transcript(UTTERANCES, "JSON"), session_started_at=SESSION_START)
    schema = SCHEMAS["transcript"]
    assert list(frame.columns[: len(schema)]) == schema.names
    assert str(frame["start"].dtype) == "datetime64[us, UTC]"
    assert str(frame["joined_at"].dtype) == "datetime64[us, UTC]"
    assert frame["start_offset_s"].dtype == "float64"
    assert frame["participant_id"].dtype == "str"


def test_without_the_session_start_offsets_stay_and_times_are_nat():
    frame = transcript_frame(render_transcript(UTTERANCES, "CSV"))
    assert frame["start"].isna().all()
    assert frame["start_offset_s"].tolist() == [u["start_ms"] / 1000 for u in UTTERANCES]


def test_iso_csv_without_the_session_start_keeps_times_but_no_offsets():
    raw = render_transcript(UTTERANCES, "CSV", generation="iso", session_started_at=SESSION_START)
    frame = transcript_frame(raw)
    assert frame["start_offset_s"].isna().all()
    assert frame["start"].iloc[0] == SESSION_START_TS + pd.Timedelta(seconds=1)
    assert frame["end"].isna().all()  # the ISO CSV carries no end time


def test_current_json_left_at_empty_string_is_nat_not_an_error():
    raw = render_transcript(UTTERANCES, "JSON", generation="current")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = transcript_frame(raw)
    assert frame["left_at"].isna().tolist() == [True, False, True]


def test_a_zero_byte_transcript_is_an_empty_typed_frame_with_a_warning():
    assert render_transcript([], "CSV") == b""
    with pytest.warns(UserWarning, match="0 bytes"):
        frame = transcript_frame(b"", format="CSV", session_id="s")
    assert len(frame) == 0
    assert list(frame.columns) == SCHEMAS["transcript"].names
    assert str(frame["start"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_zero_byte_file_of_any_format_parses_with_a_warning(fmt):
    with pytest.warns(UserWarning, match="empty"):
        frame = transcript_frame(render_transcript([], fmt), format=fmt)
    assert frame.empty and frame.columns.tolist() == SCHEMAS["transcript"].names


def test_bom_and_crlf_transcript_csv():
    raw = b"\xef\xbb\xbf" + render_transcript(
        UTTERANCES, "CSV", generation="iso", session_started_at=SESSION_START
    )
    assert b"\r\n" in raw
    frame = transcript_frame(raw, session_started_at=SESSION_START)
    assert frame["display_name"].tolist() == [u["name"] for u in UTTERANCES]
    assert frame["text"].iloc[1] == HOSTILE_TEXT


def test_header_csv_with_spaces_after_commas_in_the_body_too():
    raw = (
        b"Timestamp, Participant ID, Participant Name, Transcript\n"
        b'2024-03-05T09:30:02.000Z, peer-a, Alice, "Hi, there"\n'
    )
    frame = transcript_frame(raw, session_started_at=SESSION_START)
    row = frame.loc[0, ["participant_id", "display_name", "text"]]
    assert row.tolist() == ["peer-a", "Alice", "Hi, there"]
    assert frame.loc[0, "start_offset_s"] == 2.0
    assert frame.loc[0, "generation"] == "iso_4col"


def test_vtt_voice_tags_and_cue_settings_are_read():
    raw = (
        b"WEBVTT\n\nNOTE made by hand\n\nintro\n00:01.500 --> 00:02.000 align:start\n"
        b"<v Dr. Who>Hello &amp; welcome</v>\n"
    )
    frame = transcript_frame(raw)
    assert frame.loc[0, ["display_name", "text"]].tolist() == ["Dr. Who", "Hello & welcome"]
    assert frame.loc[0, ["start_offset_s", "end_offset_s"]].tolist() == [1.5, 2.0]


def test_srt_cue_speaker_splits_on_the_first_colon_space_only():
    raw = b"1\r\n00:00:01,000 --> 00:00:02,000\r\nDr:Who: Note: this is fine\r\n\r\n"
    frame = transcript_frame(raw)
    assert frame.loc[0, ["display_name", "text"]].tolist() == ["Dr:Who", "Note: this is fine"]


def test_bad_values_are_na_counted_in_one_warning_and_rows_are_kept():
    raw = json.dumps(
        [
            {
                "startTime": "soon",
                "endTime": 2000,
                "sentence": "a",
                "peerData": {"id": "p", "joinedAt": "never"},
            },
            {"startTime": 1000, "endTime": True, "sentence": "b", "peerData": {"id": "q", "leftAt": ""}},
        ]
    ).encode()
    with pytest.warns(rtk_frames.CoercionWarning) as caught:
        frame = transcript_frame(raw)
    assert len([w for w in caught if issubclass(w.category, rtk_frames.CoercionWarning)]) == 1
    message = str(caught[0].message)
    assert "start_offset_s ×1" in message and "end_offset_s ×1" in message and "joined_at ×1" in message
    assert frame["text"].tolist() == ["a", "b"]
    assert math.isnan(frame.loc[0, "start_offset_s"]) and frame.loc[1, "start_offset_s"] == 1.0


def test_hostile_transcript_text_is_plain_data_in_every_format():
    for fmt in FORMATS:
        raw = render_transcript(UTTERANCES, fmt, generation="current")
        text = transcript_frame(raw)["text"].iloc[1]
        assert "<script>alert(1)</script>" in text and "=cmd|" in text and "שלום" in text and "🎉" in text


def test_summary_renders_as_utf8_text():
    assert render_summary("Résumé: <b>ok</b> 🎉").decode("utf-8") == "Résumé: <b>ok</b> 🎉"


# ------------------------------------------------------------------------------------------ chat

CHAT_ROWS = [
    {
        "id": "m1",
        "participantId": "peer-a",
        "sessionId": "sess-1",
        "meetingId": "meet-1",
        "displayName": "Alice",
        "pinned": False,
        "isEdited": True,
        "payloadType": "TEXT_MESSAGE",
        "payload": HOSTILE_TEXT,
        "createdAt": "2024-03-05T09:31:00.250Z",
    },
    {
        "id": "m2",
        "participantId": "user-b",
        "sessionId": "sess-1",
        "meetingId": "meet-1",
        "displayName": "Bob",
        "pinned": True,
        "isEdited": False,
        "payloadType": "IMAGE_MESSAGE",
        "payload": "https://cdn.example/i/cat%201.png",
        "createdAt": "2024-03-05T09:32:00Z",
    },
    {
        "id": "m3",
        "participantId": "peer-c",
        "sessionId": "sess-1",
        "meetingId": "meet-1",
        "displayName": "مريم",
        "pinned": False,
        "isEdited": False,
        "payloadType": "FILE_MESSAGE",
        "payload": json.dumps(
            {"name": "report, final.pdf", "size": 123456, "link": "https://cdn.example/f/r.pdf"}
        ),
        "createdAt": "2024-03-05T09:33:00Z",
    },
]


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("line_terminator", ["\r\n", "\n", "\r"])
def test_chat_round_trip_with_bom_and_any_line_ending(bom, line_terminator):
    raw = render_chat_csv(CHAT_ROWS, bom=bom, line_terminator=line_terminator)
    frame = chat_frame(raw)
    assert frame["message_id"].tolist() == ["m1", "m2", "m3"]
    assert frame["text"].iloc[0] == HOSTILE_TEXT
    assert frame["payload"].tolist() == [r["payload"] for r in CHAT_ROWS]
    assert frame["pinned"].tolist() == [False, True, False]
    assert frame["is_edited"].tolist() == [True, False, False]
    assert frame["created_at"].iloc[0] == pd.Timestamp("2024-03-05T09:31:00.250Z")


def test_chat_file_payloads_give_name_url_and_size():
    frame = chat_frame(render_chat_csv(CHAT_ROWS))
    image, file = frame.iloc[1], frame.iloc[2]
    assert (image["file_url"], image["file_name"]) == ("https://cdn.example/i/cat%201.png", "cat 1.png")
    assert pd.isna(image["file_size"]) and pd.isna(image["text"])
    assert (file["file_name"], file["file_url"], file["file_size"]) == (
        "report, final.pdf",
        "https://cdn.example/f/r.pdf",
        123456,
    )
    assert str(frame["file_size"].dtype) == "Int64"


def test_chat_accepts_a_path_a_file_object_and_text(tmp_path):
    raw = render_chat_csv(CHAT_ROWS, bom=True)
    path = tmp_path / "chat.csv"
    path.write_bytes(raw)
    expected = chat_frame(raw)
    for source in (path, str(path), io.BytesIO(raw), raw.decode("utf-8-sig")):
        pd.testing.assert_frame_equal(chat_frame(source), expected)


def test_chat_session_id_argument_fills_only_missing_values():
    rows = [dict(CHAT_ROWS[0], sessionId=""), CHAT_ROWS[1]]
    frame = chat_frame(render_chat_csv(rows), session_id="from-arg")
    assert frame["session_id"].tolist() == ["from-arg", "sess-1"]


def test_chat_text_that_looks_like_na_or_numbers_stays_text():
    rows = [
        dict(CHAT_ROWS[0], id=f"m{i}", payload=p) for i, p in enumerate(["NA", "null", "0012", "", "1e5"])
    ]
    frame = chat_frame(render_chat_csv(rows))
    assert frame["text"].tolist() == ["NA", "null", "0012", "", "1e5"]


def test_chat_short_payload_type_names_are_understood():
    rows = [dict(CHAT_ROWS[0], payloadType="text", payload="hi"), dict(CHAT_ROWS[1], payloadType="image")]
    frame = chat_frame(render_chat_csv(rows))
    assert frame["text"].iloc[0] == "hi" and frame["file_name"].iloc[1] == "cat 1.png"
    assert frame["payload_type"].tolist() == ["text", "image"]


def test_chat_ragged_rows_are_kept_and_bad_values_counted_once():
    raw = (
        b"id,participantId,pinned,payloadType,payload,createdAt\n"
        b"m1,p1,maybe,FILE_MESSAGE,{not json,yesterday\n"
        b"m2,p2,true,TEXT_MESSAGE,hi,2024-01-01T00:00:00Z,surplus\n"
    )
    with pytest.warns(rtk_frames.CoercionWarning) as caught:
        frame = chat_frame(raw)
    assert len(caught) == 1
    assert "pinned ×1" in str(caught[0].message) and "created_at ×1" in str(caught[0].message)
    assert frame["message_id"].tolist() == ["m1", "m2"]
    assert frame["extra_7"].tolist()[1] == "surplus"


def test_chat_zero_bytes_and_header_only():
    with pytest.warns(UserWarning, match="0 bytes"):
        empty = chat_frame(b"")
    header_only = chat_frame(render_chat_csv([]))
    for frame in (empty, header_only):
        assert frame.empty and list(frame.columns) == SCHEMAS["chat"].names
        assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"


# ------------------------------------------------------------------------ properties (hypothesis)

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
ID = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp")), min_size=1, max_size=12)
WHEN = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@st.composite
def chat_rows(draw):
    n = draw(st.integers(0, 8))
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"m{i}-" + draw(ID),
                "participantId": draw(ID),
                "sessionId": draw(ID),
                "meetingId": draw(ID),
                "displayName": draw(ANY_TEXT),
                "pinned": draw(st.booleans()),
                "isEdited": draw(st.booleans()),
                "payloadType": "TEXT_MESSAGE",
                "payload": draw(ANY_TEXT),
                "createdAt": _iso_ms(draw(WHEN)),
            }
        )
    return rows


@PROPERTY_SETTINGS
@given(rows=chat_rows(), bom=st.booleans(), ending=st.sampled_from(["\r\n", "\n"]))
def test_property_chat_parse_of_render_is_the_records(rows, bom, ending):
    frame = chat_frame(render_chat_csv(rows, bom=bom, line_terminator=ending))
    assert len(frame) == len(rows)
    got = frame[["message_id", "sender_id", "display_name", "text", "pinned", "is_edited", "created_at"]]
    got = got.astype(object).where(got.notna(), None).to_dict("records")
    want = [
        {
            "message_id": r["id"],
            "sender_id": r["participantId"],
            "display_name": _blank_to_none(r["displayName"]),
            "text": r["payload"],
            "pinned": r["pinned"],
            "is_edited": r["isEdited"],
            "created_at": pd.Timestamp(r["createdAt"]),
        }
        for r in rows
    ]
    assert got == want


@st.composite
def utterance_lists(draw, *, cue_safe: bool = False):
    n = draw(st.integers(0, 6))
    name = (
        ANY_TEXT.filter(lambda s: ": " not in s and "\n" not in s and "\r" not in s) if cue_safe else ANY_TEXT
    )
    out = []
    for _ in range(n):
        start = draw(st.integers(0, 10**8))
        out.append(
            {
                "start_ms": start,
                "end_ms": start + draw(st.integers(0, 10**6)),
                "peer_id": draw(ID),
                "user_id": draw(ID),
                "custom_participant_id": draw(ID),
                "name": draw(name),
                "text": draw(ANY_TEXT),
                "joined_at": _iso_ms(draw(WHEN)),
                "left_at": draw(st.one_of(st.just(""), WHEN.map(_iso_ms))),
            }
        )
    return out


@PROPERTY_SETTINGS
@given(
    utterances=utterance_lists(),
    generation=st.sampled_from(GENERATIONS),
    fmt=st.sampled_from(["CSV", "JSON"]),
)
def test_property_transcript_parse_of_render_is_the_records(utterances, generation, fmt):
    raw = render_transcript(utterances, fmt, generation=generation, session_started_at=SESSION_START)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the 0-byte file of an empty list warns by design
        frame = transcript_frame(raw, session_started_at=SESSION_START)
    fields = carried_fields(generation, fmt)
    assert parsed_rows(frame, fields) == expected_rows(utterances, fields)


@PROPERTY_SETTINGS
@given(utterances=utterance_lists(cue_safe=True), fmt=st.sampled_from(["SRT", "VTT"]))
def test_property_cue_files_round_trip_names_texts_and_times(utterances, fmt):
    # cue text cannot start a line with a timing arrow or hold blank lines; names cannot hold ": "
    utterances = [u for u in utterances if "-->" not in u["text"]]
    raw = render_transcript(utterances, fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        frame = transcript_frame(raw)
    fields = carried_fields("current", fmt)
    want = expected_rows(utterances, fields, cues=True)
    got = parsed_rows(frame, fields)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g["start_offset_s"], g["end_offset_s"]) == (w["start_offset_s"], w["end_offset_s"])
        assert (g["display_name"] or "").strip() == (w["display_name"] or "").strip()
        assert g["text"] == w["text"]


def test_render_transcript_times_are_exact_at_the_millisecond_far_into_a_session():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    u = dict(UTTERANCES[0], start_ms=86_399_999, end_ms=86_400_001)
    frame = transcript_frame(
        render_transcript([u], "CSV", generation="iso", session_started_at=_iso_ms(start)),
        session_started_at=start,
    )
    assert frame.loc[0, "start"] == pd.Timestamp(start + timedelta(milliseconds=86_399_999))
    assert frame.loc[0, "start_offset_s"] == pytest.approx(86_399.999, abs=1e-6)


# ------------------------------------------------------------------ over HTTP, through the sandbox

HTTP_GENERATIONS = {"current": 0, "seconds": 1, "iso": 2, "iso_4col": 3}


@pytest.fixture(scope="module")
def transcript_api():
    """A sandbox whose first four sessions serve UTTERANCES in each generation, the fifth an empty one."""
    from rtk_frames.sandbox import Dataset, serve

    dataset = Dataset.synthetic(sessions=5, participants=3, samples=3, seed=21)
    ids = [s["id"] for s in dataset.sessions]
    for generation, index in HTTP_GENERATIONS.items():
        dataset.transcripts[ids[index]] = [dict(u) for u in UTTERANCES]
        dataset.transcript_generation[ids[index]] = generation
        dataset.chats[ids[index]] = [dict(r, sessionId=ids[index]) for r in CHAT_ROWS]
    dataset.transcripts[ids[4]] = []
    with serve(dataset) as api:
        yield api, dataset


def _download(api, session_id: str, kind: str, fmt: str | None = None) -> bytes:
    import requests

    path = f"{api.base_url}/accounts/{api.account_id}/realtime/kit/{api.app_id}/sessions/{session_id}/{kind}"
    answer = requests.get(
        path,
        params={"format": fmt} if fmt else None,
        headers={"Authorization": f"Bearer {api.api_token}"},
        timeout=10,
    )
    answer.raise_for_status()
    url = answer.json()["data"][f"{kind}_download_url"]
    file = requests.get(url, timeout=10)  # presigned: no Authorization header
    file.raise_for_status()
    return file.content


@pytest.mark.parametrize("generation", list(HTTP_GENERATIONS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_transcripts_downloaded_over_http_parse_to_the_records(transcript_api, generation, fmt):
    api, dataset = transcript_api
    session = dataset.sessions[HTTP_GENERATIONS[generation]]
    raw = _download(api, session["id"], "transcript", fmt)
    frame = transcript_frame(raw, session_started_at=session["started_at"], session_id=session["id"])
    fields = carried_fields(generation, fmt)
    assert parsed_rows(frame, fields) == expected_rows(UTTERANCES, fields, cues=fmt in ("SRT", "VTT"))
    started = pd.Timestamp(session["started_at"])
    assert frame["start"].tolist() == [started + pd.Timedelta(milliseconds=u["start_ms"]) for u in UTTERANCES]


def test_an_empty_transcript_downloads_as_zero_bytes_and_parses_with_a_warning(transcript_api):
    api, dataset = transcript_api
    raw = _download(api, dataset.sessions[4]["id"], "transcript", "CSV")
    assert raw == b""
    with pytest.warns(UserWarning, match="0 bytes"):
        frame = transcript_frame(raw)
    assert frame.empty and list(frame.columns) == SCHEMAS["transcript"].names


def test_an_empty_file_warns_at_the_users_line_also_through_fetch(transcript_api):
    api, dataset = transcript_api
    with pytest.warns(UserWarning, match="0 bytes") as direct:
        transcript_frame(b"")
    with pytest.warns(UserWarning, match="0 bytes") as fetched:
        rtk_frames.fetch_transcript(api.client(), dataset.sessions[4]["id"], session_started_at=SESSION_START)
    assert [w.filename for w in direct] == [w.filename for w in fetched] == [__file__]


def test_chat_downloaded_over_http_keeps_hostile_content(transcript_api):
    api, dataset = transcript_api
    session_id = dataset.sessions[0]["id"]
    frame = chat_frame(_download(api, session_id, "chat"))
    assert frame["payload"].tolist() == [r["payload"] for r in CHAT_ROWS]
    assert frame["session_id"].tolist() == [session_id] * len(CHAT_ROWS)
    assert frame["file_size"].iloc[2] == 123456


def test_fetch_transcript_through_the_client_places_utterances_in_utc(transcript_api):
    api, dataset = transcript_api
    session = dataset.sessions[HTTP_GENERATIONS["iso_4col"]]
    frame = rtk_frames.fetch_transcript(api.client(), session["id"], format="CSV")
    assert frame["text"].tolist() == [u["text"] for u in UTTERANCES]
    assert frame["start_offset_s"].tolist() == pytest.approx([u["start_ms"] / 1000 for u in UTTERANCES])
    assert set(frame["generation"]) == {"iso_4col"}


def test_a_json_transcript_that_is_not_json_or_not_a_list_is_a_payload_error():
    with pytest.raises(rtk_frames.PayloadError, match="not valid JSON"):
        transcript_frame(b'[{"startTime": 0, "sentence": "cut off')
    with pytest.raises(rtk_frames.PayloadError, match="list of utterances"):
        transcript_frame(b"42", format="JSON")


def test_headerless_csv_with_epoch_millisecond_starts_gives_absolute_times():
    epoch_ms = int(SESSION_START_TS.timestamp() * 1000) + 2500
    frame = transcript_frame(
        f'"{epoch_ms}","p","u","c","Ann","hi"\r\n'.encode(), session_started_at=SESSION_START
    )
    assert frame.loc[0, "start"] == SESSION_START_TS + pd.Timedelta(milliseconds=2500)
    assert frame.loc[0, "start_offset_s"] == 2.5


def test_an_explicit_format_wins_over_sniffing():
    # a one-cue SRT whose text looks like JSON is still SRT when the caller says so
    raw = b"1\n00:00:00,000 --> 00:00:01,000\nAnn: [1, 2]\n"
    assert transcript_frame(raw, format="srt").loc[0, "text"] == "[1, 2]"
    with pytest.raises(ValueError, match="format must be one of"):
        transcript_frame(raw, format="DOCX")


def test_whitespace_only_files_warn_like_empty_ones():
    with pytest.warns(UserWarning, match="only whitespace"):
        assert transcript_frame(b"\r\n  \r\n").empty
    with pytest.warns(UserWarning, match="only whitespace"):
        assert chat_frame("\ufeff\n").empty


def test_chat_without_a_payload_type_column_reads_payloads_as_text():
    frame = chat_frame(b"id,payload\nm1,hello\n")
    assert frame.loc[0, "text"] == "hello"


def test_an_offset_too_large_to_be_a_time_is_nat_and_counted_not_a_crash():
    utterance = {"startTime": 1000, "endTime": 1e300, "sentence": "a", "peerData": {"id": "p"}}
    raw = json.dumps([utterance]).encode()
    with pytest.warns(rtk_frames.CoercionWarning, match=r"end ×1 \(offset out of range\)"):
        frame = transcript_frame(raw, session_started_at=SESSION_START)
    assert frame.loc[0, "start"] == SESSION_START_TS + pd.Timedelta(seconds=1000)
    assert pd.isna(frame.loc[0, "end"]) and frame.loc[0, "end_offset_s"] == 1e300
