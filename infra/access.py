"""Which tables each Lambda function touches, and how. Least privilege is
granted from this map; a function not listed here gets no data access.

Keys are table base names (`Model.BASE_NAME`); the API handler serves every
route, so it gets every table. tests/integration/test_function_access.py
runs the tick and the worker through a real day, records every DynamoDB call
and fails if one is not granted here."""

from __future__ import annotations

READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable")
WRITE = READ + ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")

ALL_TABLES = "*all*"

# function name (as chalice names it) -> {table base name: actions}
ACCESS: dict[str, dict[str, tuple[str, ...]]] = {
    "api_handler": {ALL_TABLES: WRITE},
    # finds due slots in the schedule index, re-drives the outbox, moves the watermark
    "campaigns_tick": {
        "slot-index": READ,
        "posts": READ,
        "tick-watermark": WRITE,
    },
    # builds a store's posts from its offers, runs clearance, delivers, counts
    "campaigns_fanout": {
        "stores": READ,
        "slot-plans": READ,
        "slot-index": WRITE,  # drops entries a plan change left stale
        "groups": READ,
        "inventory": READ,
        "coupon-templates": WRITE,  # clearance coupons are created here
        "coupon-template-index": WRITE,
        "coupon-stock": WRITE,
        "posts": WRITE,
        "recorded-messages": WRITE,
        "robot-pace": WRITE,
        "store-day-stats": WRITE,
        "wecom-chats": READ,  # groups without a robot: the mass-send channel needs the chat's owner
        "wecom-tokens": WRITE,  # the shared WeCom access token (mass-send)
    },
    # the hourly store insights refresh: stores (Scan: O(stores), once per chain
    # day), their week items and policy items; the chain's bands and zone
    # stamps; applies due changes to stores and their slots
    "insights_refresh": {
        "stores": WRITE + ("dynamodb:Scan",),
        "insights-chain": WRITE,
        "store-weeks": READ,
        "store-policy": WRITE,
        "store-policy-audit": WRITE,
        "slot-plans": READ,
        "slot-index": WRITE,
    },
    # the nightly WeCom group-ledger reconcile: every store's join way (Scan:
    # O(stores with WeCom)), its chats and groups, re-counted from groupchat/get
    "groups_reconcile": {
        "wecom-join-ways": WRITE + ("dynamodb:Scan",),
        "wecom-chats": WRITE,
        "wecom-tokens": WRITE,
        "groups": WRITE,
        "store-groups": WRITE,
        "stores": READ,
    },
    # the coupons-stream consumer (stats/tier_stream.py): the members' tiers at
    # claim (members BatchGet, payments index Query), the redemption's store
    # and day, then a mark + counter ADD per event
    "stats_member_tiers": {
        "members": READ,
        "payments": READ,
        "coupon-redemptions": READ,
        "member-tier-marks": WRITE,
        "store-day-stats": WRITE,
    },
}

# function -> the table whose stream it consumes (read access to that stream only)
STREAM_CONSUMERS = {"stats_member_tiers": "coupons"}

# functions that send to / receive from the fan-out queue
QUEUE_SENDERS = ("campaigns_tick",)
QUEUE_CONSUMERS = ("campaigns_fanout",)
