"""Per group of a post: the channel its delivery goes through and where it
stands (pure, given the post and the store's groups), for `GET
/stores/{id}/posts`. The channel is the one the group uses now: its robot,
else (WeCom on, a WeCom group bound) a mass-send task, else none, which is
said plainly instead of a post that silently misses a group."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from chalicelib.schema import ApiModel

ChannelName = Literal["record", "robot", "mass_send", "none"]


class GroupDelivery(ApiModel):
    group_id: str
    channel: ChannelName
    status: Literal["sent", "failed", "pending"]
    reason: str | None = None  # why it failed, or why no channel can reach the group


def channel_of(channel_setting: str, wecom: str, webhook_url: str | None, chat_ref: str | None) -> ChannelName:
    if channel_setting != "wecom":
        return "record"
    if webhook_url:
        return "robot"
    if chat_ref and wecom != "off":
        return "mass_send"
    return "none"


def group_deliveries(group_ids: Iterable[str], sent_parts: Iterable[str], last_error: str | None,
                     groups: dict[str, tuple[str | None, str | None]], channel_setting: str,
                     wecom: str) -> list[GroupDelivery]:
    """`groups`: group_id -> (webhook_url, chat_ref)."""
    sent = {p.rsplit("#", 1)[0] for p in sent_parts}
    errors = {}
    for item in (last_error or "").split("; "):
        gid, sep, why = item.partition(": ")
        if sep:
            errors[gid] = why
    out = []
    for gid in group_ids:
        webhook_url, chat_ref = groups.get(gid, (None, None))
        channel = channel_of(channel_setting, wecom, webhook_url, chat_ref)
        if gid in errors:
            out.append(GroupDelivery(group_id=gid, channel=channel, status="failed", reason=errors[gid]))
        elif gid in sent:
            out.append(GroupDelivery(group_id=gid, channel=channel, status="sent"))
        else:
            reason = ("no group robot and no WeCom group bound: add a robot (PUT /groups/{id} webhook_url)"
                      if channel == "none" else None)
            out.append(GroupDelivery(group_id=gid, channel=channel, status="pending", reason=reason))
    return out
