"""CloudWatch metrics in Embedded Metric Format (EMF): a JSON log line with an
`_aws` key, which CloudWatch Logs turns into metrics with no API call, no
agent and no extra latency. Code counts what happened (`count`), the HTTP
middleware and the schedule/queue handlers `flush` one EMF line at the end of
their invocation.

Why not Powertools' `Metrics`: it produces the same line, but importing it
costs more cold-start time than this module's whole job (see
`bench/cold_start.py`, docs/observability.md).

Every metric goes to namespace `Storeloop`, dimension `Service` (api, tick,
fanout, cli) and `Stage`; infra/template.py's alarms and dashboard read
exactly these names (`NAMES`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

NAMESPACE = "Storeloop"

# metric name -> unit. Alarms and the dashboard refer to these names.
NAMES: dict[str, str] = {
    "Requests": "Count", "ServerErrors": "Count", "ClientErrors": "Count", "Latency": "Milliseconds",
    "Claims": "Count", "SoldOuts": "Count", "Redemptions": "Count", "Reversals": "Count",
    "Joins": "Count", "Payments": "Count", "Unavailable": "Count",
    "TickRuns": "Count", "TickDuration": "Milliseconds", "PostsDue": "Count",
    "PostsSent": "Count", "PostsFailed": "Count", "PostsDuplicate": "Count",
}
# A successful answer of these operations counts as the named business event.
BUSINESS_OPERATIONS: dict[str, str] = {
    "claimCoupon": "Claims", "redeemCoupon": "Redemptions", "reverseRedemption": "Reversals",
    "joinGroup": "Joins", "postPayment": "Payments",
}
# A refusal with this code counts as the named event.
BUSINESS_CODES: dict[str, str] = {"sold_out": "SoldOuts", "try_again": "Unavailable"}

_lock = threading.Lock()
_values: dict[str, list[float]] = {}


def count(name: str, value: float = 1) -> None:
    record(name, value)


def record(name: str, value: float) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown metric {name!r}: add it to metrics.NAMES")
    with _lock:
        _values.setdefault(name, []).append(value)


def request_done(operation: str | None, status: int, latency_ms: float, code: str | None) -> None:
    """The HTTP middleware's metrics for one request, then flush."""
    count("Requests")
    record("Latency", round(latency_ms, 2))
    if status >= 500:
        count("ServerErrors")
    elif status >= 400:
        count("ClientErrors")
    if status < 400 and operation in BUSINESS_OPERATIONS:
        count(BUSINESS_OPERATIONS[operation])
    if code in BUSINESS_CODES:
        count(BUSINESS_CODES[code])
    flush("api")


def emf_document(service: str, values: dict[str, list[float]], now_ms: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_aws": {"Timestamp": now_ms if now_ms is not None else int(time.time() * 1000),
                 "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Service", "Stage"]],
                                        "Metrics": [{"Name": n, "Unit": NAMES[n]} for n in sorted(values)]}]},
        "Service": service, "Stage": os.environ.get("STORELOOP_STAGE", "local"),
    }
    for name, vals in values.items():
        # EMF takes a value or an array of values (up to 100) per metric;
        # counts are summed so one line never carries more than that.
        doc[name] = vals[0] if len(vals) == 1 else (sum(vals) if NAMES[name] == "Count" else vals[:100])
    return doc


def flush(service: str) -> dict[str, Any] | None:
    """Write what was counted since the last flush as one EMF line."""
    global _values
    with _lock:
        values, _values = _values, {}
    if not values:
        return None
    doc = emf_document(service, values)
    sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return doc
