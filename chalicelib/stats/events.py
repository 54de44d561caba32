"""The coupons-stream consumer Lambda (`chalicelib.stats.events.member_tiers_stream`).
Lean: `app.py` imports it for the event source; the consumer is imported
when it runs (docs/cold_start.md)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import logs
from chalicelib.db import ensure_bound

bp = Blueprint(__name__)
# Chalice wants a string; the deployed stack points the event source at the
# coupons table's own stream (`Fn::GetAtt TableCoupons.StreamArn`, infra/template.py)
COUPONS_STREAM_ARN = "arn:aws:dynamodb:ap-east-1:000000000000:table/storeloop-coupons/stream/set-by-infra-template"


@bp.on_dynamodb_record(stream_arn=COUPONS_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON",
                       name="stats_member_tiers")
def member_tiers_stream(event: Any) -> dict[str, Any]:
    """Claims, redemptions and reversals by the member's tier at claim, from
    the coupons stream (stats/tier_stream.py; locally devtools/stream_poller.py)."""
    from chalicelib.stats import tier_stream

    with logs.invocation("member_tiers", event):
        ensure_bound()
        return tier_stream.handle_event(event.to_dict())
