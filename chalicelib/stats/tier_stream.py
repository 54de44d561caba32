"""Redemption rate by the member's tier at claim, counted off the write path.

A claim is one TransactWriteItems and reads nothing it has not cached
(issue 13); looking up the member's tier there would add a member GetItem
and a payments-index Query to every flash-sale claim. So the tier is
attributed afterwards, by a consumer of the coupons table's DynamoDB stream
(NEW_AND_OLD_IMAGES; AWS's pattern for derived aggregates): in AWS a Lambda
event source mapping (`stats_member_tiers` in stats/routes.py), locally
devtools/stream_poller.py, both calling `handle_event` with the same
Lambda-shaped records.

For each record (`classify`):
- INSERT with status `claimed`: +1 `claimed_<tier>` on the claiming
  store's counter row for the claim's local day;
- MODIFY `claimed` -> `redeemed`: +1 `redeemed_<tier>` on the redeeming
  store's row for the redemption's local day (from the redemption record);
- MODIFY `redeemed` -> `claimed` (a reversal): +1 `reversed_<tier>` on the
  row the redemption was counted on (as `redemptions_reversed` is);
- anything else (other MODIFYs, TTL REMOVEs) is ignored.

`<tier>` is the member's tier *at claim*: looked up once, for the claim
(`tiers_at`: one BatchGetItem of the members, then one keys-only Query on
the payments index for each member who ever ordered, bounded by the claim's
time, so a payment that lands between the claim and the consumer does not
move it), and remembered in the claim's mark (`TierMark`, event_key
"claimed") for the coupon's redemptions and reversals.

Exactly once per event, although Lambda delivers a batch at least once
(a failed or timed-out batch is retried from its first unfinished record):
an event's counter ADD commits in one `Transaction` with a put-if-absent
mark for (coupon, event); a re-delivered record fails its mark's condition
and is dropped from the count. Consecutive events on the same counter row
share one transaction (`_runs`: up to 99 marks and one ADD), so a flash
sale's batch costs one write on the hot counter row, not one per claim.
DynamoDB Streams keeps one item's records in order, so a coupon's claim is
counted before its redemption; runs commit in stream order, and a failure
names the first record of the failed run (`batchItemFailures`): every
record before it is done. A coupon
claimed before the stream was enabled has no claim mark: its redemption is
left out of the by-tier figures (`untiered`), as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import counters, logs, retry
from chalicelib.clock import local_time
from chalicelib.coupons.models import CouponRecord, RedemptionRecord
from chalicelib.stats.models import MEMBER_TIERS, TierMark
from chalicelib.txn import Contended, Refused, Transaction

log = logs.get_logger("stats.tier_stream")

CLAIMED, REDEEMED, REVERSED = "claimed", "redeemed", "reversed"
# how long a redemption's mark must outlive it: the reversal window (24 h) plus slack
REDEMPTION_MARK_DAYS = 3
# and any mark: a re-delivered record is at most 24 h old (the stream's retention)
MIN_MARK_DAYS = 2
RUN_MAX = 99  # marks per transaction, with the counter row: DynamoDB's 100 items


@dataclass(frozen=True)
class Event:
    """A coupon event the consumer counts (pure data, from one stream record)."""

    kind: str  # claimed | redeemed | reversed
    coupon_id: str
    member_id: str
    sequence: str  # the record's SequenceNumber (Lambda's batchItemFailures identifier)
    at: datetime  # when it happened (ApproximateCreationDateTime; the claim time for claims)
    claimed_at: datetime
    expires_at: datetime
    store_id: str  # claims: the claiming store
    timezone: str
    redemption_id: str | None = None

    @property
    def key(self) -> str:
        return CLAIMED if self.kind == CLAIMED else f"{self.kind}#{self.redemption_id}"


def _coupon(image: dict[str, Any] | None) -> CouponRecord | None:
    return CouponRecord.from_raw_data(image) if image else None


def classify(record: dict[str, Any]) -> Event | None:
    """The event a Lambda-shaped DynamoDB stream record stands for, or None
    for a change that counts nothing (pure)."""
    body = record.get("dynamodb") or {}
    new, old = _coupon(body.get("NewImage")), _coupon(body.get("OldImage"))
    name = record.get("eventName")
    stamp = body.get("ApproximateCreationDateTime")
    at = datetime.fromtimestamp(float(stamp), UTC) if stamp is not None else datetime.now(UTC)
    sequence = str(body.get("SequenceNumber", ""))
    if name == "INSERT" and new is not None and new.status == CLAIMED:
        kind, coupon, redemption_id, at = CLAIMED, new, None, new.claimed_at
    elif name == "MODIFY" and new is not None and old is not None and (old.status, new.status) == (CLAIMED, REDEEMED):
        kind, coupon, redemption_id = REDEEMED, new, new.redemption_id
    elif name == "MODIFY" and new is not None and old is not None and (old.status, new.status) == (REDEEMED, CLAIMED):
        kind, coupon, redemption_id = REVERSED, new, old.redemption_id
    else:
        return None
    if kind != CLAIMED and not redemption_id:
        return None
    return Event(kind=kind, coupon_id=coupon.coupon_id, member_id=coupon.member_id, sequence=sequence, at=at,
                 claimed_at=coupon.claimed_at, expires_at=coupon.expires_at, store_id=coupon.store_id,
                 timezone=coupon.timezone, redemption_id=redemption_id)


def mark_ttl(event: Event) -> int:
    """Epoch seconds after which the mark can go: a claim's when its coupon
    can no longer be redeemed or reversed, a redemption's after its reversal
    window; never before a re-delivery could still come."""
    floor = event.at + timedelta(days=MIN_MARK_DAYS)
    if event.kind == CLAIMED:
        until = max(floor, event.expires_at + timedelta(days=REDEMPTION_MARK_DAYS))
    elif event.kind == REDEEMED:
        until = max(floor, event.at + timedelta(days=REDEMPTION_MARK_DAYS))
    else:
        until = floor
    return int(until.timestamp())


def tiers_at(wanted: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], str]:
    """Each (member, time)'s tier as of that time: one BatchGetItem of the
    members (a member without a record, or who never ordered, is "new"),
    then for the others one keys-only Query on the payments index, newest
    first, `paid_at <= time`, at most `LOYAL_ORDERS` items."""
    from chalicelib.members.models import MemberRecord
    from chalicelib.members.tiers import LOYAL_ORDERS, WINDOW, tier_for
    from chalicelib.payments.models import PaymentRecord

    pairs = sorted(set(wanted))
    ids = sorted({member_id for member_id, _ in pairs})
    members = {m.member_id: m for m in MemberRecord.batch_get(ids, attributes_to_get=["member_id", "last_order_at"])}
    tiers: dict[tuple[str, datetime], str] = {}
    for member_id, at in pairs:
        member = members.get(member_id)
        if member is None or member.last_order_at is None:
            tiers[(member_id, at)] = "new"
            continue
        paid = [p.paid_at for p in PaymentRecord.by_member_paid_at.query(
            member_id, PaymentRecord.paid_at <= at, scan_index_forward=False, limit=LOYAL_ORDERS)]
        in_window = sum(1 for when in paid if when >= at - WINDOW)
        tiers[(member_id, at)] = tier_for(in_window, paid[0] if paid else None)
    return tiers


@dataclass
class Outcome:
    counted: int = 0
    duplicates: int = 0  # re-delivered: their mark was there
    untiered: int = 0  # redemptions/reversals of coupons with no claim mark (claimed before the stream)
    ignored: int = 0
    failed_sequence: str | None = None  # the first record not handled (the rest of the batch waits for it)
    by_counter: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """An event to count: its record's position in the batch, its counter row and mark."""

    position: int
    event: Event
    store_id: str
    day: str
    mark: TierMark

    @property
    def counter(self) -> str:
        return f"{self.event.kind}_{self.mark.tier}"


def _commit_run(run: list[Planned], outcome: Outcome) -> None:
    """One transaction per run: every mark put if absent, and one ADD of
    their counts on the run's counter row. Marks already there (a
    re-delivery) are dropped from the run and the rest sent again."""
    store_id, day = run[0].store_id, run[0].day
    for _ in retry.attempts(what="the member-tier count"):
        if not run:
            return
        tx = Transaction()
        for i, planned in enumerate(run):
            tx.put(f"mark{i}", planned.mark, condition=TierMark.event_key.does_not_exist())
        counts: dict[str, Any] = {}  # Any: spread into bump_in(**counts) next to its `label`
        for planned in run:
            counts[planned.counter] = counts.get(planned.counter, 0) + 1
        counters.bump_in(tx, store_id, datetime.fromisoformat(day).date(), **counts)
        try:
            tx.commit()
        except Contended:
            continue
        except Refused as exc:
            done = [p for i, p in enumerate(run) if exc.on(f"mark{i}")]
            if not done:
                raise
            outcome.duplicates += len(done)
            run = [p for i, p in enumerate(run) if not exc.on(f"mark{i}")]
            continue
        outcome.counted += len(run)
        for name, n in counts.items():
            outcome.by_counter[name] = outcome.by_counter.get(name, 0) + n
        return
    raise AssertionError("retry.attempts() ends by raising")


def _runs(planned: list[Planned]) -> list[list[Planned]]:
    """Consecutive events on the same counter row, at most `RUN_MAX` each
    (a transaction holds 100 items: the marks and the row). A flash sale's
    batch at one store is one transaction, not one per claim, so the
    consumer barely adds to the contention of the claims on that row; and
    stream order is kept: every record before a failed run is done."""
    runs: list[list[Planned]] = []
    for p in planned:
        last = runs[-1] if runs else None
        if last is not None and (last[0].store_id, last[0].day) == (p.store_id, p.day) and len(last) < RUN_MAX:
            last.append(p)
        else:
            runs.append([p])
    return runs


def handle(records: list[dict[str, Any]]) -> Outcome:
    """Count a batch of stream records, in order (see the module doc)."""
    outcome = Outcome()
    events = [classify(record) for record in records]
    counted = [e for e in events if e is not None]
    outcome.ignored = len(events) - len(counted)
    if not counted:
        return outcome
    # batched reads: the marks these events write or depend on, the redemptions, the claims' tiers
    wanted = {(e.coupon_id, e.key) for e in counted}
    wanted |= {(e.coupon_id, CLAIMED) for e in counted if e.kind == REDEEMED}
    wanted |= {(e.coupon_id, f"{REDEEMED}#{e.redemption_id}") for e in counted if e.kind == REVERSED}
    marks = {(m.coupon_id, m.event_key): m for m in TierMark.batch_get(sorted(wanted), consistent_read=True)}
    fresh = [e for e in counted if (e.coupon_id, e.key) not in marks]
    redemption_ids = sorted({str(e.redemption_id) for e in fresh if e.kind == REDEEMED})
    redemptions = {r.redemption_id: r for r in RedemptionRecord.batch_get(
        redemption_ids, consistent_read=True,
        attributes_to_get=["redemption_id", "store_id", "store_day"])} if redemption_ids else {}
    tiers = tiers_at((e.member_id, e.claimed_at) for e in fresh if e.kind == CLAIMED)

    planned: list[Planned] = []
    for position, event in enumerate(events):
        if event is None:
            continue
        if (event.coupon_id, event.key) in marks:
            outcome.duplicates += 1
            continue
        if event.kind == CLAIMED:
            tier = tiers[(event.member_id, event.claimed_at)]
            store_id, day = event.store_id, local_time(event.claimed_at, event.timezone).date().isoformat()
        elif event.kind == REDEEMED:
            claim = marks.get((event.coupon_id, CLAIMED))
            redemption = redemptions.get(str(event.redemption_id))
            if claim is None or redemption is None:
                outcome.untiered += 1
                continue
            tier, store_id, day = claim.tier, redemption.store_id, redemption.store_day.split("#", 1)[1]
        else:
            redeemed = marks.get((event.coupon_id, f"{REDEEMED}#{event.redemption_id}"))
            if redeemed is None:
                outcome.untiered += 1
                continue
            tier, store_id, day = redeemed.tier, redeemed.store_id, redeemed.day
        if tier not in MEMBER_TIERS:
            outcome.untiered += 1
            continue
        mark = TierMark(event.coupon_id, event.key, tier=tier, store_id=store_id, day=day, at=event.at,
                        ttl=datetime.fromtimestamp(mark_ttl(event), UTC))
        marks[(mark.coupon_id, mark.event_key)] = mark  # later records of this batch may need it
        planned.append(Planned(position, event, store_id, day, mark))

    for run in _runs(planned):
        try:
            _commit_run(run, outcome)
        except Exception:
            first = run[0]
            log.exception("member-tier stream run failed", extra={"coupon_id": first.event.coupon_id,
                                                                  "sequence": first.event.sequence})
            outcome.failed_sequence = first.event.sequence or str(records[first.position].get("eventID", ""))
            return outcome
    return outcome


def handle_event(event: dict[str, Any]) -> dict[str, Any]:
    """The Lambda handler's body: `{"batchItemFailures": [...]}` names the
    first record not handled, so Lambda retries the batch from there
    (ReportBatchItemFailures); records before it are done and stay done."""
    outcome = handle(list(event.get("Records") or []))
    log.info("member-tier stream batch", extra={
        "counted": outcome.counted, "duplicates": outcome.duplicates, "untiered": outcome.untiered,
        "ignored": outcome.ignored})
    failures = [{"itemIdentifier": outcome.failed_sequence}] if outcome.failed_sequence else []
    return {"batchItemFailures": failures}
