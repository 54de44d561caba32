"""GET /stores/nearby over the Chalice test client and moto."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.geo.coords import distance_m, wgs84_to_gcj02
from tests.api import Api, token
from tests.unit.test_geo_cells import destination

HERE = (31.2304, 121.4737)  # WGS-84, People's Square
MEMBER = token("member", "m1")


def shop(lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    return {"name": "店", "city": "上海市", "lat": lat, "lng": lng, "coord": "wgs84", **extra}


def put(api: Api, admin: str, store_id: str, at: tuple[float, float], **extra: Any) -> None:
    reply = api.put(f"/stores/{store_id}", shop(*at, **extra), as_=admin)
    assert reply.status == 200, reply.body


def nearby(api: Api, lat: float, lng: float, **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"lat": lat, "lng": lng, **params}.items())
    return api.get(f"/stores/nearby?{query}", as_=MEMBER)


def test_covering_open_stores_come_nearest_first_with_their_distance(api: Api, admin: str) -> None:
    put(api, admin, "far", destination(*HERE, 90, 800))
    put(api, admin, "near", destination(*HERE, 0, 200))
    put(api, admin, "mid", destination(*HERE, 200, 500))
    put(api, admin, "shut", destination(*HERE, 10, 100), status="closed")
    put(api, admin, "small", destination(*HERE, 45, 600), radius_m=500)  # 600 m away, covers 500 m
    put(api, admin, "big", destination(*HERE, 300, 1500), radius_m=2000)
    reply = nearby(api, *HERE)
    assert reply.status == 200, reply.body
    got = [(s["store"]["store_id"], s["distance_m"]) for s in reply.body["stores"]]
    assert [sid for sid, _ in got] == ["near", "mid", "far", "big"]
    for (_, dist), expected in zip(got, (200, 500, 800, 1500), strict=True):
        assert dist == pytest.approx(expected, abs=0.2)
    assert reply.body["stores"][0]["store"]["coord"] == "wgs84"


def test_a_3km_store_is_found_from_2_9km_in_every_direction(api: Api, admin: str) -> None:
    put(api, admin, "snack", HERE, radius_m=3000)
    for bearing in range(0, 360, 30):
        me = destination(*HERE, bearing, 2900)
        assert [s["store"]["store_id"] for s in nearby(api, *me).body["stores"]] == ["snack"], bearing
    assert nearby(api, *destination(*HERE, 0, 3100)).body["stores"] == []


def test_gcj02_in_gives_the_same_stores_and_gcj02_coordinates_out(api: Api, admin: str) -> None:
    put(api, admin, "a", destination(*HERE, 0, 300))
    put(api, admin, "b", destination(*HERE, 180, 900))
    g_lat, g_lng = wgs84_to_gcj02(*HERE)
    wgs = nearby(api, *HERE).body["stores"]
    gcj = nearby(api, g_lat, g_lng, coord="gcj02").body["stores"]
    assert [s["store"]["store_id"] for s in gcj] == [s["store"]["store_id"] for s in wgs] == ["a", "b"]
    for w, g in zip(wgs, gcj, strict=True):
        assert g["distance_m"] == pytest.approx(w["distance_m"], abs=1.0)
        assert g["store"]["coord"] == "gcj02"
        # the returned point is the store's GCJ-02 position, several hundred metres from its WGS-84 one
        assert (g["store"]["lat"], g["store"]["lng"]) == pytest.approx(
            wgs84_to_gcj02(w["store"]["lat"], w["store"]["lng"]), abs=1e-6)
        assert distance_m(g["store"]["lat"], g["store"]["lng"], w["store"]["lat"], w["store"]["lng"]) > 300


def test_the_offset_matters_a_gcj02_point_read_as_wgs84_finds_the_wrong_stores(api: Api, admin: str) -> None:
    put(api, admin, "edge", destination(*HERE, 0, 950))
    g_lat, g_lng = wgs84_to_gcj02(*HERE)
    assert [s["store"]["store_id"] for s in nearby(api, g_lat, g_lng, coord="gcj02").body["stores"]] == ["edge"]
    assert nearby(api, g_lat, g_lng).body["stores"] == []  # the same numbers as WGS-84 are ~500 m off


def test_limit_defaults_to_10_and_caps_at_50(api: Api, admin: str) -> None:
    rows = [{**shop(*destination(*HERE, i * 6.0, 10 + i * 9)), "store_id": f"s{i:02d}"} for i in range(55)]
    assert api.post("/stores/batch", {"stores": rows}, as_=admin).status == 200
    assert len(nearby(api, *HERE).body["stores"]) == 10
    assert [s["store"]["store_id"] for s in nearby(api, *HERE, limit=3).body["stores"]] == ["s00", "s01", "s02"]
    assert len(nearby(api, *HERE, limit=50).body["stores"]) == 50


def test_no_store_anywhere_is_an_empty_list(api: Api) -> None:
    reply = nearby(api, *HERE)
    assert reply.status == 200 and reply.body == {"stores": []}


BAD_PARAMS = [
    ({"lat": 91, "lng": 121}, "lat"),
    ({"lat": 31, "lng": -181}, "lng"),
    ({"lat": "north", "lng": 121}, "lat"),
    ({"lat": "nan", "lng": 121}, "lat"),
    ({"lng": 121}, "lat"),
    ({"lat": 31, "lng": 121, "coord": "bd09"}, "coord"),
    ({"lat": 31, "lng": 121, "limit": 51}, "limit"),
    ({"lat": 31, "lng": 121, "limit": 0}, "limit"),
    ({"lat": 31, "lng": 121, "limit": "ten"}, "limit"),
]


def test_bad_parameters_are_validation_errors_naming_the_field(api: Api) -> None:
    for params, field in BAD_PARAMS:  # one app for all cases: the tables are never touched
        query = "&".join(f"{k}={v}" for k, v in params.items())
        reply = api.get(f"/stores/nearby?{query}", as_=MEMBER)
        assert reply.status == 400 and reply.error_code == "validation_error", params
        assert [d["field"] for d in reply.body["error"]["details"]] == [field], params


def test_nearby_needs_a_token(api: Api) -> None:
    reply = api.get("/stores/nearby?lat=31&lng=121")
    assert reply.status == 401 and reply.error_code == "unauthenticated"


def test_stores_named_nearby_do_not_shadow_the_route(api: Api, admin: str) -> None:
    put(api, admin, "s1", HERE)
    assert api.get("/stores/s1", as_=MEMBER).body["store_id"] == "s1"
    assert nearby(api, *HERE).body["stores"][0]["store"]["store_id"] == "s1"


def test_a_polar_point_is_refused_not_scanned(api: Api, admin: str) -> None:
    put(api, admin, "s1", HERE, radius_m=5000)
    reply = nearby(api, 90, 0)
    assert reply.status == 400 and reply.body["error"]["details"][0]["field"] == "lat"
