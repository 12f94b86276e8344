"""Joins of chat/transcripts to participants, talk time and chat activity, on values a person can check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtk_frames
from rtk_frames.conversation import (
    EstimatedTalkTimeWarning,
    chat_activity,
    join_chat,
    join_transcript,
    talk_time,
)


def participants(rows: list[dict]) -> pd.DataFrame:
    """A participants frame the way participants_frame types it (ids str, times UTC)."""
    frame = pd.DataFrame(rows)
    for column in ("participant_id", "user_id", "custom_participant_id", "display_name"):
        frame[column] = frame[column].astype("str") if column in frame else pd.Series(dtype="str")
    frame["joined_at"] = pd.to_datetime(frame["joined_at"], utc=True).astype("datetime64[us, UTC]")
    frame["session_id"] = "s1"
    return frame


PEOPLE = participants(
    [
        # Ann left and rejoined: one user id, two peer ids
        {
            "participant_id": "p1",
            "user_id": "u1",
            "custom_participant_id": "c1",
            "display_name": "Ann",
            "joined_at": "2024-01-01T10:00:00Z",
        },
        {
            "participant_id": "p3",
            "user_id": "u1",
            "custom_participant_id": "c1",
            "display_name": "Ann (phone)",
            "joined_at": "2024-01-01T10:20:00Z",
        },
        {
            "participant_id": "p2",
            "user_id": "u2",
            "custom_participant_id": "c2",
            "display_name": "Bo",
            "joined_at": "2024-01-01T10:01:00Z",
        },
        # the same participant listed twice (a repeated page): must not duplicate anything
        {
            "participant_id": "p2",
            "user_id": "u2",
            "custom_participant_id": "c2",
            "display_name": "Bo (dup)",
            "joined_at": "2024-01-01T10:05:00Z",
        },
    ]
)


def test_join_transcript_matches_peer_then_user_then_custom_id_and_marks_the_rest():
    transcript = pd.DataFrame(
        {
            "participant_id": ["p1", None, None, "ghost", None],
            "user_id": [None, "u2", None, None, None],
            "custom_participant_id": [None, None, "c1", None, None],
            "text": ["a", "b", "c", "d", "e"],
        },
        index=[10, 11, 12, 13, 14],
    )
    joined = join_transcript(transcript, PEOPLE)
    assert joined.index.tolist() == [10, 11, 12, 13, 14]
    assert joined["text"].tolist() == ["a", "b", "c", "d", "e"]
    assert joined["matched_by"].tolist()[:3] == ["participant_id", "user_id", "custom_participant_id"]
    assert joined["matched_by"].isna().tolist() == [False, False, False, True, True]
    assert joined["matched"].tolist() == [True, True, True, False, False]
    # duplicates resolve to the earliest joiner: p2's first row, Ann's first peer
    assert joined["participant_display_name"].tolist()[:3] == ["Ann", "Bo", "Ann"]
    assert joined["participant_id"].tolist()[:3] == ["p1", "p2", "p1"]
    assert str(joined["matched"].dtype) == "boolean"


def test_join_transcript_fills_missing_ids_of_the_four_column_generation():
    transcript = pd.DataFrame({"participant_id": ["p3"], "user_id": pd.Series([None], dtype="str"),
                               "text": ["x"]})
    joined = join_transcript(transcript, PEOPLE)
    assert joined.loc[0, "participant_user_id"] == "u1"
    assert str(joined["participant_joined_at"].dtype) == "datetime64[us, UTC]"


def test_join_transcript_by_names_only_when_asked():
    transcript = pd.DataFrame({"display_name": ["Bo", "Nobody"], "text": ["x", "y"]})
    assert join_transcript(transcript, PEOPLE)["matched"].tolist() == [False, False]
    joined = join_transcript(transcript, PEOPLE, match_names=True)
    assert joined["matched_by"].tolist()[0] == "display_name"
    assert joined["matched"].tolist() == [True, False]


def test_join_chat_tries_peer_id_then_user_id_and_keeps_every_message_once():
    chat = pd.DataFrame({"message_id": ["m1", "m2", "m3", "m4"], "sender_id": ["p2", "u1", "nobody", None]})
    joined = join_chat(chat, PEOPLE)
    assert joined["message_id"].tolist() == ["m1", "m2", "m3", "m4"]
    assert joined["matched_by"].tolist()[:2] == ["participant_id", "user_id"]
    assert joined["matched"].tolist() == [True, True, False, False]
    assert joined["participant_id"].tolist()[:2] == ["p2", "p1"]


def test_a_user_id_match_goes_to_the_connection_present_at_the_message_time():
    times = ["2024-01-01T10:25:00Z", "2024-01-01T10:10:00Z", "2024-01-01T09:00:00Z", None]
    chat = pd.DataFrame(
        {
            "message_id": ["late", "early", "before-any-join", "no-time"],
            "sender_id": ["u1"] * 4,
            "created_at": pd.to_datetime(pd.Series(times), utc=True).astype("datetime64[us, UTC]"),
        }
    )
    joined = join_chat(chat, PEOPLE)
    # Ann rejoined from her phone (p3) at 10:20; before that, and when unknown, her first peer p1
    assert joined["participant_id"].tolist() == ["p3", "p1", "p1", "p1"]
    assert joined["matched_by"].tolist() == ["user_id"] * 4


def test_a_transcript_user_id_match_uses_the_utterance_start():
    transcript = pd.DataFrame(
        {
            "participant_id": pd.Series([None, None], dtype="str"),
            "user_id": ["u1", "u1"],
            "start": pd.to_datetime(pd.Series(["2024-01-01T10:21:00Z", "2024-01-01T10:01:00Z"]), utc=True),
        }
    )
    assert join_transcript(transcript, PEOPLE)["participant_id"].tolist() == ["p3", "p1"]


def test_joins_leave_their_inputs_untouched():
    chat = pd.DataFrame({"message_id": ["m1"], "sender_id": ["p1"]})
    before_chat, before_people = chat.copy(), PEOPLE.copy()
    join_chat(chat, PEOPLE)
    pd.testing.assert_frame_equal(chat, before_chat)
    pd.testing.assert_frame_equal(PEOPLE, before_people)


def test_join_with_no_participants_marks_everything_unmatched():
    chat = pd.DataFrame({"message_id": ["m1", "m2"], "sender_id": ["p1", "p2"]})
    joined = join_chat(chat, PEOPLE.iloc[0:0])
    assert len(joined) == 2 and not joined["matched"].any()


KEYS = st.sampled_from(["p1", "p2", "p3", "u1", "u2", "x", ""]) | st.none()


@settings(max_examples=60, deadline=None)
@given(
    senders=st.lists(KEYS, max_size=30),
    people=st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(["u1", "u2", "u1"]), st.integers(0, 5)
        ),
        max_size=8,
    ),
)
def test_property_every_message_appears_exactly_once_in_the_join(senders, people):
    chat = pd.DataFrame(
        {"message_id": [f"m{i}" for i in range(len(senders))], "sender_id": pd.Series(senders, dtype="str")}
    )
    frame = (
        participants(
            [
                {
                    "participant_id": p,
                    "user_id": u,
                    "custom_participant_id": None,
                    "display_name": p,
                    "joined_at": f"2024-01-01T10:0{minute}:00Z",
                }
                for p, u, minute in people
            ]
        )
        if people
        else PEOPLE.iloc[0:0]
    )
    joined = join_chat(chat, frame)
    assert joined["message_id"].tolist() == chat["message_id"].tolist()
    known_peers = set(frame["participant_id"].dropna())
    known_users = set(frame["user_id"].dropna())
    expected = [s is not None and (s in known_peers or s in known_users) for s in senders]
    assert joined["matched"].tolist() == expected
    assert joined["matched_by"].isna().tolist() == [not e for e in expected]


# -------------------------------------------------------------------------------------- talk time

# Ann (u1) speaks 0-10 and 10-15 as p1, Bo 15-20, Ann again 30-40 from her phone (p3), Bo 40-42.
TALK = pd.DataFrame(
    {
        "participant_id": ["p1", "p1", "p2", "p3", "p2"],
        "user_id": ["u1", "u1", "u2", "u1", "u2"],
        "display_name": ["Ann", "Ann", "Bo", "Ann", "Bo"],
        "start_offset_s": [0.0, 10.0, 15.0, 30.0, 40.0],
        "end_offset_s": [10.0, 15.0, 20.0, 40.0, 42.0],
    }
)


def test_talk_time_per_peer_counts_seconds_share_and_turns():
    table = talk_time(TALK.sample(frac=1.0, random_state=3))  # file order does not matter
    assert table["participant_id"].tolist() == ["p1", "p3", "p2"]
    assert table["speaking_s"].tolist() == [15.0, 10.0, 7.0]
    assert table["share"].tolist() == [15 / 32, 10 / 32, 7 / 32]
    assert table["utterances"].tolist() == [2, 1, 2]
    assert table["turns"].tolist() == [1, 1, 2]  # p1's two utterances follow each other: one turn


def test_talk_time_per_person_merges_rejoins_by_user_id():
    table = talk_time(TALK, by="person")
    assert table["person"].tolist() == ["u1", "u2"]
    assert table["speaking_s"].tolist() == [25.0, 7.0]
    assert table["peers"].tolist() == [2, 1]
    assert table["turns"].tolist() == [2, 2]
    assert table["display_name"].tolist() == ["Ann", "Bo"]
    assert table["share"].sum() == pytest.approx(1.0)


def test_talk_time_estimates_a_missing_end_from_the_next_start_and_counts_it():
    # ends known: p1 0-10, p2 15-20; unknown: p1 at 10 (next starts 15 -> 5 s), p3 at 30 (next 40 -> 10 s),
    # p2 at 40 (last utterance: nothing to estimate from -> adds nothing)
    no_end = TALK.assign(end_offset_s=[10.0, np.nan, 20.0, np.nan, np.nan])
    with pytest.warns(EstimatedTalkTimeWarning, match=r"3 of 5 utterance\(s\) have no end time") as caught:
        table = talk_time(no_end).set_index("participant_id")
    assert len(caught) == 1  # one warning per call, however many were estimated
    assert "150 words per minute" in str(caught[0].message)
    assert table.loc["p1", "speaking_s"] == 15.0 and table.loc["p1", "utterances_without_end"] == 1
    assert table.loc["p3", "speaking_s"] == 10.0 and table.loc["p3", "utterances_without_end"] == 1
    assert table.loc["p2", "speaking_s"] == 5.0 and table.loc["p2", "utterances_without_end"] == 1


def test_talk_time_caps_an_estimated_length_and_leaves_unknowable_speakers_nan():
    from rtk_frames.conversation import MAX_ESTIMATED_UTTERANCE_S

    t = pd.DataFrame({"participant_id": ["a", "b"], "start_offset_s": [0.0, 500.0],
                      "end_offset_s": [np.nan, np.nan], "text": [None, None]})
    with pytest.warns(EstimatedTalkTimeWarning):
        table = talk_time(t).set_index("participant_id")
    assert table.loc["a", "speaking_s"] == MAX_ESTIMATED_UTTERANCE_S
    assert np.isnan(table.loc["b", "speaking_s"])


def test_talk_time_of_a_cue_file_falls_back_to_names():
    srt = (
        b"1\n00:00:00,000 --> 00:00:04,000\nAnn: hi\n\n2\n00:00:04,000 --> 00:00:05,000\nBo: yo\n\n"
        b"3\n00:00:05,000 --> 00:00:07,000\nBo: again\n"
    )
    table = talk_time(rtk_frames.transcript_frame(srt), by="person")
    assert table[["person", "speaking_s", "turns"]].values.tolist() == [["Ann", 4.0, 1], ["Bo", 3.0, 1]]


def test_talk_time_rejects_an_unknown_grouping():
    with pytest.raises(ValueError, match="by must be"):
        talk_time(TALK, by="team")


# ---------------------------------------------------------------------------------- chat activity


def _chat_at(times: list[str | None], senders: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "created_at": pd.to_datetime(pd.Series(times), utc=True).astype("datetime64[us, UTC]"),
            "sender_id": pd.Series(senders, dtype="str"),
        }
    )


def test_chat_activity_fills_empty_intervals_with_zero_on_a_utc_index():
    chat = _chat_at(["2024-01-01T10:00:05Z", "2024-01-01T10:00:59Z", "2024-01-01T10:03:00Z"], ["a", "b", "a"])
    activity = chat_activity(chat, "1min")
    assert activity["messages"].tolist() == [2, 0, 0, 1]
    assert str(activity.index.tz) == "UTC"
    assert activity.index[0] == pd.Timestamp("2024-01-01T10:00:00Z")


def test_chat_activity_per_sender():
    chat = _chat_at(
        ["2024-01-01T10:00:05Z", "2024-01-01T10:00:59Z", "2024-01-01T10:10:00Z"], ["a", None, "a"]
    )
    activity = chat_activity(chat, "5min", by="sender_id")
    assert activity.columns.tolist() == ["(unknown)", "a"]
    assert activity["a"].tolist() == [1, 0, 1]
    assert activity["(unknown)"].tolist() == [1, 0, 0]


def test_chat_activity_warns_about_messages_without_a_time():
    chat = _chat_at(["2024-01-01T10:00:05Z", None], ["a", "b"])
    with pytest.warns(UserWarning, match="1 message"):
        activity = chat_activity(chat)
    assert activity["messages"].sum() == 1


def test_chat_activity_of_an_empty_chat_is_empty():
    activity = chat_activity(rtk_frames.chat_frame(b"id,createdAt\n"))
    assert activity.empty and isinstance(activity.index, pd.DatetimeIndex)


# ------------------------------------------------------------------------- over HTTP, end to end


def test_chat_and_transcript_from_the_sandbox_join_to_participants_over_http():
    from rtk_frames.sandbox import Dataset, serve

    dataset = Dataset.synthetic(sessions=1, participants=4, samples=3, seed=5)
    session_id = dataset.sessions[0]["id"]
    ghost = dict(dataset.chats[session_id][0], id="ghost-msg", participantId="not-a-participant")
    dataset.chats[session_id].append(ghost)
    with serve(dataset) as api:
        client = api.client()
        people = rtk_frames.fetch_participants(client, session_id)
        chat = rtk_frames.fetch_chat(client, session_id)
        transcript = rtk_frames.fetch_transcript(client, session_id, format="JSON")
    chat_joined = join_chat(chat, people)
    assert chat_joined["message_id"].tolist() == chat["message_id"].tolist()  # every message, once, in order
    assert chat_joined.set_index("message_id").loc["ghost-msg", "matched"] == False  # noqa: E712 (pandas boolean)
    assert chat_joined["matched"].sum() == len(chat) - 1
    said = join_transcript(transcript, people)
    assert len(said) == len(transcript) and said["matched"].all()
    assert (said["participant_id"] == transcript["participant_id"]).all()
    assert set(said["participant_id"]) <= set(people["participant_id"])


@settings(max_examples=60, deadline=None)
@given(
    speakers=st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3", None]),
            st.sampled_from(["c1", "c2", None]),
            st.integers(0, 10_000),
            st.integers(0, 5_000),
        ),
        max_size=25,
    )
)
def test_property_every_utterance_appears_exactly_once_in_the_transcript_join(speakers):
    transcript = pd.DataFrame(
        {
            "participant_id": pd.Series([s[0] for s in speakers], dtype="str"),
            "custom_participant_id": pd.Series([s[1] for s in speakers], dtype="str"),
            "text": [f"t{i}" for i in range(len(speakers))],
        }
    )
    joined = join_transcript(transcript, PEOPLE)
    assert joined["text"].tolist() == transcript["text"].tolist()
    expected = [p in {"p1", "p2", "p3"} or c in {"c1", "c2"} for p, c, _, _ in speakers]
    assert joined["matched"].tolist() == expected


@settings(max_examples=30, deadline=None)
@given(
    speakers=st.lists(
        st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.integers(0, 10_000), st.integers(0, 5_000)),
        min_size=1,
        max_size=25,
    )
)
def test_property_talk_time_adds_up(speakers):
    users = {"p1": "u1", "p2": "u2", "p3": "u1"}
    transcript = pd.DataFrame(
        {
            "participant_id": [s[0] for s in speakers],
            "user_id": [users[s[0]] for s in speakers],
            "start_offset_s": [s[1] / 10 for s in speakers],
            "end_offset_s": [(s[1] + s[2]) / 10 for s in speakers],
        }
    )
    total_s = sum(s[2] / 10 for s in speakers)
    for by in ("peer", "person"):
        table = talk_time(transcript, by=by)
        assert table["speaking_s"].sum() == pytest.approx(total_s)
        assert table["utterances"].sum() == len(speakers)
        assert (table["turns"] <= table["utterances"]).all() and (table["turns"] >= 1).all()
        if total_s > 0:
            assert table["share"].sum() == pytest.approx(1.0)
    # merging rejoins never creates turns: a person has at most the turns of their peers together
    peer_turns = talk_time(transcript).set_index("participant_id")["turns"]
    person_turns = talk_time(transcript, by="person").set_index("person")["turns"]
    assert person_turns.get("u1", 0) <= peer_turns.get("p1", 0) + peer_turns.get("p3", 0)


def test_talk_time_estimates_a_missing_end_from_the_words_when_the_next_start_is_later():
    from rtk_frames.conversation import SPEECH_RATE_WORDS_PER_S

    # 5 words at 2.5 words/s = 2 s, well before the next start at 20 s; the second: 10 words = 4 s,
    # but the next utterance starts 3 s later, so 3 s
    t = pd.DataFrame({"participant_id": ["a", "b", "a"], "start_offset_s": [0.0, 20.0, 23.0],
                      "end_offset_s": [np.nan, np.nan, 25.0],
                      "text": ["one two three four five", " ".join(["w"] * 10), "hi"]})
    with pytest.warns(EstimatedTalkTimeWarning, match="2 of 3"):
        table = talk_time(t).set_index("participant_id")
    assert SPEECH_RATE_WORDS_PER_S == 2.5
    assert table.loc["a", "speaking_s"] == 2.0 + 2.0
    assert table.loc["b", "speaking_s"] == 3.0


def test_talk_time_with_every_end_known_does_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimatedTalkTimeWarning)
        table = talk_time(TALK)
    assert table["utterances_without_end"].sum() == 0


def test_readme_and_docstring_describe_the_estimate_with_the_warnings_words():
    from pathlib import Path

    from rtk_frames.conversation import ESTIMATED_END_RULE

    def flat(text: str) -> str:
        return " ".join(text.split())

    readme = flat((Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8"))
    rule = flat(ESTIMATED_END_RULE)
    assert rule in readme
    assert rule in flat(talk_time.__doc__ or "")


def test_fetch_transcript_defaults_to_json_whose_talk_time_is_measured(sample_client):
    import warnings

    from rtk_frames.sandbox import Dataset

    sid = Dataset.from_samples().sessions[0]["id"]
    transcript = rtk_frames.fetch_transcript(sample_client, sid)  # the default format
    assert len(transcript) and transcript["end_offset_s"].notna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimatedTalkTimeWarning)
        assert talk_time(transcript)["utterances_without_end"].sum() == 0
    csv = rtk_frames.fetch_transcript(sample_client, sid, format="CSV")
    if csv["end_offset_s"].isna().any():  # the CSV generation served has start times only
        with pytest.warns(EstimatedTalkTimeWarning):
            talk_time(csv)
