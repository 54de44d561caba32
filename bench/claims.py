"""Claims and redemptions per second against DynamoDB Local, next to the
floor: one raw conditional UpdateItem per operation via boto3.

    .venv/bin/python bench/claims.py [--claims 1200] [--clients 16] [--stores 1]

Starts its own DynamoDB Local, creates the tables under a fresh prefix, and
counts every HTTP request botocore sends (retries included). Numbers on a
laptop-class DynamoDB Local say more about ratios than about AWS."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import botocore.endpoint  # noqa: E402

from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402

_requests = itertools.count()
_original_send = botocore.endpoint.Endpoint._send


def _counting_send(self, request):  # type: ignore[no-untyped-def]
    next(_requests)
    return _original_send(self, request)


botocore.endpoint.Endpoint._send = _counting_send  # type: ignore[method-assign]


_capacity_lock = threading.Lock()
_capacity = {"read": 0.0, "write": 0.0}
_by_table: dict[str, float] = {}  # "op table" -> capacity units (the breakdown behind the totals)
_RETURNS_CAPACITY = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                     "BatchWriteItem", "TransactGetItems", "TransactWriteItems"}


def _ask_capacity(params: dict, model: object, **_: object) -> None:  # type: ignore[type-arg]
    if getattr(model, "name", "") in _RETURNS_CAPACITY:
        params.setdefault("ReturnConsumedCapacity", "INDEXES")


_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def _add_capacity(parsed: dict, model: object, **_: object) -> None:  # type: ignore[type-arg]
    found = parsed.get("ConsumedCapacity")
    entries = found if isinstance(found, list) else [found] if found else []
    kind = "read" if getattr(model, "name", "") in _READS else "write"
    with _capacity_lock:
        for entry in entries:  # CapacityUnits per table, GSIs included (reads for reads, writes for writes)
            units = float(entry.get("CapacityUnits") or 0)
            _capacity[kind] += units
            table = str(entry.get("TableName", "?")).split("-", 1)[-1] if "-" in str(entry.get("TableName")) else "?"
            key = f"{getattr(model, 'name', '?')} {table}"
            _by_table[key] = _by_table.get(key, 0.0) + units


def measure_capacity(client: object) -> None:
    """ReturnConsumedCapacity=TOTAL on every call of this client, summed."""
    events = client.meta.events  # type: ignore[attr-defined]
    events.register("provide-client-params.dynamodb.*", _ask_capacity)
    events.register("after-call.dynamodb.*", _add_capacity)
    events.register("provide-client-params.dynamodb.TransactWriteItems", _note_transaction)


# -- claim shape (shards13): which items each claim transaction touches -----
_shape_lock = threading.Lock()
_shape_on = threading.Event()
_shape: list[list[tuple[str, str]]] = []  # per TransactWriteItems: (table, key or "new") per item


def _note_transaction(params: dict, model: object, **_: object) -> None:  # type: ignore[type-arg]
    if getattr(model, "name", "") != "TransactWriteItems" or not _shape_on.is_set():
        return
    items = []
    for entry in params.get("TransactItems", []):
        for body in entry.values():
            table = str(body.get("TableName", "?")).split("-", 1)[-1]
            key = body.get("Key")  # ConditionCheck / Update / Delete name an existing item; a Put makes a new one
            items.append((table, "new" if key is None else repr(sorted((k, str(v)) for k, v in key.items()))))
    with _shape_lock:
        _shape.append(items)


def claim_shape(claims_ok: int, n_stores: int) -> dict[str, float]:
    """Print what one claim transaction touches, and the hottest items."""
    with _shape_lock:
        txs = list(_shape)
    n = max(len(txs), 1)
    per_tx = sum(len(items) for items in txs) / n
    with_template = sum(1 for items in txs if any(t == "coupon-templates" for t, _ in items))
    hits: dict[tuple[str, str], int] = {}
    for items in txs:
        for table, key in set(items):
            if key != "new":
                hits[(table, key)] = hits.get((table, key), 0) + 1
    def share(tables: set[str]) -> float:
        return max((c for (t, _), c in hits.items() if t in tables), default=0) / n
    stock, template = share({"coupon-stock"}), share({"coupon-templates"})
    per_store = share({"stores", "store-day-stats"})
    tables = sorted({t for items in txs for t, _ in items})
    print(f"claim transaction: {per_tx:.2f} items per TransactWriteItems over {len(txs)} claim transactions "
          f"({claims_ok} successes): {', '.join(tables)}")
    print(f"claim transaction: the template item is in {with_template} of {len(txs)} "
          f"(its version guard rides on the stock shard each claim decrements)")
    print(f"claim hottest items: busiest stock shard in {stock:.1%} of claim transactions, template item in "
          f"{template:.1%}, busiest per-store item (store terms check, day stats) in {per_store:.1%} "
          f"with claims over {n_stores} store(s)")
    return {"claim_items": per_tx, "claim_template_share": template, "claim_shard_share": stock}


def capacity() -> tuple[float, float]:
    with _capacity_lock:
        return _capacity["read"], _capacity["write"]


def sent() -> int:
    """Requests so far (peeking at an itertools.count without a lock)."""
    return int(repr(_requests)[6:-1])


class Run:
    def __init__(self, name: str, ops: int, seconds: float, requests: int, ok: int,
                 rcu: float = 0.0, wcu: float = 0.0):
        self.name, self.ops, self.seconds, self.requests, self.ok = name, ops, seconds, requests, ok
        self.rcu, self.wcu = rcu, wcu

    @property
    def per_s(self) -> float:
        return self.ok / self.seconds

    @property
    def req_per_ok(self) -> float:
        return self.requests / max(self.ok, 1)

    def line(self) -> str:
        return (f"{self.name:<34} {self.ok:>5}/{self.ops:<5} ok  {self.per_s:8.1f} ops/s  "
                f"{self.req_per_ok:5.2f} requests/ok")

    def capacity_line(self) -> str:
        ok = max(self.ok, 1)
        return f"{self.name:<34} {self.wcu / ok:6.2f} WCU/ok  {self.rcu / ok:6.2f} RCU/ok"


def timed(name: str, ops: int, clients: int, fn: Callable[[int], bool]) -> Run:
    before, (rcu, wcu) = sent(), capacity()
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        ok = sum(pool.map(fn, range(ops)))
    seconds = time.perf_counter() - start
    rcu_after, wcu_after = capacity()
    return Run(name, ops, seconds, sent() - before, ok, rcu_after - rcu, wcu_after - wcu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--stores", type=int, default=1, help="spread the hot template's claims over N stores")
    args = parser.parse_args()

    ddb = DynamoDBLocal().start()
    try:
        os.environ.update({**ddb.env(), "STORELOOP_TABLE_PREFIX": f"bench{uuid.uuid4().hex[:6]}-",
                           "STORELOOP_JWT_SECRET": os.environ.get("STORELOOP_JWT_SECRET", "bench-" + "x" * 40)})
        bench(args.claims, args.clients, args.stores)
    finally:
        ddb.stop()


# A redemption's transaction with items left out (by table): what each costs on the engine.
SHAPES: dict[str, tuple[str, ...] | None] = {
    "as sent (5 items)": (),
    "without the day-stats ADD (4)": ("store-day-stats",),
    "without day stats and audit (3)": ("store-day-stats", "coupon-audit"),
    "coupon + redemption (2)": ("store-day-stats", "coupon-audit", "stores"),
    "coupon alone (1)": ("store-day-stats", "coupon-audit", "stores", "coupon-redemptions"),
    "coupon UpdateItem, no transaction": None,
}


# A claim's transaction with items left out (by table), the same way: 4 items
# (coupon, stock, member count, store check) are what its guards need
# (no id reused, no oversell, exact limits, fresh store terms), plus the
# short code's uniqueness.
CLAIM_SHAPES: dict[str, tuple[str, ...] | None] = {
    "as sent (6 items)": (),
    "without the day-stats ADD (5)": ("store-day-stats",),
    "without day stats and short code (4)": ("store-day-stats", "coupon-short-codes"),
    "coupon + stock + member count (3)": ("store-day-stats", "coupon-short-codes", "stores"),
    "coupon + stock (2)": ("store-day-stats", "coupon-short-codes", "stores", "coupon-claim-counts"),
    "coupon alone (1)": ("store-day-stats", "coupon-short-codes", "stores", "coupon-claim-counts", "coupon-stock"),
}


def shape_ratios(shapes: dict[str, tuple[str, ...] | None], captured: list[dict],  # type: ignore[type-arg]
                 floor_at: Callable[[int], bool], client: object, clients: int, per_shape: int,
                 rounds: int = 4) -> dict[str, float]:
    """Each shape's throughput over the floor's: `per_shape` captured
    transactions per shape, replayed raw with its tables left out, in
    `rounds` turns with as many floor operations (`floor_at(k)`, k unique)."""
    took = {name: 0.0 for name in ("floor", *shapes)}
    chunk = max(per_shape // rounds, 1)
    for r in range(rounds):
        for k, name in enumerate(shapes):
            idx = [k * per_shape + r * chunk + i for i in range(chunk)]
            took["floor"] += timed("floor", len(idx), clients, lambda i, c=idx: floor_at(c[i])).seconds
            took[name] += timed(name, len(idx), clients, lambda i, c=idx, name=name: _send_shaped(
                client, captured[c[i]], shapes[name])).seconds
    floor_rate = len(shapes) * rounds * chunk / took["floor"]
    return {name: rounds * chunk / took[name] / floor_rate for name in shapes}


@contextmanager
def transactions_kept(client: object) -> Iterator[list[dict]]:  # type: ignore[type-arg]
    """Inside: every TransactWriteItems the service sends is kept (its
    parameters) and answered "yes" without reaching DynamoDB."""
    kept: list[dict] = []  # type: ignore[type-arg]
    events = client.meta.events  # type: ignore[attr-defined]

    def keep(params: dict, **_: object) -> None:  # type: ignore[type-arg]
        kept.append(dict(params))

    def answer(**_: object) -> tuple[object, dict]:  # type: ignore[type-arg]
        return SimpleNamespace(status_code=200), {}  # as if DynamoDB had said yes

    events.register("provide-client-params.dynamodb.TransactWriteItems", keep, unique_id="bench-keep")
    events.register("before-call.dynamodb.TransactWriteItems", answer, unique_id="bench-answer")
    try:
        yield kept
    finally:
        events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="bench-keep")
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="bench-answer")


def _send_shaped(client: object, params: dict, drop: tuple[str, ...] | None) -> bool:  # type: ignore[type-arg]
    def table(item: dict) -> str:  # type: ignore[type-arg]
        return str(next(iter(item.values()))["TableName"])

    items = params["TransactItems"]
    if drop is None:  # the coupon's own conditional update, sent alone
        update = next(it["Update"] for it in items if table(it).endswith("coupons"))
        client.update_item(**{k: v for k, v in update.items()  # type: ignore[attr-defined]
                              if k != "ReturnValuesOnConditionCheckFailure"})
        return True
    kept = [it for it in items if not any(table(it).endswith(t) for t in drop)]
    client.transact_write_items(**{**params, "TransactItems": kept})  # type: ignore[attr-defined]
    return True


def bench(n: int, clients: int, n_stores: int) -> None:
    from chalicelib import db
    from chalicelib.auth import Principal
    from chalicelib.campaigns.store_config import save_store
    from chalicelib.coupons import claims, codes, redemptions, short_codes, terms
    from chalicelib.coupons.models import ClaimCount, CouponRecord, StockShard
    from chalicelib.coupons.service import TemplateIn, create_template
    from chalicelib.settings import get_settings, reset_settings
    from chalicelib.stores.schemas import StoreIn

    reset_settings()
    db.create_tables()
    settings = get_settings()
    raw = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region)
    measure_capacity(raw)
    measure_capacity(db.connection().client)
    now = datetime.now(UTC)
    stores = [f"S{i}" for i in range(n_stores)]
    for store_id in stores:
        save_store(store_id, StoreIn(name=store_id, city="上海市", lat=31.2, lng=121.5), now)
    template = create_template(TemplateIn(
        title="flash", kind="amount_off", value=500, total_stock=n, claim_start=now - timedelta(hours=1),
        claim_end=now + timedelta(hours=1), valid_days=1), now)
    print(f"DynamoDB Local, {clients} client threads, {n} operations each, hot template with "
          f"{int(template.stock_shards)} stock shards, claims spread over {n_stores} store(s)")

    # Floor: one conditional decrement per claim on a single stock item.
    floor_key = {"template_id": {"S": "floor"}, "shard": {"N": "0"}}
    raw.put_item(TableName=StockShard.Meta.table_name, Item={**floor_key, "remaining": {"N": str(n)},
                                                              "initial": {"N": str(n)}})

    def floor_claim(_: int) -> bool:
        raw.update_item(TableName=StockShard.Meta.table_name, Key=floor_key,
                        UpdateExpression="ADD remaining :m", ConditionExpression="remaining > :z",
                        ExpressionAttributeValues={":m": {"N": "-1"}, ":z": {"N": "0"}})
        return True

    coupons: list[str] = [""] * n

    def service_claim(i: int) -> bool:
        coupon = claims.claim(template.template_id, stores[i % n_stores], f"member-{i}", datetime.now(UTC))
        coupons[i] = coupon.coupon_id
        return True

    # Warm-up, untimed: DynamoDB Local's JIT and SQLite caches are cold at
    # start, so whatever ran first looked slow (the claim floor ran at about
    # half the redeem floor's rate in the same run, flattering every claim ratio).
    warm = create_template(TemplateIn(
        title="warm-up", kind="amount_off", value=500, total_stock=n * 10, claim_start=now - timedelta(hours=1),
        claim_end=now + timedelta(hours=1), valid_days=1), now)
    warm_key = {"template_id": {"S": "floor-warm"}, "shard": {"N": "0"}}
    raw.put_item(TableName=StockShard.Meta.table_name, Item={**warm_key, "remaining": {"N": str(10 * n)},
                                                              "initial": {"N": str(10 * n)}})
    warm_up = max(n // 4, 1)
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda i: raw.update_item(
            TableName=StockShard.Meta.table_name, Key=warm_key, UpdateExpression="ADD remaining :m",
            ExpressionAttributeValues={":m": {"N": "-1"}}), range(2 * warm_up)))
        list(pool.map(lambda i: claims.claim(warm.template_id, stores[i % n_stores], f"warm-{i}", datetime.now(UTC)),
                      range(warm_up)))
    terms.reads = 0
    print(f"warm-up (untimed): {2 * warm_up} raw UpdateItems and {warm_up} service claims before the first timed run")

    claim_floor = timed("claim floor (raw UpdateItem)", n, clients, floor_claim)
    _by_table.clear()
    _shape_on.set()
    claim_run = timed("claim (service, TransactWrite)", n, clients, service_claim)
    _shape_on.clear()
    claim_tables = dict(_by_table)

    # the same claims on a template whose stock never runs low: the steady state, no sold-out tail
    roomy = create_template(TemplateIn(
        title="roomy", kind="amount_off", value=500, total_stock=n * 10, claim_start=now - timedelta(hours=1),
        claim_end=now + timedelta(hours=1), valid_days=1), now)

    def roomy_claim(i: int) -> bool:
        claims.claim(roomy.template_id, stores[i % n_stores], f"member-{i}", datetime.now(UTC))
        return True

    steady_run = timed("claim, stock to spare", max(n // 2, 1), clients, roomy_claim)

    # The same, with the floor and the service taking turns (this machine's load moves within a run)
    turned = create_template(TemplateIn(
        title="turns", kind="amount_off", value=500, total_stock=n * 10, claim_start=now - timedelta(hours=1),
        claim_end=now + timedelta(hours=1), valid_days=1), now)
    claim_rounds, claim_per_round = 4, max(n // 8, 1)
    claim_turns: dict[str, list[Run]] = {"floor": [], "service": []}
    for r in range(claim_rounds):
        claim_turns["floor"].append(timed("floor", claim_per_round, clients, lambda i: raw.update_item(
            TableName=StockShard.Meta.table_name, Key=warm_key, UpdateExpression="ADD remaining :m",
            ConditionExpression="remaining > :z", ExpressionAttributeValues={":m": {"N": "-1"}, ":z": {"N": "0"}})
            is not None))
        claim_turns["service"].append(timed("service", claim_per_round, clients, lambda i, r=r: claims.claim(
            turned.template_id, stores[i % n_stores], f"turn-{r}-{i}", datetime.now(UTC)) is not None))
    claim_taken = {k: Run(k, sum(x.ops for x in v), sum(x.seconds for x in v), sum(x.requests for x in v),
                          sum(x.ok for x in v), sum(x.rcu for x in v), sum(x.wcu for x in v))
                   for k, v in claim_turns.items()}

    # Floor: one conditional status flip per redemption, on items of its own.
    with ClaimCount.batch_write() as batch:
        for i in range(n):
            batch.save(ClaimCount(f"floor-{i}", "t", claimed=0))

    def floor_redeem_at(member: str) -> bool:
        raw.update_item(TableName=ClaimCount.Meta.table_name,
                        Key={"member_id": {"S": member}, "template_id": {"S": "t"}},
                        UpdateExpression="SET claimed = :one", ConditionExpression="claimed = :zero",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}})
        return True

    def floor_redeem(i: int) -> bool:
        return floor_redeem_at(f"floor-{i}")

    key = codes.derive_key(settings.jwt_secret)
    # what the member's QR shows: the code the claim answered (v2, the coupon's terms inside); read untimed
    issued = {c.coupon_id: c for c in CouponRecord.batch_get(coupons)}
    scanned = [redemptions.code_for(issued[coupon_id], key) for coupon_id in coupons]
    v2_codes = sum(codes.read(code, key).terms is not None for code in scanned)
    # the roomy template's coupons: half redeemed by a v1 code (read first), half by typed short code
    roomy_held = [CouponRecord.get(k.coupon_id) for k in CouponRecord.by_template.query(roomy.template_id)]
    v1_held, typed_held = roomy_held[: len(roomy_held) // 2], roomy_held[len(roomy_held) // 2:]

    def clerk(i: int) -> Principal:
        store_id = stores[i % n_stores]
        return Principal(sub=f"clerk-{store_id}", role="staff", store_id=store_id)

    def service_redeem(i: int) -> bool:
        redemptions.redeem(scanned[i], clerk(i), datetime.now(UTC), spend_fen=1000)
        return True

    def v1_redeem(i: int) -> bool:
        redemptions.redeem(codes.sign(v1_held[i].coupon_id, key), clerk(i), datetime.now(UTC), spend_fen=1000)
        return True

    def typed_redeem(i: int) -> bool:
        now_i, staff = datetime.now(UTC), clerk(i)
        code = short_codes.to_signed(str(typed_held[i].short_code), staff, key, now_i)
        redemptions.redeem(code, staff, now_i, spend_fen=1000)
        return True

    redeem_floor = timed("redeem floor (raw UpdateItem)", n, clients, floor_redeem)
    _by_table.clear()
    redeem_run = timed("redeem (service, TransactWrite)", n, clients, service_redeem)
    redeem_tables = dict(_by_table)
    v1_run = timed("redeem, v1 code (coupon read first)", len(v1_held), clients, v1_redeem)

    # DynamoDB Local runs one transaction at a time (a global lock): a raw
    # TransactWriteItems, no service code, no conditions, no GSIs, is the
    # ceiling for any one-transaction redemption on it.
    def raw_transaction(items: int) -> Callable[[int], bool]:
        def one(i: int) -> bool:
            raw.transact_write_items(TransactItems=[{"Update": {
                "TableName": ClaimCount.Meta.table_name,
                "Key": {"member_id": {"S": f"txfloor{items}-{i}-{j}"}, "template_id": {"S": "t"}},
                "UpdateExpression": "SET claimed = :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}
                for j in range(items)])
            return True
        return one

    tx1_floor = timed("raw TransactWriteItems, 1 item", n, clients, raw_transaction(1))
    tx5_floor = timed("raw TransactWriteItems, 5 items", n, clients, raw_transaction(5))

    # The service's own transactions, replayed raw: redeem fresh coupons with the
    # send short-circuited (botocore's before-call answers), keep each
    # TransactWriteItems' parameters, then send them with boto3 alone. The
    # difference to the service run is everything Storeloop adds in Python.
    extra = max(n // 2, 1)
    per_shape = max(n // 3, 1)  # transactions replayed per shape (below): 400 at the default size, 4 turns of 100
    with ThreadPoolExecutor(clients) as pool:
        fresh = list(pool.map(lambda i: claims.claim(roomy.template_id, stores[i % n_stores], f"replay-{i}",
                                                     datetime.now(UTC)), range(2 * extra + len(SHAPES) * per_shape)))
    replay_held, service_held = fresh[:extra] + fresh[2 * extra:], fresh[extra:2 * extra]
    with transactions_kept(db.connection().client) as captured:
        cpu = time.process_time()
        try:
            for i, coupon in enumerate(replay_held):
                redemptions.redeem(redemptions.code_for(coupon, key), clerk(i), datetime.now(UTC), spend_fen=1000)
        finally:
            cpu = time.process_time() - cpu
    measure_raw = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region)
    measure_capacity(measure_raw)
    with ClaimCount.batch_write() as batch:
        for i in range(extra):
            batch.save(ClaimCount(f"floor2-{i}", "t", claimed=0))
    service_codes = [redemptions.code_for(coupon, key) for coupon in service_held]

    def service_at(j: int) -> bool:
        redemptions.redeem(service_codes[j], clerk(j), datetime.now(UTC), spend_fen=1000)
        return True

    def replay_at(j: int) -> bool:
        measure_raw.transact_write_items(**captured[j])
        return True

    # this machine's load moves within a run: floor, service and replay take turns, in rounds
    rounds, per_round = 4, max(extra // 4, 1)
    turns: dict[str, list[Run]] = {"floor": [], "service": [], "replay": []}
    for r in range(rounds):
        chunk = range(r * per_round, min((r + 1) * per_round, extra))
        turns["floor"].append(timed("floor", len(chunk), clients, lambda i, c=chunk: floor_redeem_at(f"floor2-{c[i]}")))
        turns["service"].append(timed("service", len(chunk), clients, lambda i, c=chunk: service_at(c[i])))
        turns["replay"].append(timed("replay", len(chunk), clients, lambda i, c=chunk: replay_at(c[i])))
    taken = {k: Run(k, sum(r.ops for r in v), sum(r.seconds for r in v), sum(r.requests for r in v),
                    sum(r.ok for r in v), sum(r.rcu for r in v), sum(r.wcu for r in v)) for k, v in turns.items()}

    # What would a redemption of fewer items run at? The captured transactions
    # (after the `extra` replayed above) are replayed raw with some items left
    # out, taking turns with the floor: the price of each item on this engine.
    shaped = captured[extra:]
    with ClaimCount.batch_write() as batch:
        for i in range(len(SHAPES) * per_shape):
            batch.save(ClaimCount(f"floor3-{i}", "t", claimed=0))
    redeem_shapes = shape_ratios(SHAPES, shaped, lambda k: floor_redeem_at(f"floor3-{k}"), measure_raw, clients,
                                 per_shape)

    # The same for a claim's transaction: fresh claims on a template of their
    # own, kept unsent, then replayed raw with items left out, taking turns
    # with the claim floor (the interleaved line's conditional decrement).
    shapes_template = create_template(TemplateIn(
        title="shapes", kind="amount_off", value=500, total_stock=n * 10, claim_start=now - timedelta(hours=1),
        claim_end=now + timedelta(hours=1), valid_days=1), now)
    with transactions_kept(db.connection().client) as claim_captured:
        claim_cpu = time.process_time()
        for i in range(len(CLAIM_SHAPES) * per_shape):
            claims.claim(shapes_template.template_id, stores[i % n_stores], f"shape-{i}", datetime.now(UTC))
        claim_cpu = (time.process_time() - claim_cpu) / max(len(claim_captured), 1)
    claim_shapes = shape_ratios(CLAIM_SHAPES, claim_captured, lambda k: raw.update_item(
        TableName=StockShard.Meta.table_name, Key=warm_key, UpdateExpression="ADD remaining :m",
        ConditionExpression="remaining > :z", ExpressionAttributeValues={":m": {"N": "-1"}, ":z": {"N": "0"}})
        is not None, measure_raw, clients, per_shape)
    typed_run = timed("redeem, typed short code", len(typed_held), clients, typed_redeem)

    for run in (claim_floor, claim_run, redeem_floor, redeem_run):
        print(run.line())
    for label, floor, run in (("claim", claim_floor, claim_run), ("redeem", redeem_floor, redeem_run)):
        print(f"{label}: {run.per_s / floor.per_s:.2f}x the floor's throughput, "
              f"{run.req_per_ok / floor.req_per_ok:.2f}x its requests per success")
    print(steady_run.line())
    print(f"claim, stock to spare: {steady_run.per_s / claim_floor.per_s:.2f}x the floor's throughput (goal >= 0.5), "
          f"{steady_run.req_per_ok:.2f} requests per success (goal 1.00)")
    cf_run, cs_run = claim_taken["floor"], claim_taken["service"]
    print(f"claim, stock to spare, interleaved ({claim_rounds} rounds of {claim_per_round}): floor "
          f"{cf_run.per_s:.1f} ops/s, service {cs_run.per_s:.1f} ops/s ({cs_run.req_per_ok:.2f} requests/ok); "
          f"service {cs_run.per_s / cf_run.per_s:.2f}x the floor (goal >= 0.5)")
    for run in (claim_floor, claim_run, redeem_floor, redeem_run):
        print(run.capacity_line())
    for label, run in (("claim", claim_run), ("redeem", redeem_run)):
        print(f"{label}: {run.req_per_ok:.2f} DynamoDB requests per success (goal 1.00), "
              f"{run.wcu / max(run.ok, 1):.2f} WCU + {run.rcu / max(run.ok, 1):.2f} RCU per success")
    for label, tables, run in (("claim", claim_tables, claim_run), ("redeem", redeem_tables, redeem_run)):
        parts = ", ".join(f"{k} {v / max(run.ok, 1):.2f}" for k, v in sorted(tables.items()))
        print(f"{label} capacity units per success by operation and table (GSIs included): {parts}")
    print(f"terms cache: {terms.reads} reads to fill it over {2 * n} operations")
    floor_ok = max(redeem_floor.ok, 1)
    print(f"redeem codes: {v2_codes}/{n} scanned codes carry the coupon's terms (v2), "
          f"{len(scanned[0])} characters (v1: 47)")
    for run in (v1_run, typed_run):
        print(run.line())
        print(run.capacity_line())
    print(f"redeem goal: {redeem_run.req_per_ok:.2f} requests per redemption (goal 1.00), "
          f"{redeem_run.per_s / redeem_floor.per_s:.2f}x the floor's throughput (goal >= 0.5), "
          f"{redeem_run.wcu / max(redeem_run.ok, 1):.2f} WCU + {redeem_run.rcu / max(redeem_run.ok, 1):.2f} RCU "
          f"per redemption vs the floor's {redeem_floor.wcu / floor_ok:.2f} WCU + "
          f"{redeem_floor.rcu / floor_ok:.2f} RCU")
    for run in (tx1_floor, tx5_floor):
        print(f"{run.line()}  {run.per_s / redeem_floor.per_s:.2f}x the UpdateItem floor")
    print(f"redeem vs a raw 5-item TransactWriteItems in the same run: {redeem_run.per_s / tx5_floor.per_s:.2f}x "
          f"(the service's own overhead); a 1-item one reaches {tx1_floor.per_s / redeem_floor.per_s:.2f}x "
          f"the UpdateItem floor on DynamoDB Local")
    f_run, s_run, r_run = taken["floor"], taken["service"], taken["replay"]
    print(f"redeem, interleaved ({rounds} rounds of {per_round}): floor {f_run.per_s:.1f} ops/s, service "
          f"{s_run.per_s:.1f} ops/s ({s_run.req_per_ok:.2f} requests/ok), its own transactions replayed raw "
          f"(boto3 alone) {r_run.per_s:.1f} ops/s")
    print("redeem shapes, replayed raw taking turns with the floor: " + ", ".join(
        f"{name} {ratio:.2f}x" for name, ratio in redeem_shapes.items()))
    print("claim shapes, replayed raw taking turns with the claim floor: " + ", ".join(
        f"{name} {ratio:.2f}x" for name, ratio in claim_shapes.items()))
    print(f"claim, interleaved: service {cs_run.per_s / cf_run.per_s:.2f}x the floor, its transaction as sent "
          f"replayed raw {claim_shapes['as sent (6 items)']:.2f}x; Storeloop's Python per claim "
          f"{1000 * claim_cpu:.2f} ms CPU (terms, coupon and code, transaction build, botocore; one thread, no I/O)")
    print(f"redeem, interleaved: service {s_run.per_s / f_run.per_s:.2f}x the floor (goal >= 0.5), replay "
          f"{r_run.per_s / f_run.per_s:.2f}x the floor, service {s_run.per_s / r_run.per_s:.2f}x its replay; "
          f"Storeloop's Python per redemption {1000 * cpu / max(len(replay_held), 1):.2f} ms CPU "
          f"(code check, terms, transaction build, botocore; one thread, no I/O)")
    print(f"redeem by v1 code: {v1_run.req_per_ok:.2f} requests, {v1_run.per_s / redeem_floor.per_s:.2f}x the floor; "
          f"by typed short code: {typed_run.req_per_ok:.2f} requests, "
          f"{typed_run.per_s / redeem_floor.per_s:.2f}x the floor")
    inputs = {"claim_requests": claim_run.req_per_ok, "claim_wcu": claim_run.wcu / max(claim_run.ok, 1),
              "claim_rcu": claim_run.rcu / max(claim_run.ok, 1), "redeem_requests": redeem_run.req_per_ok,
              "redeem_wcu": redeem_run.wcu / max(redeem_run.ok, 1),
              "redeem_rcu": redeem_run.rcu / max(redeem_run.ok, 1)}
    print("model-inputs " + " ".join(f"{k}={v:.3f}" for k, v in inputs.items()))
    shape = claim_shape(claim_run.ok, n_stores)
    from chalicelib.coupons import shards
    print("model-inputs " + " ".join(f"{k}={v:.3f}" for k, v in shape.items())
          + f" max_shards={shards.MAX_SHARDS} transaction_items={shards.TRANSACTION_ITEMS}")
    from chalicelib.coupons.templates import stock_left
    left = stock_left(template.template_id)
    assert left == 0, f"stock left {left}: every claim should have taken one unit"
    print(f"stock check: {n} claimed, 0 left, none oversold; threads alive: {threading.active_count()}")


if __name__ == "__main__":
    main()
