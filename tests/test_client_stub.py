"""What the sandbox never does, against a tiny local stub over real HTTP.

The sandbox pages honestly and always answers JSON, so these misbehaviours come from a stub server whose
answer function each test writes: ``paging`` missing or lying (a ``total_count`` that never arrives, a
server that ignores ``page_no``, overlapping pages, a server that caps ``per_page``), a 200 that is not
JSON, a 200 with ``"success": false``. Everything else is tested against the sandbox in test_client.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtk_frames.client import Client
from rtk_frames.errors import APIError, PayloadError, RateLimitError

# (page_no, per_page) -> the JSON body (or raw bytes), or (status, headers, body) for an answer other than 200
PageFunction = Callable[[int, int], "dict | bytes | tuple[int, dict[str, str], dict | bytes]"]


@contextmanager
def stub_api(page: PageFunction) -> Iterator[tuple[Client, list[int]]]:
    """A sessions endpoint on 127.0.0.1 answering ``page(page_no, per_page)``.

    Yields the client pointed at it and the list of page numbers asked for, in order."""
    asked: list[int] = []
    headers_seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            page_no, per_page = int(query.get("page_no", ["1"])[0]), int(query.get("per_page", ["20"])[0])
            asked.append(page_no)
            headers_seen.append(dict(self.headers))
            answer = page(page_no, per_page)
            status, headers, answer = answer if isinstance(answer, tuple) else (200, {}, answer)
            body = answer if isinstance(answer, bytes) else orjson.dumps(answer)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    client = Client("acc", "app", "stub-token", base_url=f"http://127.0.0.1:{server.server_port}/client/v4",
                    rate_limiter=None, max_retries=0)
    client.headers_seen = headers_seen  # for the one test that looks at what was sent
    try:
        yield client, asked
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def sessions(ids) -> dict:
    return {"success": True, "data": {"sessions": [{"id": f"s{i}"} for i in ids]}}


def collected(client: Client, **kwargs) -> list[str]:
    return [s["id"] for page in client.paginate("get_sessions", **kwargs) for s in page["data"]["sessions"]]


def test_missing_paging_and_a_server_repeating_its_last_page_stops_on_no_new_ids():
    # 25 items; past the end the server keeps answering the last full page again
    def page(page_no, per_page):
        last_full = 25 // per_page
        page_no = min(page_no, last_full)
        return sessions(range((page_no - 1) * per_page, page_no * per_page))

    with stub_api(page) as (client, asked):
        ids = collected(client, per_page=5)
    assert ids == [f"s{i}" for i in range(25)]
    assert asked == [1, 2, 3, 4, 5, 6]  # page 6 repeated page 5: stop


def test_a_server_ignoring_page_no_yields_its_page_once():
    with stub_api(lambda page_no, per_page: sessions(range(per_page))) as (client, asked):
        pages = list(client.paginate("get_sessions", per_page=4))
    assert [len(p["data"]["sessions"]) for p in pages] == [4]
    assert asked == [1, 2]


def test_total_count_that_lies_high_stops_on_the_empty_page():
    real = 12

    def page(page_no, per_page):
        body = sessions(i for i in range((page_no - 1) * per_page, page_no * per_page) if i < real)
        body["paging"] = {"total_count": 10**6, "start_offset": 0, "end_offset": 0}
        return body

    with stub_api(page) as (client, asked):
        ids = collected(client, per_page=5)
    assert ids == [f"s{i}" for i in range(real)]
    assert asked == [1, 2, 3, 4]  # 5, 5, 2 (short, but total says more), then empty


def test_overlapping_pages_yield_each_item_once():
    # each page starts 2 items before the previous one ended (a list that shifted under us)
    def page(page_no, per_page):
        start = max((page_no - 1) * per_page - 2, 0)
        return sessions(i for i in range(start, start + per_page) if i < 20)

    with stub_api(page) as (client, _asked):
        ids = collected(client, per_page=6)
    assert ids == [f"s{i}" for i in range(20)]
    assert len(ids) == len(set(ids))


def test_server_capping_per_page_still_pages_to_total_count():
    total, cap = 23, 5

    def page(page_no, per_page):
        size = min(per_page, cap)
        body = sessions(i for i in range((page_no - 1) * size, page_no * size) if i < total)
        body["data"]["paging"] = {"total_count": total, "start_offset": (page_no - 1) * size + 1,
                                  "end_offset": min(page_no * size, total)}
        return body

    with stub_api(page) as (client, asked):
        ids = collected(client, per_page=100)
    assert ids == [f"s{i}" for i in range(total)]
    assert asked == [1, 2, 3, 4, 5]  # stopped on end_offset == total_count, no extra request


def test_short_page_without_paging_ends_without_another_request():
    with stub_api(lambda page_no, per_page: sessions(range(3) if page_no == 1 else range(3, 6))) as (
            client, asked):
        ids = collected(client, per_page=10)
    assert ids == ["s0", "s1", "s2"]
    assert asked == [1]


def endless(page_no: int, per_page: int) -> dict:
    return sessions(range((page_no - 1) * per_page, page_no * per_page))


def test_max_pages_bounds_the_requests():
    with stub_api(endless) as (client, asked):
        ids = collected(client, per_page=2, max_pages=3)
    assert ids == [f"s{i}" for i in range(6)]
    assert asked == [1, 2, 3]


def test_empty_first_page_is_yielded_once_so_callers_see_the_shape():
    with stub_api(lambda page_no, per_page: sessions([])) as (client, asked):
        pages = list(client.paginate("get_sessions"))
    assert len(pages) == 1 and pages[0]["data"]["sessions"] == []
    assert asked == [1]


def test_a_200_that_is_not_json_is_a_payload_error():
    maintenance = b"<html>maintenance</html>"
    with stub_api(lambda page_no, per_page: maintenance) as (client, _asked), \
            pytest.raises(PayloadError, match="not JSON") as caught:
        client.get_sessions()
    assert "maintenance" in str(caught.value)


def test_a_200_with_a_json_list_is_a_payload_error():
    with stub_api(lambda page_no, per_page: [1, 2]) as (client, _asked), pytest.raises(PayloadError):
        client.get_sessions()


def test_a_200_saying_success_false_is_an_api_error_with_the_services_message():
    body = {"success": False, "errors": [{"code": 1234, "message": "app is suspended"}], "data": None}
    with stub_api(lambda page_no, per_page: body) as (client, _asked), pytest.raises(APIError) as caught:
        client.get_sessions()
    assert (caught.value.status, caught.value.code, caught.value.message) == (200, "1234", "app is suspended")


@pytest.mark.parametrize("retry_after", ["soon", "nan", "Someday, 99 Foo 20XX"])
def test_an_unreadable_retry_after_on_the_last_answer_is_a_rate_limit_error_without_a_wait(retry_after):
    body = {"success": False, "errors": [{"code": 971, "message": "slow down"}]}
    with stub_api(lambda page_no, per_page: (429, {"Retry-After": retry_after}, body)) as (client, _asked), \
            pytest.raises(RateLimitError) as caught:
        client.get_sessions()
    assert (caught.value.message, caught.value.retry_after_s) == ("slow down", None)


def test_requests_say_who_sends_them_and_accept_json():
    from rtk_frames import __version__

    with stub_api(lambda page_no, per_page: sessions([])) as (client, _asked):
        client.get_sessions()
        sent = client.headers_seen[-1]
    assert sent["User-Agent"] == f"rtk-frames/{__version__}"
    assert sent["Accept"] == "application/json"
    assert sent["Authorization"] == "Bearer stub-token"


def test_paginate_refuses_methods_that_do_not_page():
    client = Client("acc", "app", "stub-token", rate_limiter=None)
    with pytest.raises(ValueError, match="get_sessions"):
        next(client.paginate("get_session_chat", session_id="x"))


@pytest.fixture(scope="module")
def switchable_stub():
    """One stub for many hypothesis examples: tests set ``answer[0]`` to their page function."""
    answer: list[PageFunction] = [lambda page_no, per_page: sessions([])]
    with stub_api(lambda page_no, per_page: answer[0](page_no, per_page)) as (client, asked):
        yield client, asked, answer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pages=st.lists(st.lists(st.integers(0, 30), max_size=6), min_size=1, max_size=6),
    per_page=st.integers(1, 6),
    total=st.one_of(st.none(), st.integers(0, 40)),
    paging_under_data=st.booleans(),
    past_the_end=st.sampled_from(["empty", "repeat_last"]),
)
def test_any_paging_behaviour_ends_and_yields_each_fetched_item_once(
        switchable_stub, pages, per_page, total, paging_under_data, past_the_end):
    client, asked, answer = switchable_stub

    def ids_on(page_no):
        if page_no <= len(pages):
            return pages[page_no - 1]
        return [] if past_the_end == "empty" else pages[-1]

    def page(page_no, _per_page):
        body = sessions(ids_on(page_no))
        if total is not None:
            paging = {"total_count": total, "start_offset": 1, "end_offset": 0}
            (body["data"] if paging_under_data else body)["paging"] = paging
        return body

    answer[0] = page
    asked.clear()
    got = collected(client, per_page=per_page)
    fetched = [i for page_no in asked for i in ids_on(page_no)]
    assert got == list(dict.fromkeys(f"s{i}" for i in fetched))  # every fetched item, in order, once
    assert len(asked) <= len(pages) + 1  # it never ran past the first page after the data ran out
