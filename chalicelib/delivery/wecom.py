"""WeCom group robot webhook channel (production), over urllib (no extra
runtime dependency). The robot answers HTTP 200 with `{"errcode": 0}` on
success; `errcode` 45009 means its rate limit was hit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from chalicelib.delivery import pacer
from chalicelib.delivery.channel import Deferred, Delivered, Failed, Outcome, Target

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
        retry_at = pacer.acquire(target.webhook_url, now)
        if retry_at is not None:
            return Deferred(retry_at)
        payload = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
        request = urllib.request.Request(target.webhook_url, data=payload, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - https webhook
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                return Deferred(now + RATE_LIMIT_BACKOFF)
            return Failed(f"HTTP {exc.code}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            return Failed(f"network: {type(exc).__name__}")
        return _outcome(body, now)


def _outcome(body: bytes, now: datetime) -> Outcome:
    try:
        errcode = json.loads(body or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        return Failed("unreadable robot response")
    if errcode == 0:
        return Delivered()
    if errcode == RATE_LIMITED_ERRCODE:
        return Deferred(now + RATE_LIMIT_BACKOFF)
    return Failed(f"errcode {errcode}")
