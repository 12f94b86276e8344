"""The endpoint table drives the client, paging, the fetchers and the exports; checked against the
official SDK (names, paths, query parameters) and the sandbox's request log (what went over the wire)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import rtk_frames as rtk
from rtk_frames import fetch
from rtk_frames.client import Client
from rtk_frames.endpoints import ENDPOINTS, Endpoint
from rtk_frames.sandbox import Dataset, serve
from rtk_frames.schemas import SCHEMAS

SAMPLES = Dataset.from_samples()
SESSION = next(s["id"] for s in SAMPLES.sessions if SAMPLES.participants.get(s["id"]))
PARTICIPANT = SAMPLES.participants[SESSION][0]["id"]
IDS = {"session_id": SESSION, "participant_id": PARTICIPANT, "peer_id": PARTICIPANT}
# a value of every query kind, and how the wire must spell it
WIRE = {"bool": (True, "true"), "int": (2, "2"), "csv": (["device_info", " events"], "device_info,events"),
        "time": ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.000Z"), "str": ("abc", "abc")}


def sdk_methods() -> dict[str, typing.Any]:
    from cloudflare.resources.realtime_kit.sessions import SessionsResource

    return {name: getattr(SessionsResource, name) for name in dir(SessionsResource)
            if not name.startswith("_") and name not in ("with_raw_response", "with_streaming_response")}


def test_the_table_has_exactly_the_official_sdks_session_methods():
    assert set(ENDPOINTS) == set(sdk_methods())


@pytest.mark.parametrize("row", ENDPOINTS.values(), ids=list(ENDPOINTS))
def test_each_row_matches_the_sdks_path_method_and_query_parameters(row: Endpoint):
    method = sdk_methods()[row.name]
    source = inspect.getsource(method)
    assert f'"/accounts/{{account_id}}/realtime/kit/{{app_id}}{row.path}"' in source
    assert f"self._{row.method.lower()}(" in source
    sdk_query = set(inspect.signature(method).parameters) - {
        "self", "account_id", "app_id", "extra_headers", "extra_query", "extra_body", "timeout",
        *row.path_fields}
    assert sdk_query <= {param.name for param in row.query}  # ours may add the seed's (``filters``)


@pytest.mark.parametrize("row", ENDPOINTS.values(), ids=list(ENDPOINTS))
def test_each_row_is_a_raw_method_that_calls_its_path_with_its_serialised_query(row: Endpoint):
    raw_method = getattr(Client, row.name)
    assert raw_method.__name__ == row.name and "Example:" in raw_method.__doc__
    parameters = inspect.signature(raw_method).parameters
    assert list(parameters)[1:len(row.path_fields) + 1] == list(row.path_fields)
    query = {param.name: WIRE[param.kind] for param in row.query
             if param.name not in ("page_no", "per_page")}
    for param in row.query:
        if param.choices:
            query[param.name] = (param.choices[0], param.choices[0])
    with serve(Dataset.from_samples()) as api:
        client = api.client()
        if row.name == "get_session_summary":
            client.generate_summary_of_transcripts(SESSION)
        answer = raw_method(client, *(IDS[name] for name in row.path_fields),
                            **{name: value for name, (value, _) in query.items()})
        record = api.request_log[-1]
    assert isinstance(answer, dict)
    assert record.endpoint == row.name  # the sandbox's own routing names the same endpoint
    assert record.method == row.method and 200 <= record.status < 300
    expected_path = row.path.format_map(IDS)
    assert record.path.endswith(f"/realtime/kit/{api.app_id}{expected_path}")
    assert record.query == {name: wire for name, (_, wire) in query.items()}


def test_raw_methods_refuse_what_their_row_does_not_declare():
    client = Client("acc", "app", "t0ken-value", rate_limiter=None)
    with pytest.raises(TypeError):
        client.get_session_details("s1", include_peer_events=True)  # not a parameter of that endpoint
    with pytest.raises(TypeError):
        client.get_session_participant_details("s1")  # the participant id is missing
    with pytest.raises(TypeError):
        client.get_sessions("s1")  # no path field: nothing positional


def test_paginate_takes_exactly_the_rows_with_an_items_key(sample_client):
    listings = {name for name, row in ENDPOINTS.items() if row.items_key}
    assert listings == {"get_sessions", "get_session_participants"}
    pages = list(sample_client.paginate("get_session_participants", session_id=SESSION, per_page=1))
    assert len(pages) == len(SAMPLES.participants[SESSION])
    for name in set(ENDPOINTS) - listings:
        with pytest.raises(ValueError, match="paginate"):
            next(sample_client.paginate(name))


def test_every_fetcher_and_flattener_the_table_names_exists_is_exported_and_has_its_schema():
    for row in ENDPOINTS.values():
        for target in (*row.fetchers, *row.frames):
            module, _, name = target.partition(":")
            assert callable(getattr(rtk, name)) and getattr(rtk, name).__module__ == module
            assert name in rtk.__all__
        for schema in row.schemas:
            assert schema in SCHEMAS
    assert {"FrameWithRaw", "fetch_frames", "Client"} <= set(rtk.__all__)
    frames_in_table = {t.partition(":")[2] for row in ENDPOINTS.values() for t in row.frames}
    assert {f"{name}_frame" for name in SCHEMAS} == frames_in_table  # every schema's flattener is fed


def test_the_type_checkers_imports_in_init_are_the_lazy_exports():
    tree = ast.parse(Path(rtk.__file__).read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If)
                   and getattr(node.test, "id", None) == "TYPE_CHECKING")
    imported = {alias.name for node in guarded.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert imported == set(rtk._LAZY)


def test_the_client_and_the_table_never_import_pandas():
    code = ("import sys, rtk_frames.client, rtk_frames.endpoints, rtk_frames; rtk_frames.Client; "
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


FETCHERS = sorted(name for name in fetch.__all__ if name.startswith("fetch_")
                  and name not in ("fetch_summary", "fetch_frames"))


@pytest.mark.parametrize("name", FETCHERS)
def test_every_frame_fetcher_has_overloads_that_tell_raw_true_from_false(name):
    overloads = typing.get_overloads(getattr(fetch, name))
    returns = {}
    for overload in overloads:
        hints = typing.get_type_hints(overload, globalns=vars(fetch) | {"Client": Client})
        returns[hints["raw"]] = hints["return"]
    assert returns[typing.Literal[False]].__name__ == "DataFrame"
    assert returns[typing.Literal[True]] is fetch.FrameWithRaw
    assert bool in returns  # a plain bool (a variable) gives either


def test_every_listing_fetcher_takes_max_pages():
    for row in ENDPOINTS.values():
        if row.items_key:
            for target in row.fetchers:
                assert "max_pages" in inspect.signature(getattr(rtk, target.partition(":")[2])).parameters


FETCHER_ROWS = [(row, target.partition(":")[2]) for row in ENDPOINTS.values() for target in row.fetchers]


@pytest.mark.parametrize(("row", "fetcher"), FETCHER_ROWS, ids=[name for _, name in FETCHER_ROWS])
def test_each_fetcher_calls_the_endpoint_its_row_names_it_under(row: Endpoint, fetcher: str):
    function = getattr(rtk, fetcher)
    positional = [name for name, p in inspect.signature(function).parameters.items()
                  if p.kind is p.POSITIONAL_OR_KEYWORD and name != "client"]
    extra = {"session_started_at": "2024-05-01T12:00:00Z"} if fetcher == "fetch_transcript" else {}
    with serve(Dataset.from_samples()) as api:
        client = api.client()
        if fetcher == "fetch_summary":
            client.generate_summary_of_transcripts(SESSION)
        api.reset_log()
        function(client, *(IDS[name] for name in positional), **extra)
        asked = {record.endpoint for record in api.request_log}
    assert row.name in asked and asked <= {row.name, "download"}
