from tests.api import Api, token

SHOP = {"name": "政立路店", "city": "上海市", "lat": 31.308692, "lng": 121.508437, "coord": "gcj02",
        "radius_m": 1000, "traffic_tier": "high", "spend_tier": "medium", "member_day": "FRI",
        "idle_hour": "16:00"}


def test_admin_upserts_and_anyone_reads_a_store(api: Api, admin: str) -> None:
    put = api.put("/stores/23382", SHOP, as_=admin)
    assert put.status == 200, put.body
    assert put.body["coord"] == "wgs84"
    # GCJ-02 input is stored as WGS-84: the offset in Shanghai is several hundred metres
    assert abs(put.body["lat"] - SHOP["lat"]) > 0.001 or abs(put.body["lng"] - SHOP["lng"]) > 0.003
    got = api.get("/stores/23382?coord=gcj02", as_=token("member", "m1"))
    assert got.status == 200
    assert abs(got.body["lat"] - SHOP["lat"]) < 1e-6 and abs(got.body["lng"] - SHOP["lng"]) < 1e-6
    assert got.body["name"] == "政立路店" and got.body["group_capacity"] == 200


def test_bad_fields_are_reported_one_detail_each(api: Api, admin: str) -> None:
    bad = {**SHOP, "lat": 91, "coord": "bd09", "timezone": "Mars/Base", "idle_hour": "25:00",
           "member_day": "FRIDAY", "radius_m": 0}
    reply = api.put("/stores/s1", bad, as_=admin)
    assert reply.status == 400 and reply.error_code == "validation_error"
    fields = {d["field"] for d in reply.body["error"]["details"]}
    assert fields == {"lat", "coord", "timezone", "idle_hour", "member_day", "radius_m"}


def test_members_cannot_write_stores(api: Api) -> None:
    reply = api.put("/stores/s1", SHOP, as_=token("member", "m1"))
    assert reply.status == 403 and reply.error_code == "forbidden"


def test_unknown_store_is_not_found(api: Api, admin: str) -> None:
    reply = api.get("/stores/nope", as_=admin)
    assert reply.status == 404 and reply.error_code == "not_found"
