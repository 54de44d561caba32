"""A replayed tick (its window read again: a duplicate trigger, a lost
watermark) finds the posts already in the ledger with one batch read and
hands nothing to the workers (moto)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.models import TickWatermark
from chalicelib.campaigns.tick import advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from chalicelib.delivery.record import RecordChannel
from tests.api import Api
from tests.functional.test_campaign_routes import AT_NOON
from tests.functional.test_stores_api import SHOP


class Collecting:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, messages: list[dict[str, Any]]) -> Counter[str]:
        self.messages += messages
        return Counter({"enqueued": len(messages)})


def test_a_replayed_window_sends_no_work_and_counts_duplicates(api: Api, admin: str) -> None:
    for store_id in ("s1", "s2"):
        assert api.put(f"/stores/{store_id}", SHOP, as_=admin).status == 200
    set_clock(FixedClock(AT_NOON))
    first = run_tick(AT_NOON, InProcessQueue(AT_NOON, RecordChannel(), workers=1))
    assert first.outcome["posted"] == 4  # morning (missed, same day) and noon, at each store
    TickWatermark("slots").delete()  # the watermark is lost: the same window is read again
    advance_watermark(first.start)
    queue = Collecting()
    replay = run_tick(AT_NOON, queue)
    assert queue.messages == []
    assert replay.due == 4 and replay.outcome["duplicate"] == 4 and replay.outcome["posted"] == 0
