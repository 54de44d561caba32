"""WeCom group robot webhook channel (production). The URL is checked
against the allow-list (`STORELOOP_WEBHOOK_HOSTS`, groups/webhook.py) before
every send, redirects are never followed, and failures are recorded as
short codes (`HTTP 500`, `network: timeout`, `errcode 93000`), never as the
network library's text. The robot answers HTTP 200 with `{"errcode": 0}` on
success; `errcode` 45009 means its rate limit (20 a minute) was hit."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.delivery import pacer
from chalicelib.delivery.channel import Deferred, Delivered, Failed, Outcome, Target
from chalicelib.groups.webhook import check_webhook_url
from chalicelib.wecom import http
from chalicelib.wecom.errors import WeComError

TIMEOUT_S = 5.0
RATE_LIMITED_ERRCODE = 45009
RATE_LIMIT_BACKOFF = timedelta(seconds=60)


class WeComChannel:
    name = "wecom"

    def __init__(self, timeout_s: float = TIMEOUT_S):
        self.timeout_s = timeout_s

    def send(self, target: Target, message_key: str, text: str, now: datetime) -> Outcome:
        if not target.webhook_url:
            return Failed(f"group {target.group_id} has no webhook_url")
        try:
            check_webhook_url(target.webhook_url)
        except ValueError:
            return Failed("webhook_not_allowed")  # saved before the allow-list, or the list changed
        retry_at = pacer.acquire(target.webhook_url, now)
        if retry_at is not None:
            return Deferred(retry_at)
        try:
            answer = http.call("POST", target.webhook_url, {"msgtype": "text", "text": {"content": text}},
                               timeout_s=self.timeout_s)
        except WeComError as exc:
            if exc.code == "redirect":
                return Failed("redirect refused")
            if exc.code == "http_429":
                return Deferred(now + RATE_LIMIT_BACKOFF)
            if exc.code.startswith("http_"):
                return Failed(f"HTTP {exc.code[5:]}")
            return Failed(f"network: {exc.code}")
        errcode = answer.get("errcode", 0)
        if errcode == 0:
            return Delivered()
        if errcode == RATE_LIMITED_ERRCODE:
            return Deferred(now + RATE_LIMIT_BACKOFF)
        return Failed(f"errcode {errcode}" if isinstance(errcode, int) else "unreadable robot response")
