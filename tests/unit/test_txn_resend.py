"""A re-sent transaction (same token, after an unknown outcome) must send
exactly what the first send did, also for versioned models."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute, VersionAttribute
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.txn import Transaction


class Versioned(Model):
    class Meta:
        table_name = "txn-resend-versioned"
        region = "us-east-1"

    key = UnicodeAttribute(hash_key=True)
    note = UnicodeAttribute(null=True)
    version = VersionAttribute()


def _sent(tx: Transaction) -> list[dict[str, Any]]:
    write = TransactWrite(connection=None)  # type: ignore[arg-type]  # built, never committed
    for item in tx._items:
        item.apply(write)
    return write._update_items


def test_a_resend_of_a_versioned_update_carries_one_version_increment() -> None:
    model = Versioned("k", version=3)
    tx = Transaction()
    tx.update("it", model, [Versioned.note.set("x")])
    first, second = _sent(tx), _sent(tx)
    assert first == second
    assert len(first[0]["ExpressionAttributeNames"]) == 2  # note, version: once each
