"""The app's access token, cached in DynamoDB and shared by every Lambda
container and process (WeCom: cache it, never call `gettoken` per request,
it is rate-limited; docs/wecom.md cites the page).

Timeline of a refresh with many concurrent callers:
1. each reads the item (consistent); a valid token is used as is;
2. missing or expired: each tries to take the lease with one conditional
   update "no live lease, and the token is still the one I saw"; exactly one
   wins;
3. the winner calls `gettoken` and writes the token on condition "the lease
   is still mine" (a winner that stalled past its lease loses the write and
   just uses its token: WeCom hands the same token back within its validity);
4. the others poll the item until the new token appears or the lease runs
   out (the winner died): then they compete for the lease again.
An invalidation (errcode 40014/42001/40001) expires the token only if it is
still the one that failed, so a burst of failures causes one refresh."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import retry, txn
from chalicelib.wecom.models import WeComToken

LEASE_S = 10  # longer than a gettoken call's timeout
MARGIN_S = 300  # refresh this long before WeCom's expiry
POLL_S = 0.05

Fetch = Callable[[], tuple[str, int]]  # -> (access_token, expires_in)


def app_key(corp_id: str, secret: str) -> str:
    return hashlib.sha256(f"{corp_id}\n{secret}".encode()).hexdigest()[:32]


def _read(app: str) -> WeComToken | None:
    try:
        return WeComToken.get(app, consistent_read=True)
    except DoesNotExist:
        return None


def _take_lease(app: str, seen: str | None, me: str, now: float) -> bool:
    item = WeComToken(app)
    still_seen = (WeComToken.access_token.does_not_exist() if seen is None
                  else WeComToken.access_token == seen)
    free = WeComToken.lease_until.does_not_exist() | (WeComToken.lease_until < int(now))
    try:
        item.update(actions=[WeComToken.lease_owner.set(me), WeComToken.lease_until.set(int(now) + LEASE_S)],
                    condition=still_seen & free)
    except UpdateError as exc:
        if txn.is_condition_failure(exc):
            return False
        raise
    return True


def _store(app: str, me: str, token: str, expires_in: int, now: float) -> None:
    try:
        WeComToken(app).update(actions=[
            WeComToken.access_token.set(token),
            WeComToken.expires_at.set(int(now) + max(expires_in - MARGIN_S, 60)),
            WeComToken.lease_until.set(0), WeComToken.lease_owner.remove(),
            WeComToken.fetches.add(1),
        ], condition=WeComToken.lease_owner == me)
    except UpdateError as exc:
        if not txn.is_condition_failure(exc):
            raise


def get(app: str, fetch: Fetch, clock: Callable[[], float] = time.time) -> str:
    me = uuid.uuid4().hex
    for _ in retry.attempts(base_s=POLL_S, cap_s=0.25, what="the WeCom access token"):
        now = clock()
        item = _read(app)
        if item is not None and item.access_token and item.expires_at > now:
            return item.access_token
        if item is not None and item.lease_until and item.lease_until >= int(now) and item.lease_owner:
            continue  # someone is fetching: wait for their token
        if _take_lease(app, item.access_token if item else None, me, now):
            try:
                token, expires_in = fetch()
            except BaseException:
                _release(app, me)
                raise
            _store(app, me, token, expires_in, clock())
            return token
    raise AssertionError("unreachable")  # retry.attempts raises when the budget is spent


def _release(app: str, me: str) -> None:
    try:
        WeComToken(app).update(actions=[WeComToken.lease_until.set(0), WeComToken.lease_owner.remove()],
                               condition=WeComToken.lease_owner == me)
    except UpdateError as exc:
        if not txn.is_condition_failure(exc):
            raise


def invalidate(app: str, bad_token: str) -> None:
    """Expire the cached token, if it is still the one WeCom refused."""
    try:
        WeComToken(app).update(actions=[WeComToken.expires_at.set(0)], condition=WeComToken.access_token == bad_token)
    except UpdateError as exc:
        if not txn.is_condition_failure(exc):
            raise
