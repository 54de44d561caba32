"""The fan-out worker: one message = one store's due slots (or posts to
re-drive). The same function runs behind SQS in Lambda and in-process for
`cli tick`. Every decision re-reads the store's current configuration: the
schedule index only says where to look."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib import logs
from chalicelib.campaigns import offers_source, posts, schedule
from chalicelib.campaigns.clearance_run import run_clearance
from chalicelib.campaigns.content import build_body, select_offers
from chalicelib.campaigns.delivering import PartlyDelivered, deliver, deliver_many
from chalicelib.campaigns.models import PostRecord
from chalicelib.campaigns.offers_source import Offer
from chalicelib.campaigns.slots import CLEARANCE, SlotSpec, due_fire
from chalicelib.delivery.channel import Channel
from chalicelib.groups.directory import groups_of, store_groups
from chalicelib.groups.models import GroupRecord
from chalicelib.stores.models import StoreRecord
from chalicelib.types import WEEKDAYS

log = logs.get_logger("campaigns.worker")


@dataclass(frozen=True)
class DueItem:
    bucket: str
    key: str
    rev: str
    slot: str
    at: str
    timezone: str

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


def slots_message(store_id: str, start: datetime, end: datetime, items: list[DueItem]) -> dict[str, Any]:
    return {"type": "slots", "store_id": store_id, "start": start.isoformat(), "end": end.isoformat(),
            "items": [i.to_json() for i in items]}


def retry_message(store_id: str, post_ids: list[str]) -> dict[str, Any]:
    return {"type": "retry", "store_id": store_id, "post_ids": post_ids}


def handle(message: dict[str, Any], now: datetime, channel: Channel,
           known: dict[str, schedule.StoreAndPlan] | None = None,
           groups: dict[str, list[GroupRecord]] | None = None) -> Counter[str]:
    """One message: `handle_batch` of one, the one path for one message
    and many (a lone post is still a plain conditional PutItem and a plain
    sent update, so one message costs what it did on its own path). A
    failure is `errors` on the outcome (logged), as in a batch."""
    return handle_batch([message], now, channel, known, groups)[0]


@dataclass
class _Draft:
    """A regular post built by a batch's first pass, to be created with the others."""

    message: int  # its message's index in the batch
    post: PostRecord
    groups: list[GroupRecord]


def handle_batch(messages: list[dict[str, Any]], now: datetime, channel: Channel,
                 known: dict[str, schedule.StoreAndPlan] | None = None,
                 groups: dict[str, list[GroupRecord]] | None = None) -> list[Counter[str]]:
    """`handle` for a worker's batch of messages (the in-process fan-out's
    share, or one SQS batch: `fanout.process_records`), outcomes per
    message (an exception is `errors` on its message). The same checks and content per store;
    then the batch's regular posts are created together (`posts.create_many`:
    one transaction per 25, each put guarded as in `create`) and the ones
    delivered are marked sent together. Clearance slots and retries run
    one by one (`_clearance`, `_retry`). A message that fails while being checked or
    built fails alone; a failure of the batch's creates fails the messages
    whose posts it held (created posts are the outbox's to re-drive); a
    delivery that stops part way (`PartlyDelivered`) counts the posts it
    recorded as posted and fails only the messages of the others."""
    outcomes: list[Counter[str]] = [Counter() for _ in messages]
    drafts: list[_Draft] = []
    groups = read_groups(messages, known, groups)
    for index, message in enumerate(messages):
        try:
            if message["type"] == "retry":
                outcomes[index] = _retry(message["store_id"], message["post_ids"], now, channel)
                continue
            store_id = message["store_id"]
            found = (known or {}).get(store_id)
            mine: list[_Draft] = []
            outcomes[index] = _slots(store_id, datetime.fromisoformat(message["start"]),
                                     datetime.fromisoformat(message["end"]),
                                     [DueItem(**i) for i in message["items"]], now, channel,
                                     schedule.store_and_plan(store_id) if found is None else found,
                                     drafts=mine, message=index, groups=groups)
            drafts += mine
        except Exception:  # noqa: BLE001 - one bad store must not stop the others; the outbox re-drives
            log.exception("fan-out message failed", extra={"fields": {"store_id": message.get("store_id")}})
            outcomes[index] = Counter({"errors": 1})
    drafts = _first_of_each(drafts, outcomes)
    if not drafts:
        return outcomes
    created: list[_Draft] = []
    results: list[str | None]
    try:
        ours = posts.create_many([d.post for d in drafts])
        created = [d for d, new in zip(drafts, ours, strict=True) if new]
        for d, new in zip(drafts, ours, strict=True):
            if not new:
                outcomes[d.message]["duplicate"] += 1
        results = list(deliver_many([(d.post, d.groups) for d in created], channel, now))
    except PartlyDelivered as exc:  # the posts it recorded are posted; the others' messages fail
        log.exception("fan-out batch delivery failed", extra={"fields": {"posts": len(created)}})
        results = exc.results
    except Exception:  # noqa: BLE001 - the batch's posts fail together; created ones are re-driven
        log.exception("fan-out batch write failed", extra={"fields": {"posts": len(drafts)}})
        for index in sorted({d.message for d in drafts}):
            outcomes[index] = Counter({"errors": 1})
        return outcomes
    for d, result in zip(created, results, strict=True):
        if result is None:  # created, not recorded: the outbox re-drives it; SQS redelivers its message
            outcomes[d.message]["errors"] = 1
            continue
        outcomes[d.message]["posted"] += 1
        log.info("posted", extra={"fields": {"store_id": d.post.store_id, "post_id": d.post.post_id,
                                             "result": result}})
    return outcomes


GROUPS_BY_KEY_MIN = 2  # stores from which the by-key read (2 requests at most) beats a Query each


def read_groups(messages: list[dict[str, Any]], known: dict[str, schedule.StoreAndPlan] | None,
                groups: dict[str, list[GroupRecord]] | None) -> dict[str, list[GroupRecord]] | None:
    """The batch's stores' groups by key (`directory.groups_of`: a
    BatchGetItem of their groups 1, and one of their other groups if any),
    for the open stores of its slot messages whose groups `groups` (the
    tick's Scan) does not hold yet. A store it cannot list, or every store
    if the read fails (it is an optimisation), is queried on its own in
    `_slots`, as before."""
    have = groups or {}
    try:
        wanted: list[str] = []
        for message in messages:
            store_id = message.get("store_id")
            if message.get("type") != "slots" or not isinstance(store_id, str) or store_id in have:
                continue  # a malformed message fails alone in its own turn, not the batch here
            if known is not None and store_id in known:
                store = known[store_id][0]
                if store is None or store.status != "open":
                    continue  # its slots are stale: no post, no groups needed
            wanted.append(store_id)
        wanted = list(dict.fromkeys(wanted))
        if len(wanted) < GROUPS_BY_KEY_MIN:
            return groups
        found = groups_of(wanted)
    except Exception:  # noqa: BLE001 - an optimisation only: then each store queries its own
        log.exception("fan-out groups read failed", extra={"fields": {"messages": len(messages)}})
        return groups
    return {**have, **found}


def _first_of_each(drafts: list[_Draft], outcomes: list[Counter[str]]) -> list[_Draft]:
    """One draft per post: a message SQS delivered twice into one batch
    drafts the same (store, day, slot) twice, and a transaction may not
    name one item twice. The second is a duplicate, as the ledger would say."""
    seen: set[tuple[str, str]] = set()
    kept: list[_Draft] = []
    for d in drafts:
        key = (d.post.store_id, d.post.post_id)
        if key in seen:
            outcomes[d.message]["duplicate"] += 1
            continue
        seen.add(key)
        kept.append(d)
    return kept


def prefetch(messages: list[dict[str, Any]]) -> dict[str, schedule.StoreAndPlan]:
    """The stores and plans of a batch of slot messages, 50 stores per
    BatchGetItem, read right before the batch is handled: the same re-check
    of the store's current configuration, in fewer requests."""
    return schedule.stores_and_plans([m["store_id"] for m in messages if m["type"] == "slots"])


def is_member_day(member_day: str | None, local_date: date) -> bool:
    return member_day is not None and WEEKDAYS[local_date.weekday()] == member_day


def _slots(store_id: str, start: datetime, end: datetime, items: list[DueItem], now: datetime,
           channel: Channel, current: schedule.StoreAndPlan, drafts: list[_Draft],
           message: int = 0, groups: dict[str, list[GroupRecord]] | None = None) -> Counter[str]:
    """Regular posts are built and appended to `drafts` for the batch to
    create; a clearance post is made here (`_clearance`)."""
    outcome: Counter[str] = Counter()
    store, custom = current
    plan = {s.slot: s for s in schedule.store_plan(store, custom)} if store else {}
    mine: list[GroupRecord] | None = (groups or {}).get(store_id)
    with offers_source.tick_snapshot(end.isoformat()):  # the chain-wide offers: read once per tick
        for item in items:
            spec = plan.get(item.slot)
            if store is None or store.status != "open" or spec is None or spec.at != item.at \
                    or store.timezone != item.timezone:
                schedule.drop_stale(item.bucket, item.key, item.rev)
                outcome["stale"] += 1
                continue
            due = due_fire(spec, store.timezone, start, end)
            if due is None:
                outcome["not_due"] += 1  # e.g. the other-offset bucket of a DST zone
                continue
            if mine is None:
                mine = store_groups(store_id)
            if spec.kind != CLEARANCE:
                drafts.append(_Draft(message, _draft(store, spec, due[0], due[1], now, mine), mine))
                continue
            outcome[_clearance(store, spec, due[0], due[1], now, channel, mine)] += 1
    return outcome


def _draft(store: StoreRecord, spec: SlotSpec, local_date: date, fire: datetime, now: datetime,
           groups: list[GroupRecord]) -> PostRecord:
    body, offers = content(store, spec, local_date, fire, now)
    return posts.draft(store.store_id, spec, local_date, fire, now, body=body, offers=offers,
                       member_day=is_member_day(store.member_day, local_date), group_ids=[g.group_id for g in groups])


def _clearance(store: StoreRecord, spec: SlotSpec, local_date: date, fire: datetime, now: datetime,
               channel: Channel, groups: list[GroupRecord]) -> str:
    """A clearance post, alone: the slot is claimed (the post created)
    before its coupons, so only the claimant issues stock."""
    group_ids = [g.group_id for g in groups]
    member_day = is_member_day(store.member_day, local_date)
    post = posts.create(store.store_id, spec, local_date, fire, now, body=None, offers=[],
                        member_day=member_day, group_ids=group_ids)
    if post is None:
        return "duplicate"
    body, offers = content(store, spec, local_date, fire, now)
    posts.set_content(post, body, offers, member_day, group_ids)
    result = deliver(post, channel, now, groups)
    log.info("posted", extra={"fields": {"store_id": store.store_id, "post_id": post.post_id, "result": result}})
    return "posted"


def content(store: StoreRecord, spec: SlotSpec, local_date: date, fire: datetime,
            now: datetime) -> tuple[str, list[Offer]]:
    member_day = is_member_day(store.member_day, local_date)
    if spec.kind == CLEARANCE:
        offers = run_clearance(store, local_date, fire, now)
    else:
        offers = offers_source.store_offers(store, now).offers
    chosen = select_offers(spec.kind, offers)
    return build_body(store.name, spec, chosen, member_day, local_date), chosen


def _retry(store_id: str, post_ids: list[str], now: datetime, channel: Channel) -> Counter[str]:
    outcome: Counter[str] = Counter()
    for post_id in post_ids:
        post = posts.take_lease(store_id, post_id, now)
        if post is None:
            outcome["retry_skipped"] += 1  # sent meanwhile, or another worker holds it
            continue
        outcome[f"retry_{redrive(post, now, channel)}"] += 1
    return outcome


def redrive(post: PostRecord, now: datetime, channel: Channel) -> str:
    """Deliver a leased post; a post whose worker died before its content
    was written gets its content built now."""
    if post.body is None:
        store = StoreRecord.get(post.store_id)
        spec = SlotSpec(post.slot, "00:00", post.kind)
        local_date = date.fromisoformat(post.local_date)
        body, offers = content(store, spec, local_date, post.fire_at, now)
        group_ids = [g.group_id for g in store_groups(post.store_id)]
        posts.set_content(post, body, offers, is_member_day(store.member_day, local_date), group_ids)
    return deliver(post, channel, now)
