"""Member profiles: phone validation and masking (pure), and the upsert."""

from __future__ import annotations

import re
from datetime import datetime

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib.errors import NotFound
from chalicelib.members.models import MemberRecord

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def normalise_phone(raw: str) -> str:
    """Mainland mobile numbers, with or without +86; spaces and dashes allowed."""
    match = _MOBILE.match(re.sub(r"[\s-]", "", raw))
    if not match:
        raise ValueError("must be a mainland China mobile number (11 digits starting 13-19)")
    return match.group(1)


def mask_phone(phone: str | None) -> str | None:
    return None if phone is None else f"{phone[:3]}****{phone[-4:]}"


def upsert_profile(member_id: str, nickname: str, phone: str | None, now: datetime) -> MemberRecord:
    """Only the profile fields are written (an UpdateItem, not a Put), so a
    concurrent group join or payment on the same member is never overwritten."""
    record = MemberRecord(member_id)
    actions: list[Action] = [
        MemberRecord.nickname.set(nickname),
        MemberRecord.updated_at.set(now),
        MemberRecord.created_at.set(MemberRecord.created_at | now),
    ]
    actions.append(MemberRecord.phone.set(phone) if phone is not None else MemberRecord.phone.remove())
    record.update(actions=actions)
    return record


def get_member(member_id: str) -> MemberRecord:
    try:
        return MemberRecord.get(member_id)
    except DoesNotExist as exc:
        raise NotFound(f"member {member_id} not found") from exc
