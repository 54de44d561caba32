"""Demo payment history: deterministic, with store-specific shapes, written
through the real payment path (so every counter is what production keeps).

Shapes (pure, `hour_weights`): an "office" store peaks on weekday mornings
(08:00-10:00) and is quiet at weekends; a "mall" store peaks on weekend
afternoons and evenings; a "community" store is steadier with an evening
bump. Every store has a mid-afternoon dip whose hour varies by store, so
the idle hours differ. The kind comes from a hash of the store id (and
"office" in a name such as 大厦/中心 tips it)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.members.profile import upsert_profile
from chalicelib.payments.schemas import PaymentIn
from chalicelib.payments.service import record_payment
from chalicelib.stores import hours as store_hours
from chalicelib.stores.models import StoreRecord

KINDS = ("office", "mall", "community")
MEMBERS_PER_STORE = 12
MEMBER_SHARE = 0.4  # the rest are walk-in (non-member) payments


def kind_of(store_id: str, name: str = "") -> str:
    if any(word in name for word in ("大厦", "中心", "写字楼", "科技", "金融")):
        return "office"
    if any(word in name for word in ("广场", "万达", "商场", "城", "天地")):
        return "mall"
    return KINDS[hashlib.sha256(store_id.encode()).digest()[0] % 3]


def dip_hour(store_id: str) -> int:
    """The store's afternoon trough: 14, 15 or 16."""
    return 14 + hashlib.sha256(f"dip:{store_id}".encode()).digest()[0] % 3


def hour_weights(kind: str, weekday: int, dip: int) -> list[float]:
    """Relative orders per local hour on a weekday (0 = MON)."""
    weekend = weekday >= 5
    w = [0.0] * 24
    for h in range(6, 23):
        if kind == "office":
            base = (5.0 if 8 <= h <= 9 else 3.0 if h in (7, 10, 12, 13) else 1.5) * (0.3 if weekend else 1.0)
            base *= 1.3 if weekday == 4 else 1.0  # Friday treats
        elif kind == "mall":
            base = (4.0 if 14 <= h <= 19 else 2.0 if 11 <= h <= 21 else 0.6) * (1.8 if weekend else 0.8)
        else:
            base = 2.5 if 18 <= h <= 20 else 2.0 if 7 <= h <= 9 else 1.3
            base *= 1.2 if weekday == 5 else 1.0
        w[h] = base
    if w[dip]:
        w[dip] *= 0.45
    return w


def plan_day(store: StoreRecord, local_day: datetime, rng: random.Random, scale: float) -> list[tuple[datetime, int]]:
    """(paid_at UTC, amount_fen) for one local day, inside the opening hours."""
    week = store_hours.loads(store.hours)
    kind = kind_of(store.store_id, store.name)
    weights = hour_weights(kind, local_day.weekday(), dip_hour(store.store_id))
    tz = ZoneInfo(store.timezone)
    ticket = {"office": 3200, "mall": 4200, "community": 2600}[kind]
    out = []
    for hour, weight in enumerate(weights):
        count = int(weight * scale + rng.random())
        for _ in range(count):
            local = datetime.combine(local_day.date(), time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)
            if not store_hours.open_at_local(week, local):
                continue
            out.append((local.astimezone(UTC), max(600, int(rng.gauss(ticket, ticket * 0.3)))))
    return out


def write_history(until: datetime, days: int, limit: int, scale: float, seed: int,
                  progress: Callable[[str], None] = lambda line: None, workers: int = 8) -> int:
    stores = sorted(StoreRecord.scan(), key=lambda s: s.store_id)
    if limit:
        stores = stores[:limit]
    for store in stores:
        for i in range(MEMBERS_PER_STORE):
            upsert_profile(f"demo-{store.store_id}-{i}", f"会员{i}", None, until)
    written = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n, store in enumerate(stores, 1):
            rng = random.Random(f"{seed}:{store.store_id}")
            tz = ZoneInfo(store.timezone)
            start = (until.astimezone(tz) - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
            payments = []
            for d in range(days):
                day = start + timedelta(days=d)
                for k, (paid_at, amount) in enumerate(plan_day(store, day, rng, scale)):
                    if paid_at >= until:
                        continue
                    member = (f"demo-{store.store_id}-{rng.randrange(MEMBERS_PER_STORE)}"
                              if rng.random() < MEMBER_SHARE else None)
                    payments.append(PaymentIn(payment_id=f"demo-{store.store_id}-{day:%Y%m%d}-{k}",
                                              member_id=member, store_id=store.store_id, amount_fen=amount,
                                              paid_at=paid_at))
            list(pool.map(lambda p: record_payment(p, until), payments))
            written += len(payments)
            progress(f"demo-history: store {n}/{len(stores)} {store.store_id} "
                     f"({kind_of(store.store_id, store.name)}): {len(payments)} payments")
    return written
