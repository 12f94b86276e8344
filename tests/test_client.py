"""The client over real HTTP against the sandbox: raw methods, paging, filters, errors, retries,
Retry-After, the rate budget, secrets and downloads.

Retries wait through an injected recorder (``sleep=``), so Retry-After and backoff are measured
without sleeping; the client-side limiter is off unless a test is about it.
"""

from __future__ import annotations

import datetime as dt
import logging

import orjson
import pytest
import requests

from rtk_frames.client import Client
from rtk_frames.client.ratelimit import RateLimiter
from rtk_frames.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RTKError,
    ServerError,
    TransportError,
)


class SleepRecorder:
    """Stands in for time.sleep: remembers what it was asked to wait, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def fast_client(api, **kwargs) -> tuple[Client, SleepRecorder]:
    """A client on the sandbox with no budget, no real waiting, and its recorder of waits."""
    sleep = SleepRecorder()
    options = {"rate_limiter": None, "backoff_factor": 0.01, "backoff_jitter": 0.0, "sleep": sleep,
               "timeout": 5.0, **kwargs}
    return api.client(**options), sleep


@pytest.fixture(scope="module")
def sandbox():
    from rtk_frames.sandbox import serve

    return serve  # imported lazily: the sandbox is another module's


@pytest.fixture(scope="module")
def big_dataset():
    from rtk_frames.sandbox import Dataset

    return Dataset.synthetic(sessions=13, participants=23, samples=3, seed=11)


@pytest.fixture(scope="module")
def big_api(sandbox, big_dataset):
    with sandbox(big_dataset) as api:
        yield api


@pytest.fixture(scope="module")
def seed_api(sandbox, big_dataset):
    with sandbox(big_dataset, flavor="seed") as api:
        yield api


@pytest.fixture()
def api(sandbox):
    """A fresh sample sandbox per test (its own request log and faults)."""
    from rtk_frames.sandbox import Dataset

    with sandbox(Dataset.from_samples()) as fresh:
        yield fresh


def raw_get(api, path: str, **params) -> dict:
    """The same endpoint fetched by plain requests, for comparing 'exactly as received'."""
    url = f"{api.base_url}/accounts/{api.account_id}/realtime/kit/{api.app_id}{path}"
    response = requests.get(url, params=params, headers={"Authorization": f"Bearer {api.api_token}"},
                            timeout=5)
    assert response.status_code == 200, response.text[:200]
    return orjson.loads(response.content)


def a_session_with_participants(api_or_client) -> tuple[str, str]:
    client = api_or_client if isinstance(api_or_client, Client) else fast_client(api_or_client)[0]
    for session in client.get_sessions(per_page=100)["data"]["sessions"]:
        participants = client.get_session_participants(session["id"])["data"]["participants"]
        if participants:
            return session["id"], participants[0]["id"]
    raise AssertionError("the sandbox has no session with participants")


# ---------------------------------------------------------------------------------------------------------
# the nine raw methods


def test_each_raw_method_returns_the_json_exactly_as_received(api):
    client, _ = fast_client(api)
    sid, pid = a_session_with_participants(client)
    pairs = [
        (client.get_sessions(), raw_get(api, "/sessions")),
        (client.get_session_details(sid, include_breakout_rooms=True),
         raw_get(api, f"/sessions/{sid}", include_breakout_rooms="true")),
        (client.get_session_participants(sid, per_page=50),
         raw_get(api, f"/sessions/{sid}/participants", per_page=50)),
        (client.get_session_participant_details(sid, pid, filters=["device_info", "quality_stats"]),
         raw_get(api, f"/sessions/{sid}/participants/{pid}", filters="device_info,quality_stats")),
        (client.get_participant_data_from_peer_id(pid, include_peer_events=True),
         raw_get(api, f"/sessions/peer-report/{pid}", include_peer_events="true")),
    ]
    for ours, theirs in pairs:
        assert ours == theirs
        assert ours["success"] is True


def test_url_methods_answer_with_their_download_urls(api):
    client, _ = fast_client(api)
    sid, _pid = a_session_with_participants(client)
    chat = client.get_session_chat(sid)
    transcript = client.get_session_transcripts(sid, format="VTT")
    assert chat["data"]["chat_download_url"].startswith("http")
    assert transcript["data"]["transcript_download_url"].startswith("http")
    transcript_query = [r.query for r in api.request_log if r.path.endswith("/transcript")]
    assert transcript_query[-1].get("format") in ("VTT", ["VTT"])


@pytest.fixture()
def unsummarised(sandbox):
    """A sample sandbox in which the first session has no summary yet; yields (api, session_id)."""
    from rtk_frames.sandbox import Dataset

    dataset = Dataset.from_samples()
    sid = dataset.sessions[0]["id"]
    dataset.summaries.pop(sid, None)
    with sandbox(dataset) as fresh:
        yield fresh, sid


def test_summary_is_not_found_before_it_is_generated_and_found_after(unsummarised):
    api, sid = unsummarised
    client, _ = fast_client(api)
    with pytest.raises(NotFoundError) as caught:
        client.get_session_summary(sid)
    assert caught.value.status == 404 and caught.value.message
    assert caught.value.path.endswith(f"/sessions/{sid}/summary")
    generated = client.generate_summary_of_transcripts(sid)
    assert generated.get("success", True) is True
    summary = client.get_session_summary(sid)
    url = summary["data"].get("summaryDownloadUrl") or summary["data"].get("summary_download_url")
    assert url.startswith("http")
    posts = [r for r in api.request_log if r.method == "POST"]
    assert len(posts) == 1 and posts[0].path.endswith(f"/sessions/{sid}/summary")


def test_summary_download_before_generation_is_not_found_with_the_services_message(unsummarised):
    api, sid = unsummarised
    client, _ = fast_client(api)
    with pytest.raises(NotFoundError) as caught:
        client.download_session_file("summary", sid)
    assert caught.value.status == 404
    assert caught.value.message != "the service sent no error message"
    assert not [r for r in api.request_log if r.endpoint == "download"]


def test_participant_details_accepts_seed_filters_and_sdk_peer_events(api):
    client, _ = fast_client(api)
    sid, pid = a_session_with_participants(client)
    client.get_session_participant_details(sid, pid, filters="device_info, events", include_peer_events=False)
    last = api.request_log[-1]
    assert last.query.get("filters") in ("device_info,events", ["device_info,events"])
    assert last.query.get("include_peer_events") in ("false", ["false"])


# ---------------------------------------------------------------------------------------------------------
# paging


def all_session_ids(dataset) -> set[str]:
    return {s["id"] for s in dataset.sessions}


@pytest.mark.parametrize("fixture_name", ["big_api", "seed_api"])
def test_paging_sessions_over_several_pages_yields_each_once(request, fixture_name, big_dataset):
    api = request.getfixturevalue(fixture_name)
    client, _ = fast_client(api)
    pages = list(client.paginate("get_sessions", per_page=4))
    ids = [s["id"] for page in pages for s in page["data"]["sessions"]]
    assert len(pages) >= 3
    assert len(ids) == len(set(ids))
    single = client.get_sessions(per_page=1000)["data"]["sessions"]
    assert set(ids) == {s["id"] for s in single}
    assert all_session_ids(big_dataset) <= set(ids)


@pytest.mark.parametrize("fixture_name", ["big_api", "seed_api"])
def test_paging_participants_over_several_pages_yields_each_once(request, fixture_name, big_dataset):
    api = request.getfixturevalue(fixture_name)
    client, _ = fast_client(api)
    sid = big_dataset.sessions[0]["id"]
    pages = list(client.paginate("get_session_participants", session_id=sid, per_page=7))
    ids = [p["id"] for page in pages for p in page["data"]["participants"]]
    expected = {p["id"] for p in big_dataset.participants[sid]}
    assert len(pages) >= 3
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    placement = [("paging" in page, "paging" in page["data"]) for page in pages]
    expected_placement = (False, True) if fixture_name == "seed_api" else (True, False)
    assert set(placement) == {expected_placement}  # seed: paging under data; SDK: at the top level


def test_paging_stops_without_an_extra_request_when_total_is_reached(big_api, big_dataset):
    client, _ = fast_client(big_api)
    sid = big_dataset.sessions[1]["id"]
    total = len(big_dataset.participants[sid])
    before = len(big_api.request_log)
    pages = list(client.paginate("get_session_participants", session_id=sid, per_page=total))
    asked = big_api.request_log[before:]
    assert len(pages) == 1 and len(pages[0]["data"]["participants"]) == total
    assert len(asked) == 1


def test_one_client_serves_several_threads(big_api, big_dataset):
    from concurrent.futures import ThreadPoolExecutor

    client, _ = fast_client(big_api)
    session_ids = [s["id"] for s in big_dataset.sessions[:6]]

    def participant_ids(sid):
        pages = client.paginate("get_session_participants", session_id=sid, per_page=5)
        return sid, {p["id"] for page in pages for p in page["data"]["participants"]}

    with ThreadPoolExecutor(max_workers=4) as pool:
        found = dict(pool.map(participant_ids, session_ids))
    assert found == {sid: {p["id"] for p in big_dataset.participants[sid]} for sid in session_ids}
    assert client.stats.requests["get_session_participants"] == sum(
        -(-len(big_dataset.participants[sid]) // 5) for sid in session_ids)


# ---------------------------------------------------------------------------------------------------------
# filters: each one changes the answer


def session_list(client, **params) -> list[dict]:
    return [s for page in client.paginate("get_sessions", per_page=100, **params)
            for s in page["data"]["sessions"]]


def test_status_filter(big_api):
    client, _ = fast_client(big_api)
    everything = session_list(client)
    for status in ("LIVE", "ENDED"):
        chosen = session_list(client, status=status)
        assert chosen and all(s["status"] == status for s in chosen)
        assert len(chosen) < len(everything)


def test_time_range_filter(big_api):
    client, _ = fast_client(big_api)
    everything = session_list(client)
    starts = sorted(dt.datetime.fromisoformat(s["started_at"].replace("Z", "+00:00")) for s in everything)
    middle = starts[len(starts) // 2]
    later = session_list(client, start_time=middle)
    earlier = session_list(client, end_time=middle)
    assert 0 < len(later) < len(everything)
    assert 0 < len(earlier) < len(everything)
    later_ids, earlier_ids = {s["id"] for s in later}, {s["id"] for s in earlier}
    assert later_ids != earlier_ids
    query = big_api.request_log[-1].query
    sent = query.get("end_time")
    sent = sent[0] if isinstance(sent, list) else sent
    assert sent == middle.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_search_filter(big_api):
    client, _ = fast_client(big_api)
    everything = session_list(client)
    title = everything[-1]["meeting_display_name"]
    found = session_list(client, search=title)
    assert found and len(found) < len(everything)
    assert all(title.lower() in s["meeting_display_name"].lower() or title in s["id"] for s in found)


def test_associated_id_filter(big_api):
    client, _ = fast_client(big_api)
    everything = session_list(client)
    meeting = everything[0]["associated_id"]
    found = session_list(client, associated_id=meeting)
    assert found and len(found) < len(everything)
    assert {s["associated_id"] for s in found} == {meeting}


def test_participants_filter(big_api, big_dataset):
    client, _ = fast_client(big_api)
    everything = session_list(client)
    sid = big_dataset.sessions[2]["id"]
    user = big_dataset.participants[sid][0]["user_id"]
    found = session_list(client, participants=[user])
    assert sid in {s["id"] for s in found} and len(found) < len(everything)
    assert all(any(row["user_id"] == user for row in big_dataset.participants[s["id"]]) for s in found)


def test_sort_order_reverses_the_answer(big_api):
    client, _ = fast_client(big_api)
    ascending = [s["id"] for s in session_list(client, sort_by="createdAt", sort_order="ASC")]
    descending = [s["id"] for s in session_list(client, sort_by="createdAt", sort_order="DESC")]
    assert ascending == descending[::-1]
    assert ascending != descending


def test_participant_search_and_sort(big_api, big_dataset):
    client, _ = fast_client(big_api)
    sid = big_dataset.sessions[0]["id"]
    everyone = client.get_session_participants(sid, per_page=100)["data"]["participants"]
    name = everyone[0]["display_name"]
    found = client.get_session_participants(sid, per_page=100, search=name)["data"]["participants"]
    assert found and len(found) < len(everyone)
    assert all(name.lower() in (p["display_name"] or "").lower() or name in p["id"] for p in found)
    by_duration = client.get_session_participants(sid, per_page=100, sort_by="duration",
                                                  sort_order="DESC")["data"]["participants"]
    durations = [p["duration"] for p in by_duration]
    assert durations == sorted(durations, reverse=True)


# ---------------------------------------------------------------------------------------------------------
# errors and retries


def test_wrong_token_is_an_authentication_error(api):
    client = Client(api.account_id, api.app_id, "not-the-token", base_url=api.base_url, rate_limiter=None)
    with pytest.raises(AuthenticationError) as caught:
        client.get_sessions()
    assert caught.value.status == 401
    assert caught.value.message


def test_unknown_session_is_not_found_with_the_services_message(api):
    client, _ = fast_client(api)
    with pytest.raises(NotFoundError) as caught:
        client.get_session_details("no-such-session")
    assert caught.value.status == 404
    assert caught.value.message and caught.value.message != "the service sent no error message"


def test_rate_limited_then_answered_honours_retry_after(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api)
    api.set_faults(Faults(rate_limited_first=2, retry_after_s=7.0))
    payload = client.get_sessions()
    assert payload["success"] is True
    assert sleep.waits == [7.0, 7.0]
    assert client.stats.retry_waits_s == [7.0, 7.0]
    assert client.stats.snapshot() == {"requests": {"get_sessions": 1}, "retries": 2,
                                       "retry_waits_s": [7.0, 7.0], "rate_limit_wait_s": 0.0}
    assert [r.status for r in api.request_log] == [429, 429, 200]


def test_retry_after_beyond_the_cap_is_cut_to_it(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, retry_after_max_s=2.5)
    api.set_faults(Faults(rate_limited_first=1, retry_after_s=3600.0))
    client.get_sessions()
    assert sleep.waits == [2.5]


def test_rate_limited_past_the_retries_is_a_rate_limit_error(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=2)
    api.set_faults(Faults(rate_limited_first=10, retry_after_s=4.0))
    with pytest.raises(RateLimitError) as caught:
        client.get_sessions()
    assert caught.value.status == 429 and caught.value.retry_after_s == 4.0
    assert caught.value.message
    assert sleep.waits == [4.0, 4.0]
    assert len(api.request_log) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_answered(api, status):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api)
    api.set_faults(Faults(server_errors_first=2, server_error_status=status, retry_after_s=0.0))
    assert client.get_sessions()["success"] is True
    assert [r.status for r in api.request_log] == [status, status, 200]
    assert len(sleep.waits) == 2


def test_server_errors_past_the_retries_are_a_server_error(api):
    from rtk_frames.sandbox import Faults

    client, _ = fast_client(api, max_retries=1)
    api.set_faults(Faults(server_errors_first=5, server_error_status=500))
    with pytest.raises(ServerError) as caught:
        client.get_sessions()
    assert caught.value.status == 500 and caught.value.message
    assert len(api.request_log) == 2


def test_backoff_grows_exponentially(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, backoff_factor=0.5, max_retries=3)
    api.set_faults(Faults(server_errors_first=3, server_error_status=500, retry_after_s=0.0))
    client.get_sessions()
    # urllib3: no wait before the first retry, then factor * 2**(n-1)
    assert sleep.waits == [0.0, 1.0, 2.0]


def test_post_is_not_retried_on_a_server_error(api):
    from rtk_frames.sandbox import Faults

    client, _ = fast_client(api)
    sid = client.get_sessions()["data"]["sessions"][0]["id"]
    api.set_faults(Faults(server_errors_first=1, server_error_status=503, path_pattern=r"/summary$"))
    with pytest.raises(ServerError):
        client.generate_summary_of_transcripts(sid)
    assert [r.method for r in api.request_log if r.path.endswith("/summary")] == ["POST"]


def test_post_is_not_retried_once_sent_but_is_when_the_connection_was_refused(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api)
    sid = client.get_sessions()["data"]["sessions"][0]["id"]
    api.set_faults(Faults(drop_connections_first=1, path_pattern=r"/summary$"))
    with pytest.raises(TransportError):
        client.generate_summary_of_transcripts(sid)
    assert [r.method for r in api.request_log if r.path.endswith("/summary")] == ["POST"]
    assert sleep.waits == []
    refused_sleep = SleepRecorder()
    refused = Client("acc", "app", "tok", base_url="http://127.0.0.1:9/client/v4", rate_limiter=None,
                     max_retries=2, sleep=refused_sleep, backoff_factor=0.0)
    with pytest.raises(TransportError, match="POST"):
        refused.generate_summary_of_transcripts(sid)
    assert len(refused_sleep.waits) == 2  # nothing was sent: connecting again is safe


def test_html_error_page_is_retried_then_reported_with_its_first_bytes(api):
    from rtk_frames.sandbox import Faults

    client, _ = fast_client(api, max_retries=1)
    api.set_faults(Faults(html_errors_first=1))
    assert client.get_sessions()["success"] is True
    api.set_faults(Faults(html_errors_first=5))
    with pytest.raises(ServerError) as caught:
        client.get_sessions()
    assert "<" in caught.value.message and len(caught.value.message) <= 200


def test_dropped_connection_is_retried_then_a_transport_error(api):
    from rtk_frames.sandbox import Faults

    client, _ = fast_client(api, max_retries=2)
    api.set_faults(Faults(drop_connections_first=2))
    assert client.get_sessions()["success"] is True
    api.set_faults(Faults(drop_connections_first=10))
    with pytest.raises(TransportError):
        client.get_sessions()


def test_truncated_body_is_retried_then_a_transport_error(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=2)
    api.set_faults(Faults(truncate_first=2))
    assert client.get_sessions()["success"] is True
    assert len(sleep.waits) == 2
    api.set_faults(Faults(truncate_first=10))
    with pytest.raises(TransportError, match="truncated"):
        client.get_sessions()


def test_truncated_bodies_and_server_errors_share_one_retry_budget(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=3)
    api.set_faults(Faults(truncate_first=2, server_errors_first=5, retry_after_s=0.0))
    with pytest.raises(ServerError):
        client.get_sessions()
    assert [r.status for r in api.request_log] == [200, 200, 503, 503]  # 1 + max_retries attempts in all
    assert len(sleep.waits) == 3 and client.stats.retries == 3


def test_dropped_connections_and_truncated_bodies_share_one_retry_budget(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=3)
    api.set_faults(Faults(drop_connections_first=2, truncate_first=5))
    with pytest.raises(TransportError, match="truncated"):
        client.get_sessions()
    assert [r.status for r in api.request_log] == [0, 0, 200, 200]
    assert len(sleep.waits) == 3


@pytest.mark.parametrize("fault", ["drop_connections_first", "truncate_first", "server_errors_first"])
def test_max_retries_zero_is_one_attempt_whatever_fails_no_hidden_urllib3_retries(api, fault):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=0)
    api.set_faults(Faults(**{fault: 1}, retry_after_s=0.0))
    with pytest.raises(RTKError):
        client.get_sessions()
    assert len(api.request_log) == 1 and sleep.waits == [] and client.stats.retries == 0


def test_a_cut_body_then_server_errors_then_a_cut_body_take_one_budget_in_the_log(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=4)
    api.set_faults(Faults(truncate_first=1, server_errors_first=2, retry_after_s=0.0))
    assert client.get_sessions()["success"] is True
    # attempts: cut, 503, 503, answered: 4 requests, 3 retries, each with one wait
    assert [r.status for r in api.request_log] == [200, 503, 503, 200]
    assert client.stats.retries == len(sleep.waits) == 3
    assert client.stats.requests == {"get_sessions": 1}


def test_mixed_faults_within_the_retry_budget_are_answered(api):
    from rtk_frames.sandbox import Faults

    client, sleep = fast_client(api, max_retries=3)
    api.set_faults(Faults(drop_connections_first=1, truncate_first=1, server_errors_first=1,
                          retry_after_s=0.0))
    assert client.get_sessions()["success"] is True
    assert [r.status for r in api.request_log] == [0, 200, 503, 200]
    assert len(sleep.waits) == 3


def test_refused_connection_is_a_transport_error():
    client = Client("acc", "app", "tok", base_url="http://127.0.0.1:9/client/v4", rate_limiter=None,
                    max_retries=1, backoff_factor=0.0, sleep=SleepRecorder(), timeout=2.0)
    with pytest.raises(TransportError) as caught:
        client.get_sessions()
    assert caught.value.__cause__ is None and caught.value.__context__ is None


# ---------------------------------------------------------------------------------------------------------
# the rate budget over HTTP


class SharedClock:
    """A fake clock for the client's limiter whose sleeps also move the sandbox's clock."""

    def __init__(self, api) -> None:
        self.api = api
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.api.advance_clock(seconds)


def test_limiter_reads_the_sandbox_ratelimit_headers(sandbox):
    from rtk_frames.sandbox import Dataset

    limiter = RateLimiter(((1000, 60.0),))
    with sandbox(Dataset.from_samples(), rate_limit=(1000, 300.0)) as api:
        client, _ = fast_client(api, rate_limiter=limiter)
        client.get_sessions()
        client.get_sessions()
    status = limiter.last_server_status
    assert status is not None and status.remaining == 998
    assert status.limit == 1000 and status.window_s == 300.0
    assert limiter.granted == 2


def budget_burst(sandbox, limiter_windows, sandbox_limit, requests_n):
    """Send requests_n GETs through a client whose limiter shares a fake clock with the sandbox."""
    from rtk_frames.sandbox import Dataset

    with sandbox(Dataset.from_samples(), rate_limit=sandbox_limit) as api:
        clock = SharedClock(api)
        limiter = RateLimiter(limiter_windows, clock=clock, sleep=clock.sleep)
        client, _ = fast_client(api, rate_limiter=limiter, max_retries=0)
        granted_at = []
        for _ in range(requests_n):
            client.get_sessions(per_page=1)
            granted_at.append(clock.now)
        return [r.status for r in api.request_log], granted_at, limiter


def test_limiter_keeps_three_budgets_of_requests_within_the_sandbox_budget(sandbox):
    budget = (8, 300.0)
    statuses, granted_at, limiter = budget_burst(sandbox, (budget,), (10, 300.0), 3 * budget[0])
    assert statuses == [200] * 3 * budget[0]
    for i, started in enumerate(granted_at):  # no 300 s window holds more than the client's 8
        assert sum(1 for t in granted_at[i:] if t < started + budget[1] - 1e-9) <= budget[0]
    assert granted_at[-1] - granted_at[0] >= 2 * budget[1]
    assert limiter.waited_s >= 2 * budget[1]


def test_without_a_limiter_the_same_burst_is_rate_limited(sandbox):
    from rtk_frames.sandbox import Dataset

    with sandbox(Dataset.from_samples(), rate_limit=(10, 300.0)) as api:
        client, _ = fast_client(api, max_retries=0)
        with pytest.raises(RateLimitError) as caught:
            for _ in range(24):
                client.get_sessions(per_page=1)
        assert [r.status for r in api.request_log] == [200] * 10 + [429]
    assert caught.value.retry_after_s is not None and 0 < caught.value.retry_after_s <= 300


def test_limiter_paces_itself_by_the_services_headers_alone(sandbox):
    # the client's own windows are far above the sandbox's 5 / 60 s: only the Ratelimit headers slow it
    statuses, granted_at, limiter = budget_burst(sandbox, ((10_000, 60.0),), (5, 60.0), 15)
    assert statuses == [200] * 15
    assert limiter.waited_s > 0
    assert granted_at[-1] - granted_at[0] >= 2 * 60.0  # 15 requests at 5 / min need over two minutes


# ---------------------------------------------------------------------------------------------------------
# secrets


def test_no_log_record_repr_or_error_carries_the_token(api, caplog):
    from rtk_frames.sandbox import Faults

    caplog.set_level(logging.DEBUG)
    client, _ = fast_client(api, max_retries=1)
    sid, pid = a_session_with_participants(client)
    client.get_session_participant_details(sid, pid)
    client.download_session_file("chat", sid)
    errors: list[BaseException] = []
    for faults in (Faults(server_errors_first=5), Faults(drop_connections_first=5), Faults(truncate_first=5),
                   Faults(rate_limited_first=5, retry_after_s=0.0)):
        api.set_faults(faults)
        with pytest.raises(RTKError) as caught:
            client.get_sessions()
        errors.append(caught.value)
    api.set_faults(None)
    with pytest.raises(NotFoundError) as caught:
        client.get_session_details("missing")
    errors.append(caught.value)
    token = api.api_token
    assert caplog.records, "the client logs its requests at DEBUG"
    ours = [r.getMessage() for r in caplog.records if r.name == "rtk_frames.client"]
    assert any("/sessions" in message and "-> 200" in message for message in ours)
    assert any("waiting" in message and "(backoff)" in message for message in ours)  # retries say so
    for record in caplog.records:
        assert token not in record.getMessage()
        assert "Authorization" not in record.getMessage()
    assert token not in repr(client)
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:
            assert token not in str(chain) and token not in repr(chain)
            assert not hasattr(chain, "request")  # a requests exception carries the prepared headers
            chain = chain.__cause__ or chain.__context__


def test_download_requests_carry_no_authorization(api):
    client, _ = fast_client(api)
    sid, _pid = a_session_with_participants(client)
    chat = client.download_session_file("chat", sid)
    transcript = client.download_session_file("transcript", sid, format="CSV")
    assert chat.content and transcript.content
    api_records = [r for r in api.request_log if r.endpoint != "download"]
    downloads = [r for r in api.request_log if r.endpoint == "download"]
    assert len(downloads) == 2
    assert all(r.has_authorization for r in api_records)
    assert not any(r.has_authorization for r in downloads)
    assert api.api_token not in repr(chat)


def test_expired_download_url_is_renewed_once(api):
    client, _ = fast_client(api)
    sid, _pid = a_session_with_participants(client)
    stale = client.get_session_chat(sid)
    api.advance_clock(10_000.0)  # the URL above has expired; new ones are fresh
    fresh_payloads: list[dict] = []
    real = client.get_session_chat

    def first_stale_then_real(session_id):
        if not fresh_payloads:
            fresh_payloads.append(stale)
            return stale
        fresh = real(session_id)
        fresh_payloads.append(fresh)
        return fresh

    client.get_session_chat = first_stale_then_real
    downloaded = client.download_session_file("chat", sid)
    assert downloaded.content
    assert downloaded.url == fresh_payloads[1]["data"]["chat_download_url"]
    download_statuses = [r.status for r in api.request_log if r.endpoint == "download"]
    assert download_statuses == [403, 200]


def test_download_refused_twice_is_a_clear_error(api):
    client, _ = fast_client(api)
    sid, _pid = a_session_with_participants(client)
    real = client.get_session_chat

    def url_that_expires_at_once(session_id):
        payload = real(session_id)
        api.advance_clock(10_000.0)
        return payload

    client.get_session_chat = url_that_expires_at_once
    with pytest.raises(APIError, match="refused twice") as caught:
        client.download_session_file("chat", sid)
    assert caught.value.status == 403
    assert [r.status for r in api.request_log if r.endpoint == "download"] == [403, 403]
    assert [r.endpoint for r in api.request_log].count("get_session_chat") == 2
