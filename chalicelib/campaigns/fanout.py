"""How the tick hands one message per store to the worker: one interface,
two real implementations. `SqsQueue` (deployed) sends batches to the
fan-out queue so thousands of stores are handled by parallel Lambdas;
`InProcessQueue` (`cli tick`, the local scheduler) runs the same worker
function right away, on a small thread pool, and reports what happened."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from chalicelib import logs
from chalicelib.campaigns import worker
from chalicelib.delivery.channel import Channel
from chalicelib.groups.directory import groups_by_store
from chalicelib.groups.models import GroupRecord

log = logs.get_logger("campaigns.fanout")
SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries
PREFETCH = 25  # stores a worker reads in one BatchGetItem before handling them (at most 50 fit)


class FanoutQueue(Protocol):
    def send(self, messages: list[dict[str, Any]]) -> Counter[str]:
        """Hand the messages on; returns outcome counts (what is known now)."""
        ...


class InProcessQueue:
    def __init__(self, now: datetime, channel: Channel, workers: int = 4):
        self.now = now
        self.channel = channel
        self.workers = workers
        self.groups: dict[str, list[GroupRecord]] | None = None  # the due stores' groups, read once per send

    def _batch(self, messages: list[dict[str, Any]]) -> Counter[str]:
        """A worker's share: its stores read together, checked and built one
        by one, their posts created and marked sent together
        (`worker.handle_batch`)."""
        try:
            known = worker.prefetch(messages) if len(messages) > 1 else None
        except Exception:  # noqa: BLE001 - then each message reads its own store (and fails alone)
            log.exception("fan-out store read failed", extra={"fields": {"messages": len(messages)}})
            known = None
        total: Counter[str] = Counter()
        for outcome in worker.handle_batch(messages, self.now, self.channel, known, self.groups):
            total.update(outcome)
        return total

    def read_groups(self, messages: list[dict[str, Any]]) -> None:
        """A noon-size tick: every due store's groups in one parallel Scan
        (`groups_by_store`; else each store Queries its own)."""
        try:
            self.groups = groups_by_store([m["store_id"] for m in messages if m["type"] == "slots"])
        except Exception:  # noqa: BLE001 - an optimisation only: then each store queries its own
            log.exception("fan-out groups read failed", extra={"fields": {"messages": len(messages)}})
            self.groups = None

    def send(self, messages: list[dict[str, Any]], *, groups_read: bool = False) -> Counter[str]:
        """`groups_read`: the caller hands the tick's messages on in chunks
        and called `read_groups` once with all of them."""
        if not groups_read:
            self.read_groups(messages)
        # batches of up to PREFETCH stores, at least one per worker
        size = max(1, min(PREFETCH, -(-len(messages) // max(self.workers, 1))))
        batches = [messages[i:i + size] for i in range(0, len(messages), size)]
        total: Counter[str] = Counter()
        results: Iterable[Counter[str]]
        if self.workers <= 1 or len(batches) <= 1:
            results = map(self._batch, batches)
        else:
            pool = ThreadPoolExecutor(max_workers=self.workers)
            with pool:
                results = list(pool.map(self._batch, batches))
        for result in results:
            total.update(result)
        return total


class SqsQueue:
    def __init__(self, queue_url: str, client: Any):
        self.queue_url = queue_url
        self.client = client

    def send(self, messages: list[dict[str, Any]]) -> Counter[str]:
        sent = 0
        for first in range(0, len(messages), SQS_BATCH):
            chunk = messages[first:first + SQS_BATCH]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, ensure_ascii=False)} for i, m in enumerate(chunk)]
            reply = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = reply.get("Failed") or []
            if failed:
                # Raise so the tick does not advance its watermark: the next
                # tick re-reads the window, and the post ledger drops repeats.
                raise RuntimeError(f"SQS refused {len(failed)} fan-out message(s): {failed[0].get('Code')}")
            sent += len(chunk)
        return Counter({"enqueued": sent})


def process_records(records: list[Any], now: datetime, channel: Channel) -> dict[str, Any]:
    """The SQS consumer (Chalice `SQSRecord`s): the batch's messages go
    through the same batch path as the in-process fan-out
    (`worker.handle_batch`: the stores and plans in one BatchGetItem, the
    posts created in one TransactWriteItems, their messages written in one
    BatchWriteItem, marked sent in one transaction), and the answer is a
    partial batch response naming exactly the records that failed: a record
    that is not a message, a store that failed while being checked or built,
    or the messages whose posts were in a failed batch write or left
    unrecorded by a delivery that stopped part way (`PartlyDelivered`: the
    posts it recorded count as posted; the created posts left are the
    outbox's to re-drive; a redelivered message finds its post and counts a
    duplicate). Only those go back to SQS (and after
    maxReceiveCount to the DLQ); the others are never re-run. Chalice 1.34
    cannot switch ReportBatchItemFailures on for the event source mapping
    itself; infra/template.py's merge template does, on the mapping of
    every SQS handler."""
    failures: list[str] = []
    messages: list[dict[str, Any]] = []
    ids: list[str] = []
    for record in records:
        message_id = str(record.to_dict().get("messageId", ""))
        try:
            message = json.loads(record.body)
            if not isinstance(message, dict) or message.get("type") not in ("slots", "retry"):
                raise ValueError(f"not a fan-out message: {str(message)[:80]}")
        except Exception:  # noqa: BLE001 - reported per record, redelivered alone by SQS (then the DLQ)
            log.exception("fan-out record failed", extra={"fields": {"message_id": message_id}})
            failures.append(message_id)
            continue
        messages.append(message)
        ids.append(message_id)
    if messages:
        try:
            known = worker.prefetch(messages)
        except Exception:  # noqa: BLE001 - an optimisation only: then each message reads its own store
            log.exception("fan-out batch store read failed", extra={"fields": {"records": len(records)}})
            known = None
        outcomes = worker.handle_batch(messages, now, channel, known)
        failures += [message_id for message_id, outcome in zip(ids, outcomes, strict=True) if outcome["errors"]]
        total: Counter[str] = Counter()
        for outcome in outcomes:
            total.update(outcome)
        log.info("fan-out batch", extra={"fields": {"records": len(records), "failed": len(failures),
                                                    "outcome": dict(sorted(total.items()))}})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}
