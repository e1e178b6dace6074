"""Headless Chromium driven over the DevTools protocol through a pipe (--remote-debugging-pipe:
fd 3 in, fd 4 out, NUL-separated JSON), so tests need no port and no client library.

`open_page` loads a URL with the Page, Runtime, Log and Network domains on and returns a
`Page` that records every event; the browser stops when the context exits.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spanbench import settings

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--remote-debugging-pipe")
INSTALL_HINT = ("headless Chromium is needed for the HTML report test: install Debian's "
                "package as root with 'apt-get update && apt-get install -y "
                "--no-install-recommends chromium' (make test does this when run as root), "
                "or set SPANBENCH_CHROMIUM to a Chromium binary")


class ChromiumError(RuntimeError):
    """The browser is missing, died, or did not answer in time."""


def chromium_binary() -> str:
    """SPANBENCH_CHROMIUM, else `chromium` on PATH or /usr/bin/chromium; ChromiumError if none."""
    named = settings.env(settings.CHROMIUM)
    for candidate in (named, shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ChromiumError(INSTALL_HINT)


@dataclass
class Page:
    """One attached tab: commands go to its session; events of every session are kept."""

    browser: _Browser
    session: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.call(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JS expression evaluated in the page."""
        answer = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        if "exceptionDetails" in answer:
            raise ChromiumError(f"evaluating {expression[:60]!r}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page (not only the viewport) as a PNG."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class _Browser:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int,
                 timeout: float) -> None:
        self.process, self.timeout = process, timeout
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def close(self) -> None:
        self._out.close()
        self._in.close()

    def _read(self) -> None:
        pending = b""
        while chunk := self._in.read(65536):
            pending += chunk
            *complete, pending = pending.split(b"\0")
            for message in complete:
                self._messages.put(json.loads(message))
        self._messages.put(None)

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            request["sessionId"] = session
        self._out.write(json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._next(deadline, method)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise ChromiumError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, session: str) -> dict[str, Any]:
        """The first `event` of the session, seen already or arriving within the timeout."""
        deadline = time.monotonic() + self.timeout
        seen = next((e for e in self.events
                     if e["method"] == event and e.get("sessionId") == session), None)
        while seen is None:
            message = self._next(deadline, event)
            if "method" in message:
                self.events.append(message)
                if message["method"] == event and message.get("sessionId") == session:
                    seen = message
        return seen

    def _next(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise ChromiumError(f"no answer to {waiting_for} within {self.timeout} s") from None
        if message is None:
            raise ChromiumError(f"chromium exited (code {self.process.poll()}) while waiting "
                                f"for {waiting_for}")
        return message


@contextmanager
def open_page(url: str, profile: Path, *, width: int = 1280, height: int = 900,
              timeout: float = 30.0) -> Iterator[Page]:
    """Chromium with a fresh profile, one tab loaded with `url` (after its load event)."""
    binary = chromium_binary()
    browser_reads, we_write = os.pipe()
    we_read, browser_writes = os.pipe()

    def descriptors() -> None:  # in the child: the pipe ends at the fds Chromium expects
        os.dup2(browser_reads, 3)
        os.dup2(browser_writes, 4)  # browser_writes > 4: the pipes were made in this order
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)

    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        close_fds=False, preexec_fn=descriptors)  # our other fds are not inheritable
    os.close(browser_reads)
    os.close(browser_writes)
    browser = _Browser(process, we_write, we_read, timeout)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        page = Page(browser, session, browser.events)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        page.call("Page.navigate", {"url": url})
        browser.wait_for("Page.loadEventFired", session)
        yield page
    finally:
        with suppress(ChromiumError):
            browser.call("Browser.close")
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        browser.close()
