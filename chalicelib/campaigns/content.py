"""Post bodies (pure): which offers a slot carries and the text it says.
Plain values in, a string out; Chinese text, money in fen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chalicelib.campaigns.offers_source import Offer
from chalicelib.campaigns.slots import CLEARANCE, SlotSpec

MAX_OFFERS_LISTED = 8  # a chat post, not a catalogue; the mini-program shows the rest

_HEADLINES = {
    "poster": "早安！{store} 今日好物已上新",
    "flash_coupon": "午间闪券开抢！{store} 限量优惠，先到先得",
    "afternoon_promo": "下午茶时间到 {store} 为你准备了这些优惠",
    "ecommerce": "晚间线上商城 {store} 到家优惠",
    CLEARANCE: "闲时清仓 {store} 临期好物特价，数量有限",
}


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def offer_line(offer: Offer) -> str:
    if offer.kind == "amount_off":
        value = f"立减¥{yuan(offer.value)}"
    elif offer.kind == "percent_off":
        value = f"{offer.value}%优惠"
    elif offer.kind == CLEARANCE:
        value = f"领券立减¥{yuan(offer.value)}"
    else:
        value = "赠品"
    parts = [f"· {offer.title} {value}"]
    if offer.min_spend_fen:
        parts.append(f"满¥{yuan(offer.min_spend_fen)}可用")
    if offer.remaining is not None:
        parts.append(f"剩{offer.remaining}份")
    if offer.boosted:
        parts.append("(会员日加码)")
    return " ".join(parts)


def select_offers(kind: str, offers: Sequence[Offer]) -> list[Offer]:
    """Noon carries the flash coupons (limited stock); the idle hour carries
    clearance; other slots carry the regular offers. A noon slot with no
    limited coupon falls back to the regular offers rather than posting none."""
    regular = [o for o in offers if o.kind != CLEARANCE]
    if kind == CLEARANCE:
        chosen = [o for o in offers if o.kind == CLEARANCE]
    elif kind == "flash_coupon":
        chosen = [o for o in regular if o.remaining is not None] or regular
    else:
        chosen = regular
    return chosen[:MAX_OFFERS_LISTED]


def build_body(store_name: str, spec: SlotSpec, offers: Sequence[Offer], member_day: bool,
               local_date: date) -> str:
    lines = []
    if member_day:
        lines.append("【会员日】今日会员专享，优惠已加码！")
    lines.append(_HEADLINES.get(spec.kind, "{store} 今日优惠").format(store=store_name))
    lines.append(f"{local_date.month}月{local_date.day}日")
    lines.extend(offer_line(o) for o in offers)
    if not offers:
        lines.append("进店看看，更多惊喜等你发现")
    else:
        lines.append("打开小程序即可领取")
    return "\n".join(lines)
