"""Functional tests: the Chalice test client in-process, DynamoDB mocked by moto."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import db
from tests.api import Api
from tests.conftest import unique_prefix, use_environment


@pytest.fixture(autouse=True)
def one_moto_call_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code under test runs threads (the tick's workers, the seed's writers);
    moto's TransactWriteItems is not thread-safe (it deep-copies tables
    another thread may be changing: "dictionary keys changed during
    iteration"). Serialise moto's handling of each request, not the threads:
    requests and their order stay the code's own. DynamoDB Local, in the
    integration tests, needs none of this."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    handle = BotocoreStubber.process_request

    def serialised(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return handle(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", serialised)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with mock_aws():
        use_environment(monkeypatch, AWS_ENDPOINT_URL_DYNAMODB=None, AWS_ENDPOINT_URL=None,
                        STORELOOP_TABLE_PREFIX=unique_prefix())
        db.create_tables()
        from app import app

        with Client(app) as client:
            yield Api(chalice_client=client)
