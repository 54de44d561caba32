"""The campaigns Lambdas other than the API: the 5-minute tick and the
fan-out queue consumer. Lean on purpose: `app.py` imports this module (Chalice
reads the schedule and the queue from it when packaging) and each of these
Lambdas imports it as its handler (`chalicelib.campaigns.events.<function>`);
the tick, the worker and their models are imported when the handler runs,
never on the API's cold start (docs/cold_start.md)."""

from __future__ import annotations

import os
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import logs
from chalicelib.clock import get_clock
from chalicelib.db import ensure_bound
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
log = logs.get_logger("campaigns")
# Chalice needs the queue name when app.py is imported (for deployment), so
# it is read here; it must match Settings.fanout_queue (same variable).
FANOUT_QUEUE = os.environ.get("STORELOOP_FANOUT_QUEUE",
                              f"{os.environ.get('STORELOOP_TABLE_PREFIX', 'storeloop-dev-')}fanout")

# Up to 25 stores per invocation: one post TransactWriteItems holds 25 posts
# (posts.BATCH) and one BatchWriteItem 25 messages; above 10 SQS requires a
# batching window, and 1 s costs a noon tick at most a second while the
# window fills (docs/campaigns.md, "Delivery").
FANOUT_BATCH = 25
FANOUT_WINDOW_S = 1


def _sqs_client() -> Any:
    import boto3

    return boto3.client("sqs", region_name=get_settings().region)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="campaigns_tick")
def scheduled_tick(event: Any) -> None:
    from chalicelib.campaigns.fanout import SqsQueue
    from chalicelib.campaigns.tick import run_tick

    with logs.invocation("tick", event):
        ensure_bound()
        client = _sqs_client()
        url = client.get_queue_url(QueueName=get_settings().fanout_queue)["QueueUrl"]
        summary = run_tick(get_clock().now(), SqsQueue(url, client))
        summary.report(log)


@bp.on_sqs_message(queue=FANOUT_QUEUE, batch_size=FANOUT_BATCH, maximum_batching_window_in_seconds=FANOUT_WINDOW_S,
                   name="campaigns_fanout")
def fanout_worker(event: Any) -> dict[str, Any]:
    from chalicelib.campaigns.fanout import process_records
    from chalicelib.delivery.channel import get_channel

    with logs.invocation("fanout", event):
        ensure_bound()
        return process_records(list(event), get_clock().now(), get_channel(get_settings()))
