"""A store's posts and redemptions over a range of local dates, newest
first, cursor-paged (for the console's calendar and staff log).

- posts: the `campaign-posts` table's own key (hash store_id, range
  post_id = "YYYY-MM-DD.slot"): one Query with `post_id BETWEEN`.
- redemptions: the `by_store_day` GSI (hash store_id#day), one partition
  per day, walked newest day first; the cursor holds the day it stopped in
  and DynamoDB's key within it.
Never a Scan. Cursors are signed (chalicelib/pages.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from chalicelib import pages
from chalicelib.campaigns.models import PostRecord
from chalicelib.coupons.models import RedemptionRecord
from chalicelib.types import IsoDate

MAX_DAYS = 92


class RangePageQuery(pages.PageQuery):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: IsoDate = Field(alias="from")
    to: IsoDate

    @model_validator(mode="after")
    def _range(self) -> RangePageQuery:
        if self.to < self.from_:
            raise ValueError("`to` is before `from`")
        if (self.to - self.from_).days + 1 > MAX_DAYS:
            raise ValueError(f"at most {MAX_DAYS} days per request")
        return self


def posts(store_id: str, query: RangePageQuery) -> pages.Page[PostRecord]:
    # "~" sorts after every slot name, so `to`'s posts are included
    between = PostRecord.post_id.between(f"{query.from_.isoformat()}.", f"{query.to.isoformat()}.~")
    return pages.query_page(f"posts|{store_id}|{query.from_}|{query.to}", PostRecord.query, store_id, query,
                            range_condition=between, forward=False)


def redemptions(store_id: str, query: RangePageQuery) -> pages.Page[RedemptionRecord]:
    kind = f"redemptions|{store_id}|{query.from_}|{query.to}"
    state = pages.decode_cursor(kind, query.cursor) or {}
    day = date.fromisoformat(state["day"]) if "day" in state else query.to
    if not query.from_ <= day <= query.to:
        day = query.to
    start: dict[str, Any] | None = state.get("key")
    items: list[RedemptionRecord] = []
    while day >= query.from_ and len(items) < query.limit:
        results = RedemptionRecord.by_store_day.query(f"{store_id}#{day.isoformat()}", limit=query.limit - len(items),
                                                      last_evaluated_key=start, scan_index_forward=False)
        items.extend(results)
        start = results.last_evaluated_key
        if start is None:
            day -= timedelta(days=1)
    if day < query.from_:
        return pages.Page(items, None)
    return pages.Page(items, pages.encode_cursor(kind, {"day": day.isoformat(), "key": start}))
