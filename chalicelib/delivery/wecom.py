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
from chalicelib.groups import ledger
from chalicelib.groups.webhook import check_webhook_url
from chalicelib.settings import get_settings
from chalicelib.wecom import http
from chalicelib.wecom.client import WeComClient
from chalicelib.wecom.errors import WeComApiError, WeComError

TIMEOUT_S = 5.0
RATE_LIMITED_ERRCODE = 45009
RATE_LIMIT_BACKOFF = timedelta(seconds=60)
# A customer group takes at most as many mass messages a month as the month
# has days (WeCom's default rule, docs/wecom.md): one a day keeps every group
# inside it whatever the month.
MASS_SEND_LIMIT, MASS_SEND_WINDOW = 1, timedelta(days=1)


class WeComChannel:
    name = "wecom"

    def __init__(self, timeout_s: float = TIMEOUT_S):
        self.timeout_s = timeout_s

    def send(self, target: Target, message_key: str, text: str, now: datetime) -> Outcome:
        if not target.webhook_url:
            if target.chat_ref and get_settings().wecom != "off":
                return mass_send(target, message_key, text, now)
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


def mass_send(target: Target, message_key: str, text: str, now: datetime) -> Outcome:
    """A group without a robot (e.g. one WeCom opened itself): a mass-send task
    (`add_msg_template`, chat_type group) the group's owner confirms in WeCom.
    One a day per group, one message per post; the rest fail visibly (the
    store's staff see an alert to add a robot: GET /stores/{id}/wecom)."""
    assert target.chat_ref is not None
    if not message_key.endswith("#0"):
        return Failed("no robot: a mass-send takes one message per post")
    chat = ledger.get_chat(target.chat_ref)
    if chat is None or chat.status != "active" or not chat.owner:
        return Failed("no robot and the WeCom group is unknown or dismissed")
    if pacer.acquire(f"mass-send:{target.chat_ref}", now, MASS_SEND_LIMIT, MASS_SEND_WINDOW) is not None:
        return Failed("no robot: today's mass-send to this group is used")
    try:
        failed = WeComClient(get_settings()).add_msg_template_to_groups(chat.owner, [target.chat_ref], text)
    except WeComApiError as exc:
        return Failed(f"mass-send errcode {exc.errcode}")
    except WeComError as exc:
        return Failed(f"mass-send network: {exc.code}")
    if failed:
        return Failed("mass-send refused for this group")
    return Delivered()
