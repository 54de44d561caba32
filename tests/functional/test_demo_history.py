"""`cli demo-history`: deterministic payments through the real path, inside
opening hours, re-runnable without double counting (moto)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.insights.demo import write_history
from chalicelib.payments.models import PaymentRecord
from chalicelib.stats.models import StoreDayStats
from chalicelib.stores.hours import open_at
from tests.api import Api

UNTIL = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_demo_history_is_deterministic_inside_hours_and_idempotent(api: Api, admin: str) -> None:
    shop = {"name": "国贸大厦店", "city": "北京市", "lat": 39.9, "lng": 116.4,
            "hours": {d: ["10:00-19:00"] for d in ("MON", "TUE", "WED", "THU", "FRI")}}
    assert api.put("/stores/b1", shop, as_=admin).status == 200
    lines: list[str] = []
    # one worker: moto's transactions are not atomic across threads (DynamoDB's are)
    written = write_history(UNTIL, 3, 0, 0.5, 7, progress=lines.append, workers=1)
    assert written > 0 and lines == [f"demo-history: store 1/1 b1 (office): {written} payments"]
    payments = list(PaymentRecord.scan())
    assert len(payments) == written
    week = {d: ["10:00-19:00"] for d in ("MON", "TUE", "WED", "THU", "FRI")}
    from chalicelib.stores.hours import parse_interval
    hours = {d: [parse_interval(i) for i in spans] for d, spans in week.items()}
    assert all(open_at(hours, p.paid_at, "Asia/Shanghai") for p in payments)
    assert write_history(UNTIL, 3, 0, 0.5, 7, workers=1) == written  # same payments again: duplicates
    total = sum(int(s.payments or 0) for s in StoreDayStats.query("b1"))
    assert total == written
