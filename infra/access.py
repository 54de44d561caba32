"""Which tables each Lambda function touches, and how. Least privilege is
granted from this map; a function not listed here gets no data access.

Keys are table base names (`Model.BASE_NAME`); the API handler serves every
route, so it gets every table. Keep this in step with the code the tick and
the fan-out worker import (see chalicelib/campaigns)."""

from __future__ import annotations

READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable")
WRITE = READ + ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")

ALL_TABLES = "*all*"

# function name (as chalice names it) -> {table base name: actions}
ACCESS: dict[str, dict[str, tuple[str, ...]]] = {
    "api_handler": {ALL_TABLES: WRITE},
    # finds due slots (schedule index + watermark), reads stores, enqueues
    "campaigns_tick": {ALL_TABLES: WRITE},
    # builds and delivers posts: offers, clearance coupons, groups, stats
    "campaigns_fanout": {ALL_TABLES: WRITE},
}

# functions that send to / receive from the fan-out queue
QUEUE_SENDERS = ("api_handler", "campaigns_tick", "campaigns_fanout")
QUEUE_CONSUMERS = ("campaigns_fanout",)
