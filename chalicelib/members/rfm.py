"""RFM scores (pure): recency, frequency, monetary, each 1-5, and the
segment they put a member in. Thresholds are fixed (documented in
docs/insights.md), so a member's score does not move when other members
buy; the chain-relative view lives in the store insights instead.

R: days since the last order: <=7 -> 5, <=14 -> 4, <=30 -> 3, <=60 -> 2, else 1.
F: orders in the last 30 days (the tier window): >=8 -> 5, >=4 -> 4, >=2 -> 3, 1 -> 2, 0 -> 1.
M: lifetime spend (net of refunds): >=1,000 yuan -> 5, >=500 -> 4, >=200 -> 3, >=50 -> 2, else 1.
No orders at all: (0, 0, 0), segment "new"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Segment = Literal["new", "champion", "loyal", "promising", "needs_attention", "at_risk", "hibernating"]
SEGMENTS: tuple[str, ...] = ("new", "champion", "loyal", "promising", "needs_attention", "at_risk", "hibernating")

_R_DAYS = ((7, 5), (14, 4), (30, 3), (60, 2))
_F_ORDERS = ((8, 5), (4, 4), (2, 3), (1, 2))
_M_FEN = ((100_000, 5), (50_000, 4), (20_000, 3), (5_000, 2))


@dataclass(frozen=True)
class Rfm:
    r: int
    f: int
    m: int
    segment: Segment


def recency_score(last_order_at: datetime | None, now: datetime) -> int:
    if last_order_at is None:
        return 0
    days = (now - last_order_at).total_seconds() / 86_400
    return next((score for limit, score in _R_DAYS if days <= limit), 1)


def frequency_score(orders_30d: int) -> int:
    return next((score for least, score in _F_ORDERS if orders_30d >= least), 1)


def monetary_score(spend_fen: int) -> int:
    return next((score for least, score in _M_FEN if spend_fen >= least), 1)


def segment_of(r: int, f: int, m: int) -> Segment:
    if r == 0:
        return "new"
    if r >= 4 and f >= 4:
        return "champion"
    if f >= 4:
        return "loyal"
    if r >= 4:
        return "promising"  # recent but not (yet) frequent
    if r <= 2 and (f >= 3 or m >= 3):
        return "at_risk"  # was worth something, going quiet
    if r <= 2:
        return "hibernating"
    return "needs_attention"


def score(last_order_at: datetime | None, orders_30d: int, spend_fen: int, orders_total: int,
          now: datetime) -> Rfm:
    if last_order_at is None or orders_total <= 0:
        return Rfm(0, 0, 0, "new")
    r, f, m = recency_score(last_order_at, now), frequency_score(orders_30d), monetary_score(spend_fen)
    return Rfm(r, f, m, segment_of(r, f, m))
