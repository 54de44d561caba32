"""Group ids (pure): `{store_id}.{seq}`. Store ids may contain dots, so the
seq is whatever follows the last one."""

from __future__ import annotations


def group_id(store_id: str, seq: int) -> str:
    return f"{store_id}.{seq}"


def parse_group_id(value: str) -> tuple[str, int] | None:
    store_id, dot, seq = value.rpartition(".")
    # a store never has a million groups; longer digit runs would overflow DynamoDB numbers
    if not dot or not store_id or not seq.isdigit() or seq.startswith("0") or len(seq) > 6:
        return None
    return store_id, int(seq)
