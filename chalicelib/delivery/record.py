"""The local channel: deliveries are recorded (and visible through /posts)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.delivery.channel import Delivered, Outcome, Target
from chalicelib.delivery.models import RecordedMessage


class RecordChannel:
    name = "record"

    def send(self, target: Target, message_key: str, text: str, now: datetime) -> Outcome:
        # Keyed by the stable message key: a re-sent part overwrites itself,
        # so the record shows each message once, as a chat would after dedup.
        RecordedMessage(target.store_id, message_key, group_id=target.group_id, text=text, sent_at=now).save()
        return Delivered()


def recorded(store_id: str, post_id: str | None = None) -> list[RecordedMessage]:
    if post_id is None:
        return list(RecordedMessage.query(store_id))
    return list(RecordedMessage.query(store_id, RecordedMessage.key.startswith(f"{post_id}#")))
