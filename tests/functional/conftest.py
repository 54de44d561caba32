"""Functional tests: the Chalice test client in-process, DynamoDB mocked by moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import db
from tests.api import Api
from tests.conftest import unique_prefix, use_environment


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with mock_aws():
        use_environment(monkeypatch, AWS_ENDPOINT_URL_DYNAMODB=None, AWS_ENDPOINT_URL=None,
                        STORELOOP_TABLE_PREFIX=unique_prefix())
        db.create_tables()
        from app import app

        with Client(app) as client:
            yield Api(chalice_client=client)
