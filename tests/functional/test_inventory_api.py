"""PUT /stores/{id}/inventory/{sku}: admin or the store's POS; clearance price shown (moto)."""

from __future__ import annotations

from tests.api import Api, token
from tests.functional.test_stores_api import SHOP

BREAD = {"name": "全麦面包", "qty": 6, "price_fen": 1800, "clearance": {"discount_percent": 30, "from": "16:00"}}


def test_the_stores_pos_sets_items_and_sees_the_clearance_price(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    pos = token("staff", "pos-1", store_id="s1")
    reply = api.put("/stores/s1/inventory/bread", BREAD, as_=pos)
    assert reply.status == 200, reply.body
    assert reply.body["clearance"] == {"discount_percent": 30, "from": "16:00"}
    assert reply.body["clearance_price_fen"] == 1260
    plain = api.put("/stores/s1/inventory/milk", {"name": "牛奶", "qty": 0, "price_fen": 900, "clearance": None},
                    as_=admin)
    assert plain.status == 200 and plain.body["clearance_price_fen"] is None
    listed = api.get("/stores/s1/inventory", as_=pos).body["items"]
    assert [i["sku"] for i in listed] == ["bread", "milk"]


def test_bad_lines_and_other_stores_are_refused(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    bad = {**BREAD, "qty": -1, "clearance": {"discount_percent": 100, "from": "4pm"}}
    reply = api.put("/stores/s1/inventory/bread", bad, as_=admin)
    assert reply.status == 400
    assert {d["field"] for d in reply.body["error"]["details"]} == {
        "qty", "clearance.discount_percent", "clearance.from"}
    assert api.put("/stores/s1/inventory/bread", BREAD, as_=token("staff", "x", store_id="s2")).status == 403
    assert api.put("/stores/s1/inventory/bread", BREAD, as_=token("member", "m")).status == 403
    assert api.put("/stores/nope/inventory/bread", BREAD, as_=admin).status == 404
