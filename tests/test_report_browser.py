"""The report is a web page: open ``report.html`` from ``rtk-frames report --demo`` in headless Chromium
and check it as a browser sees it. No console errors, no request leaves the page (everything is
``data:``), the demo's hostile display name (``<script>alert(1)</script>``) shows as text and runs
nothing, and the first screen is not blank. Skipped only when no Chromium binary exists.

A control page first proves that the harness does see dialogs, console errors and outside requests.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser import find_chromium, opened_page

from rtk_frames.cli import main

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH: install the Debian package 'chromium' (.ci/run "
                             "does when apt-get is available) or set $CHROMIUM")
HOSTILE_NAME = "<script>alert(1)</script>"
MIN_PIXEL_STD = 10.0  # a blank or single-colour page has ~0


def _errors(events: list[dict]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    return found


def _outside_requests(events: list[dict], page: Path) -> list[str]:
    own = page.resolve().as_uri()
    urls = [event["params"]["request"]["url"] for event in events
            if event.get("method") == "Network.requestWillBeSent"]
    return [url for url in urls if not (url.startswith("data:") or url == own)]


def _pixel_std(png: bytes) -> float:
    from PIL import Image, ImageStat

    return ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report"
    assert main(["report", "--demo", "--out", str(out), "--quiet"]) == 0
    return out / "report.html"


def test_the_harness_sees_dialogs_console_errors_and_outside_requests(tmp_path):
    page = tmp_path / "control.html"
    page.write_text("<!doctype html><title>control</title><body><p>x</p>"
                    "<img src='http://127.0.0.1:9/pixel.png'>"
                    "<script>alert('hi'); console.error('boom');</script></body>", encoding="utf-8")
    with opened_page(CHROMIUM, page) as opened:
        events = list(opened["browser"].events)
        calls = opened["calls"]
    assert ["alert", "hi"] in calls and ["console.error", "boom"] in calls
    assert _errors(events)  # the console.error, and the refused image
    assert "http://127.0.0.1:9/pixel.png" in _outside_requests(events, page)


def test_the_report_in_chromium_loads_clean_runs_no_hostile_name_and_is_not_blank(demo_report):
    html = demo_report.read_text(encoding="utf-8")
    assert HOSTILE_NAME.replace("<", "&lt;").replace(">", "&gt;") in html  # the demo data has one
    with opened_page(CHROMIUM, demo_report) as opened:
        browser, session = opened["browser"], opened["session"]
        events = list(browser.events)
        calls = opened["calls"]
        text = browser.send("Runtime.evaluate", {"expression": "document.body.innerText",
                                                 "returnByValue": True}, session=session)["result"]["value"]
        images = browser.send("Runtime.evaluate", {
            "expression": "[...document.images].map(i => [i.src.slice(0, 22), i.naturalWidth])",
            "returnByValue": True}, session=session)["result"]["value"]
        png = opened["png"]
    assert calls == []  # no alert/confirm/prompt/print/open, no console.error
    assert _errors(events) == []
    assert _outside_requests(events, demo_report) == []
    assert HOSTILE_NAME in text  # shown as text, not run
    assert len(images) >= 5
    assert all(src == "data:image/png;base64," and width > 0 for src, width in images)  # all decoded
    assert png.startswith(b"\x89PNG") and _pixel_std(png) > MIN_PIXEL_STD
