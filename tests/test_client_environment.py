"""The environment's proxy and CA settings: read once when a Client is built, then honoured on every call.

The API session does not re-read ``os.environ`` per request (``trust_env = False``, a fifth of a call's
own cost); these tests check that a proxy named before the client is built is still used, over real
HTTP through a tiny forwarding proxy on 127.0.0.1, and that ``NO_PROXY`` still exempts the API's host.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from rtk_frames.client.transport import Transport, environment_settings, settled_url

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                   "all_proxy", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class _ForwardingProxy(BaseHTTPRequestHandler):
    """A plain-HTTP forward proxy: records each absolute request URI and relays the answer."""

    server: _ProxyServer

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "host")}
        upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[str]


@pytest.fixture()
def proxy() -> Iterator[_ProxyServer]:
    server = _ProxyServer(("127.0.0.1", 0), _ForwardingProxy)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _proxy_url(proxy: _ProxyServer) -> str:
    host, port = proxy.server_address[:2]
    return f"http://{host!s}:{port}"


def test_a_proxy_named_before_the_client_is_built_carries_every_call(sample_api, proxy, clean_env):
    clean_env.setenv("HTTP_PROXY", _proxy_url(proxy))
    client = sample_api.client(rate_limiter=None)
    first = client.get_sessions()
    second = client.get_sessions()
    assert first["success"] is True and first == second
    assert len(proxy.seen) == 2
    assert all(uri.startswith(client.base_url + "/accounts/") for uri in proxy.seen)


def test_no_proxy_naming_the_api_host_keeps_the_calls_direct(sample_api, proxy, clean_env):
    clean_env.setenv("HTTP_PROXY", _proxy_url(proxy))
    clean_env.setenv("NO_PROXY", urlsplit(sample_api.base_url).hostname)
    client = sample_api.client(rate_limiter=None)
    assert client.get_sessions()["success"] is True
    assert proxy.seen == []


def test_the_environment_is_read_once_when_the_client_is_built(sample_api, proxy, clean_env):
    client = sample_api.client(rate_limiter=None)
    clean_env.setenv("HTTP_PROXY", _proxy_url(proxy))  # too late for this client
    assert client.get_sessions()["success"] is True
    assert proxy.seen == []
    assert sample_api.client(rate_limiter=None).get_sessions()["success"] is True  # a new client sees it
    assert len(proxy.seen) == 1


def test_ca_bundle_variables_are_resolved_like_requests_does(clean_env):
    assert environment_settings("https://api.example.com/v4") == ({}, True)
    clean_env.setenv("CURL_CA_BUNDLE", "/etc/curl-ca.pem")
    assert environment_settings("https://api.example.com/v4") == ({}, "/etc/curl-ca.pem")
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/requests-ca.pem")  # requests prefers its own variable
    assert environment_settings("https://api.example.com/v4") == ({}, "/etc/requests-ca.pem")


def test_an_https_proxy_is_kept_for_an_https_api_host(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    clean_env.setenv("NO_PROXY", "other.example.com")
    proxies, _ = environment_settings("https://api.cloudflare.com/client/v4")
    assert proxies["https"] == "http://proxy.internal:3128"


# --- the API requests the transport prepares itself ------------------------------------------------------

_BASES = st.sampled_from(["https://api.cloudflare.com/client/v4", "http://127.0.0.1:8080/client/v4",
                          "https://API.Example.com/client/v4", "http://h.example:80/v4/", "https://h.example",
                          "https://h.example/a%2fb", "https://h.example/a b", "https://h.example/./v4"])
_ODD_SEGMENTS = [".", "..", "a%2F", "%7e", "%7E", "%41", "~x", "a?b=c"]
_SEGMENTS = st.lists(st.text(min_size=1, max_size=8) | st.sampled_from(_ODD_SEGMENTS), min_size=1, max_size=4)
_PARAMS = st.none() | st.dictionaries(st.text(min_size=1, max_size=6), st.text(max_size=8), max_size=3)


@settings(max_examples=400, deadline=None)
@given(base=_BASES, segments=_SEGMENTS, quoted=st.booleans(), params=_PARAMS)
def test_a_request_prepared_directly_is_the_one_requests_would_prepare(base, segments, quoted, params):
    transport = Transport(base, "t0ken-value-123", rate_limiter=None)
    path = "/".join(quote(segment, safe="") if quoted else segment for segment in segments)
    url = f"{base.rstrip('/')}/{path}"
    ours = transport.prepare_api("GET", url, params)
    theirs = transport.api_session.prepare_request(requests.Request("GET", url, params=params,
                                                                    auth=transport.auth))
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert dict(ours.headers) == dict(theirs.headers)


def test_client_urls_take_the_direct_way():
    transport = Transport("https://api.cloudflare.com/client/v4", "t0ken-value-123", rate_limiter=None)
    url = "https://api.cloudflare.com/client/v4/accounts/a/realtime/kit/b/sessions/5f1e-9c%2Fx"
    assert settled_url(transport._settled_base, url, {"per_page": "100", "search": "a b"}) == \
        url + "?per_page=100&search=a+b"
    assert transport.prepare_api("GET", url).headers["Authorization"] == "Bearer t0ken-value-123"
