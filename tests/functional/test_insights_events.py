"""The hourly insights Lambda logs like the other schedule handlers: JSON
lines carrying its invocation's Lambda request id and the handler's name
(moto, through Chalice's test client as deployed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.clock import FixedClock, set_clock
from tests.api import Api
from tests.functional.test_observability import lines


def test_the_insights_refresh_logs_its_summary_with_its_lambda_request_id(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    from chalice.test import Client

    from app import app

    set_clock(FixedClock(datetime(2026, 11, 22, 16, 5, tzinfo=UTC)))
    capsys.readouterr()
    summaries = []
    with Client(app) as chalice:
        for _ in range(2):  # a first run and a redelivered trigger
            chalice.lambda_.invoke("insights_refresh", chalice.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
            [line] = [p for p in lines(capsys.readouterr().out) if p.get("message", "").startswith("insights at=")]
            summaries.append(line)
    assert {s["handler"] for s in summaries} == {"insights_refresh"}
    assert all(s.get("request_id") for s in summaries)
    assert summaries[0]["request_id"] != summaries[1]["request_id"]  # one per invocation
    assert [(s["stores"], s["errors"]) for s in summaries] == [(0, 0), (0, 0)]
