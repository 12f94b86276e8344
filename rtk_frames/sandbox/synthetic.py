"""A realistic, reproducible generator of RealtimeKit session data for the sandbox.

What it makes (everything driven by one ``numpy.random.Generator`` seeded with ``seed``):

- meetings with titles spread over several days; the most recent one still ``LIVE`` (when there are 3+),
  some with breakout rooms (child sessions with their own participant rows);
- participants with overlapping join/leave times, rejoins (a second row with a new id — participant
  ids ARE peer ids — and the same ``user_id``), mixed browsers / OS / SDK versions / networks /
  countries;
- per participant a quality time series (~7 s apart): someone on a poor network has LOW quality with HIGH
  jitter and loss at the same moments, and high RTT in the peer report's series; someone on a weak CPU
  shows ``quality_limitation_reason == "cpu"`` and dropped frames;
- chat and transcripts spoken by participants while they are present; a summary for some sessions.

The per-sample records (participant details and peer reports) are built lazily from numpy arrays when
first read, so ``synthetic(sessions=40, participants=50, samples=60)`` (2,000 participants) is quick.

Example:
    >>> from rtk_frames.sandbox.synthetic import generate
    >>> ds = generate(sessions=2, participants=4, samples=10, seed=1)
    >>> len(ds.sessions), len(ds.participants[ds.sessions[0]["id"]])
    (2, 4)
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from rtk_frames.sandbox.dataset import Dataset, LazyRecords

__all__ = ["SAMPLE_INTERVAL_S", "demo_dataset", "generate"]

SAMPLE_INTERVAL_S = 7.0
FIRST_DAY = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
FIRST_DAY_EPOCH_S = FIRST_DAY.timestamp()
SECONDS_PER_DAY = 86_400.0
AUDIO_PACKETS_PER_S = 50.0
VIDEO_PACKETS_PER_S = 90.0
AUDIO_BITRATE_KBPS = 32.0
VIDEO_BITRATE_KBPS = 1_500.0
BYTES_PER_KBIT = 125.0
MAX_UTTERANCES_PER_SESSION = 400

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
PEER_EVENT_NAMES = ("PEER_CREATED", "PEER_JOINING", "PEER_LEAVING")
# transcript file generations across sessions (see rtk_frames.sandbox.media): mostly the current one
GENERATION_CYCLE = ("current", "current", "seconds", "current", "iso", "iso_4col")


_DAY_TEXT: dict[int, str] = {}


def _iso(epoch_s: float) -> str:
    """Epoch seconds -> the service's timestamp text, e.g. ``2026-11-16T09:00:03.120Z`` (fast path)."""
    total_ms = round(float(epoch_s) * 1000)
    seconds, ms = divmod(total_ms, 1000)
    day, rest = divmod(seconds, 86_400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}Z"


def _derived_id(text: str) -> str:
    """A stable UUID-shaped id derived from ``text`` (for ids that depend on other ids)."""
    h = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


class _Draws:
    """Scalar random draws from a buffered numpy Generator (numpy's per-call overhead dominates
    otherwise); ``gen`` is the Generator itself for array draws."""

    BUFFER = 4096

    def __init__(self, seed: int) -> None:
        self.gen = np.random.default_rng(seed)
        self._buffer: list[float] = []

    def random(self) -> float:
        if not self._buffer:
            self._buffer = self.gen.random(self.BUFFER).tolist()
            self._buffer.reverse()
        return self._buffer.pop()

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def exponential(self, scale: float) -> float:
        return -scale * math.log(1.0 - self.random())

    def index(self, n: int) -> int:
        return min(int(self.random() * n), n - 1)

    def pick(self, items: Sequence[Any]) -> Any:
        return items[self.index(len(items))]

    def weighted(self, weights: np.ndarray) -> int:
        cumulative = np.cumsum(weights)
        return min(
            int(np.searchsorted(cumulative, self.random() * cumulative[-1], side="right")), len(weights) - 1
        )

    def uuid(self) -> str:
        raw = bytearray(self.gen.bytes(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid(rng: _Draws) -> str:
    return rng.uuid()


def _short_id(rng: _Draws, length: int = 6) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[i] for i in rng.gen.integers(0, len(alphabet), size=length))


@dataclass
class _Profile:
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
class _Row:
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
    profile: _Profile
    remote_peer_id: str = ""
    record: dict[str, Any] = field(default_factory=dict)


def _profile(rng: _Draws, *, poor: bool, weak_cpu: bool) -> _Profile:
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
    return _Profile(
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


def _presence(rng: _Draws, start_s: float, min_presence_s: float, rejoin: bool) -> list[tuple[float, float]]:
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


def _person_name(rng: _Draws, used: set[str]) -> str:
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


def _peer_events(row: _Row, preset_view_type: str = "GROUP_CALL") -> list[dict[str, Any]]:
    """PEER_CREATED / PEER_JOINING / PEER_LEAVING for one row (no leaving while still present)."""
    socket = _derived_id(row.peer_id)
    moments = [row.joined_s - 0.8, row.joined_s] + ([] if row.still_present else [row.left_s])
    events = []
    for name, moment in zip(PEER_EVENT_NAMES, moments, strict=False):
        minutes = round((moment - row.joined_s) / 60.0, 4) if name == "PEER_LEAVING" else 0
        events.append(
            {
                "id": _derived_id(f"{row.peer_id}/{name}"),
                "created_at": _iso(moment),
                "event_name": name,
                "minutes_consumed": minutes,
                "participant_id": row.user_id,
                "peer_id": row.peer_id,
                "preset_view_type": preset_view_type,
                "session_id": row.session_id,
                "socket_session_id": socket,
                "updated_at": _iso(moment + 0.004),
            }
        )
    return events


def _participant_record(row: _Row) -> dict[str, Any]:
    return {
        "id": row.peer_id,
        "user_id": row.user_id,
        "custom_participant_id": row.custom_participant_id,
        "display_name": row.display_name,
        "preset_name": row.preset_name,
        "joined_at": _iso(row.joined_s),
        "left_at": None if row.still_present else _iso(row.left_s),
        "created_at": _iso(row.joined_s - 0.009),
        "updated_at": _iso(row.left_s + 0.006),
        "duration": round((row.left_s - row.joined_s) / 60.0, 4),
        "peer_events": _peer_events(row),
    }


def _someone_else(rng: _Draws, row: _Row, rows: Sequence[_Row]) -> str:
    """The peer id of another user in the same session (whose media this row consumes), or ``""``."""
    for _ in range(20):
        other = rng.pick(rows)
        if other.user_id != row.user_id:
            return other.peer_id
    return ""


def _max_concurrent(rows: Sequence[_Row]) -> int:
    edges = sorted(
        [(r.joined_s, 1) for r in rows] + [(r.left_s, -1) for r in rows], key=lambda e: (e[0], e[1])
    )
    level = best = 0
    for _, step in edges:
        level += step
        best = max(best, level)
    return best


def _session_record(
    session_id: str,
    meeting_id: str,
    title: str,
    rows: Sequence[_Row],
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
        "created_at": _iso(start - 0.35),
        "started_at": _iso(start),
        "ended_at": None if live else _iso(end),
        "updated_at": _iso(end if not live else max(r.left_s for r in rows)),
        "live_participants": sum(r.still_present for r in rows) if live else 0,
        "max_concurrent_participants": _max_concurrent(rows),
        "minutes_consumed": round(sum((r.left_s - r.joined_s) / 60.0 for r in rows), 4),
        "meta": meta,
        "breakout_rooms": [],
    }


# ----------------------------------------------------------------------------------------------------
# the quality time series: all rows x samples at once
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Series:
    """Per-row x per-sample arrays of everything the quality records are built from."""

    t: np.ndarray  # epoch seconds of each sample
    badness: np.ndarray  # 0 (perfect network) .. 1 (unusable)
    audio_quality: np.ndarray  # 0-100
    video_quality: np.ndarray
    audio_jitter_ms: np.ndarray
    video_jitter_ms: np.ndarray
    audio_lost: np.ndarray  # packets lost in the interval
    video_lost: np.ndarray
    concealment: np.ndarray
    rtt_s: np.ndarray
    fps: np.ndarray
    frames_dropped: np.ndarray
    frame_width: np.ndarray
    frame_height: np.ndarray
    cpu_limited: np.ndarray  # bool
    audio_packets: float
    video_packets: float


def _series(rng: _Draws, rows: Sequence[_Row], samples: int) -> _Series:
    n = len(rows)
    poor = np.array([r.profile.poor_network for r in rows], dtype=bool)[:, None]
    weak = np.array([r.profile.weak_cpu for r in rows], dtype=bool)[:, None]
    joined = np.array([r.joined_s for r in rows])[:, None]
    steps = np.arange(samples)[None, :]
    t = joined + 3.0 + SAMPLE_INTERVAL_S * steps + rng.gen.uniform(-0.3, 0.3, size=(n, samples))
    # an AR(1) process per row: conditions drift and come in bursts rather than as white noise
    shocks = rng.gen.normal(size=(n, samples))
    drift = np.empty((n, samples))
    drift[:, 0] = shocks[:, 0]
    for k in range(1, samples):
        drift[:, k] = 0.75 * drift[:, k - 1] + 0.66 * shocks[:, k]
    blips = (rng.gen.random((n, samples)) < 0.03) * rng.gen.uniform(0.15, 0.35, size=(n, samples))
    badness = np.where(
        poor,
        np.clip(0.5 + 0.22 * drift, 0.12, 1.0),
        np.clip(0.05 + 0.025 * drift + blips, 0.0, 0.5),
    )
    noise = rng.gen.normal(size=(6, n, samples))
    audio_quality = np.clip(98.0 - 92.0 * badness + 2.5 * noise[0], 0.0, 100.0)
    video_quality = np.clip(97.0 - 95.0 * badness - 12.0 * weak + 3.0 * noise[1], 0.0, 100.0)
    audio_jitter = np.clip(2.0 + 60.0 * badness + 110.0 * badness**2 + 1.2 * noise[2], 0.5, None)
    video_jitter = np.clip(3.0 + 70.0 * badness + 130.0 * badness**2 + 1.5 * noise[3], 0.5, None)
    audio_packets = AUDIO_PACKETS_PER_S * SAMPLE_INTERVAL_S
    video_packets = VIDEO_PACKETS_PER_S * SAMPLE_INTERVAL_S
    loss_fraction = np.clip(0.001 + 0.3 * badness**2.2, 0.0, 0.9)
    audio_lost = rng.gen.binomial(int(audio_packets), loss_fraction)
    video_lost = rng.gen.binomial(int(video_packets), loss_fraction)
    concealment = rng.gen.poisson(0.5 + 45.0 * badness**2)
    rtt_s = np.clip(0.025 + 0.55 * badness**1.5 + 0.006 * np.abs(noise[4]), 0.005, None)
    cpu_limited = weak & (rng.gen.random((n, samples)) < 0.8)
    fps = np.clip(30.0 - 16.0 * badness - 13.0 * cpu_limited + 1.2 * noise[5], 1.0, 30.0)
    frames_dropped = rng.gen.poisson(0.3 + 25.0 * badness**2 + 30.0 * cpu_limited)
    tier = np.where(badness < 0.25, 0, np.where(badness < 0.55, 1, 2)) + cpu_limited
    widths = np.array([1280, 640, 320, 320])
    heights = np.array([720, 360, 180, 180])
    return _Series(
        t=t,
        badness=badness,
        audio_quality=audio_quality,
        video_quality=video_quality,
        audio_jitter_ms=audio_jitter,
        video_jitter_ms=video_jitter,
        audio_lost=audio_lost,
        video_lost=video_lost,
        concealment=concealment,
        rtt_s=rtt_s,
        fps=fps,
        frames_dropped=frames_dropped,
        frame_width=widths[np.minimum(tier, 3)],
        frame_height=heights[np.minimum(tier, 3)],
        cpu_limited=cpu_limited,
        audio_packets=audio_packets,
        video_packets=video_packets,
    )


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


# ---------------------------------------------------------------- participant details (seed blocks)


def _details_peer_stats(row: _Row, s: _Series) -> dict[str, Any]:
    p = row.profile
    loc = p.location
    browser, engine, version, user_agent = p.browser
    mean_bad = float(s.badness[row.index].mean())
    events = [
        {"timestamp": _iso(row.joined_s - 6.0), "type": "PRECALL_TEST_BEGIN"},
        {"timestamp": _iso(row.joined_s - 2.5), "type": "PRECALL_TEST_COMPLETE"},
        {"timestamp": _iso(row.joined_s - 0.5), "type": "CALL_JOIN_BEGIN"},
        {"timestamp": _iso(row.joined_s + 1.2), "type": "AUDIO_ON"},
        {"timestamp": _iso(row.joined_s + 1.9), "type": "VIDEO_ON"},
    ]
    worst = int(np.argmax(s.badness[row.index]))
    if p.poor_network:
        events.append({"timestamp": _iso(s.t[row.index, worst]), "type": "NETWORK_QUALITY_POOR"})
    if p.weak_cpu:
        events.append({"timestamp": _iso(s.t[row.index, min(2, s.t.shape[1] - 1)]), "type": "CPU_LIMITED"})
    if not row.still_present:
        events.append({"timestamp": _iso(row.left_s), "type": "CALL_LEAVE"})
    events.sort(key=lambda e: e["timestamp"])
    return {
        "config": "GROUP_CALL",
        "device_info": {
            "browser": browser,
            "browser_version": version,
            "cpus": p.cpus,
            "engine": engine,
            "is_mobile": p.os[2],
            "memory": p.memory_gb,
            "os": p.os[0],
            "os_version": p.os[1],
            "sdk_name": "web-core",
            "sdk_version": p.sdk_version,
            "user_agent": user_agent,
            "webgl_support": "true" if p.webgl else "false",
        },
        "events": events,
        "ip_information": {
            "city": loc[1],
            "country": loc[0],
            "ip_location": f"{loc[4]},{loc[5]}",
            "ipv4": p.ipv4,
            "org": f"{loc[7]} {loc[8]}",
            "portal": "",
            "region": loc[2],
            "timezone": loc[3],
        },
        "precall_network_information": _precall(p, mean_bad, spelling="throughtput"),
        "status": "left" if not row.still_present else "joined",
    }


def _precall(p: _Profile, badness: float, *, spelling: str) -> dict[str, Any]:
    """Pre-call test results (ms, ms, 0-1, kbit/s); ``spelling`` is the wire's key for throughput."""
    return {
        "backend_rtt": _r(30.0 + 400.0 * badness**1.5, 1),
        "effective_networktype": p.network_type,
        "fractional_loss": _r(0.001 + 0.2 * badness**2, 4),
        "jitter": _r(2.0 + 60.0 * badness, 1),
        "reflexive_connectivity": True,
        "relay_connectivity": not p.poor_network,
        "rtt": _r(25.0 + 450.0 * badness**1.5, 1),
        spelling: _r(NETWORK_THROUGHPUT_KBPS[p.network_type] * (1.0 - 0.8 * badness), 0),
        "turn_connectivity": True,
    }


def _quality_segments(row: _Row, s: _Series, samples_per_segment: int = 20) -> list[dict[str, Any]]:
    i = row.index
    t = s.t[i]
    segments = []
    for lo in range(0, len(t), samples_per_segment):
        hi = min(lo + samples_per_segment, len(t))
        audio = [
            {
                "timestamp": _iso(t[k]),
                "quality": _r(s.audio_quality[i, k], 1),
                "jitter": _r(s.audio_jitter_ms[i, k], 2),
                "packets_lost": int(s.audio_lost[i, k]),
                "concealment_events": int(s.concealment[i, k]),
            }
            for k in range(lo, hi)
        ]
        video = [
            {
                "timestamp": _iso(t[k]),
                "quality": _r(s.video_quality[i, k], 1),
                "jitter": _r(s.video_jitter_ms[i, k], 2),
                "packets_lost": int(s.video_lost[i, k]),
                "frame_width": int(s.frame_width[i, k]),
                "frame_height": int(s.frame_height[i, k]),
                "frames_per_second": _r(s.fps[i, k], 1),
                "frames_dropped": int(s.frames_dropped[i, k]),
            }
            for k in range(lo, hi)
        ]
        bad = s.badness[i, lo:hi]
        segments.append(
            {
                "peer_id": row.peer_id,
                "start": _iso(max(row.joined_s, t[lo] - SAMPLE_INTERVAL_S)),
                "end": _iso(t[hi - 1]),
                "average_quality": _r(
                    (s.audio_quality[i, lo:hi].mean() + s.video_quality[i, lo:hi].mean()) / 2, 2
                ),
                "audio_bandwidth": _r(AUDIO_BITRATE_KBPS * (1.0 - 0.4 * bad.mean()), 2),
                "audio_packet_loss": _r(
                    100.0 * s.audio_lost[i, lo:hi].sum() / (s.audio_packets * (hi - lo)), 3
                ),
                "video_bandwidth": _r(VIDEO_BITRATE_KBPS * (1.0 - 0.8 * bad.mean()), 1),
                "video_packet_loss": _r(
                    100.0 * s.video_lost[i, lo:hi].sum() / (s.video_packets * (hi - lo)), 3
                ),
                "audio_stats": audio,
                "video_stats": video,
            }
        )
    return segments


def _details_builder(rows: dict[str, _Row], s: _Series):
    def build(peer_id: str) -> dict[str, Any]:
        row = rows[peer_id]
        return {"peer_stats": _details_peer_stats(row, s), "quality_stats": _quality_segments(row, s)}

    return build


# ---------------------------------------------------------------- peer reports (SDK shapes)


def _fractions(values: np.ndarray, thresholds: Sequence[float], keys: Sequence[str]) -> dict[str, float]:
    return {key: _r((values >= th).mean(), 4) for key, th in zip(keys, thresholds, strict=True)}


def _loss_block(lost: np.ndarray, packets: float) -> dict[str, float]:
    percent = 100.0 * lost / packets
    block = _fractions(
        percent,
        (10, 25, 5, 50),
        (
            "10_or_greater_event_fraction",
            "25_or_greater_event_fraction",
            "5_or_greater_event_fraction",
            "50_or_greater_event_fraction",
        ),
    )
    block["avg"] = _r(percent.mean(), 3)
    return block


def _ms_block(values_ms: np.ndarray) -> dict[str, float]:
    block = _fractions(
        values_ms,
        (100, 250, 500),
        (
            "100ms_or_greater_event_fraction",
            "250ms_or_greater_event_fraction",
            "500ms_or_greater_event_fraction",
        ),
    )
    block["avg"] = _r(values_ms.mean(), 2)
    return block


def _percentiles(values: np.ndarray, digits: int = 3) -> dict[str, float]:
    p50, p75, p90 = np.percentile(values, [50, 75, 90])
    return {
        "avg": _r(values.mean(), digits),
        "p50": _r(p50, digits),
        "p75": _r(p75, digits),
        "p90": _r(p90, digits),
    }


def _mos(quality: np.ndarray) -> np.ndarray:
    return np.clip(1.0 + 3.5 * quality / 100.0, 1.0, 4.5)


def _records(n: int, **columns: Any) -> list[dict[str, Any]]:
    """``n`` per-sample dicts from columns: lists (one value per sample) or scalars (the same in each)."""
    keys = list(columns)
    values = [value if isinstance(value, list) else [value] * n for value in columns.values()]
    return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]


def _floats(values: np.ndarray, digits: int) -> list[float]:
    return np.round(values.astype(float), digits).tolist()


def _ints(values: np.ndarray) -> list[int]:
    return np.asarray(values).astype(np.int64).tolist()


def _peer_quality(row: _Row, s: _Series) -> dict[str, Any]:
    i = row.index
    n = s.t.shape[1]
    ts = [_iso(x) for x in s.t[i]]
    a_mos, v_mos = _mos(s.audio_quality[i]), _mos(s.video_quality[i])
    a_sent = np.cumsum(np.full(n, s.audio_packets))
    v_sent = np.cumsum(np.full(n, s.video_packets))
    a_lost_cum, v_lost_cum = np.cumsum(s.audio_lost[i]), np.cumsum(s.video_lost[i])
    frames = np.cumsum(s.fps[i] * SAMPLE_INTERVAL_S)
    cpu = s.cpu_limited[i]
    bandwidth = (s.badness[i] > 0.45) & ~cpu
    reason = np.where(cpu, "cpu", np.where(bandwidth, "bandwidth", "none")).tolist()
    dur_cpu, dur_bw = np.cumsum(cpu * SAMPLE_INTERVAL_S), np.cumsum(bandwidth * SAMPLE_INTERVAL_S)
    dur_none = np.cumsum(np.full(n, SAMPLE_INTERVAL_S)) - dur_cpu - dur_bw
    jb_delay_ms = 20.0 + 0.9 * s.audio_jitter_ms[i] + 60.0 * s.badness[i]
    steps = np.arange(n)
    seed_ssrc = int(uuid.UUID(row.peer_id).int % 4_000_000_000)
    common = {"rtt": _floats(s.rtt_s[i], 4), "timestamp": ts}
    audio_jitter_s, video_jitter_s = (
        _floats(s.audio_jitter_ms[i] / 1000, 5),
        _floats(s.video_jitter_ms[i] / 1000, 5),
    )
    key_frames = _ints(1 + steps // 10)
    audio_producer = _records(
        n,
        bytes_sent=_floats(a_sent * 80.0, 0),
        jitter=audio_jitter_s,
        mid="0",
        mos_quality=_floats(a_mos, 3),
        packets_lost=_ints(a_lost_cum),
        packets_sent=_ints(a_sent),
        producer_id=f"{row.peer_id[:8]}-a",
        ssrc=seed_ssrc,
        **common,
    )
    durations = _records(
        n, bandwidth=_floats(dur_bw, 1), cpu=_floats(dur_cpu, 1), none=_floats(dur_none, 1), other=0.0
    )
    video_producer = _records(
        n,
        bytes_sent=_floats(v_sent * 1100.0, 0),
        fir_count=0,
        frame_height=_ints(s.frame_height[i]),
        frame_width=_ints(s.frame_width[i]),
        frames_encoded=_ints(frames),
        frames_per_second=_floats(s.fps[i], 1),
        jitter=video_jitter_s,
        key_frames_encoded=key_frames,
        mid="1",
        mos_quality=_floats(v_mos, 3),
        packets_lost=_ints(v_lost_cum),
        packets_sent=_ints(v_sent),
        pli_count=_ints(steps * s.badness[i]),
        producer_id=f"{row.peer_id[:8]}-v",
        quality_limitation_durations=durations,
        quality_limitation_reason=reason,
        quality_limitation_resolution_changes=_ints(steps * 0.1 * cpu),
        ssrc=seed_ssrc + 1,
        **common,
    )
    remote = row.remote_peer_id or row.peer_id
    a_received, v_received = a_sent - a_lost_cum, v_sent - v_lost_cum
    audio_consumer = _records(
        n,
        bytes_received=_floats(a_received * 80.0, 0),
        concealment_events=_ints(np.cumsum(s.concealment[i])),
        consumer_id=f"{row.peer_id[:8]}-ca",
        jitter=audio_jitter_s,
        jitter_buffer_delay=_floats(np.cumsum(jb_delay_ms) / 1000 * 50, 3),
        jitter_buffer_emitted_count=_ints(a_received),
        mid="2",
        mos_quality=_floats(a_mos, 3),
        packets_lost=_ints(a_lost_cum),
        packets_received=_ints(a_received),
        peer_id=remote,
        producer_id=f"{remote[:8]}-a",
        ssrc=seed_ssrc + 2,
        timestamp=ts,
    )
    video_consumer = _records(
        n,
        bytes_received=_floats(v_received * 1100.0, 0),
        consumer_id=f"{row.peer_id[:8]}-cv",
        fir_count=0,
        frame_height=_ints(s.frame_height[i]),
        frame_width=_ints(s.frame_width[i]),
        frames_decoded=_ints(frames),
        frames_dropped=_ints(np.cumsum(s.frames_dropped[i])),
        frames_per_second=_floats(s.fps[i], 1),
        jitter=video_jitter_s,
        jitter_buffer_delay=_floats(np.cumsum(jb_delay_ms) / 1000 * 30, 3),
        jitter_buffer_emitted_count=_ints(frames),
        key_frames_decoded=key_frames,
        mid="3",
        mos_quality=_floats(v_mos, 3),
        packets_lost=_ints(v_lost_cum),
        packets_received=_ints(v_received),
        peer_id=remote,
        producer_id=f"{remote[:8]}-v",
        ssrc=seed_ssrc + 3,
        timestamp=ts,
    )
    width = s.frame_width[i].astype(float)
    poor_res = (width < 640).mean()
    return {
        "audio_producer": audio_producer,
        "audio_producer_cumulative": {
            "packet_loss": _loss_block(s.audio_lost[i], s.audio_packets),
            "quality_mos": _percentiles(a_mos),
            "rtt": _ms_block(s.rtt_s[i] * 1000.0),
        },
        "audio_consumer": audio_consumer,
        "audio_consumer_cumulative": {
            "jitter_buffer_delay": _ms_block(jb_delay_ms),
            "packet_loss": _loss_block(s.audio_lost[i], s.audio_packets),
            "quality_mos": _percentiles(a_mos),
        },
        "video_producer": video_producer,
        "video_producer_cumulative": {
            "frame_per_second": _percentiles(s.fps[i], 2),
            "frame_width": _percentiles(width, 1),
            "high_negative_feedback_fraction": _r((s.badness[i] > 0.6).mean(), 4),
            "issues": {
                "bandwidth_quality_limitation_fraction": _r(bandwidth.mean(), 4),
                "cpu_quality_limitation_fraction": _r(cpu.mean(), 4),
                "no_video_fraction": 0.0,
                "poor_resolution_fraction": _r(poor_res, 4),
                "quality_limitation_fraction": _r((cpu | bandwidth).mean(), 4),
            },
            "key_frames_encoded_fraction": _r(1.0 / (10.0 * 30.0), 5),
            "packet_loss": _loss_block(s.video_lost[i], s.video_packets),
            "quality_mos": _percentiles(v_mos),
            "rtt": _ms_block(s.rtt_s[i] * 1000.0),
        },
        "video_consumer": video_consumer,
        "video_consumer_cumulative": {
            "frame_per_second": _percentiles(s.fps[i], 2),
            "frame_width": _percentiles(width, 1),
            "issues": {
                "lag_fraction": _r((s.video_jitter_ms[i] > 60).mean(), 4),
                "no_video_fraction": 0.0,
                "poor_resolution_fraction": _r(poor_res, 4),
            },
            "jitter_buffer_delay": _ms_block(jb_delay_ms),
            "key_frames_decoded_fraction": _r(1.0 / (10.0 * 30.0), 5),
            "packet_loss": _loss_block(s.video_lost[i], s.video_packets),
            "quality_mos": _percentiles(v_mos),
        },
        **{
            f"screenshare_{kind}": []
            for kind in ("audio_consumer", "audio_producer", "video_consumer", "video_producer")
        },
        **{
            f"screenshare_{kind}_cumulative": {}
            for kind in ("audio_consumer", "audio_producer", "video_consumer", "video_producer")
        },
    }


def _peer_metadata(row: _Row, s: _Series) -> dict[str, Any]:
    p = row.profile
    loc = p.location
    browser, engine, version, user_agent = p.browser
    mic = {
        "device_id": f"mic-{row.user_id[:6]}",
        "kind": "audioinput",
        "label": "Default - Built-in Microphone",
    }
    cam = {"device_id": f"cam-{row.user_id[:6]}", "kind": "videoinput", "label": "FaceTime HD Camera"}
    pair = {
        "available_outgoing_bitrate": _r(
            VIDEO_BITRATE_KBPS * 1000 * (1 - 0.7 * s.badness[row.index].mean()), 0
        ),
        "bytes_discarded_on_send": 0,
        "bytes_received": 1_250_000,
        "bytes_sent": 9_800_000,
        "current_round_trip_time": _r(s.rtt_s[row.index, -1], 4),
        "last_packet_received_timestamp": round(float(s.t[row.index, -1]) * 1000),
        "last_packet_sent_timestamp": round(float(s.t[row.index, -1]) * 1000),
        "local_candidate_address": p.ipv4,
        "local_candidate_id": f"lc-{row.peer_id[:6]}",
        "local_candidate_network_type": "cellular" if p.network_type in ("3g", "4g") else p.network_type,
        "local_candidate_port": 50_000 + row.index % 10_000,
        "local_candidate_protocol": "udp",
        "local_candidate_related_address": "192.168.1.23",
        "local_candidate_related_port": 50_000 + row.index % 10_000,
        "local_candidate_type": "srflx",
        "nominated": True,
        "packets_discarded_on_send": 0,
        "packets_received": 9_000,
        "packets_sent": 52_000,
        "remote_candidate_address": "198.41.200.10",
        "remote_candidate_id": f"rc-{row.peer_id[:6]}",
        "remote_candidate_port": 443,
        "remote_candidate_protocol": "udp",
        "remote_candidate_type": "host",
        "total_round_trip_time": _r(s.rtt_s[row.index].sum(), 3),
    }
    return {
        "audio_devices_updates": [{"added": [mic], "removed": [], "timestamp": _iso(row.joined_s - 1.0)}],
        "browser_metadata": {
            "browser": browser,
            "browser_version": version,
            "engine": engine,
            "user_agent": user_agent,
            "webgl_support": p.webgl,
        },
        "candidate_pairs": {
            "consuming_transport": [dict(pair, bytes_sent=40_000, available_incoming_bitrate=2_500_000)],
            "producing_transport": [pair],
        },
        "device_info": {"cpus": p.cpus, "is_mobile": p.os[2], "os": p.os[0], "os_version": p.os[1]},
        "events": [
            {
                "name": "precall_end",
                "timestamp": _iso(row.joined_s - 2.5),
                "metadata": {"rtt_ms": _r(s.rtt_s[row.index, 0] * 1000, 1), "network_type": p.network_type},
            },
            {"name": "room_joined", "timestamp": _iso(row.joined_s), "metadata": {"reconnect": False}},
        ]
        + (
            []
            if row.still_present
            else [{"name": "room_left", "timestamp": _iso(row.left_s), "metadata": {"reason": "user_left"}}]
        ),
        "ip_information": {
            "asn": {"asn": loc[7], "domain": "", "name": loc[8], "route": f"{loc[6]}.0.0/16", "type": "isp"},
            "city": loc[1],
            "country": loc[0],
            "ipv4": p.ipv4,
            "org": loc[8],
            "region": loc[2],
            "timezone": loc[3],
        },
        "pc_metadata": [
            {
                "effective_network_type": p.network_type,
                "reflexive_connectivity": True,
                "relay_connectivity": not p.poor_network,
                "timestamp": _iso(row.joined_s + 0.5),
                "turn_connectivity": True,
            }
        ],
        "room_view_type": "GROUP_CALL",
        "sdk_name": "web-core",
        "sdk_type": "web",
        "sdk_version": p.sdk_version,
        "selected_device_updates": [{"device": cam, "timestamp": _iso(row.joined_s + 1.5)}],
        "speaker_devices_updates": [],
        "video_devices_updates": [{"added": [cam], "removed": [], "timestamp": _iso(row.joined_s - 1.0)}],
    }


def _report_peer_stats(row: _Row, s: _Series) -> dict[str, Any]:
    p = row.profile
    loc = p.location
    browser, engine, version, user_agent = p.browser
    bad = float(s.badness[row.index].mean())
    precall = _precall(p, bad, spelling="throughput")
    return {
        "device_info": {
            "browser": browser,
            "browser_version": version,
            "cpus": p.cpus,
            "engine": engine,
            "is_mobile": p.os[2],
            "os": p.os[0],
            "os_version": p.os[1],
            "sdk_name": "web-core",
            "sdk_version": p.sdk_version,
            "user_agent": user_agent,
            "webgl_support": "true" if p.webgl else "false",
        },
        "events": [
            {
                "metadata": {
                    "connection_info": {
                        "backend_r_t_t": precall["backend_rtt"],
                        "connectivity": {"host": True, "reflexive": True, "relay": not p.poor_network},
                        "effective_network_type": p.network_type,
                        "fractional_loss": precall["fractional_loss"],
                        "ip_details": {
                            "asn": {"asn": loc[7]},
                            "city": loc[1],
                            "country": loc[0],
                            "ip": p.ipv4,
                            "loc": f"{loc[4]},{loc[5]}",
                            "postal": "",
                            "region": loc[2],
                            "timezone": loc[3],
                        },
                        "jitter": precall["jitter"],
                        "location": {"coords": {"latitude": loc[4], "longitude": loc[5]}},
                        "r_t_t": precall["rtt"],
                        "throughput": precall["throughput"],
                        "turn_connectivity": True,
                    }
                },
                "timestamp": _iso(row.joined_s - 2.5),
                "type": "PRECALL_TEST_COMPLETE",
            }
        ],
        "ip_information": {
            "asn": {"asn": loc[7]},
            "city": loc[1],
            "country": loc[0],
            "ip_location": f"{loc[4]},{loc[5]}",
            "ipv4": p.ipv4,
            "org": loc[8],
            "region": loc[2],
            "timezone": loc[3],
        },
        "precall_network_information": precall,
    }


def _quality_totals(row: _Row, s: _Series) -> dict[str, Any]:
    i = row.index
    n = s.t.shape[1]
    return {
        "audio_bandwidth": _r(AUDIO_BITRATE_KBPS * (1.0 - 0.4 * s.badness[i].mean()), 2),
        "audio_stats": [],
        "average_quality": _r((s.audio_quality[i].mean() + s.video_quality[i].mean()) / 2, 2),
        "end": _iso(s.t[i, -1]),
        "first_audio_packet_received": _iso(row.joined_s + 1.3),
        "first_video_packet_received": _iso(row.joined_s + 2.0),
        "last_audio_packet_received": _iso(s.t[i, -1]),
        "last_video_packet_received": _iso(s.t[i, -1]),
        "peer_ids": [row.peer_id],
        "start": _iso(row.joined_s),
        "total_audio_packets": int(s.audio_packets * n),
        "total_audio_packets_lost": int(s.audio_lost[i].sum()),
        "total_video_packets": int(s.video_packets * n),
        "total_video_packets_lost": int(s.video_lost[i].sum()),
        "video_bandwidth": _r(VIDEO_BITRATE_KBPS * (1.0 - 0.8 * s.badness[i].mean()), 1),
        "video_stats": [],
    }


def _report_builder(rows: dict[str, _Row], s: _Series):
    def build(peer_id: str) -> dict[str, Any]:
        row = rows[peer_id]
        return {
            "role": row.preset_name,
            "peer_report": {"metadata": _peer_metadata(row, s), "quality": _peer_quality(row, s)},
            "peer_stats": _report_peer_stats(row, s),
            "quality_stats": _quality_totals(row, s),
        }

    return build


# ---------------------------------------------------------------- chat, transcripts, summaries


def _chat_payload(rng: _Draws, session_id: str, k: int) -> dict[str, str]:
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


def _chat(rng: _Draws, session: dict[str, Any], rows: Sequence[_Row]) -> list[dict[str, Any]]:
    count = max(2, round(len(rows) * 1.5))
    senders = rng.gen.integers(0, len(rows), size=count)
    messages = []
    for k, idx in enumerate(senders):
        row = rows[int(idx)]
        moment = rng.uniform(row.joined_s + 2.0, row.left_s - 1.0)
        messages.append(
            {
                "id": _derived_id(f"{session['id']}/chat/{k}"),
                "participantId": row.peer_id,
                "sessionId": session["id"],
                "meetingId": session["associated_id"],
                "displayName": row.display_name,
                "pinned": bool(rng.random() < 0.05),
                "isEdited": bool(rng.random() < 0.1),
                **_chat_payload(rng, session["id"], k),
                "createdAt": _iso(moment),
                "_epoch_s": moment,
            }
        )
    messages.sort(key=lambda m: m["_epoch_s"])
    for m in messages:
        del m["_epoch_s"]
    return messages


def _transcript(
    rng: _Draws, session: dict[str, Any], rows: Sequence[_Row], start_s: float
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


# ---------------------------------------------------------------- assembly


def generate(
    sessions: int = 5,
    participants: int = 8,
    samples: int = 60,
    seed: int = 0,
    *,
    account_id: str | None = None,
    app_id: str | None = None,
    breakout_rooms: bool | None = None,
    messy: bool = False,
) -> Dataset:
    """Generate a realistic dataset: ``sessions`` meetings of ``participants`` rows each.

    Args:
        sessions: top-level sessions (breakout rooms come on top, for some sessions of 6+ rows).
        participants: participant rows per session, rejoins included (a rejoin is a second row).
        samples: quality samples per participant row, ~7 s apart (the row lasts at least that long).
        seed: the numpy random seed; the same arguments give the same dataset.
        account_id, app_id: the ids the data belongs to (default: derived from ``seed``).
        breakout_rooms: ``None``: every third session of 6+ rows gets two breakout rooms;
            ``True``: every session of 6+ rows does; ``False``: none does.
        messy: add the wire's known quirks (see :func:`add_quirks`), listed in ``Dataset.quirks``.

    Example:
        >>> ds = generate(sessions=1, participants=3, samples=5, seed=7)
        >>> len(ds.details[ds.participants[ds.sessions[0]["id"]][0]["id"]]["quality_stats"][0]["audio_stats"])
        5
    """
    if sessions < 0 or participants < 1 or samples < 1:
        raise ValueError("need sessions >= 0, participants >= 1 and samples >= 1")
    rng = _Draws(seed)
    account_id = account_id or rng.uuid().replace("-", "")
    app_id = app_id or _uuid(rng)
    min_presence_s = samples * SAMPLE_INTERVAL_S + 10.0
    days = max(3, sessions // 3)
    starts = np.sort(
        FIRST_DAY_EPOCH_S
        + rng.gen.integers(0, days, size=sessions) * SECONDS_PER_DAY
        + rng.gen.uniform(8 * 3600, 18 * 3600, size=sessions)
    )
    all_rows: list[_Row] = []
    session_rows: dict[str, list[_Row]] = {}
    plans: list[tuple[str, str, str, float, bool, list[str]]] = []
    for k in range(sessions):
        session_id, meeting_id = _uuid(rng), _uuid(rng)
        title = rng.pick(MEETING_TITLES)
        rows = _session_rows(rng, session_id, float(starts[k]), participants, min_presence_s, len(all_rows))
        all_rows.extend(rows)
        live = sessions >= 3 and k == sessions - 1
        if live:
            _still_in_the_call(rows, min_presence_s)
        session_rows[session_id] = rows
        children: list[str] = []
        wants_rooms = k % 3 == 1 if breakout_rooms is None else breakout_rooms
        if wants_rooms and participants >= 6:
            for room in range(2):
                child_id = _uuid(rng)
                child_rows = _breakout_rows(rng, child_id, rows[room::2], min_presence_s, len(all_rows))
                if child_rows:
                    all_rows.extend(child_rows)
                    session_rows[child_id] = child_rows
                    children.append(child_id)
        plans.append((session_id, meeting_id, title, float(starts[k]), live, children))
    for rows in session_rows.values():
        for r in rows:
            r.remote_peer_id = _someone_else(rng, r, rows)
            r.record = _participant_record(r)
    series = _series(rng, all_rows, samples)

    ds = Dataset(account_id=account_id, app_id=app_id)
    for index, (session_id, meeting_id, title, _start, live, children) in enumerate(plans):
        rows = session_rows[session_id]
        meta = {
            "recorded": bool(rng.random() < 0.4),
            "transcription": True,
            "region": "ap-south-1" if rows[0].profile.location[0] == "IN" else "us-east-1",
        }
        session = _session_record(session_id, meeting_id, title, rows, live=live, org_id=app_id, meta=meta)
        ds.sessions.append(session)
        ds.participants[session_id] = [r.record for r in rows]
        for room, child_id in enumerate(children, start=1):
            child = _session_record(
                child_id,
                _uuid(rng),
                f"{title} — breakout room {room}",
                session_rows[child_id],
                live=False,
                org_id=app_id,
                meta={"parent_session_id": session_id, "breakout_room": True},
            )
            ds.breakout_rooms.setdefault(session_id, []).append(child)
            ds.participants[child_id] = [r.record for r in session_rows[child_id]]
        ds.chats[session_id] = _chat(rng, session, rows)
        start_s = datetime.fromisoformat(session["started_at"].replace("Z", "+00:00")).timestamp()
        ds.transcripts[session_id] = _transcript(rng, session, rows, start_s)
        ds.transcript_generation[session_id] = GENERATION_CYCLE[index % len(GENERATION_CYCLE)]
        if not live and rng.random() < 0.6:
            ds.summaries[session_id] = summary_text(session, ds.transcripts[session_id])
    by_peer = {r.peer_id: r for r in all_rows}
    ds.details = LazyRecords(list(by_peer), _details_builder(by_peer, series))
    ds.peer_reports = LazyRecords(list(by_peer), _report_builder(by_peer, series))
    if messy:
        add_quirks(ds)
    return ds


# ---------------------------------------------------------------- messy data: the wire's known quirks


def _patched(records: Any, patches: dict[str, Callable[[dict[str, Any]], None]]) -> LazyRecords:
    """``records`` with ``patches[key](record)`` applied to a copy of each patched record on access."""

    def build(key: str) -> dict[str, Any]:
        record = records[key]
        if key in patches:
            record = copy.deepcopy(record)
            patches[key](record)
        return record

    return LazyRecords(list(records), build)


def add_quirks(ds: Dataset) -> Dataset:
    """Add the messy cases real payloads carry, each listed in ``ds.quirks`` as ``{"where", "what"}``.

    Needs a session with 4+ participants. Quirks: a ``joined_at`` with a stray quote (as in the
    reference's own example), a ``duration`` sent as text, a ``left_at`` missing in an ENDED session, an
    empty ``custom_participant_id`` and display name, a null quality sample, a video sample without
    ``frames_per_second``, an empty quality segment, a null per-sample ``rtt`` and an empty cumulative
    block in a peer report, a chat message from someone not in the participant list (a recorder) and
    an utterance from a dial-in caller who is not in it either. The result no longer validates against
    the SDK models everywhere: that is the point.

    Example:
        >>> ds = add_quirks(generate(sessions=1, participants=5, samples=3, seed=2))
        >>> len(ds.quirks) >= 8
        True
    """
    session = next((s for s in ds.sessions if len(ds.participants[s["id"]]) >= 4), None)
    if session is None:
        raise ValueError("add_quirks needs a session with 4 or more participants")
    sid = session["id"]
    rows = ds.participants[sid]
    noted = ds.quirks.append

    def note(where: str, what: str) -> None:
        noted({"where": where, "what": what})

    rows[1]["joined_at"] += '"'
    note(f"participants[{sid}][1].joined_at", "stray double quote after the timestamp")
    rows[2]["duration"] = str(rows[2]["duration"])
    note(f"participants[{sid}][2].duration", "number sent as text")
    rows[3]["custom_participant_id"], rows[3]["display_name"] = None, ""
    note(f"participants[{sid}][3]", "custom_participant_id null and display_name empty")
    if session["status"] == "ENDED":
        last = max(rows, key=lambda r: r["left_at"] or "")
        last["left_at"] = None
        note(
            f"participants[{sid}][{rows.index(last)}].left_at", "null in an ENDED session (leave never seen)"
        )
    peer = rows[0]["id"]

    def details_quirks(record: dict[str, Any]) -> None:
        segment = record["quality_stats"][0]
        segment["audio_stats"][min(1, len(segment["audio_stats"]) - 1)]["quality"] = None
        segment["video_stats"][0].pop("frames_per_second", None)
        record["quality_stats"].append(dict(segment, audio_stats=[], video_stats=[]))

    def report_quirks(record: dict[str, Any]) -> None:
        quality = record["peer_report"]["quality"]
        quality["audio_producer"][0]["rtt"] = None
        quality["video_consumer_cumulative"] = {}

    ds.details = _patched(ds.details, {peer: details_quirks})
    ds.peer_reports = _patched(ds.peer_reports, {peer: report_quirks})
    note(
        f"details[{peer}].quality_stats",
        "a null quality, a video sample without frames_per_second, an empty segment",
    )
    note(f"peer_reports[{peer}].peer_report.quality", "a null rtt sample, an empty video_consumer_cumulative")
    chat = ds.chats.setdefault(sid, [])
    chat.append(
        dict(
            chat[0] if chat else {},
            id=_derived_id(f"{sid}/recorder"),
            participantId=_derived_id(f"{sid}/recorder-peer"),
            displayName="Recorder",
            payloadType="TEXT_MESSAGE",
            payload="Recording started",
            createdAt=session["started_at"],
            sessionId=sid,
            meetingId=session["associated_id"],
            pinned=False,
            isEdited=False,
        )
    )
    note(f"chats[{sid}][-1]", "message from a participant that is not in the participant list")
    utterances = ds.transcripts.setdefault(sid, [])
    utterances.insert(
        0,
        {
            "start_ms": 500,
            "end_ms": 2500,
            "peer_id": _derived_id(f"{sid}/dial-in"),
            "user_id": "",
            "custom_participant_id": "",
            "name": "Dial-in user",
            "text": "Hi, I'm on the phone.",
            "joined_at": session["started_at"],
            "left_at": "",
        },
    )
    note(f"transcripts[{sid}][0]", "utterance from a dial-in caller not in the participant list")
    return ds


def _still_in_the_call(rows: Sequence[_Row], min_presence_s: float) -> None:
    """Make a session LIVE at "now": the first moment every row's samples fit; whoever has not left by
    then is still in the call (``left_at`` null), and there is always at least one such row."""
    now = max(r.joined_s for r in rows) + min_presence_s
    staying = [r for r in rows if r.left_s >= now] or [max(rows, key=lambda r: r.left_s)]
    for r in staying:
        r.still_present, r.left_s = True, now


def _session_rows(
    rng: _Draws, session_id: str, start_s: float, count: int, min_presence_s: float, first_index: int
) -> list[_Row]:
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
    rows: list[_Row] = []
    for u in range(users):
        profile = _profile(rng, poor=bool(poor[u]), weak_cpu=bool(weak[u]))
        user_id, custom = _uuid(rng), _short_id(rng)
        name = _person_name(rng, used)
        preset = PRESETS[0] if u == 0 else rng.pick(PRESETS[1:])
        for joined, left in _presence(rng, start_s, min_presence_s, u in rejoining):
            rows.append(
                _Row(
                    index=first_index + len(rows),
                    session_id=session_id,
                    peer_id=_uuid(rng),
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


def _breakout_rows(
    rng: _Draws, child_id: str, parents: Sequence[_Row], min_presence_s: float, first_index: int
) -> list[_Row]:
    """Rows of one breakout room: some of the parent's users, for a window inside their presence."""
    rows = []
    for parent in parents:
        room_start = parent.joined_s + rng.uniform(20.0, 60.0)
        if room_start + min_presence_s > parent.left_s:
            continue
        rows.append(
            _Row(
                index=first_index + len(rows),
                session_id=child_id,
                peer_id=_uuid(rng),
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


def demo_dataset() -> Dataset:
    """The small hand-shaped dataset behind ``Dataset.from_samples()`` (written to ``data_samples/demo``).

    Three sessions, 3-8 participants each, with one poor-network participant, one weak CPU, one rejoin,
    a hostile display name, a chat message with commas/quotes/newline/emoji, and transcripts in
    different generations.

    Example:
        >>> ds = demo_dataset()
        >>> len(ds.sessions)
        3
    """
    parts = [
        generate(
            sessions=1,
            participants=n,
            samples=24,
            seed=s,
            breakout_rooms=n >= 6,
            account_id="9a7806061c88ada191ed06f989cc3dac",
            app_id="5f0c3a5e-8d4b-4c59-9e0e-7b1f2d3c4a5b",
        )
        for n, s in ((8, 11), (5, 12), (3, 13))
    ]
    ds = Dataset(account_id=parts[0].account_id, app_id=parts[0].app_id)
    for index, part in enumerate(parts):
        for field_name in ("participants", "breakout_rooms", "chats", "transcripts", "summaries"):
            getattr(ds, field_name).update(getattr(part, field_name))
        session = dict(part.sessions[0])
        ds.sessions.append(session)
        ds.details.update({k: part.details[k] for k in part.details})
        ds.peer_reports.update({k: part.peer_reports[k] for k in part.peer_reports})
        ds.transcript_generation[session["id"]] = ("current", "seconds", "iso")[index]
    # keep sessions on different days, as a real account has them
    ds.sessions.sort(key=lambda s: s["started_at"])
    first = ds.sessions[0]["id"]
    users = [row["user_id"] for row in ds.participants[first]]
    hostile = next(row for row in reversed(ds.participants[first]) if users.count(row["user_id"]) == 1)
    _rename(ds, hostile["id"], "<script>alert(1)</script>")
    chat = ds.chats[first]
    if chat:
        chat[0]["payload"] = 'Agenda: budget, "Q3" plans,\nand hiring 🚀 — thoughts?'
    return ds


def _rename(ds: Dataset, peer_id: str, name: str) -> None:
    for rows in ds.participants.values():
        for row in rows:
            if row["id"] == peer_id:
                row["display_name"] = name
    for messages in ds.chats.values():
        for m in messages:
            if m["participantId"] == peer_id:
                m["displayName"] = name
    for utterances in ds.transcripts.values():
        for u in utterances:
            if u["peer_id"] == peer_id:
                u["name"] = name


if __name__ == "__main__":  # python -m rtk_frames.sandbox.synthetic OUT_DIR  (regenerates the demo data)
    import sys

    demo_dataset().to_dir(sys.argv[1] if len(sys.argv) > 1 else "data_samples/demo")
