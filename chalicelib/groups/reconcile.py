"""The nightly reconcile: correct the group ledger from WeCom itself, for
whatever callbacks never arrived (WeCom gives up after 3 retries; an outage
on our side loses them).

Per store with a join way: every group WeCom lists in the join way (it
appends the groups it opens) and every group the ledger holds as active is
re-read with `groupchat/get` (the same guarded write as a callback); a group
WeCom no longer knows is retired; then the join way is re-kept. Returns what
changed, so drift is visible in the job's output and logs.

Runs nightly as the `groups_reconcile` schedule (02:30 Asia/Shanghai,
`groups/routes.py`); by hand: `python -m chalicelib.groups.reconcile [--store S]`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from chalicelib import db, logs
from chalicelib.clock import get_clock
from chalicelib.groups import join_ways, ledger
from chalicelib.wecom.client import WeComClient, get_client
from chalicelib.wecom.errors import WeComError
from chalicelib.wecom.models import StoreJoinWay

log = logs.get_logger("groups.reconcile")


@dataclass
class StoreDrift:
    store_id: str
    checked: int = 0
    added: list[str] = field(default_factory=list)  # groups WeCom had that the ledger missed
    recounted: dict[str, tuple[int, int]] = field(default_factory=dict)  # chat -> (ledger, WeCom) members
    retired: list[str] = field(default_factory=list)  # groups WeCom no longer has
    error: str | None = None


def reconcile_store(client: WeComClient, store_id: str, now: datetime) -> StoreDrift:
    drift = StoreDrift(store_id)
    way = ledger.join_way(store_id)
    if way is None or not way.config_id:
        return drift
    try:
        listed = [c for c in client.get_join_way(way.config_id).get("chat_id_list", []) if isinstance(c, str)]
        known = {c.chat_id: c for c in ledger.store_chats(store_id)}
        for chat_id in dict.fromkeys([*listed, *(c for c, chat in known.items() if chat.status == "active")]):
            drift.checked += 1
            before = known.get(chat_id) or ledger.get_chat(chat_id)
            after = ledger.sync(client, chat_id, now, store_id=store_id)
            if after is None:
                if before is not None and before.status == "active":
                    ledger.dismiss(chat_id, now)
                    drift.retired.append(chat_id)
                continue
            if before is None or before.store_id != store_id:
                drift.added.append(chat_id)
            elif int(before.member_count) != int(after.member_count):
                drift.recounted[chat_id] = (int(before.member_count), int(after.member_count))
        join_ways.refresh(client, store_id, now)
    except WeComError as exc:
        drift.error = exc.code
    if drift.added or drift.recounted or drift.retired or drift.error:
        log.warning("ledger drift corrected", extra={"fields": asdict(drift)})
    return drift


def reconcile_all(now: datetime, store_ids: list[str] | None = None) -> list[StoreDrift]:
    client = get_client()
    stores = store_ids if store_ids is not None else [w.store_id for w in StoreJoinWay.scan()]
    return [reconcile_store(client, store_id, now) for store_id in stores]


def main() -> int:
    parser = argparse.ArgumentParser(description="Correct the WeCom group ledger from WeCom itself.")
    parser.add_argument("--store", action="append", help="only these stores (repeatable)")
    args = parser.parse_args()
    db.ensure_bound()
    results = reconcile_all(get_clock().now(), args.store)
    print(json.dumps([asdict(r) for r in results], ensure_ascii=False))  # noqa: T201 - a job's report
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
