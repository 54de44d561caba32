"""The local channel: deliveries are recorded (and visible through /posts)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from chalicelib.delivery.channel import Delivered, Outcome, Target
from chalicelib.delivery.models import RecordedMessage


class RecordChannel:
    name = "record"

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Within this block (on this thread) messages are kept and written
        together by `flush` (BatchWriteItem, 25 a request) instead of a
        PutItem each. The caller flushes before it records any of them as
        sent (campaigns.delivering); messages still held when the block
        ends without a flush (an error) are dropped with their posts
        unrecorded, so those posts are re-driven and sent again."""
        self._local.held = {}
        try:
            yield
        finally:
            self._local.held = None

    def flush(self) -> None:
        held = getattr(self._local, "held", None)
        if not held:
            return
        with RecordedMessage.batch_write() as batch:
            for message in held.values():
                batch.save(message)
        held.clear()

    def send(self, target: Target, message_key: str, text: str, now: datetime) -> Outcome:
        # Keyed by the stable message key: a re-sent part overwrites itself,
        # so the record shows each message once, as a chat would after dedup.
        message = RecordedMessage(target.store_id, message_key, group_id=target.group_id, text=text, sent_at=now)
        held = getattr(self._local, "held", None)
        if held is None:
            message.save()
        else:
            held[(target.store_id, message_key)] = message
        return Delivered()


def recorded(store_id: str, post_id: str | None = None) -> list[RecordedMessage]:
    if post_id is None:
        return list(RecordedMessage.query(store_id))
    return list(RecordedMessage.query(store_id, RecordedMessage.key.startswith(f"{post_id}#")))
