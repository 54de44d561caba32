"""The local stand-in for the Lambda event source mapping on the coupons
table's stream: reads the stream's shards from DynamoDB Local (which
implements the DynamoDB Streams API on its own endpoint) and hands each
page of records, shaped as Lambda delivers them, to the same handler the
deployed `stats_member_tiers` function runs (chalicelib/stats/tier_stream.py).

    python -m devtools.stream_poller --follow   # what `make run` starts
    python -m devtools.stream_poller            # drain what is there, then exit

Like Lambda it reads a shard in order, parents before children, starts at
TRIM_HORIZON, and on a reported failure (`batchItemFailures`) retries from
the failed record on its next pass. It keeps its position in memory only:
a restart reads the stream again from the start, which the handler's marks
make harmless (every event is counted once).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLE_WAIT_S = 120.0  # following (make run): the stack creates the tables beside us
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A DynamoDB Streams GetRecords record as Lambda delivers it (epoch seconds, the source ARN)."""
    body = dict(record["dynamodb"])
    stamp = body.get("ApproximateCreationDateTime")
    if stamp is not None and hasattr(stamp, "timestamp"):
        body["ApproximateCreationDateTime"] = stamp.timestamp()
    return {"eventID": record["eventID"], "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"), "eventSource": "aws:dynamodb",
            "awsRegion": record.get("awsRegion", region), "dynamodb": body, "eventSourceARN": stream_arn}


def default_handler(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib import db
    from chalicelib.stats import tier_stream

    db.ensure_bound()
    return tier_stream.handle_event(event)


class StreamPoller:
    def __init__(self, table_name: str, endpoint: str, region: str, handler: Handler = default_handler,
                 batch_size: int = 100, wait_s: float = 0.0):
        import boto3

        self.table_name, self.region, self.handler, self.batch_size = table_name, region, handler, batch_size
        self.ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
        self.streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
        self.stream_arn = self.ensure_stream(wait_s)
        self.after: dict[str, str] = {}  # shard id -> last sequence number handled
        self.closed: set[str] = set()  # shards read to their end
        self.delivered = 0  # records handed to the handler (a retried record counts again)
        self.failed = False  # the last pass left a failed record to retry

    def ensure_stream(self, wait_s: float = 0.0) -> str:
        """The table's stream ARN, enabling the stream on a table created
        before the model asked for one (a kept `.local/dynamodb`). Waits up
        to `wait_s` for the table: `make run` serves and starts its services
        while the seed process is still creating the tables."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                table = self.ddb.describe_table(TableName=self.table_name)["Table"]
                break
            except self.ddb.exceptions.ResourceNotFoundException:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)
        if not table.get("StreamSpecification", {}).get("StreamEnabled"):
            table = self.ddb.update_table(TableName=self.table_name, StreamSpecification={
                "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})["TableDescription"]
        return str(table["LatestStreamArn"])

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            page = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(page.get("Shards", []))
            start = page.get("LastEvaluatedShardId")
            if not start:
                return shards

    def poll(self) -> int:
        """One pass over every shard whose parent is read; records handled."""
        handled = 0
        self.failed = False
        shards = self._shards()
        known = {s["ShardId"] for s in shards}
        for shard in shards:
            shard_id, parent = shard["ShardId"], shard.get("ParentShardId")
            if shard_id in self.closed or (parent in known and parent not in self.closed):
                continue
            handled += self._read(shard_id)
        return handled

    def _read(self, shard_id: str) -> int:
        after = self.after.get(shard_id)
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        iterator: str | None = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
        handled = 0
        while iterator:
            page = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            records = page.get("Records", [])
            iterator = page.get("NextShardIterator")
            if not records:
                break
            batch = [lambda_record(r, self.stream_arn, self.region) for r in records]
            self.delivered += len(batch)
            answer = self.handler({"Records": batch}) or {}
            failed = [f["itemIdentifier"] for f in answer.get("batchItemFailures", [])]
            sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
            if failed:  # done up to the first failure; the next pass starts there (as Lambda does)
                self.failed = True
                first = sequences.index(failed[0]) if failed[0] in sequences else 0
                if first:
                    self.after[shard_id] = sequences[first - 1]
                return handled + first
            self.after[shard_id] = sequences[-1]
            handled += len(records)
        if iterator is None:
            self.closed.add(shard_id)
        return handled

    def drain(self, max_passes: int = 50) -> int:
        """Poll until a pass finds nothing new and leaves no failure to
        retry (at most `max_passes`); records handled."""
        total = 0
        for _ in range(max_passes):
            n = self.poll()
            total += n
            if n == 0 and not self.failed:
                return total
        return total

    def follow(self, stop: threading.Event, every_s: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.poll()
            except Exception as exc:  # DynamoDB Local restarting, a handler bug: say so, keep going
                print(f"stream poller: {exc!r}", file=sys.stderr, flush=True)
            stop.wait(every_s)


def for_settings(wait_s: float = 0.0) -> StreamPoller:
    """The coupons table of the deployment the environment names (STORELOOP_TABLE_PREFIX, endpoint)."""
    from chalicelib import db
    from chalicelib.coupons.models import CouponRecord
    from chalicelib.settings import get_settings

    settings = get_settings()
    if not settings.dynamodb_endpoint:
        raise SystemExit("the stream poller is for DynamoDB Local (set AWS_ENDPOINT_URL_DYNAMODB)")
    return StreamPoller(db.table_name(CouponRecord, settings), settings.dynamodb_endpoint, settings.region,
                        wait_s=wait_s)


class PollerService:
    """For `devtools.stack.EXTRA_SERVICES`."""

    name = "stream-poller"

    def __init__(self, process: subprocess.Popen[bytes]):
        self.process = process
        self.banner = ("  Streams:  coupons stream poller (member-tier figures, as the deployed "
                       "stats_member_tiers function; seconds behind the claims)")

    def stop(self) -> None:
        from devtools.stack import stop_process

        stop_process(self.process)


def stack_service(env: dict[str, str]) -> PollerService:
    from devtools.stack import die_with_parent

    return PollerService(subprocess.Popen([sys.executable, "-m", "devtools.stream_poller", "--follow"],
                                          cwd=ROOT, env=env, preexec_fn=die_with_parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--follow", action="store_true", help="keep polling until stopped")
    parser.add_argument("--every", type=float, default=float(os.environ.get("STREAM_POLL_S", "1.0")))
    args = parser.parse_args(argv)
    poller = for_settings(wait_s=TABLE_WAIT_S if args.follow else 0.0)
    if not args.follow:
        print(f"{poller.drain()} records handled")
        return 0
    stop = threading.Event()
    try:
        poller.follow(stop, args.every)
    except KeyboardInterrupt:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
