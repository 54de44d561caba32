"""BatchGetItem pages that leave keys unprocessed (DynamoDB under
throttling) are asked again after a full-jitter pause, not in PynamoDB's
tight loop, and a read that stays throttled answers 503 `try_again`
within the budget. The short pages are DynamoDB's answers as botocore
would parse them, served by a before-call hook on DynamoDB Local's
connection; the rest of each read is real."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import db, retry
from chalicelib.errors import Unavailable
from chalicelib.stores.models import StoreRecord

pytestmark = pytest.mark.integration
REAL_SLEEP = time.sleep


@pytest.fixture
def short_pages(ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """`state["short"]` pages answer with every key unprocessed; sleeps are recorded, not slept."""
    from chalicelib.campaigns.store_config import save_store
    from chalicelib.stores.schemas import StoreIn

    for i in range(3):
        body = StoreIn(name=f"店{i}", city="上海市", lat=31.2, lng=121.5)
        save_store(f"b{i}", body, datetime(2026, 11, 1, tzinfo=UTC))
    state: dict[str, Any] = {"short": 0, "sent": 0, "sleeps": []}

    def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        state["sent"] += 1
        if state["short"] <= 0:
            return None  # to DynamoDB Local
        state["short"] -= 1
        asked = json.loads(params["body"])["RequestItems"]
        return SimpleNamespace(status_code=200), {"Responses": {t: [] for t in asked}, "UnprocessedKeys": asked}

    events = db.connection().client.meta.events
    events.register("before-call.dynamodb.BatchGetItem", answer, unique_id="test-short-pages")
    monkeypatch.setattr(retry.time, "sleep", lambda s: state["sleeps"].append(s))
    try:
        yield state
    finally:
        events.unregister("before-call.dynamodb.BatchGetItem", unique_id="test-short-pages")


def test_short_pages_are_paced_then_the_read_completes(short_pages: dict[str, Any]) -> None:
    short_pages["short"] = 3
    found = sorted(s.store_id for s in StoreRecord.batch_get(["b0", "b1", "b2"]))
    assert found == ["b0", "b1", "b2"]
    assert short_pages["sent"] == 4  # three short pages, then the real answer
    assert len(short_pages["sleeps"]) == 3  # one pause after each short page, none after the full one
    assert all(0 <= s <= retry.CAP_S for s in short_pages["sleeps"])
    short_pages["sleeps"].clear()
    assert len(list(StoreRecord.batch_get(["b0", "b1"]))) == 2 and short_pages["sleeps"] == []  # streak reset


def test_a_read_that_stays_throttled_answers_try_again(short_pages: dict[str, Any]) -> None:
    short_pages["short"] = 10_000
    with pytest.raises(Unavailable):
        list(StoreRecord.batch_get(["b0", "b1", "b2"]))
    assert len(short_pages["sleeps"]) == retry.MAX_UNPROCESSED_PAGES  # not PynamoDB's endless loop
    short_pages["short"], short_pages["sleeps"] = 0, []
    assert len(list(StoreRecord.batch_get(["b0"]))) == 1  # the next read starts afresh


def test_within_a_request_budget_it_gives_up_at_the_budget(short_pages: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    short_pages["short"] = 10_000
    monkeypatch.setattr(retry, "delay_s", lambda attempt, *a, **k: 0.2)  # each pause the cap
    monkeypatch.setattr(retry.time, "sleep", lambda s: (short_pages["sleeps"].append(s), REAL_SLEEP(s)))
    with retry.budget(0.5), pytest.raises(Unavailable):
        list(StoreRecord.batch_get(["b0", "b1", "b2"]))
    assert len(short_pages["sleeps"]) == 2  # 0.2 s twice; a third would end past the 0.5 s budget
