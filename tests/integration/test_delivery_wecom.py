"""The WeCom channel against a local HTTP server standing in for group
robots: 500s, timeouts, 429s and errcodes are retried with backoff, a post
is failed only after the last attempt and can be re-driven, and a robot
never gets more than 20 messages a minute."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.campaigns import posts
from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.schedule import save_plan
from chalicelib.campaigns.slots import SlotSpec
from chalicelib.campaigns.store_config import save_store
from chalicelib.campaigns.tick import TickSummary, advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from chalicelib.delivery.wecom import WeComChannel
from chalicelib.groups.models import GroupRecord
from chalicelib.stats.models import StoreDayStats
from tests.api import Api
from tests.conftest import use_environment
from tests.integration.test_campaign_days import DAY, fake_offers, sh, store_in  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fake_offers")]


class Robots:
    """Scripted robots: per path, a list of (status, errcode, delay_s) to
    answer in turn (the last one repeats); records every text received."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, int, float]]] = defaultdict(lambda: [(200, 0, 0.0)])
        self.received: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = "/" + parse_qs(urlsplit(self.path).query).get("key", [""])[0]
                with robots.lock:
                    queue = robots.script[path]
                    status, errcode, delay = queue.pop(0) if len(queue) > 1 else queue[0]
                    if status == 200 and errcode == 0 and delay == 0:
                        robots.received[path].append(body["text"]["content"])
                if delay:
                    time.sleep(delay)
                payload = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "err"}).encode()
                self.send_response(status)
                if 300 <= status < 400:  # a robot "moved" somewhere else: must not be followed
                    self.send_header("Location", robots.url("/elsewhere"))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def url(self, path: str) -> str:
        """A robot's webhook URL in WeCom's shape; `path` ("/a") names the robot (its key)."""
        return f"{self.origin}/cgi-bin/webhook/send?key={path.strip('/')}"


@pytest.fixture
def robots(monkeypatch: pytest.MonkeyPatch) -> Iterator[Robots]:
    r = Robots()
    # plain http to this exact origin only, spelled out in the allow-list (groups/webhook.py)
    use_environment(monkeypatch, STORELOOP_WEBHOOK_HOSTS=f"qyapi.weixin.qq.com,{r.origin}")
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def add_store(store_id: str, robots: Robots, paths: list[str]) -> None:
    save_store(store_id, store_in(idle_hour=None), sh("00:00"))
    for seq, path in enumerate(paths, start=1):
        GroupRecord(store_id, seq, group_id=f"{store_id}.{seq}", capacity=200, member_count=3,
                    webhook_url=robots.url(path), created_at=sh("00:00")).save()
    advance_watermark(sh("08:00"))


def tick(at_hhmm: str, timeout_s: float = 2.0) -> TickSummary:
    at = sh(at_hhmm)
    set_clock(FixedClock(at))
    return run_tick(at, InProcessQueue(at, WeComChannel(timeout_s=timeout_s), workers=1))


def morning(store_id: str = "s1") -> posts.PostRecord:
    return posts.get(store_id, f"{DAY.isoformat()}.morning")


def test_a_500_is_retried_after_backoff_and_then_sent(ddb_env: dict, robots: Robots) -> None:
    add_store("s1", robots, ["/a"])
    robots.script["/a"] = [(500, 0, 0), (200, 0, 0)]
    assert tick("08:30").outcome["posted"] == 1
    post = morning()
    assert (post.status, post.attempts, post.last_error) == ("failed", 1, "s1.1: HTTP 500")
    assert post.next_attempt_at.startswith("2026-11-20T00:31:00")  # 1 minute backoff
    summary = tick("08:35")
    assert summary.outcome["retry_sent"] == 1
    assert morning().status == "sent" and len(robots.received["/a"]) == 1
    stats = StoreDayStats.get("s1", DAY.isoformat())
    assert (stats.posts_sent, stats.posts_failed) == (1, None)


def test_after_the_last_attempt_a_post_is_failed_and_an_admin_can_redrive_it(
        ddb_env: dict, robots: Robots, api: Api, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, STORELOOP_CHANNEL="wecom")  # what the retry route sends through
    add_store("s1", robots, ["/a"])
    robots.script["/a"] = [(500, 0, 0)]
    tick("08:30")
    for at in ("08:35", "08:40", "08:45", "08:55"):  # backoff 1, 2, 4, 8 minutes
        assert tick(at).outcome["retry_failed"] == 1
    post = morning()
    assert post.status == "failed" and post.attempts == 5 and post.outbox_shard is None
    assert tick("09:30").retries == 0  # out of the outbox: nothing is retried forever
    assert StoreDayStats.get("s1", DAY.isoformat()).posts_failed == 1
    robots.script["/a"] = [(200, 0, 0)]
    set_clock(FixedClock(sh("09:31")))
    reply = api.post(f"/stores/s1/posts/{DAY.isoformat()}.morning/retry", as_=admin)  # type: ignore[attr-defined]
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "sent" and reply.body["sent_group_ids"] == ["s1.1"]
    stats = StoreDayStats.get("s1", DAY.isoformat())
    assert (stats.posts_sent, stats.posts_failed) == (1, 0)
    assert len(robots.received["/a"]) == 1


def test_timeouts_429s_and_errcodes(ddb_env: dict, robots: Robots) -> None:
    add_store("s1", robots, ["/slow"])
    robots.script["/slow"] = [(200, 0, 1.5), (429, 0, 0), (200, 45009, 0), (200, 93000, 0), (200, 0, 0)]
    tick("08:30", timeout_s=0.5)
    post = morning()
    assert post.status == "failed" and "network" in (post.last_error or "")
    tick("08:35")  # 429: deferred a minute, not an attempt
    assert morning().attempts == 1 and morning().next_attempt_at.startswith("2026-11-20T00:36:00")
    tick("08:40")  # errcode 45009 (robot rate limit): deferred again
    tick("08:45")  # errcode 93000: a failed attempt
    assert morning().status == "failed" and morning().last_error == "s1.1: errcode 93000"
    tick("08:50")
    assert morning().status == "sent" and len(robots.received["/slow"]) == 1


def test_a_retry_only_resends_to_the_groups_that_missed_it(ddb_env: dict, robots: Robots) -> None:
    add_store("s1", robots, ["/ok", "/flaky"])
    robots.script["/flaky"] = [(503, 0, 0), (200, 0, 0)]
    tick("08:30")
    assert morning().sent_parts == {"s1.1#0"}
    tick("08:35")
    assert morning().status == "sent"
    assert (len(robots.received["/ok"]), len(robots.received["/flaky"])) == (1, 1)


def test_a_robot_gets_at_most_20_messages_a_minute(ddb_env: dict, robots: Robots) -> None:
    save_store("s1", store_in(idle_hour=None), sh("00:00"))
    save_plan("s1", [SlotSpec(f"burst{i:02d}", "08:30", "poster") for i in range(22)], sh("00:00"))
    save_store("s1", store_in(idle_hour=None), sh("00:00"))  # re-index with the plan
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=3, webhook_url=robots.url("/one"),
                created_at=sh("00:00")).save()
    advance_watermark(sh("08:00"))
    first = tick("08:30")
    assert first.outcome["posted"] == 22 and len(robots.received["/one"]) == 20
    deferred = [p for p in posts.for_day("s1", DAY) if p.status == "pending"]
    assert len(deferred) == 2 and all(p.next_attempt_at.startswith("2026-11-20T00:31:00") for p in deferred)
    tick("08:31")
    assert len(robots.received["/one"]) == 22
    assert all(p.status == "sent" for p in posts.for_day("s1", DAY))


def test_long_chinese_bodies_arrive_split_on_character_boundaries(
        ddb_env: dict, robots: Robots, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.campaigns import offers_source
    from chalicelib.campaigns.offers_source import Offer, OfferSet

    many = [Offer(f"t{i}", "超值拿铁咖啡买一送一" * 10, "amount_off", 500 + i) for i in range(8)]
    monkeypatch.setattr(offers_source, "store_offers", lambda store, now: OfferSet(many, False))
    add_store("s1", robots, ["/a"])
    tick("08:30")
    texts = robots.received["/a"]
    assert len(texts) == 2 and all(len(t.encode()) <= 2048 for t in texts)
    assert "".join(t + "\n" for t in texts).rstrip("\n") == morning().body




def test_redirects_are_not_followed_and_urls_off_the_allow_list_are_not_called(
        ddb_env: dict, robots: Robots) -> None:
    add_store("s1", robots, ["/moved"])
    robots.script["/moved"] = [(302, 0, 0)]
    tick("08:30")
    assert morning().last_error == "s1.1: redirect refused"
    assert robots.received["/elsewhere"] == []
    # a URL saved before the allow-list existed (or after it changed) is never called
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=3,
                webhook_url="http://169.254.169.254/cgi-bin/webhook/send?key=x", created_at=sh("00:00")).save()
    tick("08:35")
    assert morning().last_error == "s1.1: webhook_not_allowed"
