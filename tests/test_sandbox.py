"""The sandbox over real HTTP with plain ``requests``: routes, auth, paging, filters, downloads, faults."""

from __future__ import annotations

import requests

from rtk_frames.sandbox import Dataset, serve


def _auth(api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.api_token}"}


def test_sessions_list_pages_through_every_sample_session_once():
    with serve(Dataset.from_samples()) as api:
        seen = []
        for page_no in (1, 2, 3):
            body = requests.get(
                api.url("sessions"),
                params={"per_page": 1, "page_no": page_no},
                headers=_auth(api),
                timeout=10,
            ).json()
            seen += [s["id"] for s in body["data"]["sessions"]]
        assert sorted(seen) == sorted(s["id"] for s in api.dataset.sessions)
        assert body["paging"] == {"start_offset": 3, "end_offset": 3, "total_count": 3}


def test_missing_token_is_401_in_cloudflare_envelope():
    with serve(Dataset.from_samples()) as api:
        response = requests.get(api.url("sessions"), timeout=10)
        assert response.status_code == 401
        assert response.json()["errors"][0] == {"code": 10000, "message": "Authentication error"}
