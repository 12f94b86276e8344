"""Conformance of the sandbox with the official ``cloudflare`` SDK 5.9.0 and with the reference's seed shapes.

The SDK is the referee: its generated pydantic models must accept every raw body *strictly*, keep every
field we send (``model_dump(by_alias=True, exclude_unset=True)`` equals the body), and the only keys the
models do not declare must be the seed's documented extra blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cloudflare
import pytest
import requests
from cloudflare.types import realtime_kit as rk
from pydantic import BaseModel

from rtk_frames.sandbox import Dataset, serve

SEED_DIR = Path(__file__).resolve().parent.parent / "data_samples" / "seed"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_samples()


@pytest.fixture(scope="module")
def api(dataset) -> Iterator[object]:
    with serve(dataset) as running:
        yield running


@pytest.fixture(scope="module")
def sdk(api) -> cloudflare.Cloudflare:
    return cloudflare.Cloudflare(api_token=api.api_token, base_url=api.base_url, max_retries=0)


def _undeclared(model: object, path: str = "") -> set[str]:
    """Paths of keys a model accepted as extras (not declared by the SDK), lists collapsed to ``[]``."""
    found: set[str] = set()
    if isinstance(model, BaseModel):
        found |= {f"{path}.{key}".lstrip(".") for key in (model.model_extra or {})}
        for name in model.model_fields_set:
            found |= _undeclared(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for item in model:
            found |= _undeclared(item, f"{path}[]")
    return found


def _session_with_rooms(dataset: Dataset) -> str:
    return next(s["id"] for s in dataset.sessions if dataset.breakout_rooms.get(s["id"]))


def _sdk_calls(api, dataset):
    """(endpoint, response model, call(resource) -> response, undeclared keys we expect)."""
    kw = {"account_id": api.account_id, "app_id": api.app_id}
    session_id = _session_with_rooms(dataset)
    peer_id = dataset.participants[session_id][0]["id"]
    seed_blocks = {"data.participant.peer_stats", "data.participant.quality_stats"}
    return [
        (
            "get_sessions",
            rk.SessionGetSessionsResponse,
            lambda r: r.get_sessions(per_page=2, **kw),
            {"data.sessions[].meta"},
        ),
        (
            "get_session_details",
            rk.SessionGetSessionDetailsResponse,
            lambda r: r.get_session_details(session_id, include_breakout_rooms=True, **kw),
            {"data.meta"},
        ),
        (
            "get_session_participants",
            rk.SessionGetSessionParticipantsResponse,
            lambda r: r.get_session_participants(session_id, include_peer_events=True, per_page=3, **kw),
            {"paging"},
        ),
        (
            "get_session_participant_details",
            rk.SessionGetSessionParticipantDetailsResponse,
            lambda r: r.get_session_participant_details(
                peer_id, session_id=session_id, include_peer_events=True, **kw
            ),
            seed_blocks,
        ),
        (
            "get_session_chat",
            rk.SessionGetSessionChatResponse,
            lambda r: r.get_session_chat(session_id, **kw),
            set(),
        ),
        (
            "get_session_transcripts",
            rk.SessionGetSessionTranscriptsResponse,
            lambda r: r.get_session_transcripts(session_id, format="JSON", **kw),
            set(),
        ),
        (
            "generate_summary_of_transcripts",
            rk.SessionGenerateSummaryOfTranscriptsResponse,
            lambda r: r.generate_summary_of_transcripts(session_id, **kw),
            set(),
        ),
        (
            "get_session_summary",
            rk.SessionGetSessionSummaryResponse,
            lambda r: r.get_session_summary(session_id, **kw),
            set(),
        ),
        (
            "get_participant_data_from_peer_id",
            rk.SessionGetParticipantDataFromPeerIDResponse,
            lambda r: r.get_participant_data_from_peer_id(peer_id, include_peer_events=True, **kw),
            seed_blocks,
        ),
    ]


def test_sdk_calls_all_nine_endpoints_and_every_raw_body_validates_strictly(api, dataset, sdk):
    sessions = sdk.realtime_kit.sessions
    before = api.counts()
    for endpoint, model, call, expected_extras in _sdk_calls(api, dataset):
        raw = call(sessions.with_raw_response)
        body = raw.json()
        assert body["success"] is True, endpoint
        parsed = model.model_validate(body, strict=True)
        # nothing we sent was dropped or coerced away by the model
        assert parsed.model_dump(by_alias=True, exclude_unset=True) == body, endpoint
        assert _undeclared(parsed) == expected_extras, endpoint
        # and the SDK's own parsing of the same call gives the same model
        assert isinstance(call(sessions), model), endpoint
    after = api.counts()
    assert {name: after.get(name, 0) - before.get(name, 0) for name in after} == {
        name: 2 for name, *_ in _sdk_calls(api, dataset)
    }


def test_sdk_models_keep_populated_nested_fields(api, dataset, sdk):
    kw = {"account_id": api.account_id, "app_id": api.app_id}
    session_id = _session_with_rooms(dataset)
    peer_id = dataset.participants[session_id][0]["id"]
    report = sdk.realtime_kit.sessions.get_participant_data_from_peer_id(
        peer_id, include_peer_events=True, **kw
    )
    quality = report.data.participant.peer_report.quality
    assert len(quality.audio_producer) > 0 and quality.audio_producer[0].rtt > 0
    assert quality.audio_producer_cumulative.packet_loss.api_10_or_greater_event_fraction is not None
    assert quality.video_producer[0].quality_limitation_reason in ("cpu", "bandwidth", "none", "other")
    assert isinstance(report.data.participant.peer_report.metadata.browser_metadata.webgl_support, bool)
    assert {e.event_name for e in report.data.participant.peer_events} >= {"PEER_CREATED", "PEER_JOINING"}
    details = sdk.realtime_kit.sessions.get_session_details(session_id, include_breakout_rooms=True, **kw)
    assert len(details.data.breakout_rooms) == len(dataset.breakout_rooms[session_id])


def test_sdk_raises_its_own_errors_for_bad_token_and_unknown_ids(api, sdk):
    kw = {"account_id": api.account_id, "app_id": api.app_id}
    wrong = cloudflare.Cloudflare(api_token="not-the-token", base_url=api.base_url, max_retries=0)
    with pytest.raises(cloudflare.AuthenticationError):
        wrong.realtime_kit.sessions.get_sessions(**kw)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.realtime_kit.sessions.get_session_details("no-such-session", **kw)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.realtime_kit.sessions.get_participant_data_from_peer_id("no-such-peer", **kw)
    with pytest.raises(cloudflare.NotFoundError):
        sdk.realtime_kit.sessions.get_sessions(account_id="other-account", app_id=api.app_id)
    with pytest.raises(cloudflare.BadRequestError):
        sdk.realtime_kit.sessions.get_sessions(sort_by="duration", **kw)  # a participants-only sort key


def test_synthetic_live_session_with_null_times_validates(sdk):
    ds = Dataset.synthetic(sessions=3, participants=6, samples=4, seed=5)
    live = next(s for s in ds.sessions if s["status"] == "LIVE")
    assert live["ended_at"] is None
    assert any(row["left_at"] is None for row in ds.participants[live["id"]])
    with serve(ds) as api:
        client = cloudflare.Cloudflare(api_token=api.api_token, base_url=api.base_url, max_retries=0)
        kw = {"account_id": api.account_id, "app_id": api.app_id}
        raw = client.realtime_kit.sessions.with_raw_response.get_session_participants(live["id"], **kw).json()
        parsed = rk.SessionGetSessionParticipantsResponse.model_validate(raw, strict=True)
        assert parsed.model_dump(by_alias=True, exclude_unset=True) == raw
        listed = client.realtime_kit.sessions.get_sessions(status="LIVE", **kw)
        assert [s.id for s in listed.data.sessions] == [live["id"]]


# ---------------------------------------------------------------- flavor "seed"


def _shape(value: object) -> object:
    """Key structure of a JSON value: dicts by key, lists by their first item, scalars by kind."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else "null"


def _same_shape(ours: object, seed: object, path: str = "") -> list[str]:
    """Differences between our body and the seed example; ``{}`` / ``[{}]`` in the seed are free-form,
    ``null`` is accepted where the seed shows text (times that have not happened yet)."""
    if isinstance(seed, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected an object"]
        if not seed:
            return []
        problems = [f"{path}.{key}: missing" for key in seed if key not in ours]
        problems += [f"{path}.{key}: not in the seed" for key in ours if key not in seed]
        for key in seed:
            if key in ours:
                problems += _same_shape(ours[key], seed[key], f"{path}.{key}")
        return problems
    if isinstance(seed, list):
        if not isinstance(ours, list):
            return [f"{path}: expected a list"]
        return [p for item in ours[:3] for p in _same_shape(item, seed[0], f"{path}[]")] if seed else []
    if seed == "text" and ours == "null":
        return []
    return [] if ours == seed else [f"{path}: {ours} instead of {seed}"]


@pytest.fixture(scope="module")
def seed_api(dataset) -> Iterator[object]:
    with serve(dataset, flavor="seed") as running:
        yield running


def test_seed_flavor_bodies_have_the_seed_shapes(seed_api, dataset):
    session_id = _session_with_rooms(dataset)
    peer_id = dataset.participants[session_id][0]["id"]
    auth = {"Authorization": f"Bearer {seed_api.api_token}"}
    requests.post(seed_api.url(f"sessions/{session_id}/summary"), headers=auth, timeout=10)
    calls = {
        "get_sessions": ("sessions", {}),
        "get_session_details": (f"sessions/{session_id}", {"include_breakout_rooms": "true"}),
        "get_session_participants": (f"sessions/{session_id}/participants", {"include_peer_events": "true"}),
        "get_session_participant_details": (f"sessions/{session_id}/participants/{peer_id}", {}),
        "get_session_chat": (f"sessions/{session_id}/chat", {}),
        "get_session_transcripts": (f"sessions/{session_id}/transcript", {}),
        "get_session_summary": (f"sessions/{session_id}/summary", {}),
        "get_participant_data_from_peer_id": (f"sessions/peer-report/{peer_id}", {}),
    }
    for name, (path, params) in calls.items():
        seed = json.loads((SEED_DIR / f"{name}.json").read_text(encoding="utf-8"))
        body = requests.get(seed_api.url(path), params=params, headers=auth, timeout=10).json()
        if name == "get_sessions":  # our one documented addition: paging at the top level, as the SDK has it
            assert set(body.pop("paging")) == {"start_offset", "end_offset", "total_count"}
        assert _same_shape(_shape(body), _shape(seed)) == [], name


def test_seed_flavor_differs_from_sdk_where_the_reference_does(seed_api, api, dataset):
    session_id = _session_with_rooms(dataset)
    peer_id = dataset.participants[session_id][0]["id"]
    seed_auth = {"Authorization": f"Bearer {seed_api.api_token}"}
    sdk_auth = {"Authorization": f"Bearer {api.api_token}"}
    seed_details = requests.get(seed_api.url(f"sessions/{session_id}"), headers=seed_auth, timeout=10).json()
    sdk_details = requests.get(api.url(f"sessions/{session_id}"), headers=sdk_auth, timeout=10).json()
    assert seed_details["data"]["session"]["id"] == sdk_details["data"]["id"] == session_id
    seed_rows = requests.get(
        seed_api.url(f"sessions/{session_id}/participants"),
        headers=seed_auth,
        params={"include_peer_events": "true"},
        timeout=10,
    ).json()
    assert "paging" in seed_rows["data"] and "paging" not in seed_rows
    assert all("peer_events" not in row for row in seed_rows["data"]["participants"])
    seed_report = requests.get(
        seed_api.url(f"sessions/peer-report/{peer_id}"), headers=seed_auth, timeout=10
    ).json()["data"]["participant"]
    sdk_report = requests.get(
        api.url(f"sessions/peer-report/{peer_id}"), headers=sdk_auth, timeout=10
    ).json()["data"]["participant"]
    assert seed_report["peer_report"]["metadata"]["browser_metadata"]["webgl_support"] in ("true", "false")
    assert isinstance(sdk_report["peer_report"]["metadata"]["browser_metadata"]["webgl_support"], bool)
    seed_person = requests.get(
        seed_api.url(f"sessions/{session_id}/participants/{peer_id}"), headers=seed_auth, timeout=10
    ).json()["data"]["participant"]
    precall = seed_person["peer_stats"]["precall_network_information"]
    assert "throughtput" in precall and "effective_networktype" in precall  # the wire's own spellings


@pytest.mark.parametrize("samples", [1, 7])
def test_every_participant_and_peer_report_of_a_synthetic_dataset_validates(samples):
    ds = Dataset.synthetic(sessions=2, participants=6, samples=samples, seed=samples, breakout_rooms=True)
    with serve(ds) as api:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {api.api_token}"
        checked = 0
        for session in ds.all_sessions():
            for row in ds.participants[session["id"]]:
                for path, model in (
                    (
                        f"sessions/{session['id']}/participants/{row['id']}",
                        rk.SessionGetSessionParticipantDetailsResponse,
                    ),
                    (f"sessions/peer-report/{row['id']}", rk.SessionGetParticipantDataFromPeerIDResponse),
                ):
                    response = http.get(api.url(path), params={"include_peer_events": "true"}, timeout=10)
                    assert "NaN" not in response.text and "Infinity" not in response.text
                    body = response.json()
                    parsed = model.model_validate(body, strict=True)
                    assert parsed.model_dump(by_alias=True, exclude_unset=True) == body, path
                    checked += 1
        assert checked == 2 * sum(len(rows) for rows in ds.participants.values()) >= 2 * 12
