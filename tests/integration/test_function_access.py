"""Least privilege, checked against behaviour: the scheduled tick and the
fan-out worker run a real day (slots, flash coupon, member day, idle-hour
clearance, a failed WeCom delivery and its retry) on DynamoDB Local while
every DynamoDB call is recorded; each (table, action) a function used must
be granted to it by infra/access.py, which the deployed roles are built from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib import db
from chalicelib.campaigns import worker
from chalicelib.campaigns.tick import advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from chalicelib.delivery.record import RecordChannel
from chalicelib.delivery.wecom import WeComChannel
from chalicelib.groups.models import GroupRecord
from infra.access import ACCESS, ALL_TABLES
from tests.api import Api, token
from tests.integration.test_campaign_days import sh
from tests.integration.test_delivery_wecom import Robots, robots  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

_TRANSACT_ACTIONS = {"ConditionCheck": "ConditionCheckItem", "Put": "PutItem", "Update": "UpdateItem",
                     "Delete": "DeleteItem", "Get": "GetItem"}


class Recorder:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.used: set[tuple[str, str]] = set()

    def _add(self, table: str, action: str) -> None:
        self.used.add((table.removeprefix(self.prefix), f"dynamodb:{action}"))

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        if "TableName" in params:
            self._add(params["TableName"], op)
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                self._add(body["TableName"], _TRANSACT_ACTIONS[kind])
        for table in params.get("RequestItems", {}):
            self._add(table, op)


@contextmanager
def recording(prefix: str) -> Iterator[Recorder]:
    recorder = Recorder(prefix)
    events = db.connection().client.meta.events
    events.register("provide-client-params.dynamodb.*", recorder)
    try:
        yield recorder
    finally:
        events.unregister("provide-client-params.dynamodb.*", recorder)


def granted(function: str, table: str, action: str) -> bool:
    grants = ACCESS[function]
    return action in grants.get(table, grants.get(ALL_TABLES, ()))


class CollectingQueue:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, messages: list[dict[str, Any]]) -> Any:
        from collections import Counter

        self.messages += messages
        return Counter({"enqueued": len(messages)})


def test_tick_and_worker_touch_only_what_their_roles_grant(api: Api, admin: str, ddb_env: dict[str, str],
                                                          robots: Robots) -> None:  # noqa: F811
    prefix = ddb_env["STORELOOP_TABLE_PREFIX"]
    set_clock(FixedClock(sh("07:00")))
    store = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "idle_hour": "16:00", "member_day": "FRI"}
    assert api.put("/stores/s1", store, as_=admin).status == 200
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=3, webhook_url=robots.url("/r1"),
                created_at=sh("07:00")).save()
    flash = {"template_id": "flash1", "title": "午间咖啡立减5元", "kind": "amount_off", "value": 500,
             "min_spend_fen": 0, "scope": {}, "total_stock": 40, "claim_start": sh("06:00").isoformat(),
             "claim_end": sh("23:00").isoformat(), "valid_days": 3, "member_day_boost": {"value": 800}}
    assert api.post("/coupon-templates", flash, as_=admin).status == 201
    rule = {"discount_percent": 30, "from": "16:00"}
    assert api.put("/stores/s1/inventory/bread", {"name": "全麦面包", "qty": 2, "price_fen": 1800, "clearance": rule},
                   as_=token("staff", "pos", store_id="s1")).status == 200
    advance_watermark(sh("07:00"))
    robots.script["/r1"] = [(500, 0, 0.0), (200, 0, 0.0)]  # the first delivery fails, the retry succeeds

    used: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for hhmm, channel in [("08:30", WeComChannel(timeout_s=2)), ("12:00", RecordChannel()),
                          ("16:00", RecordChannel()), ("20:00", WeComChannel(timeout_s=2))]:
        at = sh(hhmm)
        set_clock(FixedClock(at))
        queue = CollectingQueue()
        with recording(prefix) as tick_calls:
            run_tick(at, queue)
        used["campaigns_tick"] |= tick_calls.used
        with recording(prefix) as worker_calls:
            for message in queue.messages:
                worker.handle(message, at, channel)
        used["campaigns_fanout"] |= worker_calls.used
    assert robots.received["/r1"], "the retried morning post reached the robot"
    assert any(t == "inventory" for t, _ in used["campaigns_fanout"]), "clearance ran"

    for function, calls in used.items():
        missing = sorted(call for call in calls if not granted(function, *call))
        assert not missing, f"{function} needs {missing}"
    print({f: sorted(c) for f, c in used.items()})
