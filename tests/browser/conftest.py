"""Headless Chromium for the browser tests, driven by the ``playwright`` package.

The browser is Debian's ``chromium`` (``make chromium`` installs it when missing); playwright's
own browser download (``playwright install``) is never used. WebGL runs on the CPU through
SwiftShader. The tests skip, saying why, when chromium or playwright is missing; a Chromium that
is present but does not start is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1000, "height": 700}


def _chromium() -> str:
    for candidate in (os.environ.get("CIMKIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("chromium is not installed (make chromium installs Debian's package)")


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> Iterator[Any]:
    """A persistent Chromium context with a new, empty user-data-dir, shared by the session."""
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            device_scale_factor=1,
        )
        try:
            yield context
        finally:
            context.close()


class RequestLog(list):
    """Every URL the page asked for; ``outside()`` lists those not on localhost."""

    def outside(self) -> list[str]:
        hosts = {"127.0.0.1", "localhost", "[::1]", "::1"}
        return [
            url
            for url in self
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname not in hosts
        ]


@pytest.fixture
def browser_page(chromium) -> Iterator[tuple[Any, RequestLog, list[str]]]:
    """A new page, the log of its requests, and the console errors and page errors it printed."""
    page = chromium.new_page()
    requests = RequestLog()
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield page, requests, errors
    finally:
        page.close()
