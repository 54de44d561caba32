"""HTTP routes for slot plans and posts, the scheduled trigger and the
fan-out queue consumer."""

from __future__ import annotations

from datetime import date, datetime

from chalice import Blueprint

from chalicelib import history
from chalicelib.auth import Principal
from chalicelib.campaigns import posts, schedule
from chalicelib.campaigns.errors import PostNotRetryable
from chalicelib.campaigns.models import PostRecord
from chalicelib.campaigns.schemas import DateQuery, Post, PostList, PostOffer, SlotOut, SlotPlanIn, SlotPlanOut
from chalicelib.campaigns.slots import SlotSpec
from chalicelib.clock import get_clock
from chalicelib.delivery.channel import get_channel
from chalicelib.delivery.report import group_deliveries
from chalicelib.groups.directory import store_groups
from chalicelib.schema import ApiModel
from chalicelib.settings import get_settings
from chalicelib.stores.service import get_store
from chalicelib.web import endpoint

bp = Blueprint(__name__)


def plan_view(store_id: str) -> SlotPlanOut:
    store = get_store(store_id)
    custom = schedule.custom_plan(store_id)
    plan = schedule.store_plan(store, custom)
    return SlotPlanOut(store_id=store_id, custom=custom is not None,
                       slots=[SlotOut(slot=s.slot, at=s.at, kind=s.kind) for s in plan])


@endpoint(bp, "PUT", "/stores/{store_id}/slots", summary="Set a store's daily post slots",
          roles=("admin",), body=SlotPlanIn, response=SlotPlanOut, errors=(400, 401, 403, 404))
def put_slots(principal: Principal, store_id: str, body: SlotPlanIn) -> SlotPlanOut:
    now = get_clock().now()
    store = get_store(store_id)
    specs = [SlotSpec(s.slot, s.at, s.kind) for s in body.slots]
    schedule.save_plan(store_id, specs, now)
    schedule.reindex([(store, specs)], now)
    return plan_view(store_id)


@endpoint(bp, "GET", "/stores/{store_id}/slots", summary="A store's daily post slots",
          roles=("admin", "staff"), response=SlotPlanOut, errors=(400, 401, 403, 404))
def get_slots(principal: Principal, store_id: str) -> SlotPlanOut:
    principal.require_store(store_id)
    return plan_view(store_id)


def post_view(post: PostRecord, groups: dict[str, tuple[str | None, str | None]] | None = None) -> Post:
    parts = post.sent_parts or set()
    if groups is None:
        groups = _group_channels(post.store_id)
    settings = get_settings()
    sent_groups = sorted({p.rsplit("#", 1)[0] for p in parts})
    return Post(post_id=post.post_id, slot=post.slot, kind=post.kind, local_date=date.fromisoformat(post.local_date),
                fire_at=post.fire_at, status=post.status, member_day=post.member_day == "1",  # type: ignore[arg-type]
                group_ids=list(post.group_ids or []), sent_group_ids=sent_groups, body=post.body,
                offers=[PostOffer(template_id=o.template_id, title=o.title, kind=o.kind, value=int(o.value),
                                  min_spend_fen=int(o.min_spend_fen or 0),
                                  remaining=None if o.remaining is None else int(o.remaining),
                                  claim_end=datetime.fromisoformat(o.claim_end) if o.claim_end else None,
                                  boosted=o.boosted == "1") for o in post.offers or []],
                attempts=int(post.attempts or 0), last_error=post.last_error, next_attempt_at=post.next_attempt_at,
                sent_at=post.sent_at,
                deliveries=group_deliveries(post.group_ids or [], parts, post.last_error, groups, settings.channel,
                                            settings.wecom))


def _group_channels(store_id: str) -> dict[str, tuple[str | None, str | None]]:
    return {g.group_id: (g.webhook_url, g.chat_ref) for g in store_groups(store_id)}


@endpoint(bp, "GET", "/stores/{store_id}/posts", summary="A store's posts on a local date",
          roles=("admin", "staff"), query=DateQuery, response=PostList, errors=(400, 401, 403, 404))
def list_posts(principal: Principal, store_id: str, query: DateQuery) -> PostList:
    principal.require_store(store_id)
    get_store(store_id)  # unknown ids are 404, not an empty list
    groups = _group_channels(store_id)  # one Query for the whole list
    return PostList(posts=[post_view(p, groups) for p in posts.for_day(store_id, query.date)])


@endpoint(bp, "POST", "/stores/{store_id}/posts/{post_id}/retry", summary="Re-drive a failed post now",
          roles=("admin",), response=Post, errors=(404, PostNotRetryable))
def retry_post(principal: Principal, store_id: str, post_id: str) -> Post:
    now = get_clock().now()
    posts.requeue(store_id, post_id, now)
    post = posts.take_lease(store_id, post_id, now)
    if post is None:
        raise PostNotRetryable("another worker is delivering this post")
    from chalicelib.campaigns.worker import redrive  # lazy: only this route and the workers need it (cold start)

    redrive(post, now, get_channel(get_settings()))
    return post_view(posts.get(store_id, post_id))


class PostPage(ApiModel):
    posts: list[Post]
    next_cursor: str | None


@endpoint(bp, "GET", "/stores/{store_id}/posts/history", summary="A store's posts over local dates, newest first",
          roles=("admin", "staff"), query=history.RangePageQuery, response=PostPage, errors=(400, 401, 403, 404))
def post_history(principal: Principal, store_id: str, query: history.RangePageQuery) -> PostPage:
    principal.require_store(store_id)
    get_store(store_id)
    page = history.posts(store_id, query)
    return PostPage(posts=[post_view(p) for p in page.items], next_cursor=page.next_cursor)
