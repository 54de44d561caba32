"""The scheduled tick at national scale: every store of the shared data set
(7,209; the built-in demo set if absent), one group each, one live
all-store coupon, on its own DynamoDB Local. Measures, in one run:

- DynamoDB items read by a tick with nothing due (and its requests),
- the same for a tick where every store is due, and the wall time to
  publish all those posts (in-process fan-out, record channel),
- reads per due post, and the ratio to a naive tick that scans every
  store to find what is due (measured here too),
- requests per due post by kind (and the time each kind took), write
  units by table as DynamoDB Local reports them and as AWS would bill them
  (modelled from the requests), and the noon tick's time over one raw
  PutItem per post at the floor rate measured in the same run,
- requests and modelled write units per post through the deployed SQS
  fan-out consumer (the tick's messages captured, handed over as SQS
  records): one message at a time (before) against batches of 10 and 25,
  with its items read and its group requests per post, and for stores
  with no group yet, before and after `cli backfill-lists`' marker,
- the due stores' groups read three ways in the same run: the noon tick's
  parallel Scan, by key in SQS-size batches (`groups_of`), a Query each.

    .venv/bin/python -m bench.tick [--stores N] [--workers 8] [--csv stores.csv]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import db  # noqa: E402
from chalicelib.campaigns import store_config  # noqa: E402
from chalicelib.campaigns.fanout import InProcessQueue  # noqa: E402
from chalicelib.campaigns.models import TickWatermark  # noqa: E402
from chalicelib.campaigns.schedule import store_plan  # noqa: E402
from chalicelib.campaigns.slots import due_fire  # noqa: E402
from chalicelib.campaigns.tick import advance_watermark, run_tick  # noqa: E402
from chalicelib.clock import FixedClock, set_clock  # noqa: E402
from chalicelib.delivery.record import RecordChannel  # noqa: E402
from chalicelib.groups.models import GroupRecord  # noqa: E402
from chalicelib.settings import reset_settings  # noqa: E402
from chalicelib.stores.csv_import import default_source, read_rows  # noqa: E402
from chalicelib.stores.models import StoreRecord  # noqa: E402
from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
DAY = (2026, 11, 20)


class ReadMeter:
    """Counts DynamoDB items read and requests made, from the shared botocore
    client's responses (Query/Scan ScannedCount, GetItem, BatchGetItem)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items = 0
        self.requests: Counter[str] = Counter()
        self.units = {"read": 0.0, "write": 0.0}  # ReturnConsumedCapacity, GSIs included
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall time waiting on each kind of request
        self.by_table: defaultdict[str, float] = defaultdict(float)  # write units by table / index
        self.local = threading.local()

    def started(self, **_: Any) -> None:
        self.local.t0 = time.perf_counter()

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        waited = time.perf_counter() - getattr(self.local, "t0", time.perf_counter())
        read = 0
        if op in ("Query", "Scan"):
            read = int(parsed.get("ScannedCount", 0))
        elif op == "GetItem":
            read = 1 if parsed.get("Item") else 0
        elif op == "BatchGetItem":
            read = sum(len(v) for v in parsed.get("Responses", {}).values())
        elif op == "TransactGetItems":
            read = len(parsed.get("Responses", []))
        found = parsed.get("ConsumedCapacity")
        entries = found if isinstance(found, list) else [found] if found else []
        kind = "read" if op in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems") else "write"
        with self.lock:
            self.items += read
            self.requests[op] += 1
            self.seconds[op] += waited
            self.units[kind] += sum(float(e.get("CapacityUnits") or 0) for e in entries)
            if kind == "write":
                for e in entries:
                    name = str(e.get("TableName", "?")).removeprefix("bench-tick-")
                    if "Table" not in e:  # no breakdown given: the total, by request kind
                        self.by_table[f"{name} ({op})"] += float(e.get("CapacityUnits") or 0)
                        continue
                    self.by_table[f"{name} ({op})"] += float(e["Table"].get("CapacityUnits") or 0)
                    for index, used in (e.get("GlobalSecondaryIndexes") or {}).items():
                        self.by_table[f"{name}.{index} ({op})"] += float(used.get("CapacityUnits") or 0)

    @staticmethod
    def ask(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name not in ("ListTables", "DescribeTable", "CreateTable", "DescribeTimeToLive"):
            params.setdefault("ReturnConsumedCapacity", "INDEXES")

    def reset(self) -> tuple[int, Counter[str]]:
        with self.lock:
            out = (self.items, self.requests)
            self.items, self.requests = 0, Counter()
            self.last_units, self.units = self.units, {"read": 0.0, "write": 0.0}
            self.last_seconds, self.seconds = self.seconds, defaultdict(float)
            self.last_by_table, self.by_table = self.by_table, defaultdict(float)
        return out


def _size(value: Any) -> int:
    """An attribute value's size by DynamoDB's item-size rules (close enough
    to round to 1 KB units): strings by UTF-8 bytes, numbers ~1 byte per 2
    digits, sets/lists/maps the sum of their parts plus 1-3 bytes each."""
    (kind, v), = value.items()
    if kind in ("S", "B"):
        return len(v.encode() if isinstance(v, str) else v)
    if kind == "N":
        return len(v) // 2 + 2
    if kind in ("SS", "NS", "BS"):
        return sum(_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(_size(x) + 1 for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _size(x) + 1 for k, x in v.items())
    return 1


class UnitModel:
    """Write units as AWS bills them, modelled from the requests themselves
    (DynamoDB Local reports a TransactWriteItems' units per table, not per
    item): 1 WCU per KB of item written, 2 in a transaction; the `outbox`
    GSI (ALL projection) adds 1 WCU per KB of the post when a post enters
    it and 1 when it leaves it. An update's item size is the size of the
    item last put with that key (the posts), else 1 KB."""

    OUTBOX = ("outbox_shard", "next_attempt_at")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sizes: dict[str, int] = {}
        self.units: defaultdict[str, float] = defaultdict(float)

    @staticmethod
    def _kb(size: int) -> int:
        return max(1, -(-size // 1024))

    def _key(self, table: str, key: dict[str, Any]) -> str:
        return table + "|" + "|".join(f"{k}={list(v.values())[0]}" for k, v in sorted(key.items()))

    def _put(self, table: str, item: dict[str, Any], factor: int) -> None:
        size = sum(len(k.encode()) + _size(v) for k, v in item.items())
        name = table.removeprefix("bench-tick-")
        keys: dict[str, Any] = {k: item[k] for k in ("store_id", "post_id") if k in item} if name == "posts" else {}
        if keys:
            self.sizes[self._key(table, keys)] = size
        self.units[name] += factor * self._kb(size)
        if name == "posts" and all(k in item for k in self.OUTBOX):
            self.units["posts.outbox"] += self._kb(size)

    def _update(self, table: str, update: dict[str, Any], factor: int) -> None:
        name = table.removeprefix("bench-tick-")
        size = self.sizes.get(self._key(table, update["Key"]), 1024)
        self.units[name] += factor * self._kb(size)
        names = update.get("ExpressionAttributeNames", {})
        expression = update.get("UpdateExpression", "")
        removed = expression.split("REMOVE", 1)[1] if "REMOVE" in expression else ""
        if name == "posts" and any(names.get(ref.strip().split(" ")[0]) == "outbox_shard"
                                   for ref in removed.split(",")):
            self.units["posts.outbox"] += 1  # the post leaves the index

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        with self.lock:
            if op == "PutItem":
                self._put(params["TableName"], params["Item"], 1)
            elif op == "UpdateItem":
                self._update(params["TableName"], params, 1)
            elif op == "DeleteItem":
                self.units[params["TableName"].removeprefix("bench-tick-")] += 1
            elif op == "BatchWriteItem":
                for table, writes in params["RequestItems"].items():
                    for w in writes:
                        if "PutRequest" in w:
                            self._put(table, w["PutRequest"]["Item"], 1)
                        else:
                            self.units[table.removeprefix("bench-tick-")] += 1
            elif op == "TransactWriteItems":
                for t in params["TransactItems"]:
                    if "Put" in t:
                        self._put(t["Put"]["TableName"], t["Put"]["Item"], 2)
                    elif "Update" in t:
                        self._update(t["Update"]["TableName"], t["Update"], 2)
                    else:
                        kind = "Delete" if "Delete" in t else "ConditionCheck"
                        self.units[t[kind]["TableName"].removeprefix("bench-tick-")] += 2

    def take(self) -> dict[str, float]:
        with self.lock:
            out, self.units = dict(self.units), defaultdict(float)
        return out


def naive_tick(now: datetime) -> int:
    """The baseline: scan every store, compute its due slots in Python."""
    due = 0
    for store in StoreRecord.scan():
        for spec in store_plan(store, None):
            if due_fire(spec, store.timezone, now - timedelta(minutes=5), now):
                due += 1
    return due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=0, help="only the first N stores (default: all)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--csv", type=Path, default=None, help="store list (default: the shared 7,209-store set)")
    args = parser.parse_args()
    rows = list(read_rows(args.csv or default_source()))
    if args.stores:
        rows = rows[: args.stores]
    started = time.perf_counter()
    ddb = DynamoDBLocal().start()
    try:
        os.environ.update({**ddb.env(), "STORELOOP_TABLE_PREFIX": "bench-tick-", "STORELOOP_CHANNEL": "record"})
        os.environ.setdefault("STORELOOP_JWT_SECRET", "bench-secret-0123456789-0123456789-abcdef")
        reset_settings()
        db.create_tables()
        from chalicelib.groups.directory import mark_listing_complete

        mark_listing_complete()  # new tables, as `cli create-tables` marks them: the groups listing is complete
        t0 = time.perf_counter()
        setup_at = datetime(*DAY, 7, 0, tzinfo=SH)
        records = store_config.save_stores([(r.store_id, r) for r in rows], setup_at)  # also files their slots
        with GroupRecord.batch_write() as batch:
            for r in records:  # as a store's first join makes it: group 1 lists the others (none)
                batch.save(GroupRecord(r.store_id, 1, group_id=f"{r.store_id}.1", capacity=200, member_count=50,
                                       created_at=setup_at, listed=1))
        _all_store_coupon(setup_at)
        load_s = time.perf_counter() - t0
        urumqi = sum(1 for r in records if r.timezone == "Asia/Urumqi")

        meter = ReadMeter()
        db.connection().client.meta.events.register("before-call.dynamodb", meter.started)
        db.connection().client.meta.events.register("after-call.dynamodb", meter)
        db.connection().client.meta.events.register("provide-client-params.dynamodb", ReadMeter.ask)
        units = UnitModel()
        db.connection().client.meta.events.register("provide-client-params.dynamodb", units)
        channel = RecordChannel()

        # 1. Nothing due: 08:25, the last tick was 08:20 (Shanghai mornings are at 08:30).
        advance_watermark(datetime(*DAY, 8, 20, tzinfo=SH))
        quiet_at = datetime(*DAY, 8, 25, tzinfo=SH)
        set_clock(FixedClock(quiet_at))
        meter.reset()
        quiet = run_tick(quiet_at, InProcessQueue(quiet_at, channel, workers=args.workers))
        quiet_items, quiet_reqs = meter.reset()

        # 2. Every store due: 10:30 Shanghai after a 08:25 tick = every Shanghai morning (08:30)
        #    and every Urumqi morning (08:30 there), one post per store.
        busy_at = datetime(*DAY, 10, 30, tzinfo=SH)
        set_clock(FixedClock(busy_at))
        # The floor right before (and again right after) the busy tick: the machine is shared, so the
        # tick's rate is compared with the mean of the two.
        floor_n = min(4000, max(400, len(records) // 2))
        floor_before_s = put_floor(floor_n, args.workers, "before")
        meter.reset()
        units.take()
        t1, cpu1 = time.perf_counter(), time.process_time()
        busy = run_tick(busy_at, InProcessQueue(busy_at, channel, workers=args.workers))
        publish_s, publish_cpu = time.perf_counter() - t1, time.process_time() - cpu1
        busy_items, busy_reqs = meter.reset()
        busy_units, busy_seconds, busy_tables = meter.last_units, meter.last_seconds, meter.last_by_table
        modelled = units.take()
        floor_after_s = put_floor(floor_n, args.workers, "after")  # raw PutItems, same workers, right after
        meter.reset()

        # 2b. The same window again (a duplicate trigger, or a tick replayed after a lost watermark):
        #     every post exists already.
        TickWatermark("slots").delete()
        advance_watermark(datetime(*DAY, 8, 25, tzinfo=SH))
        t3 = time.perf_counter()
        replay = run_tick(busy_at, InProcessQueue(busy_at, channel, workers=args.workers))
        replay_s = time.perf_counter() - t3
        replay_items, replay_reqs = meter.reset()

        # 2c. The deployed fan-out: the noon tick enqueues to SQS (captured here), and the consumer takes
        #     the messages the way Lambda hands them over. The same number of stores each way: one message
        #     at a time (the consumer before: `worker.handle` per message after one BatchGetItem of the
        #     batch's stores), then SQS batches of 10 and of 25 through `fanout.process_records`.
        sqs_lines = _sqs_consumer(meter, units, channel, 300)
        group_lines = _group_reads(meter, [r.store_id for r in records])

        # 3. The naive baseline in the same run.
        naive_at = datetime(*DAY, 12, 0, tzinfo=SH)
        t2 = time.perf_counter()
        naive_due = naive_tick(naive_at)
        naive_s = time.perf_counter() - t2
        naive_items, naive_reqs = meter.reset()
    finally:
        ddb.stop()

    posted = busy.outcome["posted"]
    print(f"stores: {len(records)} ({urumqi} on Asia/Urumqi) loaded+indexed in {load_s:.1f}s")
    print(f"tick, nothing due:   {quiet.due} due, {quiet_items} items read, "
          f"{sum(quiet_reqs.values())} requests {dict(quiet_reqs)}")
    print(f"tick, every store due: {busy.line()}")
    if busy.due != len(records):
        print(f"  ({len(records) - busy.due} stores not due by 10:30: they open later, so their morning slot "
              f"moved past 10:30 or was dropped)")
    print(f"  published {posted} posts in {publish_s:.1f}s ({posted / publish_s:.0f} posts/s, "
          f"{args.workers} workers), {busy_items} items read, {sum(busy_reqs.values())} requests")
    print(f"  reads per due post: {busy_items / max(posted, 1):.2f} items "
          f"({sum(busy_reqs.values()) / max(posted, 1):.1f} requests)")
    print(f"replayed tick over {len(records)} already-posted stores: {replay.line()} in {replay_s:.1f}s "
          f"(goal <= 10 s at 7,209), {replay_items} items read, {sum(replay_reqs.values())} requests")
    print(f"due post: {busy_items / max(posted, 1):.2f} items read (goal <= 3), noon-size tick {publish_s:.1f}s "
          f"for {posted} posts (goal <= 90 s at 7,209)")
    print(f"capacity per due post (DynamoDB Local, GSIs included): {busy_units['write'] / max(posted, 1):.2f} WCU "
          f"+ {busy_units['read'] / max(posted, 1):.2f} RCU")
    modelled_wcu = sum(modelled.values()) / max(posted, 1)
    print(f"write units per due post on AWS's rules (modelled from the requests: DynamoDB Local reports a "
          f"transaction's units per table, not per item): {modelled_wcu:.2f} WCU ("
          + ", ".join(f"{name} {u / max(posted, 1):.2f}" for name, u in sorted(modelled.items()) if u) + ")")
    # post_wcu: the modelled units (what AWS bills); DynamoDB Local's own figure is on the capacity line above
    print(f"model-inputs post_items={busy_items / max(posted, 1):.3f} "
          f"post_requests={sum(busy_reqs.values()) / max(posted, 1):.3f} "
          f"post_wcu={modelled_wcu:.3f} post_rcu={busy_units['read'] / max(posted, 1):.3f} "
          f"quiet_tick_requests={sum(quiet_reqs.values())} quiet_tick_items={quiet_items}")
    busy_n = sum(busy_reqs.values())
    floor_rps = (floor_n / floor_before_s + floor_n / floor_after_s) / 2
    print(f"noon-size tick: {busy_n / publish_s:.0f} requests/s, {busy_items / publish_s:.0f} items read/s, "
          f"{posted / publish_s:.0f} posts/s; this process's CPU {publish_cpu:.1f}s of {publish_s:.1f}s wall "
          f"({os.cpu_count()} cores, shared)")
    print(f"  requests by kind: {dict(sorted(busy_reqs.items()))}")
    print("  requests per due post by kind: " + ", ".join(
        f"{op} {n / max(posted, 1):.2f} ({busy_seconds[op] * 1000 / n:.1f} ms each)"
        for op, n in sorted(busy_reqs.items())) + f"; total {busy_n / max(posted, 1):.2f}")
    print("  WCU per due post by table/index: " + ", ".join(
        f"{name} {units / max(posted, 1):.2f}" for name, units in sorted(busy_tables.items()) if units))
    print(f"  floor, same run: raw PutItem {floor_rps:.0f} requests/s ({floor_n / floor_before_s:.0f} before the tick, "
          f"{floor_n / floor_after_s:.0f} after; {floor_n} puts each, {args.workers} workers); "
          f"the tick ran at {busy_n / publish_s / floor_rps:.2f}x that rate; at the floor rate its "
          f"{busy_n / max(posted, 1):.1f} requests per post = {floor_rps / (busy_n / max(posted, 1)):.0f} posts/s, "
          f"{len(records)} posts in >= {len(records) * busy_n / max(posted, 1) / floor_rps:.0f}s")
    per_put_s = posted / floor_rps
    print(f"  noon tick vs the floor in posts: {publish_s:.1f}s for {posted} posts = {publish_s / per_put_s:.2f}x the "
          f"time of one raw PutItem per post at the floor rate ({per_put_s:.1f}s); "
          f"{busy_n / max(posted, 1):.2f} requests per due post")
    print(f"naive scan-every-store tick: {naive_items} items read ({naive_due} due) in {naive_s:.1f}s")
    print(f"finding what is due, quiet tick: ours {quiet_items} item(s) vs naive {naive_items} "
          f"-> {naive_items / max(quiet_items, 1):.0f}x fewer")
    per_day_naive = 288 * naive_items
    per_day_ours = 288 * quiet_items + busy_items
    print(f"per day at one tick / 5 min with every store due once: naive >= {per_day_naive:,} items "
          f"(finding only), ours ~{per_day_ours:,} items all-in (finding + building + posting) "
          f"-> {per_day_naive / max(per_day_ours, 1):.0f}x")
    for line in sqs_lines:
        print(line)
    for line in group_lines:
        print(line)
    print(f"total bench time {time.perf_counter() - started:.0f}s")
    # every store whose morning slot fires by 10:30: a store that opens later has it moved past 10:30 or
    # dropped (opening hours), so "every store due" is every store but those
    assert posted == busy.due and busy.due >= len(records) - len(records) // 100, f"{posted} posted, {busy.due} due"
    assert busy.outcome["duplicate"] == 0
    assert replay.outcome["posted"] == 0 and replay.outcome["duplicate"] == busy.due


class _GroupRequests:
    """Requests to the groups table (its Queries and BatchGetItems), for the SQS consumer's lines."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        table = GroupRecord.Meta.table_name
        if (model.name == "Query" and params.get("TableName") == table) or \
                (model.name == "BatchGetItem" and table in params.get("RequestItems", {})):
            with self.lock:
                self.count += 1

    def take(self) -> int:
        with self.lock:
            out, self.count = self.count, 0
        return out


class _Capture:
    """The fan-out queue's client: keeps what the tick enqueues (SendMessageBatch)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.bodies += [e["MessageBody"] for e in Entries]
        return {"Successful": Entries}


class _Record:
    """An SQS record as Chalice hands it to the consumer."""

    def __init__(self, body: str, message_id: str) -> None:
        self.body = body
        self._raw = {"messageId": message_id, "body": body}

    def to_dict(self) -> dict[str, Any]:
        return self._raw


def _sqs_consumer(meter: ReadMeter, units: UnitModel, channel: RecordChannel, share: int) -> list[str]:
    """Requests and modelled write units per post through the SQS consumer, `share` stores each way."""
    import json

    from chalicelib.campaigns import worker
    from chalicelib.campaigns.events import FANOUT_BATCH
    from chalicelib.campaigns.fanout import SqsQueue, process_records

    noon = datetime(*DAY, 12, 0, tzinfo=SH)
    set_clock(FixedClock(noon))
    TickWatermark("slots").delete()
    advance_watermark(noon - timedelta(minutes=5))
    capture = _Capture()
    run_tick(noon, SqsQueue("bench-fanout", capture))
    bodies = capture.bodies
    share = min(share, len(bodies) // 5)
    lines = [f"SQS fan-out consumer, {share} due stores each way ({len(bodies)} messages enqueued by the noon tick, "
             f"{FANOUT_BATCH} per Lambda batch deployed):"]
    meter.reset()
    units.take()
    ways: list[tuple[str, int]] = [("one message at a time (before)", 10), ("SQS batch of 10", 10),
                                   (f"SQS batch of {FANOUT_BATCH} (deployed)", FANOUT_BATCH)]
    figures: dict[str, float] = {}
    items: dict[str, float] = {}
    group_reqs: dict[str, float] = {}
    group_meter = _GroupRequests()
    db.connection().client.meta.events.register("provide-client-params.dynamodb", group_meter)
    for n, (name, size) in enumerate(ways):
        mine = bodies[n * share:(n + 1) * share]
        posted = 0
        t0 = time.perf_counter()
        for first in range(0, len(mine), size):
            chunk = mine[first:first + size]
            if n == 0:
                messages = [json.loads(b) for b in chunk]
                known = worker.prefetch(messages)
                for message in messages:
                    posted += worker.handle(message, noon, channel, known)["posted"]
            else:
                reply = process_records([_Record(b, f"m{first + i}") for i, b in enumerate(chunk)], noon, channel)
                assert reply == {"batchItemFailures": []}, reply
                posted += len(chunk)
        took = time.perf_counter() - t0
        read, reqs = meter.reset()
        wcu = sum(units.take().values())
        per = sum(reqs.values()) / max(posted, 1)
        figures[name] = per
        items[name] = read / max(posted, 1)
        group_reqs[name] = group_meter.take() / max(posted, 1)
        kinds = ", ".join(f"{op} {c / max(posted, 1):.2f}" for op, c in sorted(reqs.items()))
        lines.append(f"  {name}: {per:.2f} requests per post ({kinds}), "
                     f"{wcu / max(posted, 1):.2f} WCU modelled, {posted / took:.0f} posts/s")
    before, deployed = figures[ways[0][0]], figures[ways[2][0]]
    lines.append(f"  SQS consumer requests per post: {deployed:.2f} vs {before:.2f} one at a time "
                 f"= {deployed / before:.2f}x")
    lines.append(f"  SQS consumer items read per post (deployed batch): {items[ways[2][0]]:.2f} "
                 f"(one at a time: {items[ways[0][0]]:.2f}); its group reads by key: "
                 f"{group_reqs[ways[2][0]]:.2f} requests per post (one at a time: {group_reqs[ways[0][0]]:.2f}, "
                 f"a Query each)")
    lines.append(f"model-inputs sqs_post_requests={deployed:.3f} sqs_post_requests_one_at_a_time={before:.3f}")
    lines += _group_less(meter, bodies[3 * share:5 * share], share, noon, channel)
    return lines


def _group_less(meter: ReadMeter, bodies: list[str], share: int, noon: datetime, channel: RecordChannel) -> list[str]:
    """Requests per post through the SQS consumer (batches of 25) for
    stores with no group yet (their group 1 deleted for the measurement,
    put back after): `share` stores before `cli backfill-lists` has
    written its marker (a Query each, as before), `share` after it (their
    pointers in one BatchGetItem a batch). Same run, same code."""
    import json

    from chalicelib.campaigns.events import FANOUT_BATCH
    from chalicelib.campaigns.fanout import process_records
    from chalicelib.groups import directory
    from chalicelib.groups.directory import backfill_listing
    from chalicelib.groups.models import StoreGroups

    StoreGroups(directory.LISTING_MARKER).delete()  # as before backfill-lists ran
    directory._marker_seen.clear()  # and past the minute a container trusts the marker it read
    store_ids = [json.loads(b)["store_id"] for b in bodies]
    kept = list(GroupRecord.batch_get([(s, 1) for s in store_ids]))
    with GroupRecord.batch_write() as batch:
        for group in kept:
            batch.delete(group)
    figures: list[tuple[float, float, int]] = []
    for n in range(2):
        if n == 1:
            backfill_listing()  # a Scan of the groups and pointers, then the marker
        mine = bodies[n * share:(n + 1) * share]
        meter.reset()
        for first in range(0, len(mine), FANOUT_BATCH):
            chunk = mine[first:first + FANOUT_BATCH]
            reply = process_records([_Record(b, f"g{first + i}") for i, b in enumerate(chunk)], noon, channel)
            assert reply == {"batchItemFailures": []}, reply
        _, reqs = meter.reset()
        figures.append((sum(reqs.values()) / max(len(mine), 1), reqs["Query"] / max(len(mine), 1), len(mine)))
    with GroupRecord.batch_write() as batch:
        for group in kept:
            batch.save(group)
    (before, before_q, count), (after, after_q, _) = figures
    return [f"  stores with no group yet, SQS batch of {FANOUT_BATCH}, {count} stores each: {after:.2f} requests "
            f"per post ({after_q:.2f} Query) after backfill-lists' marker vs {before:.2f} ({before_q:.2f} Query) "
            f"before it = {after / max(before, 1e-9):.2f}x"]


def _group_reads(meter: ReadMeter, store_ids: list[str]) -> list[str]:
    """The due stores' groups three ways, same stores, same run: the
    in-process noon tick's parallel Scan (`groups_by_store`), the by-key
    read of an SQS batch (`groups_of`, 25 stores a call), a Query each
    (`store_groups`, on a sample). Requests, items and seconds per store;
    the answers are checked equal."""
    from chalicelib.campaigns.events import FANOUT_BATCH
    from chalicelib.groups.directory import groups_by_store, groups_of, store_groups

    def ids(found: dict[str, list[GroupRecord]]) -> dict[str, list[str]]:
        return {s: [g.group_id for g in found.get(s, [])] for s in sample}

    sample = store_ids[:500]
    n = len(store_ids)
    meter.reset()
    t0 = time.perf_counter()
    scanned = groups_by_store(store_ids)
    scan_s = time.perf_counter() - t0
    scan_items, scan_reqs = meter.reset()
    t0 = time.perf_counter()
    by_key: dict[str, list[GroupRecord]] = {}
    for first in range(0, n, FANOUT_BATCH):
        by_key.update(groups_of(store_ids[first:first + FANOUT_BATCH]))
    key_s = time.perf_counter() - t0
    key_items, key_reqs = meter.reset()
    t0 = time.perf_counter()
    queried = {s: store_groups(s) for s in sample}
    query_s = (time.perf_counter() - t0) * n / len(sample)
    query_items, query_reqs = meter.reset()
    assert ids(by_key) == ids(queried), "the by-key read differs from the Queries"
    if scanned is not None:
        assert ids(scanned) == ids(queried), "the Scan differs from the Queries"
    per = len(sample)
    scan = (f"parallel Scan {sum(scan_reqs.values()) / n:.3f} requests, {scan_items / n:.2f} items, "
            f"{scan_s:.2f}s" if scanned is not None else "parallel Scan not chosen (groups_by_store: None)")
    return [f"groups of {n} due stores, same run: {scan}; by key in batches of {FANOUT_BATCH} "
            f"{sum(key_reqs.values()) / n:.3f} requests, {key_items / n:.2f} items, {key_s:.2f}s; "
            f"a Query each {sum(query_reqs.values()) / per:.3f} requests, {query_items / per:.2f} items, "
            f"{query_s:.2f}s (from {per} stores)",
            f"  by key vs a Query each: {key_s / max(query_s, 1e-9):.2f}x the time"
            + (f"; parallel Scan vs by key: {scan_s / max(key_s, 1e-9):.2f}x the time" if scanned is not None else "")]


def put_floor(n: int, workers: int, tag: str) -> float:
    """Seconds for `n` unconditional PutItems of a post-sized item (the body
    of a real post) on `workers` threads: the request-rate floor of this
    DynamoDB Local on this machine right now."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.delivery.models import RecordedMessage

    text = "午间闪券开抢！星巴克 限量优惠，先到先得\n· 早安拿铁立减3元 立减¥3.00\n打开小程序即可领取" * 3
    at = datetime(*DAY, 12, 0, tzinfo=SH)

    def put(i: int) -> None:
        RecordedMessage(f"floor-{i % 997}", f"floor-{tag}#{i}", group_id="floor", text=text, sent_at=at).save()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, range(n)))
    return time.perf_counter() - started


def _all_store_coupon(now: datetime) -> None:
    from chalicelib.coupons.service import TemplateIn, create_template

    # unlimited stock: a limited one adds coupons/ stock-shard reads (up to 32 per offer) to every post
    create_template(TemplateIn(title="早安拿铁立减3元", kind="amount_off", value=300, total_stock=None,
                               claim_start=now.astimezone(UTC), claim_end=now + timedelta(days=1), valid_days=1),
                    now)


if __name__ == "__main__":
    main()
