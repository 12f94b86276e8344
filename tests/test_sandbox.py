"""The sandbox over real HTTP with plain ``requests``: routes, auth, paging, filters, downloads, faults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtk_frames.sandbox import Dataset, Faults, serve

TIMEOUT_S = 10


@pytest.fixture(scope="module")
def ds() -> Dataset:
    # 6 sessions: one LIVE, two with breakout rooms, rejoins, a poor network and a weak CPU in each
    return Dataset.synthetic(sessions=6, participants=8, samples=6, seed=3)


@pytest.fixture(scope="module")
def api(ds) -> Iterator[object]:
    with serve(ds) as running:
        yield running


def _get(api, path: str, **params) -> requests.Response:
    return requests.get(
        api.url(path), params=params, headers={"Authorization": f"Bearer {api.api_token}"}, timeout=TIMEOUT_S
    )


def _ok(api, path: str, **params) -> dict:
    response = _get(api, path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(items) -> list[str]:
    return [item["id"] for item in items]


def _rooms_session(ds: Dataset) -> str:
    return next(s["id"] for s in ds.sessions if ds.breakout_rooms.get(s["id"]))


# ---------------------------------------------------------------- sessions list


def test_sessions_list_pages_through_every_session_once(api, ds):
    seen, page_no = [], 1
    while True:
        body = _ok(api, "sessions", per_page=4, page_no=page_no)
        if not body["data"]["sessions"]:
            break
        seen += _ids(body["data"]["sessions"])
        assert body["paging"]["total_count"] == len(ds.sessions)
        assert body["paging"]["start_offset"] == (page_no - 1) * 4 + 1
        assert (
            body["paging"]["end_offset"] == body["paging"]["start_offset"] + len(body["data"]["sessions"]) - 1
        )
        page_no += 1
    assert sorted(seen) == sorted(_ids(ds.sessions))
    assert len(seen) == len(set(seen))


def test_sessions_default_order_is_newest_first_and_sort_order_reverses_it(api, ds):
    newest_first = _ids(_ok(api, "sessions")["data"]["sessions"])
    oldest_first = _ids(_ok(api, "sessions", sort_order="ASC")["data"]["sessions"])
    assert oldest_first == list(reversed(newest_first))
    by_created = sorted(ds.sessions, key=lambda s: s["created_at"])
    assert oldest_first == _ids(by_created)


def test_sessions_sort_by_minutes_consumed(api, ds):
    body = _ok(api, "sessions", sort_by="minutesConsumed", sort_order="ASC")
    minutes = [s["minutes_consumed"] for s in body["data"]["sessions"]]
    assert minutes == sorted(minutes)
    assert _ids(body["data"]["sessions"]) != _ids(_ok(api, "sessions", sort_order="ASC")["data"]["sessions"])


def test_sessions_status_filter(api, ds):
    live = _ok(api, "sessions", status="LIVE")["data"]["sessions"]
    ended = _ok(api, "sessions", status="ENDED")["data"]["sessions"]
    assert {s["status"] for s in live} == {"LIVE"} and {s["status"] for s in ended} == {"ENDED"}
    assert len(live) + len(ended) == len(ds.sessions) and len(live) == 1


def test_sessions_time_window_filters_on_started_at(api, ds):
    ordered = sorted(ds.sessions, key=lambda s: s["started_at"])
    middle = ordered[len(ordered) // 2]["started_at"]
    after = _ids(_ok(api, "sessions", start_time=middle)["data"]["sessions"])
    before = _ids(_ok(api, "sessions", end_time=middle)["data"]["sessions"])
    assert set(after) == {s["id"] for s in ordered if s["started_at"] >= middle}
    assert set(before) == {s["id"] for s in ordered if s["started_at"] <= middle}
    both = _ok(api, "sessions", start_time=middle, end_time=middle)["data"]["sessions"]
    assert _ids(both) == [ordered[len(ordered) // 2]["id"]]


def test_sessions_search_matches_title_meeting_id_and_session_id(api, ds):
    target = ds.sessions[1]
    for needle in (
        target["id"][:13].upper(),
        target["associated_id"],
        target["meeting_display_name"].lower(),
    ):
        found = _ids(_ok(api, "sessions", search=needle)["data"]["sessions"])
        assert target["id"] in found
        assert len(found) < len(ds.sessions) or needle == target["meeting_display_name"].lower()
    assert _ok(api, "sessions", search="zz-no-such-meeting")["data"]["sessions"] == []


def test_sessions_associated_id_and_participants_filters(api, ds):
    target = ds.sessions[2]
    assert _ids(_ok(api, "sessions", associated_id=target["associated_id"])["data"]["sessions"]) == [
        target["id"]
    ]
    person = ds.participants[target["id"]][0]
    for key in ("user_id", "custom_participant_id"):
        found = _ids(_ok(api, "sessions", participants=person[key])["data"]["sessions"])
        assert found == [target["id"]]


def test_session_details_breakout_rooms_only_when_asked(api, ds):
    session_id = _rooms_session(ds)
    plain = _ok(api, f"sessions/{session_id}")["data"]
    with_rooms = _ok(api, f"sessions/{session_id}", include_breakout_rooms="true")["data"]
    assert plain["breakout_rooms"] == []
    assert _ids(with_rooms["breakout_rooms"]) == _ids(ds.breakout_rooms[session_id])
    child = ds.breakout_rooms[session_id][0]
    assert _ok(api, f"sessions/{child['id']}")["data"]["meta"]["parent_session_id"] == session_id
    assert child["id"] not in _ids(_ok(api, "sessions", per_page=100)["data"]["sessions"])


# ---------------------------------------------------------------- participants


def test_participants_paging_search_and_sort(api, ds):
    session_id = ds.sessions[0]["id"]
    rows = ds.participants[session_id]
    first = _ok(api, f"sessions/{session_id}/participants", per_page=3)
    second = _ok(api, f"sessions/{session_id}/participants", per_page=3, page_no=2)
    assert first["paging"] == {"start_offset": 1, "end_offset": 3, "total_count": len(rows)}
    assert not set(_ids(first["data"]["participants"])) & set(_ids(second["data"]["participants"]))
    everyone = _ok(api, f"sessions/{session_id}/participants", per_page=100)["data"]["participants"]
    assert [r["joined_at"] for r in everyone] == sorted(r["joined_at"] for r in rows)
    longest_first = _ok(api, f"sessions/{session_id}/participants", sort_by="duration", sort_order="DESC")
    durations = [r["duration"] for r in longest_first["data"]["participants"]]
    assert durations == sorted(durations, reverse=True)
    name = rows[2]["display_name"]
    found = _ok(api, f"sessions/{session_id}/participants", search=name.split()[0].lower())["data"][
        "participants"
    ]
    assert rows[2]["id"] in _ids(found) and len(found) < len(rows)
    by_custom = _ok(api, f"sessions/{session_id}/participants", search=rows[1]["custom_participant_id"])
    assert rows[1]["id"] in _ids(by_custom["data"]["participants"])


def test_participants_peer_events_only_when_asked(api, ds):
    session_id = ds.sessions[0]["id"]
    plain = _ok(api, f"sessions/{session_id}/participants")["data"]["participants"]
    with_events = _ok(api, f"sessions/{session_id}/participants", include_peer_events="true")["data"]
    assert all("peer_events" not in row for row in plain)
    events = with_events["participants"][0]["peer_events"]
    assert [e["event_name"] for e in events][:2] == ["PEER_CREATED", "PEER_JOINING"]
    assert all(e["peer_id"] == with_events["participants"][0]["id"] for e in events)


def test_consolidated_view_merges_rejoins_and_breakout_rooms(api, ds):
    session_id = _rooms_session(ds)
    raw = _ok(api, f"sessions/{session_id}/participants", view="raw", per_page=100)["data"]["participants"]
    merged = _ok(api, f"sessions/{session_id}/participants", view="consolidated", per_page=100)["data"][
        "participants"
    ]
    assert len({r["user_id"] for r in raw}) == len(merged) < len(raw)  # a rejoin becomes one row
    child_rows = [r for child in ds.breakout_rooms[session_id] for r in ds.participants[child["id"]]]
    for person in merged:
        expected = sum(r["duration"] for r in raw + child_rows if r["user_id"] == person["user_id"])
        assert person["duration"] == pytest.approx(expected, abs=1e-3)


def test_participant_details_filters_select_blocks(api, ds):
    session_id = ds.sessions[0]["id"]
    peer_id = ds.participants[session_id][0]["id"]
    path = f"sessions/{session_id}/participants/{peer_id}"
    full = _ok(api, path)["data"]["participant"]
    assert set(full["peer_stats"]) >= {
        "device_info",
        "ip_information",
        "precall_network_information",
        "events",
    }
    assert len(full["quality_stats"]) >= 1 and "peer_events" not in full
    only_device = _ok(api, path, filters="device_info")["data"]["participant"]
    assert set(only_device["peer_stats"]) == {"device_info"} and "quality_stats" not in only_device
    two = _ok(api, path, filters="ip_information,quality_stats")["data"]["participant"]
    assert set(two["peer_stats"]) == {"ip_information"} and two["quality_stats"] == full["quality_stats"]
    with_events = _ok(api, path, include_peer_events="true")["data"]["participant"]
    assert with_events["peer_events"][0]["peer_id"] == peer_id


def test_peer_report_filters_and_peer_events(api, ds):
    session_id = ds.sessions[0]["id"]
    peer_id = ds.participants[session_id][0]["id"]
    full = _ok(api, f"sessions/peer-report/{peer_id}")["data"]["participant"]
    assert full["session_id"] == session_id and "quality" in full["peer_report"]
    narrow = _ok(api, f"sessions/peer-report/{peer_id}", filters="events")["data"]["participant"]
    assert set(narrow["peer_stats"]) == {"events"} and "quality" not in narrow["peer_report"]
    assert "quality_stats" not in narrow
    assert (
        "peer_events"
        in _ok(api, f"sessions/peer-report/{peer_id}", include_peer_events="true")["data"]["participant"]
    )


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("sessions", {"status": "DONE"}, "status"),
        ("sessions", {"sort_by": "joinedAt"}, "sort_by"),
        ("sessions", {"sort_order": "up"}, "sort_order"),
        ("sessions", {"start_time": "yesterday"}, "start_time"),
        ("sessions", {"page_no": "0"}, "page_no"),
        ("sessions", {"per_page": "ten"}, "per_page"),
        ("sessions/{sid}/participants", {"view": "grouped"}, "view"),
        ("sessions/{sid}/participants", {"include_peer_events": "yes"}, "include_peer_events"),
        ("sessions/{sid}/participants/{pid}", {"filters": "device_info, events"}, "filters"),
        ("sessions/{sid}/participants/{pid}", {"filters": "cpu"}, "filters"),
        ("sessions/{sid}/transcript", {"format": "TXT"}, "format"),
    ],
)
def test_bad_query_values_are_400_with_a_message(api, ds, path, params, needle):
    session_id = ds.sessions[0]["id"]
    path = path.format(sid=session_id, pid=ds.participants[session_id][0]["id"])
    response = _get(api, path, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and needle in body["error"]["message"]


# ---------------------------------------------------------------- auth and 404s


def test_auth_failures_are_401_in_cloudflare_envelope(api):
    envelope = {
        "success": False,
        "errors": [{"code": 10000, "message": "Authentication error"}],
        "messages": [],
        "result": None,
    }
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": api.api_token}):
        response = requests.get(api.url("sessions"), headers=headers, timeout=TIMEOUT_S)
        assert response.status_code == 401
        assert response.json() == envelope


def test_unknown_account_app_and_route_are_404(api):
    auth = {"Authorization": f"Bearer {api.api_token}"}
    for account, app in (("nope", api.app_id), (api.account_id, "nope")):
        url = f"{api.base_url}/accounts/{account}/realtime/kit/{app}/sessions"
        response = requests.get(url, headers=auth, timeout=TIMEOUT_S)
        assert response.status_code == 404 and response.json()["success"] is False
        assert response.json()["errors"][0]["code"] == 7003
    response = requests.get(api.url("meetings"), headers=auth, timeout=TIMEOUT_S)
    assert response.status_code == 404 and "errors" in response.json()
    assert requests.get(f"http://127.0.0.1:{api.port}/", timeout=TIMEOUT_S).status_code == 404


def test_unknown_session_participant_and_peer_are_404_in_realtimekit_envelope(api, ds):
    session_id = ds.sessions[0]["id"]
    for path in (
        "sessions/nope",
        "sessions/nope/participants",
        f"sessions/{session_id}/participants/nope",
        "sessions/peer-report/nope",
        "sessions/nope/chat",
        "sessions/nope/summary",
    ):
        response = _get(api, path)
        assert response.status_code == 404, path
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == 404 and body["error"]["message"]


def test_a_participant_of_another_session_is_404(api, ds):
    first, second = ds.sessions[0]["id"], ds.sessions[1]["id"]
    stranger = ds.participants[second][0]["id"]
    assert _get(api, f"sessions/{first}/participants/{stranger}").status_code == 404


# ---------------------------------------------------------------- downloads


def _download_url(api, kind: str, session_id: str, **params) -> str:
    body = _ok(api, f"sessions/{session_id}/{kind}", **params)["data"]
    return next(
        value
        for key, value in body.items()
        if key.lower().endswith("downloadurl") or key.endswith("download_url")
    )


def test_chat_download_serves_the_csv_without_any_token(api, ds):
    session_id = ds.sessions[0]["id"]
    url = _download_url(api, "chat", session_id)
    assert url.startswith(f"http://127.0.0.1:{api.port}/bucket/") and api.api_token not in url
    query = parse_qs(urlsplit(url).query)
    assert {"X-Amz-Expires", "X-Amz-Signature", "X-Amz-Date"} <= set(query)
    response = requests.get(url, timeout=TIMEOUT_S)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.splitlines()[0].startswith("id,participantId,sessionId")
    assert ds.chats[session_id][0]["id"] in text
    assert api.request_log[-1].endpoint == "download" and api.request_log[-1].has_authorization is False


def test_download_with_an_authorization_header_is_400(api, ds):
    url = _download_url(api, "chat", ds.sessions[0]["id"])
    response = requests.get(url, headers={"Authorization": f"Bearer {api.api_token}"}, timeout=TIMEOUT_S)
    assert response.status_code == 400 and b"Only one auth mechanism allowed" in response.content


def test_download_with_a_tampered_signature_or_path_is_403(api, ds):
    first, second = ds.sessions[0]["id"], ds.sessions[1]["id"]
    url = _download_url(api, "chat", first)
    parts = urlsplit(url)
    bad_signature = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, url)
    other_path = urlunsplit(parts._replace(path=parts.path.replace(first, second)))
    for tampered in (bad_signature, other_path, url.split("?")[0]):
        response = requests.get(tampered, timeout=TIMEOUT_S)
        assert response.status_code == 403 and b"<Error>" in response.content


def test_download_url_expires_on_the_sandbox_clock():
    with serve(Dataset.synthetic(sessions=1, participants=2, samples=2, seed=1), download_ttl_s=60) as api:
        session_id = api.dataset.sessions[0]["id"]
        body = _ok(api, f"sessions/{session_id}/transcript")["data"]
        url = body["transcript_download_url"]
        assert "X-Amz-Expires=60" in url and body["transcript_download_url_expiry"].endswith("Z")
        assert requests.get(url, timeout=TIMEOUT_S).status_code == 200
        api.advance_clock(61)
        expired = requests.get(url, timeout=TIMEOUT_S)
        assert expired.status_code == 403 and b"Request has expired" in expired.content
        fresh = _ok(api, f"sessions/{session_id}/transcript")["data"]["transcript_download_url"]
        assert requests.get(fresh, timeout=TIMEOUT_S).status_code == 200


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("CSV", "text/csv"), ("JSON", "application/json"), ("SRT", "application/x-subrip"), ("VTT", "text/vtt")],
)
def test_transcript_download_in_each_format(api, ds, fmt, content_type):
    session_id = next(s["id"] for s in ds.sessions if ds.transcripts.get(s["id"]))
    body = _ok(api, f"sessions/{session_id}/transcript", format=fmt)["data"]
    assert body["sessionId"] == session_id
    response = requests.get(body["transcript_download_url"], timeout=TIMEOUT_S)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(content_type)
    assert ds.transcripts[session_id][0]["text"].encode() in response.content


def test_summary_is_404_until_generated_then_downloadable():
    ds = Dataset.synthetic(sessions=2, participants=3, samples=2, seed=2)
    ds.summaries.clear()
    with serve(ds) as api:
        session_id = ds.sessions[0]["id"]
        auth = {"Authorization": f"Bearer {api.api_token}"}
        assert _get(api, f"sessions/{session_id}/summary").status_code == 404
        created = requests.post(api.url(f"sessions/{session_id}/summary"), headers=auth, timeout=TIMEOUT_S)
        assert created.status_code in (200, 202)
        assert created.json() == {
            "success": True,
            "data": {"session_id": session_id, "status": "IN_PROGRESS"},
        }
        again = requests.post(api.url(f"sessions/{session_id}/summary"), headers=auth, timeout=TIMEOUT_S)
        assert again.json()["data"]["status"] == "COMPLETED"
        body = _ok(api, f"sessions/{session_id}/summary")["data"]
        assert set(body) == {"sessionId", "summaryDownloadUrl", "summaryDownloadUrlExpiry"}
        text = requests.get(body["summaryDownloadUrl"], timeout=TIMEOUT_S).content.decode("utf-8")
        assert ds.sessions[0]["meeting_display_name"] in text
        assert _get(api, f"sessions/{ds.sessions[1]['id']}/summary").status_code == 404


# ---------------------------------------------------------------- faults


def _statuses(api, count: int, path: str = "sessions") -> list[int]:
    return [_get(api, path).status_code for _ in range(count)]


def test_rate_limited_first_k_then_normal(api):
    api.set_faults(Faults(rate_limited_first=2, retry_after_s=3))
    try:
        first = _get(api, "sessions")
        assert first.status_code == 429 and first.headers["Retry-After"] == "3"
        assert first.json()["errors"][0]["code"] == 971
        assert _statuses(api, 2) == [429, 200]
    finally:
        api.set_faults(None)


def test_server_errors_then_rate_limit_in_order_and_only_on_matching_paths(api, ds):
    session_id = ds.sessions[0]["id"]
    api.set_faults(
        Faults(
            server_errors_first=2,
            server_error_status=502,
            rate_limited_first=1,
            path_pattern=r"/participants$",
        )
    )
    try:
        assert _statuses(api, 1) == [200]  # not matching: untouched, and does not use up the faults
        assert _statuses(api, 4, f"sessions/{session_id}/participants") == [502, 502, 429, 200]
    finally:
        api.set_faults(None)


def test_html_error_is_a_502_proxy_page(api):
    api.set_faults(Faults(html_errors_first=1))
    try:
        response = _get(api, "sessions")
        assert response.status_code == 502 and response.headers["Content-Type"].startswith("text/html")
        assert "<html>" in response.text
        assert _get(api, "sessions").status_code == 200
    finally:
        api.set_faults(None)


def test_dropped_connection_and_truncated_body_break_the_transport(api):
    api.set_faults(Faults(drop_connections_first=1, truncate_first=1))
    try:
        with pytest.raises(requests.ConnectionError):
            _get(api, "sessions")
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            _get(api, "sessions")
        assert _get(api, "sessions").status_code == 200
        assert [r.status for r in api.request_log[-3:]] == [0, 200, 200]
    finally:
        api.set_faults(None)


def test_latency_makes_a_short_client_timeout_fire(api):
    api.set_faults(Faults(latency_s=0.5, path_pattern="/sessions$"))
    try:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(
                api.url("sessions"), headers={"Authorization": f"Bearer {api.api_token}"}, timeout=0.1
            )
    finally:
        api.set_faults(None)


def test_rate_limit_budget_headers_429_and_window_reset():
    with serve(Dataset.synthetic(sessions=1, participants=2, samples=2, seed=1), rate_limit=(3, 60)) as api:
        answers = [_get(api, "sessions") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["Ratelimit"].split(";")[1] for a in answers] == ["r=2", "r=1", "r=0", "r=0"]
        assert answers[0].headers["Ratelimit-Policy"] == '"default";q=3;w=60'
        assert int(answers[3].headers["Retry-After"]) >= 1
        assert answers[3].json()["success"] is False and answers[3].json()["errors"]
        api.advance_clock(60)
        assert _get(api, "sessions").status_code == 200


def test_a_sandbox_client_keeps_to_the_sandbox_s_own_rate_limit():
    from concurrent.futures import ThreadPoolExecutor

    ds = Dataset.synthetic(sessions=1, participants=2, samples=2, seed=1)
    session_id = ds.sessions[0]["id"]
    with serve(ds, rate_limit=(20, 1.0)) as api:
        client = api.client()
        assert api.rate_limit == (20, 1.0) and client.rate_limiter.windows == ((20, 1.0),)
        with ThreadPoolExecutor(max_workers=8) as pool:  # 3x the budget, as fast as 8 threads go
            details = list(pool.map(lambda _: client.get_session_details(session_id), range(60)))
        statuses = [record.status for record in api.request_log]
        assert len(details) == 60 and len(statuses) == 60 and statuses.count(429) == 0
        # the same burst without a budget does get 429s: the count above could fail
        api.reset_log()
        unbudgeted = api.client(rate_limiter=None)
        for _ in range(25):
            unbudgeted.get_session_details(session_id)
        assert 429 in [record.status for record in api.request_log]


def test_a_sandbox_client_without_a_limit_is_not_held_to_the_real_service_s():
    from rtk_frames.ratelimit import DEFAULT_WINDOWS

    ds = Dataset.synthetic(sessions=1, participants=2, samples=2, seed=1)
    with serve(ds) as api:
        client = api.client()
        assert api.rate_limit is None and client.rate_limiter is None
        more_than_the_default = min(n for n, _ in DEFAULT_WINDOWS) + 10
        for _ in range(more_than_the_default):
            client.get_sessions(per_page=1)
        assert client.stats.rate_limit_wait_s == 0.0
        assert [r.status for r in api.request_log] == [200] * more_than_the_default


# ---------------------------------------------------------------- request log


def test_request_log_and_counts_record_every_request_without_the_token(api, ds):
    api.reset_log()
    session_id = ds.sessions[0]["id"]
    _get(api, f"sessions/{session_id}/participants", per_page=2)
    requests.get(api.url("sessions"), timeout=TIMEOUT_S)
    requests.get(_download_url(api, "chat", session_id), timeout=TIMEOUT_S)
    log = api.request_log
    assert [(r.method, r.endpoint, r.status, r.has_authorization) for r in log] == [
        ("GET", "get_session_participants", 200, True),
        ("GET", "get_sessions", 401, False),
        ("GET", "get_session_chat", 200, True),
        ("GET", "download", 200, False),
    ]
    assert log[0].query == {"per_page": "2"} and log[0].path.endswith(f"/sessions/{session_id}/participants")
    assert api.counts() == {
        "get_session_participants": 1,
        "get_sessions": 1,
        "get_session_chat": 1,
        "download": 1,
    }
    assert api.api_token not in repr(log) + repr(api)


def test_serve_uses_given_credentials():
    ds = Dataset.synthetic(sessions=1, participants=2, samples=2, seed=1)
    with serve(ds, account_id="acc", app_id="app", api_token="tok") as api:
        assert (api.account_id, api.app_id, api.api_token) == ("acc", "app", "tok")
        assert api.url("sessions").endswith("/client/v4/accounts/acc/realtime/kit/app/sessions")
        assert _ok(api, "sessions")["paging"]["total_count"] == 1
    with serve(ds) as first, serve(ds) as second:
        assert first.api_token != second.api_token and first.port != second.port


def test_serving_never_changes_the_dataset():
    dataset = Dataset.from_samples()
    session_id = dataset.sessions[0]["id"]
    peer_id = dataset.participants[session_id][0]["id"]
    for flavor in ("seed", "sdk"):
        with serve(dataset, flavor=flavor) as api:
            for filters in (None, "events", "device_info,quality_stats"):
                params = {"include_peer_events": "true"} | ({"filters": filters} if filters else {})
                _ok(api, f"sessions/peer-report/{peer_id}", **params)
                _ok(api, f"sessions/{session_id}/participants/{peer_id}", **params)
            _ok(api, f"sessions/{session_id}/participants", view="consolidated", include_peer_events="true")
            _ok(api, f"sessions/{session_id}", include_breakout_rooms="true")
            requests.post(
                api.url(f"sessions/{session_id}/summary"),
                headers={"Authorization": f"Bearer {api.api_token}"},
                timeout=TIMEOUT_S,
            )
    assert dataset == Dataset.from_samples()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    per_page=st.integers(min_value=1, max_value=9),
    sort_by=st.sampled_from(["joinedAt", "duration"]),
    sort_order=st.sampled_from(["ASC", "DESC"]),
)
def test_participant_pages_cover_every_row_exactly_once(api, ds, per_page, sort_by, sort_order):
    session_id = _rooms_session(ds)
    seen, page_no = [], 1
    while True:
        body = _ok(
            api,
            f"sessions/{session_id}/participants",
            per_page=per_page,
            page_no=page_no,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        rows = body["data"]["participants"]
        assert body["paging"]["total_count"] == len(ds.participants[session_id])
        if not rows:
            break
        assert len(rows) <= per_page
        seen += _ids(rows)
        page_no += 1
    assert sorted(seen) == sorted(_ids(ds.participants[session_id]))


def test_run_forever_prints_credentials_serves_and_stops_on_ctrl_c():
    import signal
    import subprocess
    import sys

    code = "from rtk_frames.sandbox.server import run_forever; run_forever(None, 0)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        printed = {}
        for line in process.stdout:
            if ":" in line and line.startswith("  "):
                key, _, value = line.strip().partition(":")
                printed[key] = value.split()[0]
            if line.startswith("Press Ctrl-C"):
                break
        app = f"accounts/{printed['account id']}/realtime/kit/{printed['app id']}"
        url = f"{printed['base URL']}/{app}/sessions"
        body = requests.get(
            url, headers={"Authorization": f"Bearer {printed['API token']}"}, timeout=TIMEOUT_S
        )
        assert body.status_code == 200 and body.json()["paging"]["total_count"] == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT_S) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_concurrent_clients_are_all_answered_and_counted(ds):
    from concurrent.futures import ThreadPoolExecutor

    with serve(ds, faults=Faults(server_errors_first=5)) as api:
        session_id = ds.sessions[0]["id"]

        def fetch(k: int) -> int:
            path = "sessions" if k % 2 else f"sessions/{session_id}/participants"
            return _get(api, path).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(fetch, range(96)))
        assert sorted(statuses).count(503) == 5 and statuses.count(200) == 91
        assert sum(api.counts().values()) == len(api.request_log) == 96
        assert api.counts() == {"get_sessions": 48, "get_session_participants": 48}


def test_wrong_method_on_a_known_path_is_405(api):
    response = requests.put(
        api.url("sessions"), headers={"Authorization": f"Bearer {api.api_token}"}, timeout=TIMEOUT_S
    )
    assert response.status_code == 405 and response.json()["success"] is False
    assert api.request_log[-1].endpoint == "method_not_allowed"


def test_a_messy_dataset_is_served_without_server_errors():
    messy = Dataset.synthetic(sessions=2, participants=6, samples=4, seed=8, messy=True)
    with serve(messy) as api:
        for session in messy.sessions:
            sid = session["id"]
            for params in ({"sort_by": "duration"}, {"view": "consolidated"}, {"sort_order": "DESC"}):
                assert _get(api, f"sessions/{sid}/participants", **params).status_code == 200
            for row in messy.participants[sid]:
                assert _get(api, f"sessions/{sid}/participants/{row['id']}").status_code == 200
                assert _get(api, f"sessions/peer-report/{row['id']}").status_code == 200
            for kind in ("chat", "transcript"):
                assert requests.get(_download_url(api, kind, sid), timeout=TIMEOUT_S).status_code == 200
        assert _get(api, "sessions", sort_by="minutesConsumed").status_code == 200
        assert not [r for r in api.request_log if r.status >= 500]


def test_a_broken_record_is_a_500_answer_not_a_dropped_connection():
    broken = Dataset(sessions=[{"id": "s1", "started_at": "not a time", "created_at": "x"}])
    with serve(broken) as api:
        assert _get(api, "sessions").status_code == 200
        response = _get(api, "sessions", start_time="2026-01-01T00:00:00Z")
        assert response.status_code == 500
        assert response.json()["success"] is False and "sandbox error" in response.json()["error"]["message"]
        assert api.request_log[-1].status == 500


@pytest.mark.parametrize(
    "bad",
    [{"rate_limited_first": -1}, {"server_error_status": 404}, {"latency_s": -0.1}, {"path_pattern": "("}],
)
def test_faults_reject_impossible_settings(bad):
    with pytest.raises((ValueError, re.error)):
        Faults(**bad)


def test_parse_faults_reads_kinds_counts_and_parameters():
    from rtk_frames.sandbox.faults import parse_faults

    faults = parse_faults(["drop, html=3", "truncate=2,truncate=4", "path=/participants,latency=0.5"])
    assert faults.budget() == {"drop": 1, "truncate": 4, "html": 3, "server_error": 0, "rate_limited": 0}
    assert (faults.path_pattern, faults.latency_s) == ("/participants", 0.5)
    assert parse_faults([]) == Faults()
    for bad in ("status=404", "teleport", "status", "html=-1", "retry_after=soon"):
        with pytest.raises(ValueError):
            parse_faults([bad])


def test_serve_rejects_unknown_flavor_and_bad_rate_limit(ds):
    with pytest.raises(ValueError, match="flavor"):
        serve(ds, flavor="v1")
    with pytest.raises(ValueError, match="rate_limit"):
        serve(ds, rate_limit=(0, 60))


def test_breakout_room_has_no_files_of_its_own(api, ds):
    child = ds.breakout_rooms[_rooms_session(ds)][0]["id"]
    auth = {"Authorization": f"Bearer {api.api_token}"}
    for kind in ("chat", "transcript", "summary"):
        response = _get(api, f"sessions/{child}/{kind}")
        assert response.status_code == 404 and response.json()["error"]["message"]
    refused = requests.post(api.url(f"sessions/{child}/summary"), headers=auth, timeout=TIMEOUT_S)
    assert refused.status_code == 400 and "transcript" in refused.json()["error"]["message"]
    assert _ok(api, f"sessions/{child}/participants")["paging"]["total_count"] == len(ds.participants[child])
