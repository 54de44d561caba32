"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium,
installed by `make test` when missing) against the console server, which
proxies to a real `chalice local` on DynamoDB Local. Any browser console
error fails the test (expected HTTP refusals are named per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import console_server
from tests.api import TEST_SECRET, Api
from tests.integration.conftest import ChaliceLocal, ddb_env, dynamodb_local, served  # noqa: F401

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def console(served: ChaliceLocal) -> Iterator[str]:  # noqa: F811
    server = console_server.start(served.url, TEST_SECRET)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def http(served: ChaliceLocal) -> Api:  # noqa: F811
    return Api(base_url=served.url)


class ConsoleErrors:
    """Collects console errors and page errors; `allowed` names HTTP statuses
    the test provokes on purpose (Chromium logs those as errors too)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: set[int] = set()

    def watch(self, page: Any) -> Any:
        page.set_default_timeout(15_000)
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        return page

    def unexpected(self) -> list[str]:
        return [e for e in self.errors
                if not any(f"status of {code}" in e for code in self.allowed)]


@pytest.fixture
def errors() -> Iterator[ConsoleErrors]:
    collected = ConsoleErrors()
    yield collected
    assert collected.unexpected() == [], "browser console errors"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
