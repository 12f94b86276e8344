"""What people say: chat messages, transcript utterances (spoken while present) and summaries.

Example:
    >>> summary_text({"meeting_display_name": "Sync"}, [])
    'Summary of "Sync": nobody spoke.'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rtk_frames.sandbox.synthetic.draws import Draws
from rtk_frames.sandbox.synthetic.sessions import Row
from rtk_frames.sandbox.synthetic.wire import derived_id, iso

__all__ = ["GENERATION_CYCLE", "chat_messages", "summary_text", "transcript_utterances"]

MAX_UTTERANCES_PER_SESSION = 400
CHAT_LINES = (
    "Can everyone see my screen?",
    "You're on mute 🙂",
    "Link to the doc: https://example.com/doc/42",
    "I'll share the notes after the call",
    "+1",
    "Sorry, my connection is bad today",
    "Back in 2 min",
    "Agreed, let's ship it",
    "Can we revisit the timeline?",
    "Thanks all!",
    "Audio is choppy on my side",
    "Which dashboard is that?",
    "Let's take this offline",
    "Great demo 👏",
)
TRANSCRIPT_LINES = (
    "Okay, let's get started.",
    "Can you hear me all right?",
    "I think the main blocker is the migration.",
    "We saw the latency spike again on Tuesday.",
    "Let me share my screen.",
    "Sorry, you cut out for a second.",
    "That makes sense to me.",
    "Could you repeat the last part?",
    "The numbers look better this week.",
    "I'll follow up with the customer.",
    "Let's move on to the next item.",
    "Any questions before we wrap up?",
    "I can take that action item.",
    "We should loop in the security team.",
    "Thanks everyone, see you next week.",
)
# transcript file generations across sessions (see rtk_frames.sandbox.media): mostly the current one
GENERATION_CYCLE = ("current", "current", "seconds", "current", "iso", "iso_4col")


def _chat_payload(rng: Draws, session_id: str, k: int) -> dict[str, str]:
    """Mostly text; now and then an image (a link) or a file (a JSON blob with name, size and link)."""
    draw = rng.random()
    link = f"https://files.example.com/{session_id[:8]}/{k}"
    if draw < 0.04:
        return {"payloadType": "IMAGE_MESSAGE", "payload": f"{link}/screenshot.png"}
    if draw < 0.08:
        name = rng.pick(("slides.pdf", "Q3 plan (final).xlsx", "notes.txt"))
        blob = {
            "name": name,
            "size": int(rng.uniform(2e3, 5e6)),
            "link": f"{link}/{name.replace(' ', '%20')}",
        }
        return {"payloadType": "FILE_MESSAGE", "payload": json.dumps(blob, ensure_ascii=False)}
    return {"payloadType": "TEXT_MESSAGE", "payload": rng.pick(CHAT_LINES)}


def chat_messages(rng: Draws, session: dict[str, Any], rows: Sequence[Row]) -> list[dict[str, Any]]:
    count = max(2, round(len(rows) * 1.5))
    senders = rng.gen.integers(0, len(rows), size=count)
    messages = []
    for k, idx in enumerate(senders):
        row = rows[int(idx)]
        moment = rng.uniform(row.joined_s + 2.0, row.left_s - 1.0)
        messages.append(
            {
                "id": derived_id(f"{session['id']}/chat/{k}"),
                "participantId": row.peer_id,
                "sessionId": session["id"],
                "meetingId": session["associated_id"],
                "displayName": row.display_name,
                "pinned": bool(rng.random() < 0.05),
                "isEdited": bool(rng.random() < 0.1),
                **_chat_payload(rng, session["id"], k),
                "createdAt": iso(moment),
                "_epoch_s": moment,
            }
        )
    messages.sort(key=lambda m: m["_epoch_s"])
    for m in messages:
        del m["_epoch_s"]
    return messages


def transcript_utterances(
    rng: Draws, session: dict[str, Any], rows: Sequence[Row], start_s: float
) -> list[dict[str, Any]]:
    end_s = max(r.left_s for r in rows)
    talkativeness = rng.gen.gamma(1.5, size=len(rows))
    utterances: list[dict[str, Any]] = []
    cursor = start_s + rng.uniform(3.0, 15.0)
    while cursor < end_s - 10.0 and len(utterances) < MAX_UTTERANCES_PER_SESSION:
        present = [k for k, r in enumerate(rows) if r.joined_s + 1.0 <= cursor and cursor + 10.0 <= r.left_s]
        if not present:
            cursor += 20.0
            continue
        weights = talkativeness[present] / talkativeness[present].sum()
        row = rows[present[rng.weighted(weights)]]
        length_s = rng.uniform(1.5, 9.0)
        utterances.append(
            {
                "start_ms": round((cursor - start_s) * 1000),
                "end_ms": round((cursor + length_s - start_s) * 1000),
                "peer_id": row.peer_id,
                "user_id": row.user_id,
                "custom_participant_id": row.custom_participant_id,
                "name": row.display_name,
                "text": rng.pick(TRANSCRIPT_LINES),
                "joined_at": row.record["joined_at"],
                "left_at": row.record["left_at"] or "",
            }
        )
        cursor += length_s + rng.uniform(0.4, 25.0)
    return utterances


def summary_text(session: dict[str, Any], utterances: Sequence[dict[str, Any]]) -> str:
    """A plausible meeting summary for a session, from its transcript.

    Example:
        >>> summary_text({"meeting_display_name": "Sync"}, [])
        'Summary of "Sync": nobody spoke.'
    """
    title = session.get("meeting_display_name") or "the meeting"
    if not utterances:
        return f'Summary of "{title}": nobody spoke.'
    speakers: dict[str, int] = {}
    for u in utterances:
        speakers[u["name"]] = speakers.get(u["name"], 0) + 1
    ranked = sorted(speakers, key=lambda n: (-speakers[n], n))
    minutes = (utterances[-1]["end_ms"] - utterances[0]["start_ms"]) / 60_000
    return (
        f'Summary of "{title}"\n\n'
        f"- {len(utterances)} contributions from {len(speakers)} speakers over {minutes:.0f} minutes; "
        f"{ranked[0]} led the discussion.\n"
        f'- Topics: "{utterances[0]["text"]}" … "{utterances[-1]["text"]}"\n'
        "- Action items: follow up on open questions before the next meeting.\n"
    )
