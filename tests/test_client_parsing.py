"""The client's pure parts: query values, error envelopes, the retry policy's caps, construction, secrets.

No network here; everything that talks HTTP is in test_client.py against the sandbox.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import pickle
from types import SimpleNamespace

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from rtk_frames.client import (
    Client,
    ClientStats,
    MissingCredentialsError,
    error_from_response,
    query_params,
    service_error,
)
from rtk_frames.client.transport import _BearerAuth, _ClientRetry, _RetryHooks
from rtk_frames.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

TOKEN = "s3cr3t-T0KEN-value-abcdef"


def test_query_params_turn_python_values_into_the_wire_format():
    query = query_params({
        "include_peer_events": True,
        "include_breakout_rooms": False,
        "start_time": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "end_time": dt.datetime(2024, 5, 2, 8, 0),  # naive = UTC
        "filters": ("device_info", " ip_information ", "events"),
        "per_page": 100,
        "page_no": 2.0,
        "search": None,
    })
    assert query == {
        "include_peer_events": "true",
        "include_breakout_rooms": "false",
        "start_time": "2024-05-01T10:30:00.000Z",
        "end_time": "2024-05-02T08:00:00.000Z",
        "filters": "device_info,ip_information,events",
        "per_page": "100",
        "page_no": "2",
    }


def test_sessions_participants_filter_is_comma_joined_too():
    assert query_params({"participants": ["u1", "u2"]}) == {"participants": "u1,u2"}


def test_filters_given_as_a_string_lose_their_spaces():
    assert query_params({"filters": "device_info, events ,quality_stats"}) == {
        "filters": "device_info,events,quality_stats"}


@settings(max_examples=50, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7))])))
def test_aware_datetimes_round_trip_to_the_same_instant(moment):
    text = query_params({"start_time": moment})["start_time"]
    assert text.endswith("Z")
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs(parsed - moment) < dt.timedelta(milliseconds=1)


def test_service_error_reads_the_cloudflare_envelope_and_joins_several_messages():
    payload = {"success": False, "errors": [{"code": 10000, "message": "Authentication error"},
                                            {"code": 10001, "message": "token expired"}], "messages": []}
    assert service_error(payload) == ("10000", "Authentication error; token expired")


def test_service_error_reads_the_realtimekit_envelope():
    assert service_error({"success": False, "error": {"code": 404, "message": "Session not found"}}) == (
        "404", "Session not found")
    assert service_error({"success": False, "error": "bad filter"}) == (None, "bad filter")


def test_service_error_is_none_for_a_successful_payload():
    assert service_error({"success": True, "data": {}, "errors": []}) is None


@pytest.mark.parametrize(("status", "expected"), [
    (400, APIError), (401, AuthenticationError), (403, AuthenticationError), (404, NotFoundError),
    (409, APIError), (422, APIError), (429, RateLimitError), (500, ServerError), (503, ServerError),
])
def test_status_maps_to_its_error_class(status, expected):
    err = error_from_response(status, b'{"success":false,"errors":[{"code":7,"message":"nope"}]}',
                              method="GET", path="/x")
    assert type(err) is expected
    assert (err.status, err.code, err.message) == (status, "7", "nope")


def test_html_body_gives_its_first_bytes_as_the_message():
    html = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + b"x" * 1000 + b"</body></html>"
    err = error_from_response(502, html, method="GET", path="/sessions")
    assert isinstance(err, ServerError)
    assert err.message.startswith("<html> <head><title>502 Bad Gateway</title></head>")
    assert len(err.message) <= 200


def test_object_store_xml_error_gives_its_code_and_message():
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Request has expired</Message><RequestId>1</RequestId></Error>")
    err = error_from_response(403, body, method="GET", path="//bucket/x")
    assert isinstance(err, AuthenticationError)
    assert (err.code, err.message) == ("AccessDenied", "Request has expired")


def test_object_store_xml_error_pretty_printed_keeps_its_code():
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>AccessDenied</Code>\n'
            b"  <Message>Request has expired</Message>\n</Error>\n")
    err = error_from_response(403, body, method="GET", path="//bucket/x")
    assert (err.code, err.message) == ("AccessDenied", "Request has expired")


def test_empty_error_body_still_says_something():
    err = error_from_response(500, b"", method="GET", path="/sessions")
    assert err.message and "500" in str(err)


def make_retry(retry_after_max_s: float, waits: list[float]) -> _ClientRetry:
    retry = _ClientRetry(total=3, status_forcelist={429}, backoff_factor=0.1)
    retry.hooks = _RetryHooks(waits.append, retry_after_max_s, ClientStats())
    return retry


def test_retry_after_is_capped_at_the_clients_maximum():
    waits: list[float] = []
    retry = make_retry(60.0, waits).new()  # new() keeps the hooks
    assert retry.parse_retry_after("21600") == 60.0  # urllib3 alone would wait 6 hours
    assert retry.parse_retry_after("5") == 5.0
    assert retry.parse_retry_after("0.25") == 0.25  # lenient about fractions
    assert retry.parse_retry_after("-3") == 0.0


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    soon = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    assert 25.0 <= make_retry(60.0, []).parse_retry_after(soon) <= 30.0
    assert make_retry(60.0, []).parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past


def test_unreadable_retry_after_falls_back_to_backoff():
    response = SimpleNamespace(headers={"Retry-After": "soon-ish"})
    assert make_retry(60.0, []).get_retry_after(response) is None


def test_repr_never_shows_the_token():
    client = Client("acc-1", "app-1", TOKEN, rate_limiter=None)
    assert "acc-1" in repr(client) and "app-1" in repr(client)
    assert TOKEN not in repr(client) and TOKEN not in repr(vars(client)) and TOKEN[:8] not in repr(client)
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_token_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    prepared = requests.Request("GET", "https://api.cloudflare.com/client/v4/x").prepare()
    client = Client("acc", "app")
    assert client._auth(prepared).headers["Authorization"] == f"Bearer {TOKEN}"


def test_missing_token_is_a_typed_error_that_says_what_to_set(monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with pytest.raises(MissingCredentialsError, match="CLOUDFLARE_API_TOKEN"):
        Client("acc", "app")


def test_from_env_reads_all_four_variables(monkeypatch):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc-9")
    monkeypatch.setenv("RTK_APP_ID", "app-9")
    monkeypatch.setenv("RTK_BASE_URL", "http://127.0.0.1:9/client/v4")
    client = Client.from_env(rate_limiter=None)
    assert (client.account_id, client.app_id, client.base_url) == ("acc-9", "app-9",
                                                                    "http://127.0.0.1:9/client/v4")


def test_from_env_names_the_missing_variables(monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("RTK_APP_ID", raising=False)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    with pytest.raises(MissingCredentialsError, match=r"CLOUDFLARE_ACCOUNT_ID.*RTK_APP_ID"):
        Client.from_env()


@pytest.mark.parametrize(("url", "gets_token"), [
    ("https://api.cloudflare.com/client/v4/accounts/a/x", True),
    ("https://api.cloudflare.com:443/other", True),
    ("https://evil.example.com/client/v4/accounts/a/x", False),
    ("http://api.cloudflare.com/client/v4/accounts/a/x", False),  # downgraded scheme
    ("https://api.cloudflare.com:8443/client/v4", False),
    ("https://api.cloudflare.com.evil.example/client/v4", False),
])
def test_token_goes_only_to_the_api_origin(url, gets_token):
    auth = _BearerAuth(TOKEN, "https://api.cloudflare.com/client/v4")
    prepared = requests.Request("GET", url, headers={"Authorization": "Bearer stale"}).prepare()
    header = auth(prepared).headers.get("Authorization")
    assert (header == f"Bearer {TOKEN}") is gets_token
    if not gets_token:
        assert header is None
    assert TOKEN not in repr(auth)


def test_ids_cannot_reach_into_another_path():
    client = Client("acc", "app", TOKEN, rate_limiter=None)
    with pytest.raises(ValueError, match="non-empty id"):
        client.get_session_details("")
    for dots in (".", ".."):  # requests would remove the segment: the call would go to another endpoint
        with pytest.raises(ValueError, match="not an id"):
            client.get_session_participant_details("s1", dots)
