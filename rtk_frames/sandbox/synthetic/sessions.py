"""Who is in which call, on what device and network, and when: sessions, participant rows, peer events.

Every user gets a :class:`Profile` (browser, OS, SDK, CPU, memory, location, network) that stays the
same across their rows; a :class:`Row` is one participant row (one peer) with its join/leave times.
The records are the SDK's ``DataSession`` / ``DataParticipant`` shapes.

Example:
    >>> from rtk_frames.sandbox.synthetic.draws import Draws
    >>> rows = session_rows(Draws(1), "s1", 1.8e9, 4, 100.0, 0)
    >>> len(rows), session_record("s1", "m1", "Sync", rows, live=False, org_id="o", meta={})["status"]
    (4, 'ENDED')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rtk_frames.sandbox.synthetic.draws import Draws, short_id
from rtk_frames.sandbox.synthetic.wire import derived_id, iso

__all__ = [
    "MEETING_TITLES",
    "NETWORK_THROUGHPUT_KBPS",
    "Profile",
    "Row",
    "breakout_rows",
    "participant_record",
    "session_record",
    "session_rows",
    "someone_else",
    "still_in_the_call",
]

MEETING_TITLES = (
    "Weekly sync",
    "Design review",
    "Sprint planning",
    "1:1 Priya / Tom",
    "Customer onboarding — Acme",
    "All hands",
    "Incident retro: payments outage",
    "Interview loop (backend)",
    "Support escalation",
    "Data science standup",
    "Product demo",
    "Quarterly business review",
    "Office hours",
    "Team lunch & learn",
)
FIRST_NAMES = (
    "Alice",
    "Bruno",
    "Chen",
    "Divya",
    "Emeka",
    "Fatima",
    "Gustavo",
    "Hana",
    "Ivan",
    "Jana",
    "Kofi",
    "Lea",
    "Mateo",
    "Nadia",
    "Olu",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tom",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Okafor",
    "Müller",
    "García",
    "Nguyen",
    "Kowalski",
    "Sato",
    "Haddad",
    "Silva",
    "Johansson",
    "Patel",
    "O'Brien",
    "Rossi",
    "Dubois",
    "Kim",
    "Novak",
)
PRESETS = ("group_call_host", "group_call_participant", "group_call_participant", "group_call_participant")
# (browser, engine, versions, user agent template)
BROWSERS = (
    (
        "Chrome",
        "Blink",
        ("129.0.0.0", "130.0.0.0", "131.0.0.0"),
        "Mozilla/5.0 ({ua_os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36",
    ),
    (
        "Firefox",
        "Gecko",
        ("131.0", "132.0", "133.0"),
        "Mozilla/5.0 ({ua_os}; rv:{v}) Gecko/20100101 Firefox/{v}",
    ),
    (
        "Safari",
        "WebKit",
        ("17.6", "18.1"),
        "Mozilla/5.0 ({ua_os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v} Safari/605.1.15",
    ),
    (
        "Edge",
        "Blink",
        ("130.0.0.0", "131.0.0.0"),
        "Mozilla/5.0 ({ua_os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36 Edg/{v}",
    ),
)
# (os, versions, is_mobile, user-agent platform)
OPERATING_SYSTEMS = (
    ("Windows", ("10", "11"), False, "Windows NT 10.0; Win64; x64"),
    ("macOS", ("14.6", "15.1"), False, "Macintosh; Intel Mac OS X 10_15_7"),
    ("Linux", ("6.8",), False, "X11; Linux x86_64"),
    ("Android", ("13", "14"), True, "Linux; Android 14; Pixel 7"),
    ("iOS", ("17.6", "18.1"), True, "iPhone; CPU iPhone OS 18_1 like Mac OS X"),
)
SDK_VERSIONS = ("1.0.4", "1.1.0", "1.1.3", "1.2.0")
# (country, city, region, timezone, latitude, longitude, ip prefix, asn, org)
LOCATIONS = (
    ("IN", "Bengaluru", "Karnataka", "Asia/Kolkata", 12.97, 77.59, "49.207", "AS24560", "Bharti Airtel"),
    ("US", "Austin", "Texas", "America/Chicago", 30.27, -97.74, "24.28", "AS7922", "Comcast Cable"),
    ("DE", "Berlin", "Berlin", "Europe/Berlin", 52.52, 13.40, "91.64", "AS3320", "Deutsche Telekom AG"),
    ("BR", "São Paulo", "São Paulo", "America/Sao_Paulo", -23.55, -46.63, "177.71", "AS28573", "Claro S.A."),
    ("NG", "Lagos", "Lagos", "Africa/Lagos", 6.52, 3.38, "105.112", "AS29465", "MTN Nigeria"),
    ("JP", "Tokyo", "Tokyo", "Asia/Tokyo", 35.68, 139.69, "126.0", "AS17676", "SoftBank Corp."),
    (
        "GB",
        "London",
        "England",
        "Europe/London",
        51.51,
        -0.13,
        "81.2",
        "AS2856",
        "British Telecommunications",
    ),
)
# typical pre-call throughput per network type, kbit/s
NETWORK_THROUGHPUT_KBPS = {"ethernet": 90_000.0, "wifi": 35_000.0, "4g": 12_000.0, "3g": 1_500.0}
# (desktop, mobile) network types; a laptop on 3g/4g is tethered to a phone
GOOD_NETWORKS = (("wifi", "wifi", "wifi", "ethernet", "ethernet"), ("wifi", "wifi", "4g"))
POOR_NETWORKS = (("3g", "4g", "wifi"), ("3g", "3g", "4g", "wifi"))
PEER_EVENT_NAMES = ("PEER_CREATED", "PEER_JOINING", "PEER_LEAVING")


@dataclass
class Profile:
    """Everything about one user's device and network that stays the same across their rows."""

    poor_network: bool
    weak_cpu: bool
    network_type: str
    browser: tuple[str, str, str, str]  # name, engine, version, user agent
    os: tuple[str, str, bool]  # name, version, is_mobile
    sdk_version: str
    cpus: int
    memory_gb: int
    location: tuple[Any, ...]
    ipv4: str
    webgl: bool


@dataclass
class Row:
    """One participant row (one peer) before it becomes a record."""

    index: int
    session_id: str
    peer_id: str
    user_id: str
    custom_participant_id: str
    display_name: str
    preset_name: str
    joined_s: float
    left_s: float
    still_present: bool
    profile: Profile
    remote_peer_id: str = ""
    record: dict[str, Any] = field(default_factory=dict)


def _profile(rng: Draws, *, poor: bool, weak_cpu: bool) -> Profile:
    name, engine, versions, ua = rng.pick(BROWSERS)
    os_name, os_versions, mobile, ua_os = rng.pick(OPERATING_SYSTEMS)
    if name == "Safari" and os_name not in ("macOS", "iOS"):
        os_name, os_versions, mobile, ua_os = OPERATING_SYSTEMS[1]
    if mobile and name not in ("Chrome", "Safari"):  # phones: Chrome (Android, iOS) or Safari (iOS)
        name, engine, versions, ua = BROWSERS[0] if os_name == "Android" else BROWSERS[2]
    if os_name == "iOS":
        engine = "WebKit"  # every iOS browser runs on WebKit
    version = rng.pick(versions)
    network = rng.pick((POOR_NETWORKS if poor else GOOD_NETWORKS)[int(mobile)])
    location = rng.pick(LOCATIONS)
    host = rng.gen.integers(1, 255, size=2)
    return Profile(
        poor_network=poor,
        weak_cpu=weak_cpu,
        network_type=network,
        browser=(name, engine, version, ua.format(ua_os=ua_os, v=version)),
        os=(os_name, rng.pick(os_versions), mobile),
        sdk_version=rng.pick(SDK_VERSIONS),
        cpus=2 if weak_cpu else rng.pick((6, 8) if mobile else (4, 8, 8, 12, 16)),
        memory_gb=2 if weak_cpu else rng.pick((4, 8, 8, 16)),
        location=location,
        ipv4=f"{location[6]}.{host[0]}.{host[1]}",
        webgl=not (weak_cpu and rng.random() < 0.5),
    )


def _presence(rng: Draws, start_s: float, min_presence_s: float, rejoin: bool) -> list[tuple[float, float]]:
    """Join/leave epochs of one user's rows (two rows when they drop out and rejoin)."""
    late = rng.random() < 0.2
    join = start_s + (rng.uniform(0.1, 0.6) * min_presence_s if late else rng.exponential(25.0))
    if not rejoin:
        return [(join, join + min_presence_s + rng.uniform(0.05, 0.9) * min_presence_s)]
    first_leave = join + min_presence_s + rng.uniform(0.0, 0.15) * min_presence_s
    second_join = first_leave + rng.uniform(15.0, 90.0)
    return [
        (join, first_leave),
        (second_join, second_join + min_presence_s + rng.uniform(0.05, 0.5) * min_presence_s),
    ]


def _person_name(rng: Draws, used: set[str]) -> str:
    """A display name, unique within the session (big webinars get "Name (2)" like real apps show)."""
    name = f"{rng.pick(FIRST_NAMES)} {rng.pick(LAST_NAMES)}"
    for _ in range(3):
        if name not in used:
            break
        name = f"{rng.pick(FIRST_NAMES)} {rng.pick(LAST_NAMES)}"
    base, copy_no = name, 1
    while name in used:
        copy_no += 1
        name = f"{base} ({copy_no})"
    used.add(name)
    return name


def _peer_events(row: Row, preset_view_type: str = "GROUP_CALL") -> list[dict[str, Any]]:
    """PEER_CREATED / PEER_JOINING / PEER_LEAVING for one row (no leaving while still present)."""
    socket = derived_id(row.peer_id)
    moments = [row.joined_s - 0.8, row.joined_s] + ([] if row.still_present else [row.left_s])
    events = []
    for name, moment in zip(PEER_EVENT_NAMES, moments, strict=False):
        minutes = round((moment - row.joined_s) / 60.0, 4) if name == "PEER_LEAVING" else 0
        events.append(
            {
                "id": derived_id(f"{row.peer_id}/{name}"),
                "created_at": iso(moment),
                "event_name": name,
                "minutes_consumed": minutes,
                "participant_id": row.user_id,
                "peer_id": row.peer_id,
                "preset_view_type": preset_view_type,
                "session_id": row.session_id,
                "socket_session_id": socket,
                "updated_at": iso(moment + 0.004),
            }
        )
    return events


def participant_record(row: Row) -> dict[str, Any]:
    return {
        "id": row.peer_id,
        "user_id": row.user_id,
        "custom_participant_id": row.custom_participant_id,
        "display_name": row.display_name,
        "preset_name": row.preset_name,
        "joined_at": iso(row.joined_s),
        "left_at": None if row.still_present else iso(row.left_s),
        "created_at": iso(row.joined_s - 0.009),
        "updated_at": iso(row.left_s + 0.006),
        "duration": round((row.left_s - row.joined_s) / 60.0, 4),
        "peer_events": _peer_events(row),
    }


def someone_else(rng: Draws, row: Row, rows: Sequence[Row]) -> str:
    """The peer id of another user in the same session (whose media this row consumes), or ``""``."""
    for _ in range(20):
        other = rng.pick(rows)
        if other.user_id != row.user_id:
            return other.peer_id
    return ""


def _max_concurrent(rows: Sequence[Row]) -> int:
    edges = sorted(
        [(r.joined_s, 1) for r in rows] + [(r.left_s, -1) for r in rows], key=lambda e: (e[0], e[1])
    )
    level = best = 0
    for _, step in edges:
        level += step
        best = max(best, level)
    return best


def session_record(
    session_id: str,
    meeting_id: str,
    title: str,
    rows: Sequence[Row],
    *,
    live: bool,
    org_id: str,
    meta: dict[str, Any],
) -> dict[str, Any]:
    start = min(r.joined_s for r in rows) - 2.0
    end = max(r.left_s for r in rows) + 4.0
    return {
        "id": session_id,
        "associated_id": meeting_id,
        "meeting_display_name": title,
        "status": "LIVE" if live else "ENDED",
        "type": "meeting",
        "organization_id": org_id,
        "created_at": iso(start - 0.35),
        "started_at": iso(start),
        "ended_at": None if live else iso(end),
        "updated_at": iso(end if not live else max(r.left_s for r in rows)),
        "live_participants": sum(r.still_present for r in rows) if live else 0,
        "max_concurrent_participants": _max_concurrent(rows),
        "minutes_consumed": round(sum((r.left_s - r.joined_s) / 60.0 for r in rows), 4),
        "meta": meta,
        "breakout_rooms": [],
    }


def still_in_the_call(rows: Sequence[Row], min_presence_s: float) -> None:
    """Make a session LIVE at "now": the first moment every row's samples fit; whoever has not left by
    then is still in the call (``left_at`` null), and there is always at least one such row."""
    now = max(r.joined_s for r in rows) + min_presence_s
    staying = [r for r in rows if r.left_s >= now] or [max(rows, key=lambda r: r.left_s)]
    for r in staying:
        r.still_present, r.left_s = True, now


def session_rows(
    rng: Draws, session_id: str, start_s: float, count: int, min_presence_s: float, first_index: int
) -> list[Row]:
    rejoins = 0 if count < 3 else max(1, count // 8)
    users = count - rejoins
    poor = rng.gen.random(users) < 0.15
    weak = rng.gen.random(users) < 0.12
    if count >= 3 and not poor.any():
        poor[rng.index(users)] = True
    if count >= 5 and not weak.any():
        weak[rng.index(users)] = True
    rejoining = set(rng.gen.choice(users, size=rejoins, replace=False).tolist()) if rejoins else set()
    used: set[str] = set()
    rows: list[Row] = []
    for u in range(users):
        profile = _profile(rng, poor=bool(poor[u]), weak_cpu=bool(weak[u]))
        user_id, custom = rng.uuid(), short_id(rng)
        name = _person_name(rng, used)
        preset = PRESETS[0] if u == 0 else rng.pick(PRESETS[1:])
        for joined, left in _presence(rng, start_s, min_presence_s, u in rejoining):
            rows.append(
                Row(
                    index=first_index + len(rows),
                    session_id=session_id,
                    peer_id=rng.uuid(),
                    user_id=user_id,
                    custom_participant_id=custom,
                    display_name=name,
                    preset_name=preset,
                    joined_s=joined,
                    left_s=left,
                    still_present=False,
                    profile=profile,
                )
            )
    rows.sort(key=lambda r: r.joined_s)
    for k, r in enumerate(rows):
        r.index = first_index + k
    return rows


def breakout_rows(
    rng: Draws, child_id: str, parents: Sequence[Row], min_presence_s: float, first_index: int
) -> list[Row]:
    """Rows of one breakout room: some of the parent's users, for a window inside their presence."""
    rows: list[Row] = []
    for parent in parents:
        room_start = parent.joined_s + rng.uniform(20.0, 60.0)
        if room_start + min_presence_s > parent.left_s:
            continue
        rows.append(
            Row(
                index=first_index + len(rows),
                session_id=child_id,
                peer_id=rng.uuid(),
                user_id=parent.user_id,
                custom_participant_id=parent.custom_participant_id,
                display_name=parent.display_name,
                preset_name=parent.preset_name,
                joined_s=room_start,
                left_s=min(parent.left_s, room_start + min_presence_s + 30.0),
                still_present=False,
                profile=parent.profile,
            )
        )
    return rows
