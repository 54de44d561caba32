"""Integration tests: Amazon DynamoDB Local (started once per test session
and stopped at the end), the app in-process or served by `chalice local`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from chalice.test import Client

from chalicelib import db
from devtools.dynamodb_local import DynamoDBLocal, free_port
from tests.api import Api
from tests.conftest import unique_prefix, use_environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    ddb = DynamoDBLocal().start()
    yield ddb
    ddb.stop()


@pytest.fixture
def ddb_env(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {**dynamodb_local.env(), "STORELOOP_TABLE_PREFIX": unique_prefix()}
    use_environment(monkeypatch, **env)
    db.create_tables()
    return env


@pytest.fixture
def api(ddb_env: dict[str, str]) -> Iterator[Api]:
    from app import app

    with Client(app) as client:
        yield Api(chalice_client=client)


class ChaliceLocal:
    """`chalice local` in a subprocess, the way the README runs it."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChaliceLocal:
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("chalice")), "local", "--no-autoreload", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/openapi.json", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chalice local did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def served(ddb_env: dict[str, str]) -> Iterator[ChaliceLocal]:
    server = ChaliceLocal(ddb_env).start()
    yield server
    server.stop()


@pytest.fixture
def http_api(served: ChaliceLocal) -> Api:
    return Api(base_url=served.url)
