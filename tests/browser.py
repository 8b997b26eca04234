"""A page as a person sees it, driven: headless Chromium (Debian's ``chromium``) over the DevTools
protocol, with aiohttp (an MLflow dependency) as the websocket client. Used by the UI tests to click
what a person clicks (a parent run's expander) before reading the page or taking its picture."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    """Until ``url`` answers (an MLflow UI starting)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {seconds} s")


class Page:
    """One Chromium tab: ``evaluate`` JavaScript, ``wait_until`` an expression holds, ``screenshot``."""

    def __init__(self, ws, loop: asyncio.AbstractEventLoop) -> None:
        self.ws, self.loop, self.ids = ws, loop, itertools.count(1)

    async def _call(self, method: str, **params) -> dict:
        msg_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads((await self.ws.receive()).data)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def call(self, method: str, **params) -> dict:
        return self.loop.run_until_complete(self._call(method, **params))

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_until(self, expression: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never had {expression!r}; it shows: {self.text()[:1500]!r}")
            time.sleep(0.5)

    def text(self) -> str:
        return self.evaluate("document.body.innerText") or ""

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path


class Browser:
    """``with Browser() as b: page = b.open(url)``: a headless Chromium with its own profile."""

    def __init__(self, width: int = 1600, height: int = 1000) -> None:
        self.size = f"{width},{height}"

    def __enter__(self) -> Browser:
        import aiohttp

        self.tmp = tempfile.TemporaryDirectory(prefix="rgexp-chromium-")
        port = free_port()
        self.proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                      f"--window-size={self.size}", f"--remote-debugging-port={port}",
                                      f"--user-data-dir={self.tmp.name}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)  # its own group: the helpers it starts end with it
        wait_for(f"http://127.0.0.1:{port}/json/version", 60)
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5).read())
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.loop = asyncio.new_event_loop()
        self.http = self.loop.run_until_complete(self._session(aiohttp))
        self.ws = self.loop.run_until_complete(self.http.ws_connect(ws_url, max_msg_size=0))
        return self

    @staticmethod
    async def _session(aiohttp):
        return aiohttp.ClientSession()

    def open(self, url: str) -> Page:
        page = Page(self.ws, self.loop)
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        return page

    def __exit__(self, *exc) -> None:
        self.loop.run_until_complete(self.ws.close())
        self.loop.run_until_complete(self.http.close())
        self.loop.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        # Chromium's helper processes may still be writing into the profile for a moment after the
        # browser process ends (seen on a loaded machine): wait for the group, then remove it.
        for _ in range(50):
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(self.tmp.name, ignore_errors=True)
        self.tmp.cleanup()
