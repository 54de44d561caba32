"""Fixtures shared by every layer. Each test gets its own table prefix, so
tests never see each other's data and need no cleanup between them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import db
from chalicelib.clock import SystemClock, set_clock
from chalicelib.settings import reset_settings
from tests.api import TEST_SECRET, token

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-east-1")
os.environ["STORELOOP_JWT_SECRET"] = TEST_SECRET
# a route answering an error code its `errors=` does not declare answers 500 (web.py)
os.environ["STORELOOP_STRICT_ERRORS"] = "1"


def use_environment(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> None:
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    reset_settings()
    db.ensure_bound()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    reset_settings()
    set_clock(SystemClock())
    yield
    reset_settings()
    set_clock(SystemClock())


@pytest.fixture
def admin() -> str:
    return token("admin", "hq-ops")


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"


CHROMIUM = os.environ.get("STORELOOP_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, once per test process: Playwright's
    sync API cannot be started twice in one process while a session is open."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()
