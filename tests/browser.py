"""A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fds 3
and 4, NUL-separated JSON), with no dependency beyond the ``chromium`` binary. Used by
``tests/test_report_browser.py``; ``python tests/browser.py REPORT.html OUT.png`` takes a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# run before any page script: record every dialog and console.error instead of showing it
HOOKS = """
window.__rtk_calls = [];
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
  window[name] = (...args) => { window.__rtk_calls.push([name, String(args[0])]); return null; };
}
const __rtk_error = console.error.bind(console);
console.error = (...args) => {
  window.__rtk_calls.push(["console.error", String(args[0])]);
  __rtk_error(...args);
};
"""


def find_chromium() -> str | None:
    """The first Chromium/Chrome binary on PATH (``$CHROMIUM`` wins), or None."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and shutil.which(explicit):
        return shutil.which(explicit)
    return next((found for name in BINARIES if (found := shutil.which(name))), None)


class Browser:
    """One headless Chromium; :meth:`send` a DevTools command, read :attr:`events`."""

    def __init__(self, binary: str, width: int = 1280, height: int = 1600) -> None:
        self._to_chrome_r, self._to_chrome_w = os.pipe()
        self._from_chrome_r, self._from_chrome_w = os.pipe()
        self._profile = tempfile.mkdtemp(prefix="rtk-chromium-")
        child_in, child_out = self._to_chrome_r, self._from_chrome_w

        def give_fds() -> None:  # the protocol lives on fds 3 (commands in) and 4 (answers out)
            high_in, high_out = os.dup(child_in), os.dup(child_out)  # out of the way of 3 and 4
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.process = subprocess.Popen(
            [binary, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--window-size={width},{height}", f"--user-data-dir={self._profile}",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=give_fds, pass_fds=(3, 4))  # closing the other fds comes after preexec_fn
        os.close(child_in)
        os.close(child_out)
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._from_chrome_r, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                with self._cond:
                    for raw in messages:
                        message = json.loads(raw)
                        if "id" in message:
                            self._answers[message["id"]] = message
                        else:
                            self.events.append(message)
                    self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout_s: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while ident not in self._answers:
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no answer to {method}")
            answer = self._answers.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def wait_for(self, method: str, timeout_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for event in self.events:
                    if event.get("method") == method:
                        return event
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no {method} event")

    def close(self) -> None:
        with suppress(OSError):
            os.close(self._to_chrome_w)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)


@contextmanager
def opened_page(binary: str, path: Path, *, width: int = 1280,
                height: int = 1600) -> Iterator[dict[str, Any]]:
    """Open ``path`` with the hooks in place; yields ``{"browser", "session", "calls", "png"}`` once
    loaded (``calls``: what the hooks recorded; ``png``: a screenshot of the first screen)."""
    browser = Browser(binary, width, height)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                     session=session)
        browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": HOOKS}, session=session)
        browser.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        time.sleep(0.5)  # late console messages and requests
        calls = browser.send("Runtime.evaluate", {"expression": "JSON.stringify(window.__rtk_calls)",
                                                  "returnByValue": True}, session=session)
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
        yield {"browser": browser, "session": session,
               "calls": json.loads(calls["result"]["value"]), "png": base64.b64decode(shot["data"])}
    finally:
        browser.close()


if __name__ == "__main__":  # python tests/browser.py REPORT.html OUT.png [WIDTH HEIGHT]
    binary = find_chromium()
    if binary is None:
        sys.exit("no chromium binary on PATH")
    size = [int(v) for v in sys.argv[3:5]] or [1280, 1600]
    with opened_page(binary, Path(sys.argv[1]), width=size[0], height=size[1]) as page:
        Path(sys.argv[2]).write_bytes(page["png"])
