"""Who said what: chat and transcripts joined to participants, talk time, chat activity over time.

Inputs are the frames of :func:`rtk_frames.chat_frame`, :func:`rtk_frames.transcript_frame` and
:func:`rtk_frames.participants_frame`. Every function keeps its input rows (a join never duplicates or
drops a message/utterance) and never modifies its inputs.

Decisions where the API reference is silent:

- Transcript ``Participant ID`` / ``peerData.id`` is the participants' id (= the peer id):
  ``participant_id``; ``User ID`` / ``userId`` is ``user_id``, ``cpi`` / custom id is
  ``custom_participant_id``: matched in that order.
- Chat ``participantId`` is undocumented (``sender_id`` in the chat frame): it is tried as a participant
  (peer) id first, then as a user id. The joined frame's ``participant_id`` is the participant found.
- Several participant rows can share a key (a person who rejoined has one ``user_id`` and several peer
  ids; a page may repeat a row). A row matched by ``user_id``/``custom_participant_id`` goes to that
  person's connection present at its time (the latest ``joined_at`` not after the message's
  ``created_at`` / the utterance's ``start``); otherwise, and for repeated peer ids, the choice is the
  earliest ``joined_at`` (missing last), then the smallest ``participant_id``. Deterministic either way.
- Talk time is the sum of utterance durations (``end - start``); utterances without an end (the ISO CSV
  transcripts carry none) add nothing and are counted in ``utterances_without_end``.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"participant_id": ["p1", "p1", "p2"], "user_id": ["u1", "u1", "u2"],
    ...                   "display_name": ["Ann", "Ann", "Bo"], "start_offset_s": [0.0, 2.0, 5.0],
    ...                   "end_offset_s": [2.0, 4.0, 6.0]})
    >>> talk_time(t)[["participant_id", "speaking_s", "turns"]].values.tolist()
    [['p1', 4.0, 1], ['p2', 1.0, 1]]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["ESTIMATED_END_RULE", "EstimatedTalkTimeWarning", "chat_activity", "join_chat", "join_transcript",
           "talk_time"]

PARTICIPANT_PREFIX = "participant_"
UNKNOWN_SENDER = "(unknown)"
MAX_ESTIMATED_UTTERANCE_S = 30.0  # cap on an utterance length inferred from the next start
SPEECH_RATE_WORDS_PER_S = 2.5  # ~150 words per minute, a common conversational speech rate
#: how talk_time estimates an utterance's length when the transcript gives no end time (the same words in
#: its docstring, its warning and the README)
ESTIMATED_END_RULE = ("the time its words take at 150 words per minute, never past the next utterance's "
                      "start; an utterance without text gets the time until the next start, at most 30 s")


class EstimatedTalkTimeWarning(UserWarning):
    """:func:`talk_time` estimated the length of utterances that have no end time (a CSV transcript)."""
# left key column -> participants' key column, in the order tried
TRANSCRIPT_KEYS: tuple[tuple[str, str], ...] = (
    ("participant_id", "participant_id"),
    ("user_id", "user_id"),
    ("custom_participant_id", "custom_participant_id"),
)
CHAT_KEYS: tuple[tuple[str, str], ...] = (("sender_id", "participant_id"), ("sender_id", "user_id"))
# keys one person keeps across rejoins: matched to the connection present at the row's time
PERSON_KEYS = frozenset({"user_id", "custom_participant_id"})
# the participants' columns the joins add without the prefix (the key) or not at all
KEY_COLUMN = "participant_id"
NOT_ATTACHED = ("session_id", KEY_COLUMN)


def _participants_in_preference_order(participants: pd.DataFrame) -> pd.DataFrame:
    """Participants sorted so that "first per key" is the deterministic choice (earliest join, then id)."""
    order = pd.DataFrame({"position": np.arange(len(participants))})
    order["joined_at"] = (participants["joined_at"].to_numpy() if "joined_at" in participants
                          else pd.Series(pd.NaT, index=order.index, dtype="datetime64[us, UTC]"))
    order[KEY_COLUMN] = (participants[KEY_COLUMN].astype("str").to_numpy() if KEY_COLUMN in participants
                         else "")
    order = order.sort_values(["joined_at", KEY_COLUMN, "position"], na_position="last", kind="stable")
    return participants.iloc[order["position"].to_numpy()].reset_index(drop=True)


def _match_positions(left_keys: pd.Series, candidates: pd.DataFrame, key: str) -> np.ndarray:
    """For each left key, the position in ``candidates`` of the first row with that key (-1: none)."""
    if key not in candidates:
        return np.full(len(left_keys), -1)
    right = candidates[key].astype("str")
    first = right[right.notna() & (right.str.strip() != "")].drop_duplicates(keep="first")
    lookup = pd.Index(first.to_numpy(dtype=object))
    hits = lookup.get_indexer(left_keys.astype("str").to_numpy(dtype=object))
    positions = first.index.to_numpy()[np.maximum(hits, 0)] if len(first) else np.full(len(hits), -1)
    return np.where((hits >= 0) & left_keys.notna().to_numpy(), positions, -1)


def _present_at(left_keys: pd.Series, left_times: pd.Series, candidates: pd.DataFrame, key: str,
                fallback: np.ndarray) -> np.ndarray:
    """For keys a person keeps across rejoins (user id, custom id): the participant row that had joined
    most recently at the row's time (the connection the message/utterance came from); ``fallback``
    (the earliest joiner) where the time or the joins are unknown or the row predates every join."""
    if key not in candidates or "joined_at" not in candidates:
        return fallback
    right = pd.DataFrame({"key": candidates[key].astype("str"),
                          "joined_at": candidates["joined_at"].astype("datetime64[us, UTC]"),
                          "position": np.arange(len(candidates))}).dropna(subset=["key", "joined_at"])
    left = pd.DataFrame({"key": left_keys.astype("str").to_numpy(),
                         "at": pd.to_datetime(left_times, utc=True).astype("datetime64[us, UTC]").to_numpy(),
                         "row": np.arange(len(left_keys))}).dropna(subset=["key", "at"])
    if right.empty or left.empty:
        return fallback
    # among equal join times keep the preferred (first) row: merge_asof takes the last one it sees
    right = right.drop_duplicates(["key", "joined_at"], keep="first").sort_values("joined_at", kind="stable")
    found = pd.merge_asof(left.sort_values("at", kind="stable"), right, left_on="at", right_on="joined_at",
                          by="key", direction="backward").dropna(subset=["position"])
    positions = fallback.copy()
    positions[found["row"].to_numpy()] = found["position"].to_numpy(dtype=np.int64)
    return positions


def _join(left: pd.DataFrame, participants: pd.DataFrame, keys: Sequence[tuple[str, str]],
          time_column: str) -> pd.DataFrame:
    candidates = _participants_in_preference_order(participants)
    chosen = np.full(len(left), -1)
    matched_by = np.full(len(left), None, dtype=object)
    for left_key, right_key in keys:
        if left_key not in left:
            continue
        positions = _match_positions(left[left_key], candidates, right_key)
        if right_key in PERSON_KEYS and time_column in left:
            positions = np.where(positions >= 0, _present_at(left[left_key], left[time_column], candidates,
                                                             right_key, positions), -1)
        newly = (chosen < 0) & (positions >= 0)
        chosen[newly] = positions[newly]
        matched_by[newly] = right_key
    # reindex with -1 -> a missing label gives all-NA rows while keeping each column's dtype
    found = candidates.reindex(pd.Index(chosen)).set_axis(left.index)
    resolved = (found[KEY_COLUMN].astype("str") if KEY_COLUMN in found
                else pd.Series(pd.NA, index=left.index, dtype="str"))
    if KEY_COLUMN in left:  # a transcript's own participant id stays where no participant was found
        resolved = resolved.where(chosen >= 0, left[KEY_COLUMN].astype("str"))
    attached = found.drop(columns=[c for c in NOT_ATTACHED if c in found]).add_prefix(PARTICIPANT_PREFIX)
    result = pd.concat([left.drop(columns=[KEY_COLUMN], errors="ignore"),
                        resolved.rename(KEY_COLUMN).to_frame(), attached], axis=1)
    result["matched_by"] = pd.array(matched_by, dtype="str")
    result["matched"] = pd.array(chosen >= 0, dtype="boolean")
    return result


def join_chat(chat: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Left-join chat messages to participants: every message once, ``matched``/``matched_by`` saying how.

    The chat's ``sender_id`` is matched to participants' ``participant_id`` (the peer id), else to
    ``user_id``. The participant found is added as ``participant_id``, its other columns with the prefix
    ``participant_`` (``participant_display_name`` …); unmatched messages have them NA and
    ``matched == False``.

    Example:
        >>> import pandas as pd
        >>> chat = pd.DataFrame({"message_id": ["m1", "m2"], "sender_id": ["u1", "ghost"]})
        >>> people = pd.DataFrame({"participant_id": ["p1"], "user_id": ["u1"], "display_name": ["Ann"]})
        >>> joined = join_chat(chat, people)
        >>> joined[["message_id", "participant_id", "participant_display_name", "matched_by"]].values.tolist()
        [['m1', 'p1', 'Ann', 'user_id'], ['m2', nan, nan, nan]]
    """
    return _join(chat, participants, CHAT_KEYS, time_column="created_at")


def join_transcript(transcript: pd.DataFrame, participants: pd.DataFrame, *,
                    match_names: bool = False) -> pd.DataFrame:
    """Left-join utterances to participants: every utterance once, ``matched``/``matched_by`` saying how.

    Keys tried in order: ``participant_id``, ``user_id``, ``custom_participant_id``; with
    ``match_names=True`` also ``display_name`` (SRT/VTT carry only names; a name shared by several
    participants takes the earliest joiner). ``participant_id`` becomes the participant found (the
    transcript's own value where none is); participants' other columns are added with the prefix
    ``participant_``, so an ``iso_4col`` transcript gains ``participant_user_id``.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"participant_id": ["p1", None], "user_id": [None, "u2"], "text": ["hi", "yo"]})
        >>> people = pd.DataFrame({"participant_id": ["p1", "p2"], "user_id": ["u1", "u2"]})
        >>> join_transcript(t, people)[["participant_id", "matched_by"]].values.tolist()
        [['p1', 'participant_id'], ['p2', 'user_id']]
    """
    keys = list(TRANSCRIPT_KEYS) + ([("display_name", "display_name")] if match_names else [])
    return _join(transcript, participants, keys, time_column="start")


def _speaker_keys(transcript: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """The first non-empty of ``columns`` per row (text); rows with none get ``UNKNOWN_SENDER``."""
    key = pd.Series(pd.NA, index=transcript.index, dtype="object")
    for column in columns:
        if column in transcript:
            values = transcript[column].astype("str")
            usable = values.notna() & (values.str.strip() != "")
            key = key.where(key.notna() | ~usable, values)
    return key.fillna(UNKNOWN_SENDER).astype("str")


def _utterance_order(transcript: pd.DataFrame) -> np.ndarray:
    """Positions of the utterances in time order (offsets, else absolute starts, else file order)."""
    when = _start_s(transcript)
    if when.isna().all():
        return np.arange(len(transcript))
    return np.argsort(when.to_numpy(dtype="float64", na_value=np.inf), kind="stable")


def _start_s(transcript: pd.DataFrame) -> pd.Series:
    """Each utterance's start in seconds on one axis (offsets, else absolute starts), NaN when unknown."""
    if "start_offset_s" in transcript and transcript["start_offset_s"].notna().any():
        return transcript["start_offset_s"].astype("float64")
    if "start" in transcript and transcript["start"].notna().any():
        return (transcript["start"] - transcript["start"].min()).dt.total_seconds()
    return pd.Series(np.nan, index=transcript.index)


def _durations_s(transcript: pd.DataFrame) -> pd.Series:
    """Measured utterance lengths (end - start); NaN where the transcript has no end time."""
    if {"start_offset_s", "end_offset_s"} <= set(transcript.columns):
        spans = transcript["end_offset_s"].astype("float64") - transcript["start_offset_s"].astype("float64")
    else:
        spans = pd.Series(np.nan, index=transcript.index)
    if {"start", "end"} <= set(transcript.columns):
        spans = spans.fillna((transcript["end"] - transcript["start"]).dt.total_seconds())
    return spans.clip(lower=0.0)


def _estimated_durations_s(transcript: pd.DataFrame, order: np.ndarray) -> pd.Series:
    """For utterances with no end time (the ISO CSV generations and today's headerless CSV): the time it
    takes to say the text at ``SPEECH_RATE_WORDS_PER_S``, but never past the next utterance's start;
    without text, the time until the next start capped at ``MAX_ESTIMATED_UTTERANCE_S``. NaN when
    neither can be known (the last utterance of a text-less transcript)."""
    starts = _start_s(transcript).to_numpy(dtype="float64", na_value=np.nan)
    ordered = starts[order]
    following = np.full(len(ordered), np.nan)
    following[:-1] = ordered[1:]
    gaps = np.full(len(starts), np.nan)
    gaps[order] = np.clip(following - ordered, 0.0, MAX_ESTIMATED_UTTERANCE_S)
    if "text" in transcript:
        words = transcript["text"].astype("str").str.count(r"\S+").to_numpy(dtype="float64", na_value=0.0)
        spoken = np.where(words > 0, words / SPEECH_RATE_WORDS_PER_S, np.nan)
        gaps = np.where(np.isnan(spoken), gaps, np.fmin(spoken, gaps))
    return pd.Series(gaps, index=transcript.index)


def talk_time(transcript: pd.DataFrame, *, by: Literal["peer", "person"] = "peer") -> pd.DataFrame:
    """Speaking time per speaker: seconds spoken, share of the session's speaking time, utterances, turns.

    ``by="peer"`` counts each peer (one connection, one ``participant_id``) apart; ``by="person"`` merges
    a person's rejoins by ``user_id`` (falling back to ``custom_participant_id``, then the participant id,
    then the name, so SRT/VTT
    transcripts work too). A turn is a run of consecutive utterances (in time order) by one speaker.
    Sorted by speaking time, longest first.

    Columns: the key (``participant_id``, or ``person``), ``display_name`` (the most frequent),
    ``speaking_s``, ``share`` (0–1 of all speaking time), ``utterances``, ``turns``,
    ``utterances_without_end``, and for ``by="person"`` ``peers`` (distinct participant/peer ids: 2 means
    one rejoin).

    An utterance without an end time (the CSV transcripts carry start times only) is given an
    *estimated* length: the time its words take at 150 words per minute, never past the next
    utterance's start; an utterance without text gets the time until the next start, at most 30 s
    (:data:`ESTIMATED_END_RULE`). ``utterances_without_end`` counts them, and one
    :class:`EstimatedTalkTimeWarning` says how many were estimated. The JSON transcript (the default of
    ``fetch_transcript``) carries real end times.
    ``speaking_s`` is NaN for a speaker none of whose utterances has a known or estimable length.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"participant_id": ["p1", "p2", "p3"], "user_id": ["u1", "u2", "u1"],
        ...                   "start_offset_s": [0.0, 3.0, 10.0], "end_offset_s": [3.0, 4.0, 13.0]})
        >>> talk_time(t, by="person")[["person", "speaking_s", "share", "peers"]].values.tolist()
        [['u1', 6.0, 0.8571428571428571, 2], ['u2', 1.0, 0.14285714285714285, 1]]
    """
    if by not in ("peer", "person"):
        raise ValueError(f"talk_time: by must be 'peer' or 'person', got {by!r}")
    key_name = KEY_COLUMN if by == "peer" else "person"
    key_columns = ((KEY_COLUMN, "display_name") if by == "peer"
                   else ("user_id", "custom_participant_id", KEY_COLUMN, "display_name"))
    keys = _speaker_keys(transcript, key_columns)
    measured = _durations_s(transcript)
    order = _utterance_order(transcript)
    durations = measured.fillna(_estimated_durations_s(transcript, order))
    estimated = int(measured.isna().sum())
    if estimated:
        warnings.warn(f"talk_time: {estimated} of {len(transcript)} utterance(s) have no end time, so their "
                      f"length is estimated: {ESTIMATED_END_RULE} (a JSON transcript has real end times)",
                      EstimatedTalkTimeWarning, stacklevel=2)
    ordered_keys = keys.to_numpy()[order]
    turn_starts = np.ones(len(ordered_keys), dtype=bool)
    turn_starts[1:] = ordered_keys[1:] != ordered_keys[:-1]
    turns = pd.Series(turn_starts, index=ordered_keys).groupby(level=0).sum()
    names = (transcript["display_name"].astype("str") if "display_name" in transcript
             else pd.Series(pd.NA, index=transcript.index, dtype="str"))
    work = pd.DataFrame({"key": keys, "duration": durations, "name": names,
                         "no_end": measured.isna(),
                         "peer": (transcript[KEY_COLUMN].astype("str") if KEY_COLUMN in transcript
                                  else pd.Series(pd.NA, index=transcript.index, dtype="str"))})
    grouped = work.groupby("key", sort=True)
    result = pd.DataFrame({
        "speaking_s": grouped["duration"].sum(min_count=1).astype("float64"),
        "utterances": grouped.size().astype("int64"),
        "utterances_without_end": grouped["no_end"].sum().astype("int64"),
        "display_name": grouped["name"].agg(_most_frequent),
    })
    result["turns"] = turns.reindex(result.index).fillna(0).astype("int64")
    total_s = float(result["speaking_s"].sum())
    result["share"] = result["speaking_s"] / total_s if total_s > 0 else np.nan
    columns = ["display_name", "speaking_s", "share", "utterances", "turns", "utterances_without_end"]
    if by == "person":
        result["peers"] = grouped["peer"].nunique().astype("int64")
        columns.append("peers")
    result = result.rename_axis(key_name).reset_index()
    result[key_name] = result[key_name].astype("str")
    result = result.sort_values(["speaking_s", key_name], ascending=[False, True], kind="stable")
    return result[[key_name, *columns]].reset_index(drop=True)


def _most_frequent(names: pd.Series) -> str | float:
    counts = names.dropna().value_counts(sort=False)
    if counts.empty:
        return np.nan
    return str(counts.sort_index(kind="stable").idxmax())


def chat_activity(chat: pd.DataFrame, freq: str = "1min", *, by: str | None = None) -> pd.DataFrame:
    """Messages per time interval (UTC index, every interval present, empty ones 0).

    ``by=None`` gives one ``messages`` column; ``by="sender_id"`` (or ``"display_name"``, or any
    column) gives one column per sender (senders with no value count under ``"(unknown)"``). Messages
    without a ``created_at`` cannot be placed in time: they are left out, and a warning says how many.

    Example:
        >>> import pandas as pd
        >>> chat = pd.DataFrame({"created_at": pd.to_datetime(
        ...     ["2024-01-01T10:00:05Z", "2024-01-01T10:00:50Z", "2024-01-01T10:02:01Z"])})
        >>> chat_activity(chat)["messages"].tolist()
        [2, 0, 1]
    """
    times: pd.Series = pd.to_datetime(chat["created_at"], utc=True) if len(chat) else \
        pd.Series([], dtype="datetime64[us, UTC]")
    missing = int(times.isna().sum())
    if missing:
        warnings.warn(f"chat_activity: {missing} message(s) without created_at are not counted",
                      UserWarning, stacklevel=2)
    slots = times.dt.floor(freq)
    present = slots.notna()
    if present.any():
        index = pd.date_range(slots[present].min(), slots[present].max(), freq=freq, name="interval")
    else:
        index = pd.DatetimeIndex([], dtype="datetime64[us, UTC]", name="interval")
    if by is None:
        counts = slots[present].value_counts().reindex(index, fill_value=0).astype("int64")
        return pd.DataFrame({"messages": counts.to_numpy()}, index=index)
    senders = chat[by].astype("str").fillna(UNKNOWN_SENDER)
    table = (pd.DataFrame({"interval": slots[present], "sender": senders[present]})
             .groupby(["interval", "sender"]).size().unstack("sender", fill_value=0))
    table = table.reindex(index, fill_value=0).astype("int64")
    table.columns = pd.Index(table.columns.astype("str"), name=by)
    return table
