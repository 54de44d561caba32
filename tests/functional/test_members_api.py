from tests.api import Api, token


def test_a_member_creates_and_reads_their_profile_with_full_phone(api: Api) -> None:
    me = token("member", "m-100")
    assert api.get("/members/me", as_=me).status == 404
    put = api.put("/members/me", {"nickname": "小王", "phone": "+86 138 1234 5678"}, as_=me)
    assert put.status == 200, put.body
    assert put.body["phone"] == "13812345678" and put.body["tier"] == "new"
    got = api.get("/members/me", as_=me)
    assert got.body["nickname"] == "小王" and got.body["phone"] == "13812345678"
    assert got.body["created_at"] == put.body["created_at"]


def test_staff_and_admins_see_the_phone_masked(api: Api, admin: str) -> None:
    api.put("/members/me", {"nickname": "小李", "phone": "13912345678"}, as_=token("member", "m-200"))
    for viewer in (admin, token("staff", "clerk", store_id="s1")):
        got = api.get("/members/m-200", as_=viewer)
        assert got.status == 200 and got.body["phone"] == "139****5678"


def test_members_cannot_read_other_members(api: Api) -> None:
    reply = api.get("/members/m-200", as_=token("member", "m-300"))
    assert reply.status == 403 and reply.error_code == "forbidden"


def test_a_bad_phone_is_a_validation_error_on_that_field(api: Api) -> None:
    reply = api.put("/members/me", {"nickname": "x", "phone": "12345"}, as_=token("member", "m-1"))
    assert reply.status == 400
    assert [d["field"] for d in reply.body["error"]["details"]] == ["phone"]


def test_staff_roster_needs_an_existing_store(api: Api, admin: str) -> None:
    missing = api.put("/staff/clerk-1", {"store_id": "nowhere", "role": "clerk"}, as_=admin)
    assert missing.status == 404
    api.put("/stores/s1", {"name": "店", "city": "上海市", "lat": 31.2, "lng": 121.4}, as_=admin)
    ok = api.put("/staff/clerk-1", {"store_id": "s1", "role": "manager"}, as_=admin)
    assert ok.status == 200 and ok.body["role"] == "manager"
