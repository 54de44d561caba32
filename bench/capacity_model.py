"""The cost/capacity model of docs/capacity.md, regenerated from the benches'
own numbers (their `model-inputs ...` lines), not hand-kept.

    .venv/bin/python bench/claims.py  > /tmp/claims.txt
    .venv/bin/python -m bench.nearby  > /tmp/nearby.txt
    .venv/bin/python -m bench.tick    > /tmp/tick.txt
    .venv/bin/python bench/capacity_model.py /tmp/claims.txt /tmp/nearby.txt /tmp/tick.txt > /tmp/model.md

and paste /tmp/model.md between the markers in docs/capacity.md. Without
files it uses the inputs recorded below (the run the doc quotes). Prices are
list prices, us-east-1, as cited in docs/capacity.md; change PRICES for
another region.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

# Measured on DynamoDB Local (capacity units as DynamoDB reports them, GSIs
# included, transactional items at 2x): the run quoted in docs/capacity.md.
RECORDED = {
    "claim_requests": 1.029, "claim_wcu": 18.0, "claim_rcu": 0.323,
    "redeem_requests": 1.0, "redeem_wcu": 18.0, "redeem_rcu": 0.0,
    "nearby_requests": 1.505, "nearby_items": 8.12,
    "post_items": 3.001, "post_requests": 0.192, "post_wcu": 9.0, "post_rcu": 0.531,
    # deployed, posts go through the SQS consumer (bench/tick.py's SQS section): the post row's requests
    "sqs_post_requests": 0.200,
    "quiet_tick_requests": 15, "quiet_tick_items": 1,
    # the claim transaction's shape (bench/claims.py, second model-inputs line)
    "claim_items": 6.0, "claim_template_share": 0.0, "claim_shard_share": 0.045,
    "max_shards": 99, "transaction_items": 100,
}

PRICES = {  # USD, us-east-1 list prices (docs/capacity.md, "Prices")
    "wru": 0.625 / 1e6,  # DynamoDB on-demand write request unit
    "rru": 0.125 / 1e6,  # DynamoDB on-demand read request unit
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,  # x86
    "apigw_http": 1.00 / 1e6,  # HTTP API, first 300 M/month
    "sqs": 0.40 / 1e6,  # standard queue, per 64 KB request
}

# What the model assumes (not measured here; change and regenerate).
ASSUME = {
    "lambda_memory_gb": 0.5,
    "api_ms": 40.0,  # billed duration of one API call (warm)
    "worker_ms_per_post": 250.0,  # fan-out Lambda time per due post (I/O bound)
    "stores": 10_000,
    "members": 20_000_000,
    "claims_per_member_month": 4.0,
    "redemptions_per_member_month": 2.0,
    "nearby_per_member_month": 10.0,
    "posts_per_store_day": 5,
    "ticks_per_day": 288,
    "flash_claims_per_s": 50_000,
    "partition_wcu": 1000, "partition_rcu": 3000,
    "shard_headroom": 0.5,  # plan shards to run at half a partition's write limit
}


def read_inputs(paths: list[str]) -> dict[str, float]:
    inputs = dict(RECORDED)
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.startswith("model-inputs "):
                for key, value in re.findall(r"(\w+)=([-\d.]+)", line):
                    inputs[key] = float(value)
    return inputs


def api_call_usd(wcu: float, rcu: float) -> dict[str, float]:
    lam = PRICES["lambda_request"] + ASSUME["lambda_memory_gb"] * ASSUME["api_ms"] / 1000 * PRICES["lambda_gb_s"]
    return {"dynamodb": wcu * PRICES["wru"] + rcu * PRICES["rru"], "lambda": lam, "api_gateway": PRICES["apigw_http"]}


def money(x: float) -> str:
    return f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


def main(argv: list[str]) -> None:
    i = read_inputs(argv)
    rows = []
    per = {
        "claim": api_call_usd(i["claim_wcu"], i["claim_rcu"]),
        "redemption": api_call_usd(i["redeem_wcu"], i["redeem_rcu"]),
        # eventually consistent Queries: 0.5 RRU per 4 KB read, at least per Query (~0.6 KB per store item)
        "nearby lookup": api_call_usd(0.0, 0.5 * max(i["nearby_requests"], math.ceil(i["nearby_items"] * 0.6 / 4))),
    }
    post_lambda = (ASSUME["lambda_memory_gb"] * ASSUME["worker_ms_per_post"] / 1000 * PRICES["lambda_gb_s"]
                   + PRICES["lambda_request"] / 25)  # one invocation per SQS batch of up to 25 stores
    per["post"] = {"dynamodb": i["post_wcu"] * PRICES["wru"] + i["post_rcu"] * PRICES["rru"],
                   "lambda": post_lambda, "api_gateway": 0.0,
                   # send (SendMessageBatch of 10) + Lambda's receive and delete (batches of up to 25), per message
                   "sqs": (0.1 + 2 / 25) * PRICES["sqs"]}
    print("| per operation | DynamoDB requests | WRU | RRU | DynamoDB | Lambda | API GW / SQS | total per million |")
    print("|---|---|---|---|---|---|---|---|")
    units = {"claim": (i["claim_requests"], i["claim_wcu"], i["claim_rcu"]),
             "redemption": (i["redeem_requests"], i["redeem_wcu"], i["redeem_rcu"]),
             "nearby lookup": (i["nearby_requests"], 0.0, per["nearby lookup"]["dynamodb"] / PRICES["rru"]),
             "post": (i.get("sqs_post_requests", i["post_requests"]), i["post_wcu"], i["post_rcu"])}
    for name, cost in per.items():
        req, w, r = units[name]
        total = sum(cost.values())
        rows.append((name, total))
        edge = cost.get("api_gateway", 0.0) + cost.get("sqs", 0.0)
        print(f"| {name} | {req:.2f} | {w:.1f} | {r:.2f} | {money(cost['dynamodb'] * 1e6)} | "
              f"{money(cost['lambda'] * 1e6)} | {money(edge * 1e6)} | {money(total * 1e6)} |")
    a = ASSUME
    month_claims = a["members"] * a["claims_per_member_month"]
    month_redeem = a["members"] * a["redemptions_per_member_month"]
    month_nearby = a["members"] * a["nearby_per_member_month"]
    month_posts = a["stores"] * a["posts_per_store_day"] * 30
    tick = (a["ticks_per_day"] * 30 * (i["quiet_tick_requests"] * PRICES["rru"] * 0.5 + PRICES["lambda_request"]
                                       + a["lambda_memory_gb"] * 0.3 * PRICES["lambda_gb_s"]))
    cost = dict(rows)
    lines = [("claims", month_claims, cost["claim"]), ("redemptions", month_redeem, cost["redemption"]),
             ("nearby lookups", month_nearby, cost["nearby lookup"]), ("posts", month_posts, cost["post"])]
    print()
    print(f"| a month, {a['stores']:,} stores, {a['members']:,} members | count | cost |")
    print("|---|---|---|")
    total = tick
    for name, count, unit in lines:
        print(f"| {name} | {count:,.0f} | {money(count * unit)} |")
        total += count * unit
    print(f"| ticks ({a['ticks_per_day']}/day, quiet part) | {a['ticks_per_day'] * 30:,} | {money(tick)} |")
    print(f"| **total** | | **{money(total)}** |")
    per_store_day = (a["posts_per_store_day"] * cost["post"]
                     + (month_claims * cost["claim"] + month_redeem * cost["redemption"]) / 30 / a["stores"])
    print(f"| per store per day (its posts + its share of claims and redemptions) | | {money(per_store_day)} |")

    flash_sale(i, cost["claim"])


def flash_sale(i: dict[str, float], claim_usd: float) -> None:
    """Where the partition limits bite at `flash_claims_per_s` on one offer."""
    a = ASSUME
    rate = a["flash_claims_per_s"]
    per_shard_max = a["partition_wcu"] / 2  # a <= 1 KB shard update in a transaction = 2 WCU
    per_shard = per_shard_max * a["shard_headroom"]
    max_shards = int(i["max_shards"])
    template_max, template_planned = max_shards * per_shard_max, max_shards * per_shard
    shards_needed = math.ceil(rate / per_shard)
    templates = math.ceil(rate / template_planned)
    shards_each = math.ceil(shards_needed / templates)
    containers = rate * a["api_ms"] / 1000
    print()
    print(f"| flash sale: {rate:,} claims/s on one offer | need |")
    print("|---|---|")
    print(f"| claim transaction (measured) | {i['claim_items']:.0f} items, {i['claim_wcu']:.0f} WRU; the template "
          f"item in {i['claim_template_share']:.0%} of claim transactions (its version guard is on the stock shard), "
          f"the busiest stock shard in {i['claim_shard_share']:.1%} |")
    print(f"| one stock shard: 2 WCU per claim, {a['partition_wcu']} WCU per partition | "
          f"{per_shard_max:.0f} claims/s at the limit, {per_shard:.0f} at {a['shard_headroom']:.0%} headroom |")
    print(f"| stock shards for {rate:,} claims/s | {math.ceil(rate / per_shard_max)} at the limit, "
          f"{shards_needed} at {a['shard_headroom']:.0%} headroom |")
    print(f"| shards one template can have (it and its shards are saved in one "
          f"{int(i['transaction_items'])}-item transaction) | {max_shards}: {template_max:,.0f} claims/s at the "
          f"limit, {template_planned:,.0f} at {a['shard_headroom']:.0%} headroom |")
    print(f"| so the offer runs as | {templates} templates of {shards_each} shards (a member limit then holds per "
          f"template, not per offer), or one template of {max_shards} shards at {rate / template_max:.0%} of the "
          f"partition limit: does not fit |")
    stock_wru = rate * 2  # every claim's shard update, 2 WCU
    warm = stock_wru / a["shard_headroom"]
    print(f"| shard keys: each shard its own partition key (`<template_id>#<shard>`) | spread over partitions from "
          f"the start: stock writes {stock_wru:,.0f} WRU/s, so pre-warm coupon-stock to >= {warm:,.0f} WRU/s "
          f"(~{warm / a['partition_wcu']:,.0f} partitions for the hashed shards to land on). Templates created "
          f"before keep one item collection: {per_shard_max:.0f} claims/s until DynamoDB splits it for heat |")
    print(f"| the template item | {rate * i['claim_template_share'] * 2:,.0f} WCU/s from claims; "
          f"{containers:,.0f} strongly consistent reads in a burst when the containers fill their caches "
          f"and again after every save (vs {a['partition_rcu']} RCU/s per partition); a save writes "
          f"{1 + shards_each} items ({2 * (1 + shards_each)} WCU) |")
    print(f"| store items (store terms check, day stats), spread over {a['stores']:,} stores | "
          f"{rate / a['stores']:.0f} claims/s per store; one store alone tops out at {per_shard_max:.0f} |")
    print(f"| table write units/s, all claim items (measured {i['claim_wcu']:.0f} WRU per claim) | "
          f"{rate * i['claim_wcu']:,.0f} |")
    print(f"| coupons table + its GSIs write units/s (6 per claim) | {rate * 6:,.0f} |")
    print(f"| claim-count items: one per member, spread | {rate * 2:,.0f} WRU/s over {rate:,} keys |")
    print(f"| Lambda concurrency at {a['api_ms']:.0f} ms per claim | {containers:,.0f} |")
    print(f"| sale cost per minute | {money(rate * 60 * claim_usd)} |")

if __name__ == "__main__":
    main(sys.argv[1:])
