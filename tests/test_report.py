"""The HTML report: self-contained, parseable, escaped, every image a real PNG, frames beside it."""

from __future__ import annotations

import base64
import binascii
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtk_frames import Session, analyse, collect_session
from rtk_frames.analysis import DEFAULT_THRESHOLDS
from rtk_frames.conversation import EstimatedTalkTimeWarning
from rtk_frames.report import render_session_report

T0 = pd.Timestamp("2026-03-02T10:00:00Z")
HOSTILE = "<script>alert('pwned')</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Collects what a browser would load or run: tags, attributes, image sources, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.event_handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        self.event_handlers.extend(name for name in attributes if name.startswith("on"))
        if tag == "img":
            self.images.append(attributes.get("src") or "")
        if tag in ("a", "link") and "href" in attributes:
            self.links.append(attributes["href"])
        if tag == "script" or (tag == "link" and attributes.get("rel") == "stylesheet"):
            self.links.append(f"<{tag}>")

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> tuple[str, Page]:
    html = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    page.close()
    return html, page


def hand_built_session() -> Session:
    times = pd.date_range(T0, periods=6, freq="7s")
    quality = pd.concat([
        pd.DataFrame({"participant_id": "p-bad", "peer_id": "peer-1", "kind": "audio", "timestamp": times,
                      "quality": [80.0, 30.0, 25.0, 20.0, 22.0, 70.0],
                      "jitter": [5.0, 60.0, 70.0, 80.0, 75.0, 8.0]}),
        pd.DataFrame({"participant_id": "p-ok", "peer_id": "peer-2", "kind": "audio", "timestamp": times,
                      "quality": [90.0] * 6, "jitter": [4.0] * 6}),
    ], ignore_index=True)
    return Session(
        session_id="sess-1",
        session=pd.DataFrame({"session_id": ["sess-1"], "meeting_display_name": ["Plan <b>Q3</b> & more"],
                              "status": ["ENDED"], "started_at": [T0],
                              "ended_at": [T0 + pd.Timedelta(minutes=5)],
                              "max_concurrent_participants": [2], "minutes_consumed": [9.5]}),
        participants=pd.DataFrame({"participant_id": ["p-bad", "p-ok"],
                                   "display_name": [HOSTILE, "Ada & Bob"],
                                   "joined_at": [T0, T0], "left_at": [T0 + pd.Timedelta(minutes=5)] * 2}),
        participant_details=pd.DataFrame({
            "participant_id": ["p-bad", "p-ok"], "device_info_browser": ["<i>Chrome</i>", "Safari"],
            "precall_network_information_effective_network_type": ["3g", "wifi"]}),
        quality_stats=quality,
        chat=pd.DataFrame({"created_at": [T0 + pd.Timedelta(seconds=20)], "display_name": ["Ada & Bob"],
                           "text": ["<img src=x onerror=alert(1)> =cmd|' /C calc'!A0"],
                           "payload_type": ["TEXT_MESSAGE"]}),
        transcript=pd.DataFrame({"start": [T0 + pd.Timedelta(seconds=5)], "display_name": [HOSTILE],
                                 "text": ["</td></tr></table><script>x()</script>"], "start_offset_s": [5.0],
                                 "end_offset_s": [9.0], "peer_id": ["peer-1"]}),
        summary="<h1>Summary</h1> with <a href='javascript:alert(1)'>link</a>",
        data_gaps=["chat: example gap <b>bold</b>"],
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return render_session_report(hand_built_session(), out)


def test_report_is_parseable_self_contained_html(rendered):
    html, page = parse(rendered)
    assert rendered.name == "report.html"
    assert page.tags[0] == "html" and "table" in page.tags
    assert not [link for link in page.links if link.startswith(("http:", "https:", "//", "<"))]
    assert all(link.endswith(".parquet") for link in page.links)  # only the frames beside it
    assert "<script" not in html.lower()  # no script at all: neither ours nor a user's
    assert not page.event_handlers


def test_every_embedded_image_is_a_png(rendered):
    _, page = parse(rendered)
    assert len(page.images) >= 3  # timeline, audio quality, jitter, talk time
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_MAGIC)


def test_user_strings_are_escaped_everywhere(rendered):
    html, page = parse(rendered)
    text = "".join(page.text)
    assert HOSTILE in text  # shown as text …
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html  # … because it was escaped
    assert "Plan &lt;b&gt;Q3&lt;/b&gt; &amp; more" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;h1&gt;Summary&lt;/h1&gt;" in html and "javascript:" not in [*page.links]
    assert "&lt;i&gt;Chrome&lt;/i&gt;" in html
    assert "example gap &lt;b&gt;bold&lt;/b&gt;" in html
    assert page.tags.count("h1") == 1  # the summary's <h1> did not become a heading


def test_frames_are_written_as_parquet_beside_the_report(rendered):
    files = {p.name for p in rendered.parent.glob("*.parquet")}
    assert {"session.parquet", "participants.parquet", "quality_stats.parquet", "chat.parquet",
            "transcript.parquet", "quality_samples.parquet", "verdicts.parquet", "poor_intervals.parquet",
            "thresholds.parquet"} <= files
    verdicts = pd.read_parquet(rendered.parent / "verdicts.parquet")
    assert verdicts.set_index("participant_id").loc["p-bad", "verdict"] == "poor"
    _, page = parse(rendered)
    assert {Path(link).name for link in page.links} == files


def test_report_shows_verdicts_reasons_and_methodology(rendered):
    _, page = parse(rendered)
    text = " ".join(page.text)
    assert "audio jitter" in text and "> 30 ms (Twilio)" in text
    assert "Cole & Rosenbluth" in text and "R = 93.2" in text
    assert "at least 3 of the last 5 samples" in " ".join(text.split())
    for threshold in DEFAULT_THRESHOLDS:
        assert threshold.metric in text
    assert "no peer-report samples" in text  # a stated data gap


def test_analysis_of_the_hand_built_session():
    analysis = analyse(hand_built_session())
    table = analysis.participants.set_index("participant_id")
    assert table.loc["p-bad", "verdict"] == "poor" and table.loc["p-ok", "verdict"] == "good"
    # jitter 60, 70, 80, 75 ms in one run: mean 71.25 -> "71 ms"
    assert "audio jitter 71 ms > 30 ms (Twilio)" in table.loc["p-bad", "reasons"]
    assert table.loc["p-bad", "cause"] == "network" and "3g" in table.loc["p-bad", "evidence"]
    assert table.loc["p-ok", "audio_quality_mean"] == 90.0


def test_minimal_session_renders_with_gaps(tmp_path):
    solo = pd.DataFrame({"participant_id": ["p"], "display_name": ["Solo"]})
    data = Session("s", pd.DataFrame({"session_id": ["s"]}), solo)
    _html, page = parse(render_session_report(data, tmp_path))
    text = " ".join(page.text)
    assert "no quality samples for 1 participant(s): Solo" in text
    assert "No chat for this session." in text and "No samples to plot." in text
    assert page.images == [] and not [g for g in text.split("\n") if "was skipped" in g]


# --------------------------------------------------------------------------------- through the sandbox

@pytest.fixture(scope="module")
def sandbox_without_chat():
    from rtk_frames.sandbox import Dataset, serve

    dataset = Dataset.from_samples()
    session_id = next(iter(dataset.chats))
    dataset.chats.pop(session_id)
    dataset.summaries.pop(session_id, None)
    with serve(dataset) as api:
        yield api, session_id


def test_collect_session_tolerates_missing_chat_and_summary(sandbox_without_chat, tmp_path):
    api, session_id = sandbox_without_chat
    data = collect_session(api.client(), session_id)
    assert data.chat is None and data.summary is None
    assert any(gap.startswith("chat: not available") and "404" in gap for gap in data.data_gaps)
    assert any(gap.startswith("summary: not available") for gap in data.data_gaps)
    assert data.quality_stats is not None and len(data.quality_stats) > 0
    assert data.peer_report_series is not None and len(data.peer_report_series) > 0
    assert set(data.quality_stats["participant_id"]) <= set(data.participants["participant_id"])

    path = render_session_report(data, tmp_path)
    _html, page = parse(path)
    assert "chat: not available" in " ".join(page.text)
    for src in page.images:
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    # the sandbox's API token appears in no file we wrote
    token = api.api_token.encode()
    for file in tmp_path.iterdir():
        assert token not in file.read_bytes(), file.name


def test_a_session_with_breakout_rooms_says_so_in_its_data_gaps_and_report(tmp_path):
    from rtk_frames.sandbox import Dataset, serve

    dataset = Dataset.from_samples()
    parent, rooms = next(iter(dataset.breakout_rooms.items()))
    plain = next(s["id"] for s in dataset.sessions if s["id"] not in dataset.breakout_rooms)
    with serve(dataset) as api:
        data = collect_session(api.client(), parent)
        details_asked = sum(r.endpoint == "get_session_details" for r in api.request_log)
        without = collect_session(api.client(), plain)
    assert details_asked == 1  # the rooms come with the details the session needs anyway
    notes = [gap for gap in data.data_gaps if gap.startswith("breakout rooms:")]
    assert len(notes) == 1 and notes[0].startswith(f"breakout rooms: {len(rooms)} (")
    assert all(room["id"] in notes[0] for room in rooms)
    assert int(data.session["breakout_rooms_count"].iloc[0]) == len(rooms)
    assert not any(gap.startswith("breakout rooms:") for gap in without.data_gaps)
    _html, page = parse(render_session_report(data, tmp_path))
    assert f"breakout rooms: {len(rooms)}" in " ".join(page.text)


def test_collect_session_unknown_session_raises_not_found(sample_client):
    from rtk_frames.errors import NotFoundError

    with pytest.raises(NotFoundError):
        collect_session(sample_client, "no-such-session")


def test_fleet_report_over_the_sandbox(sample_api, tmp_path):
    from rtk_frames.report import render_fleet_report
    from rtk_frames.sync import fetch_fleet

    fleet = fetch_fleet(sample_api.client(), progress=False)
    assert len(fleet.sessions) == len(sample_api.dataset.sessions)
    assert fleet.participant_table["session_id"].notna().all()
    assert set(fleet.session_table["session_id"]) == set(fleet.sessions["session_id"])
    _html, page = parse(render_fleet_report(fleet, tmp_path))
    text = " ".join(page.text)
    assert "Quality by browser" in text and "Worst sessions" in text
    for src in page.images:
        try:
            raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        except binascii.Error:  # pragma: no cover - reported by the assertion below
            raw = b""
        assert raw.startswith(PNG_MAGIC)
    assert (tmp_path / "participant_table.parquet").exists()


@pytest.mark.parametrize(("window", "says"), [
    ({}, "Every session listed (no time window)"),
    ({"start_time": "2026-01-01"}, "Sessions started from 2026-01-01 00:00:00 UTC"),
    ({"end_time": "2100-01-01"}, "Sessions started before 2100-01-01 00:00:00 UTC"),
    ({"start_time": "2026-01-01", "end_time": "2100-01-01"},
     "Sessions started 2026-01-01 00:00:00 UTC → 2100-01-01 00:00:00 UTC"),
])
def test_the_fleet_reports_subtitle_says_its_window_in_words(sample_api, tmp_path, window, says):
    """Without a window (or with one end) the subtitle read "Sessions started — → —"."""
    import re

    from rtk_frames.report import render_fleet_report
    from rtk_frames.sync import fetch_fleet

    html, _page = parse(render_fleet_report(fetch_fleet(sample_api.client(), progress=False, **window),
                                            tmp_path))
    subtitle = re.search(r'<p class="sub" id="period">(.*?)(&nbsp;|</p>)', html)
    assert subtitle is not None and subtitle[1] == says and "—" not in subtitle[1]


def test_fleet_window_keeps_only_sessions_started_inside(sample_api):
    from rtk_frames.sync import fetch_fleet

    everything = fetch_fleet(sample_api.client(), progress=False).sessions
    first = everything["started_at"].min()
    fleet = fetch_fleet(sample_api.client(), start_time=first + pd.Timedelta(seconds=1), progress=False)
    assert len(fleet.sessions) == len(everything) - 1
    assert (fleet.sessions["started_at"] > first).all()


def test_map_concurrently_keeps_input_order_and_raises():
    import threading
    import time

    from rtk_frames.session import map_concurrently

    seen_threads = set()

    def slow_square(x):
        seen_threads.add(threading.get_ident())
        time.sleep(0.01 * max(5 - x, 0))  # later items finish first
        if x == 99:
            raise ValueError("boom")
        return x * x

    assert map_concurrently(slow_square, range(5), workers=4) == [0, 1, 4, 9, 16]
    assert len(seen_threads) > 1
    with pytest.raises(ValueError, match="boom"):
        map_concurrently(slow_square, [1, 99, 2], workers=3)


def test_a_rejected_token_is_an_error_not_a_data_gap(sample_api):
    from rtk_frames import Client
    from rtk_frames.errors import AuthenticationError

    client = Client(sample_api.account_id, sample_api.app_id, "not-the-token", base_url=sample_api.base_url,
                    max_retries=0)
    with pytest.raises(AuthenticationError):
        collect_session(client, sample_api.dataset.sessions[0]["id"])


def test_transcript_without_absolute_times_shows_offsets(tmp_path):
    transcript = pd.DataFrame({"start": pd.Series([pd.NaT], dtype="datetime64[us, UTC]"),
                               "start_offset_s": [12.34], "display_name": ["Ada"], "text": ["hello"]})
    data = Session("s", pd.DataFrame({"session_id": ["s"]}), pd.DataFrame({"participant_id": ["p"]}),
                       transcript=transcript)
    _, page = parse(render_session_report(data, tmp_path))
    assert "+12.3 s" in page.text and "hello" in page.text


def test_estimated_talk_time_is_said_in_the_report_not_warned_at_its_reader(tmp_path, recwarn):
    """A transcript without end times (CSV) makes talk time an estimate: the chart's title and the data
    gaps say so, and no EstimatedTalkTimeWarning reaches the caller (or a CLI user's terminal)."""
    starts = pd.Series(pd.to_datetime(["2026-11-16T10:00:00Z", "2026-11-16T10:00:05Z"], utc=True))
    transcript = pd.DataFrame({"start": starts.astype("datetime64[us, UTC]"),
                               "participant_id": ["p", "p"], "display_name": ["Ada", "Ada"],
                               "text": ["hello there", "bye"]})
    data = Session("s", pd.DataFrame({"session_id": ["s"]}), pd.DataFrame({"participant_id": ["p"]}),
                   transcript=transcript)
    _, page = parse(render_session_report(data, tmp_path))
    text = " ".join(page.text)
    assert "Talk time, estimated" in text and "2 utterance(s) have no end time" in text
    assert not [w for w in recwarn if issubclass(w.category, EstimatedTalkTimeWarning)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and not {"\x00", "\r"} & set(t)))
def test_any_user_string_comes_out_as_text_never_markup(tmp_path, hostile):
    data = Session(
        "s", pd.DataFrame({"session_id": ["s"], "meeting_display_name": [hostile]}),
        pd.DataFrame({"participant_id": ["p"], "display_name": [hostile]}),
        chat=pd.DataFrame({"created_at": [T0], "display_name": [hostile], "text": [hostile]}),
        summary=hostile)
    _, page = parse(render_session_report(data, tmp_path))
    assert page.tags.count("script") == 0 and not page.event_handlers
    assert "".join(page.text).count(hostile) >= 4  # <title>, heading, participant, chat sender/text, summary


def test_fleet_pull_shows_a_progress_bar_over_sessions(sample_api, capsys):
    from rtk_frames.sync import fetch_fleet

    fetch_fleet(sample_api.client(), max_sessions=2, progress=True)
    err = capsys.readouterr().err
    assert "sessions:" in err and "2/2" in err


def test_fleet_pull_over_an_empty_window_prints_the_note_instead_of_a_bar(sample_api, capsys):
    from rtk_frames.sync import EMPTY_WINDOW_NOTE, fetch_fleet

    fleet = fetch_fleet(sample_api.client(), start_time="1990-01-01", end_time="1990-01-02", progress=True)
    assert fleet.sessions.empty and EMPTY_WINDOW_NOTE in fleet.data_gaps
    assert capsys.readouterr().err.splitlines() == [EMPTY_WINDOW_NOTE]  # not "sessions: 0/0" lines


def test_collect_session_asks_for_the_session_details_once(sample_api):
    session_id = sample_api.dataset.sessions[0]["id"]
    before = len(sample_api.request_log)
    data = collect_session(sample_api.client(), session_id)
    asked = [r.endpoint for r in sample_api.request_log[before:]]
    assert asked.count("get_session_details") == 1  # the transcript's start time comes from data.session
    assert data.transcript is not None and data.transcript["start"].notna().all()


def test_repaired_values_are_not_reported_as_set_to_na(tmp_path):
    from rtk_frames.errors import CoercionWarning
    from rtk_frames.frames.media import chat_frame

    raw = (b"id,participantId,sessionId,meetingId,displayName,pinned,isEdited,payloadType,payload,"
           b"createdAt\r\nm1,p,s,mt,Ada,false,false,TEXT_MESSAGE,caf\xe9,not-a-time\r\n")  # Latin-1 é
    with pytest.warns(CoercionWarning):
        chat = chat_frame(raw, session_id="s")
    data = Session("s", pd.DataFrame({"session_id": ["s"]}), pd.DataFrame({"participant_id": ["p"]}),
                       chat=chat)
    _, page = parse(render_session_report(data, tmp_path))
    gaps = [line for line in page.text if line.startswith("chat: values")]
    assert gaps == ["chat: values set to NA while reading: created_at: unparseable timestamp ×1",
                    "chat: values repaired while reading: "
                    "file: bytes that are not UTF-8 (replaced by U+FFFD) ×1"]


def test_methodology_states_the_precall_limits_likely_causes_uses(rendered):
    from rtk_frames import analysis as quality

    _, page = parse(rendered)
    text = " ".join(" ".join(page.text).split())
    assert f"RTT > {quality.PRECALL_RTT_POOR_MS:.0f} ms" in text
    assert f"loss > {quality.PRECALL_LOSS_POOR_PCT:.0f} %" in text
    assert "/".join(sorted(quality.SLOW_NETWORK_TYPES)) in text


@pytest.mark.parametrize("source", ["live pull", "dataset"])
def test_a_session_left_out_after_errors_is_counted_and_explained_not_ranked_worst(tmp_path, source):
    """A session left out (its participant list failed past the retries) is unknown, not bad: the
    header counts it, "Worst sessions" does not rank it (a note counts every session without quality
    samples), and the data gaps say why. From a live pull, and from a dataset whose sync failed it."""
    import re

    import rtk_frames as rtk
    from rtk_frames.client.transport import DEFAULT_MAX_RETRIES
    from rtk_frames.dataset.fleet import dataset_report
    from rtk_frames.report import render_fleet_report
    from rtk_frames.sandbox import Dataset, Faults, serve
    from rtk_frames.sync import fetch_fleet

    ds = Dataset.synthetic(sessions=6, participants=2, samples=3, seed=3)
    victim = [s["id"] for s in ds.sessions if s["status"] == "ENDED"][1]
    fault = Faults(server_errors_first=1 + DEFAULT_MAX_RETRIES, retry_after_s=0,
                   path_pattern=f"/sessions/{victim}/participants$")
    with serve(ds, faults=fault) as api:
        if source == "live pull":
            path = render_fleet_report(fetch_fleet(api.client(), progress=False), tmp_path / "out")
        else:
            assert rtk.sync_dataset(api.client(), tmp_path / "fleet", progress=False).failed == 1
            path = dataset_report(tmp_path / "fleet", tmp_path / "out")
    html, _page = parse(path)
    worst_sessions = html.split('id="worst-sessions"', 1)[1].split('id="worst-participants"', 1)[0]
    gaps = html.split('id="gaps"', 1)[1]
    assert victim not in worst_sessions and victim in gaps
    assert re.search(r'id="left-out"><a href="#gaps">1 left out after errors</a>', html)
    why = "skipped (ServerError" if source == "live pull" else "left out: its last sync failed"
    assert f"session {victim}: {why}" in gaps
    live = sum(s["status"] == "LIVE" for s in ds.sessions)
    assert live == 1  # the dataset keeps only its listing row: counted in the gaps, not ranked either
    live_line = f"1 of the {len(ds.sessions)} sessions was live when last synced"
    assert (live_line in gaps) == (source == "dataset")
    table = pd.read_parquet(path.parent / "session_table.parquet")
    unmeasured = int(table["quality_mean"].isna().sum())
    assert victim in set(table["session_id"][table["quality_mean"].isna()])
    note = re.search(r'id="unranked">(\d+) of the (\d+) sessions? (has|have) no', html)
    assert note is not None and (int(note[1]), int(note[2])) == (unmeasured, len(ds.sessions))
    assert note[3] == ("has" if unmeasured == 1 else "have")
    ranked = re.findall(r'<td class="mono">([^<]+)</td>', worst_sessions)
    assert len(ranked) == min(15, len(table) - unmeasured) and victim not in ranked
