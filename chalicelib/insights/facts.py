"""Store facts written inside the payment's own transaction (O(1) items).

Per payment: ADD to two hour slots of one StoreWeek item (orders +1, spend
+amount) and, for a member, the distinct-visitor bookkeeping below. Per
refund: the same slots ADD back (orders -1 only when the refund completes
the payment's refund, spend -amount).

Distinct members, exactly and cheaply. Each (store, member) has one
MemberVisit item holding the week of the member's latest visit. Each
StoreWeek counts `last_visitors`: members whose latest visit is that week.
A visit in week W by a member last seen in week P < W moves them: P -1,
W +1, visit := W, all in the payment's transaction, guarded on the visit
item still saying P (a concurrent payment of the same member at the same
store that moved it first makes ours `Refused` on "visit": re-read, retry).
An older visit (W <= P) changes nothing. Distinct members over the last N
weeks = the sum of `last_visitors` over those N items: each member is
counted once, in the week of their latest visit. Refunds do not un-count a
visitor (they came to the store); members stay counted until their latest
visit leaves the window.

Timeline the guard prevents (two payments of m at store s, last seen P):
  A reads P; B reads P; B commits P-1, W+1, visit=W; A commits P-1, W+1
  -> m counted twice in W and P under-counted. With the guard A is refused
  on visit == P, re-reads W, and adds nothing more (W <= W)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.insights.models import MemberVisit, StoreWeek
from chalicelib.insights.weeks import orders_attr, slot_of, spend_attr
from chalicelib.txn import Transaction


def _slot_actions(hour: int, orders: int, spend: int) -> list[Any]:
    actions = [getattr(StoreWeek, spend_attr(hour)).add(spend)]
    if orders:
        actions.append(getattr(StoreWeek, orders_attr(hour)).add(orders))
    return actions


def last_visit_week(store_id: str, member_id: str) -> str | None:
    try:
        return MemberVisit.get(store_id, member_id, consistent_read=True).last_week
    except DoesNotExist:
        return None


def add_payment_in(tx: Transaction, store_id: str, tz: str, paid_at: datetime, amount_fen: int,
                   member_id: str | None, last_week: str | None) -> None:
    """Add the payment's facts to `tx` (1 to 3 items); `last_week` is what
    `last_visit_week` read (the guard)."""
    week, hour = slot_of(paid_at, tz)
    actions = _slot_actions(hour, 1, amount_fen)
    if member_id is None:
        actions.append(StoreWeek.anonymous_orders.add(1))
    elif last_week is None:
        tx.put("visit", MemberVisit(store_id, member_id, last_week=week),
               condition=MemberVisit.member_id.does_not_exist())
        actions.append(StoreWeek.last_visitors.add(1))
    elif last_week < week:
        tx.update("visit", MemberVisit(store_id, member_id), [MemberVisit.last_week.set(week)],
                  condition=MemberVisit.last_week == last_week)
        tx.update("facts", StoreWeek(store_id, last_week), [StoreWeek.last_visitors.add(-1)])
        actions.append(StoreWeek.last_visitors.add(1))
    tx.update("facts", StoreWeek(store_id, week), actions)


def reverse_in(tx: Transaction, store_id: str, tz: str, paid_at: datetime, amount_fen: int,
               completes: bool, anonymous: bool) -> None:
    """A refund of `amount_fen` (completing the payment's refund or not)."""
    week, hour = slot_of(paid_at, tz)
    actions = _slot_actions(hour, -1 if completes else 0, -amount_fen)
    if completes and anonymous:
        actions.append(StoreWeek.anonymous_orders.add(-1))
    tx.update("facts", StoreWeek(store_id, week), actions)
