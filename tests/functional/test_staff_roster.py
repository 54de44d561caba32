"""Staff tokens are bound to the roster: off the roster, moved, disabled or
revoked is 403 at once, not when the token expires (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.auth import issue_token
from chalicelib.clock import FixedClock, set_clock
from tests.api import TEST_SECRET, Api, token
from tests.functional.test_stores_api import SHOP

POSTS = "/stores/s1/posts?date=2026-11-20"


def setup(api: Api, admin: str) -> None:
    for store in ("s1", "s2"):
        assert api.put(f"/stores/{store}", SHOP, as_=admin).status == 200


def test_a_staff_token_for_someone_not_on_the_roster_is_refused(api: Api, admin: str) -> None:
    setup(api, admin)
    reply = api.get(POSTS, as_=token("staff", "ghost", store_id="s1", enroll=False))
    assert reply.status == 403 and "roster" in reply.body["error"]["message"]


def test_a_clerk_moved_to_another_store_loses_the_old_token_at_once(api: Api, admin: str) -> None:
    setup(api, admin)
    old = token("staff", "clerk", store_id="s1")
    assert api.get(POSTS, as_=old).status == 200
    assert api.put("/staff/clerk", {"store_id": "s2"}, as_=admin).status == 200
    assert api.get(POSTS, as_=old).status == 403
    fresh = token("staff", "clerk", store_id="s2", enroll=False)
    assert api.get("/stores/s2/posts?date=2026-11-20", as_=fresh).status == 200


def test_a_disabled_clerk_is_refused_and_enabled_again_works(api: Api, admin: str) -> None:
    setup(api, admin)
    clerk = token("staff", "clerk", store_id="s1")
    assert api.put("/staff/clerk", {"store_id": "s1", "status": "disabled"}, as_=admin).body["status"] == "disabled"
    assert api.get(POSTS, as_=clerk).status == 403
    assert api.put("/staff/clerk", {"store_id": "s1"}, as_=admin).body["status"] == "active"
    assert api.get(POSTS, as_=clerk).status == 200


def test_revoking_refuses_tokens_issued_before_and_not_after(api: Api, admin: str) -> None:
    setup(api, admin)
    now = datetime.now(UTC)
    token("staff", "clerk", store_id="s1")  # on the roster
    clerk = issue_token(TEST_SECRET, "clerk", "staff", now - timedelta(minutes=2), timedelta(hours=1), store_id="s1")
    assert api.get(POSTS, as_=clerk).status == 200
    set_clock(FixedClock(now - timedelta(minutes=1)))
    reply = api.post("/staff/clerk/revoke-tokens", as_=admin)
    assert reply.status == 200 and reply.body["tokens_valid_after"] is not None
    assert api.get(POSTS, as_=clerk).status == 403
    later = token("staff", "clerk", store_id="s1", enroll=False)  # signed in again: issued now
    assert api.get(POSTS, as_=later).status == 200


def test_revoking_an_unknown_staff_member_is_404(api: Api, admin: str) -> None:
    assert api.post("/staff/nobody/revoke-tokens", as_=admin).status == 404


def test_admins_and_members_are_not_roster_checked(api: Api, admin: str) -> None:
    setup(api, admin)
    assert api.get(POSTS, as_=admin).status == 200
    assert api.get("/members/me", as_=token("member", "m1")).status == 404  # no profile yet: past auth, not 403
