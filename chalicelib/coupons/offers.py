"""What a store offers right now: live templates in scope, for this caller,
with stock left, values boosted on the store's member day.

Reads: one GetItem (store), five Queries (the store's scope buckets, each
skipping ended templates by key), one BatchGet (templates), one BatchGet
(the caller's claim counts) and one Query per limited template (shards)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from chalicelib.clock import local_time
from chalicelib.coupons import rules
from chalicelib.coupons.audience import Candidate, MemberContext, in_audience, member_context, rank
from chalicelib.coupons.models import ClaimCount, TemplateIndexEntry, TemplateRecord
from chalicelib.coupons.schemas import MemberView, Offer, Offers
from chalicelib.coupons.templates import index_key, remaining, scope_of
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.service import get_store


def live_template_ids(store: StoreRecord, now: datetime) -> set[str]:
    after = index_key(now)
    ids: set[str] = set()
    for bucket in rules.store_buckets(store.store_id, store.traffic_tier, store.spend_tier):
        for entry in TemplateIndexEntry.query(bucket, TemplateIndexEntry.sk > after):
            ids.add(entry.template_id)
    return ids


def _claimable_at(record: TemplateRecord, store: StoreRecord, now: datetime) -> bool:
    return (record.claim_start <= now < record.claim_end and record.status in (None, "active")
            and scope_of(record).covers(store.store_id, store.traffic_tier, store.spend_tier))


def store_offers(store: StoreRecord | str, now: datetime, member_id: str | None = None) -> Offers:
    """The store's (a record or an id) current offers; for a member, only
    what they may still claim (audience by tier or RFM segment, per-member
    limit), ranked for them with a `reason` each (coupons/audience.py).
    `member_id=None` (e.g. the scheduler building a post) skips the
    per-member filters and ranking."""
    if isinstance(store, str):
        store = get_store(store)
    ids = live_template_ids(store, now)
    records = [r for r in TemplateRecord.batch_get(list(ids)) if _claimable_at(r, store, now)] if ids else []
    held: dict[str, int] = {}
    who: MemberContext | None = None
    if member_id is not None:
        who = member_context(member_id, now)
        records, held = _for_member(records, member_id, who)
    member_day = rules.is_member_day(store.member_day, now, store.timezone)
    offers = _offer_list(records, store, member_day, held, remaining)
    if who is None:
        return Offers(offers=offers, member_day=member_day)
    by_id = {r.template_id: r for r in records}
    ranked = rank([Candidate(o.template_id, o.kind, o.value, o.min_spend_fen, o.boosted, o.held,
                             tuple(by_id[o.template_id].audience_tiers or ()),
                             tuple(by_id[o.template_id].audience_segments or ())) for o in offers], who)
    offer_by_id = {o.template_id: o for o in offers}
    ordered = [offer_by_id[c.template_id].model_copy(update={"reason": reason}) for c, reason in ranked]
    return Offers(offers=ordered, member_day=member_day,
                  member=MemberView(tier=who.tier, segment=who.scores.segment, r=who.scores.r, f=who.scores.f,
                                    m=who.scores.m))


def offers_from(store: StoreRecord, records: Iterable[TemplateRecord], now: datetime,
                left_of: Callable[[TemplateRecord], int | None] = remaining) -> Offers:
    """`store_offers(store, now)` (no member) from template records the
    caller has already read (all live ones in the store's scope buckets;
    those not claimable here and now are skipped), with `left_of` giving
    each limited template's stock: the scheduler reads these once per tick
    (campaigns/offers_source.py), not once per post."""
    claimable = [r for r in records if _claimable_at(r, store, now)]
    member_day = rules.is_member_day(store.member_day, now, store.timezone)
    return Offers(offers=_offer_list(claimable, store, member_day, {}, left_of), member_day=member_day)


def _offer_list(records: list[TemplateRecord], store: StoreRecord, member_day: bool, held: dict[str, int],
                left_of: Callable[[TemplateRecord], int | None]) -> list[Offer]:
    offers = []
    for record in sorted(records, key=lambda r: (r.claim_end, r.title, r.template_id)):
        left = left_of(record)
        if left is not None and left <= 0:
            continue
        value, boosted = rules.claim_value(int(record.value), _int(record.boost_value), member_day)
        offers.append(Offer(
            template_id=record.template_id, title=record.title, kind=record.kind,  # type: ignore[arg-type]
            value=value, min_spend_fen=int(record.min_spend_fen), remaining=left,
            claim_end=local_time(record.claim_end, store.timezone), boosted=boosted,
            per_member_limit=int(record.per_member_limit), held=held.get(record.template_id, 0)))
    return offers


def _for_member(records: list[TemplateRecord], member_id: str,
                who: MemberContext) -> tuple[list[TemplateRecord], dict[str, int]]:
    records = [r for r in records if in_audience(r.audience_tiers, r.audience_segments, who)]
    if not records:
        return records, {}
    counts = {c.template_id: int(c.claimed or 0)
              for c in ClaimCount.batch_get([(member_id, r.template_id) for r in records])}
    return [r for r in records if counts.get(r.template_id, 0) < int(r.per_member_limit)], counts


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)
