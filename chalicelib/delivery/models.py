"""Storage for delivery: what the recording channel sent, and each robot's
recent send log for pacing."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.models import Model


class RecordedMessage(Model):
    """The `record` channel's outbox-as-sent: one item per message part."""

    BASE_NAME = "recorded-messages"

    class Meta:
        table_name = "recorded-messages"

    store_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # "{post_id}#{group_id}#{part}"
    group_id = UnicodeAttribute()
    text = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()


class RobotPace(Model):
    """Send times (epoch ms) of one robot in the last minute; `version`
    makes concurrent senders serialise (a lost race re-reads and retries)."""

    BASE_NAME = "robot-pace"

    class Meta:
        table_name = "robot-pace"

    robot = UnicodeAttribute(hash_key=True)  # sha256 of the webhook URL: no secrets as keys
    sent_ms: ListAttribute[int] = ListAttribute(of=NumberAttribute, default=list)  # type: ignore[arg-type]  # stubs want of=int
    version = VersionAttribute()


MODELS = [RecordedMessage, RobotPace]
