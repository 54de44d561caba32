"""The coupons-stream consumer's record -> counts logic (stats/tier_stream.py):
which records count as what, under which tier and on which store-day, and
that a record delivered twice counts once. DynamoDB mocked by moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.coupons.models import CouponRecord, RedemptionRecord
from chalicelib.members.models import MemberRecord
from chalicelib.payments.models import PaymentRecord
from chalicelib.stats import tier_stream
from chalicelib.stats.models import StoreDayStats, TierMark
from tests.conftest import unique_prefix, use_environment

CLAIMED_AT = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: that store-day
DAY = "2026-11-20"


def coupon(coupon_id: str, member_id: str, status: str = "claimed", redemption_id: str | None = None,
           **over: Any) -> CouponRecord:
    fields: dict[str, Any] = {
        "member_id": member_id, "template_id": "tpl-1", "store_id": "S1", "timezone": "Asia/Shanghai",
        "title": "满50减5", "kind": "amount_off", "value": 500, "min_spend_fen": 0, "claimed_at": CLAIMED_AT,
        "expires_at": CLAIMED_AT + timedelta(days=7), "status": status, "redemption_id": redemption_id, **over}
    return CouponRecord(coupon_id, **fields)


_seq = iter(range(1, 10_000))


def record(name: str, new: CouponRecord | None = None, old: CouponRecord | None = None,
           at: datetime = CLAIMED_AT, stamp: dict[str, Any] | None = None) -> dict[str, Any]:
    seq = str(next(_seq)).zfill(21)
    body: dict[str, Any] = {"SequenceNumber": seq, "ApproximateCreationDateTime": at.timestamp(),
                            "StreamViewType": "NEW_AND_OLD_IMAGES", "SizeBytes": 100,
                            "Keys": {"coupon_id": {"S": (new or old).coupon_id}}}  # type: ignore[union-attr]
    if new is not None:
        body["NewImage"] = {**new.serialize(), **(stamp or {})}
    if old is not None:
        body["OldImage"] = old.serialize()
    return {"eventID": seq, "eventName": name, "eventSource": "aws:dynamodb", "awsRegion": "ap-east-1",
            "dynamodb": body, "eventSourceARN": "arn:aws:dynamodb:ap-east-1:1:table/t-coupons/stream/x"}


def insert(c: CouponRecord) -> dict[str, Any]:
    return record("INSERT", new=c)


def redeemed(c: CouponRecord, rid: str, at: datetime) -> dict[str, Any]:
    return record("MODIFY", new=coupon(c.coupon_id, c.member_id, "redeemed", rid), old=c, at=at)


def reversed_(c: CouponRecord, rid: str, at: datetime) -> dict[str, Any]:
    return record("MODIFY", new=c, old=coupon(c.coupon_id, c.member_id, "redeemed", rid), at=at)


def test_which_records_count_as_what() -> None:
    c = coupon("c1", "m1")
    claim = tier_stream.classify(insert(c))
    assert claim is not None and (claim.kind, claim.key, claim.at, claim.store_id) == (
        "claimed", "claimed", CLAIMED_AT, "S1")
    later = CLAIMED_AT + timedelta(days=1)
    redemption = tier_stream.classify(redeemed(c, "r1", later))
    assert redemption is not None and (redemption.kind, redemption.key, redemption.at) == (
        "redeemed", "redeemed#r1", later)
    reversal = tier_stream.classify(reversed_(c, "r1", later))
    assert reversal is not None and (reversal.kind, reversal.key) == ("reversed", "reversed#r1")
    # a MODIFY that leaves the status alone (a stamp, a rename) and a TTL REMOVE count nothing
    assert tier_stream.classify(record("MODIFY", new=coupon("c1", "m1", title="renamed"), old=c)) is None
    assert tier_stream.classify(record("MODIFY", new=coupon("c1", "m1", "redeemed", "r1"),
                                       old=coupon("c1", "m1", "redeemed", "r1"))) is None
    assert tier_stream.classify(record("REMOVE", old=c)) is None
    # a claim's mark lives until its coupon can no longer be redeemed and reversed
    assert tier_stream.mark_ttl(claim) > (c.expires_at + timedelta(days=1)).timestamp()
    assert tier_stream.mark_ttl(redemption) >= (later + timedelta(days=2)).timestamp()


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws():
        use_environment(monkeypatch, AWS_ENDPOINT_URL_DYNAMODB=None, AWS_ENDPOINT_URL=None,
                        STORELOOP_TABLE_PREFIX=unique_prefix())
        for model in (StoreDayStats, TierMark, RedemptionRecord, MemberRecord, PaymentRecord):
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        yield


def pay(member_id: str, *paid: datetime) -> None:
    for i, at in enumerate(paid):
        PaymentRecord(f"p-{member_id}-{i}", member_id=member_id, store_id="S1", amount_fen=100, paid_at=at,
                      local_day=at.date().isoformat(), recorded_at=at).save()
    MemberRecord(member_id, last_order_at=max(paid), orders_total=len(paid)).save()


def counts(store_id: str, day: str) -> dict[str, int]:
    try:
        row = StoreDayStats.get(store_id, day, consistent_read=True)
    except StoreDayStats.DoesNotExist:
        return {}
    return {k: int(v) for k, v in row.attribute_values.items() if k not in ("store_id", "day")}


def test_claim_redeem_reverse_by_the_tier_at_claim_once_each(tables: None) -> None:
    # four orders in the 30 days before the claim: loyal then; one more after it does not count
    pay("m-loyal", *(CLAIMED_AT - timedelta(days=d) for d in (1, 2, 3, 4)), CLAIMED_AT + timedelta(hours=1))
    pay("m-lapsed", CLAIMED_AT - timedelta(days=60))  # ordered, not lately: at_risk
    pay("m-first", CLAIMED_AT + timedelta(minutes=5))  # first order after the claim: new when claiming
    at = CLAIMED_AT + timedelta(days=2)
    RedemptionRecord("r1", coupon_id="c1", template_id="tpl-1", member_id="m-loyal", store_id="S2",
                     store_day="S2#2026-11-22", timezone="Asia/Shanghai", staff_id="clerk", discount_fen=500,
                     redeemed_at=at, status="redeemed").save()
    c1, c2, c3, c4 = (coupon("c1", "m-loyal"), coupon("c2", "m-never-seen"), coupon("c3", "m-lapsed"),
                      coupon("c4", "m-first"))
    batch = [insert(c1), insert(c2), insert(c3), insert(c4),
             record("MODIFY", new=c2, old=c2, stamp={"member_tier": {"S": "new"}}),  # a stamp: ignored
             redeemed(c1, "r1", at),  # in the same batch as its claim: the claim's mark, just written
             reversed_(c1, "r1", at + timedelta(hours=1))]

    outcome = tier_stream.handle(batch)
    assert (outcome.counted, outcome.duplicates, outcome.ignored, outcome.untiered) == (6, 0, 1, 0)
    assert counts("S1", DAY) == {"claimed_loyal": 1, "claimed_new": 2, "claimed_at_risk": 1}
    # the redemption on the redeeming store's day; its reversal on the same row
    assert counts("S2", "2026-11-22") == {"redeemed_loyal": 1, "reversed_loyal": 1}

    # delivered again (Lambda retries a batch, or part of one): nothing more
    again = tier_stream.handle(batch)
    assert (again.counted, again.duplicates, again.ignored) == (0, 6, 1)
    assert tier_stream.handle(batch[5:]).counted == 0
    assert counts("S1", DAY) == {"claimed_loyal": 1, "claimed_new": 2, "claimed_at_risk": 1}
    assert counts("S2", "2026-11-22") == {"redeemed_loyal": 1, "reversed_loyal": 1}
    assert tier_stream.handle_event({"Records": batch}) == {"batchItemFailures": []}


def test_a_redemption_of_a_coupon_claimed_before_the_stream_is_left_out(tables: None) -> None:
    RedemptionRecord("r9", coupon_id="old", template_id="tpl-1", member_id="m1", store_id="S1",
                     store_day=f"S1#{DAY}", timezone="Asia/Shanghai", staff_id="clerk", discount_fen=500,
                     redeemed_at=CLAIMED_AT, status="redeemed").save()
    old = coupon("old", "m1")
    outcome = tier_stream.handle([redeemed(old, "r9", CLAIMED_AT), reversed_(old, "r9", CLAIMED_AT)])
    assert (outcome.counted, outcome.untiered) == (0, 2)
    assert counts("S1", DAY) == {}


def test_a_failure_names_the_first_record_not_done(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # three counter rows in turn (S1, S2, S1): three runs, committed in stream order
    batch = [insert(coupon("c1", "m1")), insert(coupon("c2", "m2", store_id="S2")), insert(coupon("c3", "m3"))]
    real = tier_stream._commit_run

    def failing(run: list[tier_stream.Planned], outcome: tier_stream.Outcome) -> None:
        if run[0].event.coupon_id == "c2":
            raise RuntimeError("boom")
        real(run, outcome)

    monkeypatch.setattr(tier_stream, "_commit_run", failing)
    answer = tier_stream.handle_event({"Records": batch})
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch[1]["dynamodb"]["SequenceNumber"]}]}
    assert counts("S1", DAY) == {"claimed_new": 1}  # c1 only; c3 waits for c2, as Lambda would
    monkeypatch.setattr(tier_stream, "_commit_run", real)
    assert tier_stream.handle_event({"Records": batch[1:]}) == {"batchItemFailures": []}
    assert counts("S1", DAY) == {"claimed_new": 2} and counts("S2", DAY) == {"claimed_new": 1}


def test_a_run_on_one_counter_row_is_one_transaction_and_drops_marks_already_there(
        tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = [insert(coupon(f"f{i}", f"fm{i}")) for i in range(120)]  # a flash sale at one store
    sent: list[int] = []
    real = tier_stream._commit_run

    def spy(run: list[tier_stream.Planned], outcome: tier_stream.Outcome) -> None:
        sent.append(len(run))
        real(run, outcome)

    monkeypatch.setattr(tier_stream, "_commit_run", spy)
    assert tier_stream.handle(batch[:30]).counted == 30
    assert sent == [30]
    # the marks' read misses the first 30 (as if they landed after it): the transaction's
    # conditions catch them, and the other 90 are counted in the same run once they are dropped
    monkeypatch.setattr(TierMark, "batch_get", classmethod(lambda cls, *a, **kw: iter(())))
    sent.clear()
    outcome = tier_stream.handle(batch)
    assert (outcome.counted, outcome.duplicates) == (90, 30)
    assert sent == [99, 21]  # at most 99 marks and the counter row per transaction
    assert counts("S1", DAY) == {"claimed_new": 120}
