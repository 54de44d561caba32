"""The one retry policy: full jitter inside a time budget.

botocore retries throttling and 5xx on a single call (see `db.py`); this
module is for what botocore cannot retry on its own: a transaction that lost
a race (`TransactionConflict`), a guarded write that must re-read, a call
whose outcome is unknown. Every such loop in the product is

    for attempt in retry.attempts():
        ...
        try: <write>; break
        except txn.Contended: continue

and sleeps `uniform(0, min(cap, base * 2**attempt))` between attempts
(AWS's "full jitter"), never past the budget of the request it serves. An
HTTP request gets `REQUEST_BUDGET_S` (under API Gateway's 29 s integration
timeout); a background job its own. When the budget is spent the loop raises
`Unavailable`: 503 `try_again` with `Retry-After`, nothing half-written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from chalicelib.errors import Unavailable

REQUEST_BUDGET_S = 20.0  # API Gateway gives up at 29 s; leave room for the answer
DEFAULT_BUDGET_S = 20.0  # outside any request (CLI, workers) unless they set their own
BASE_S = 0.004
CAP_S = 0.2

_deadline: ContextVar[float | None] = ContextVar("storeloop_retry_deadline", default=None)
_rng = random.SystemRandom()


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Every retry loop inside shares this deadline; a nested budget can only shorten it."""
    outer = _deadline.get()
    mine = time.monotonic() + seconds
    token = _deadline.set(mine if outer is None else min(outer, mine))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_s() -> float:
    deadline = _deadline.get()
    return DEFAULT_BUDGET_S if deadline is None else deadline - time.monotonic()


def delay_s(attempt: int, base_s: float = BASE_S, cap_s: float = CAP_S) -> float:
    """Full jitter: racers that collided spread out instead of colliding again."""
    return _rng.uniform(0.0, min(cap_s, base_s * 2 ** min(attempt, 16)))


def attempts(*, base_s: float = BASE_S, cap_s: float = CAP_S, what: str = "this request") -> Iterator[int]:
    """0, 1, 2, ... sleeping with full jitter before each retry; raises
    `Unavailable` instead of sleeping past the budget."""
    deadline = _deadline.get()
    if deadline is None:
        deadline = time.monotonic() + DEFAULT_BUDGET_S
    attempt = 0
    while True:
        yield attempt
        attempt += 1
        _wait(delay_s(attempt, base_s, cap_s), deadline, f"{what} is contended right now; try again")


def _wait(pause: float, deadline: float, refusal: str) -> None:
    """Sleep `pause`, or raise `Unavailable` (503 try_again) if it would end past `deadline`."""
    if time.monotonic() + pause >= deadline:
        raise Unavailable(refusal, retry_after_s=1)
    time.sleep(pause)


MAX_UNPROCESSED_PAGES = 12  # outside any budget: full-jitter waits of ~1.2 s in all, then 503


def pace_unprocessed(streak: int, *, what: str = "a batch read") -> None:
    """The back-off between a batch's pages when DynamoDB left keys
    unprocessed (BatchGetItem under throttling): PynamoDB asks again at once,
    so `db.py` calls this from botocore's after-call event, `streak` being
    how many pages in a row came back short. Full jitter as `attempts()`,
    never past the budget (`Unavailable`: 503 try_again)."""
    refusal = f"{what} is throttled right now; try again"
    if streak > MAX_UNPROCESSED_PAGES:
        raise Unavailable(refusal, retry_after_s=1)
    _wait(delay_s(streak), _deadline.get() or float("inf"), refusal)
