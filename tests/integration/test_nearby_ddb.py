"""Nearby on DynamoDB Local with the real Shanghai store layout (1,125 stores,
GCJ-02 in the source), checked against a brute-force great-circle answer;
and the geo index's reads do not grow with the number of stores."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from chalicelib.geo.coords import distance_m, to_wgs84, wgs84_to_gcj02
from chalicelib.stores import nearby, service
from chalicelib.stores.csv_import import DEMO_CSV, SHARED_CSV, read_rows
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.schemas import StoreRow
from tests.api import Api, token
from tests.unit.test_geo_cells import destination

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def all_rows() -> list[StoreRow]:
    # the shared file is present in CI; the built-in demo set keeps the test running without it
    return list(read_rows(SHARED_CSV if SHARED_CSV.exists() else DEMO_CSV))


def shanghai_rows() -> list[StoreRow]:
    rows = [r for r in all_rows() if r.city == "上海市"]
    if SHARED_CSV.exists():
        assert len(rows) == 1125
    return rows


def brute_force(records: list[StoreRecord], lat: float, lng: float, limit: int) -> list[tuple[str, float]]:
    hits = []
    for r in records:
        d = distance_m(lat, lng, float(r.lat), float(r.lng))
        if r.status == "open" and d <= float(r.radius_m):
            hits.append((d, r.store_id))
    return [(sid, d) for d, sid in sorted(hits)[:limit]]


def sample_points(records: list[StoreRecord], n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Mostly near stores (where the answers are long and close calls many),
    some anywhere in the area's bounding box (often empty)."""
    lats = [float(r.lat) for r in records]
    lngs = [float(r.lng) for r in records]
    points = []
    for i in range(n):
        if i % 4:
            r = rng.choice(records)
            points.append(destination(float(r.lat), float(r.lng), rng.uniform(0, 360), rng.uniform(0, 1500)))
        else:
            points.append((rng.uniform(min(lats), max(lats)), rng.uniform(min(lngs), max(lngs))))
    return points


def assert_same(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [sid for sid, _ in got] == [sid for sid, _ in expected]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert a == pytest.approx(b, abs=0.01)


@pytest.fixture
def shanghai(ddb_env: dict[str, str]) -> list[StoreRecord]:
    rows = shanghai_rows()
    # a few closed stores and a few big-radius ones, so both rules are exercised
    for i, row in enumerate(rows):
        if i % 97 == 5:
            row.status = "closed"
        if i % 113 == 7:
            row.radius_m = 2500
    return service.upsert_many([(r.store_id, r) for r in rows], NOW)


def test_nearby_matches_brute_force_on_the_shanghai_layout(shanghai: list[StoreRecord]) -> None:
    rng = random.Random(20240603)
    reads = []
    for lat, lng in sample_points(shanghai, 120, rng):
        expected = brute_force(shanghai, lat, lng, nearby.MAX_LIMIT)
        lookup = nearby.find(lat, lng, nearby.MAX_LIMIT)
        assert_same([(h.record.store_id, h.distance_m) for h in lookup.hits], expected)
        # the same point given in GCJ-02 finds the same stores
        g_lat, g_lng = wgs84_to_gcj02(lat, lng)
        via_gcj = nearby.find(*to_wgs84(g_lat, g_lng, "gcj02"), nearby.MAX_LIMIT)
        assert [h.record.store_id for h in via_gcj.hits] == [sid for sid, _ in expected]
        reads.append(lookup.items_read)
    # every lookup read a small, local part of the index, never the whole city
    # (the 40 demo stores all sit within 2 km of each other: there a lookup may read them all)
    assert max(reads) < (len(shanghai) / 2 if SHARED_CSV.exists() else len(shanghai) + 1)


def test_nearby_over_http_agrees_for_both_frames(shanghai: list[StoreRecord], api: Api) -> None:
    rng = random.Random(7)
    member = token("member", "m1")
    for lat, lng in sample_points(shanghai, 24, rng):
        expected = brute_force(shanghai, lat, lng, 10)
        reply = api.get(f"/stores/nearby?lat={lat}&lng={lng}", as_=member)
        assert reply.status == 200, reply.body
        assert_same([(s["store"]["store_id"], s["distance_m"]) for s in reply.body["stores"]],
                    [(sid, round(d, 1)) for sid, d in expected])
        g_lat, g_lng = wgs84_to_gcj02(lat, lng)
        reply = api.get(f"/stores/nearby?lat={g_lat}&lng={g_lng}&coord=gcj02&limit=10", as_=member)
        assert [s["store"]["store_id"] for s in reply.body["stores"]] == [sid for sid, _ in expected]
        assert all(s["store"]["coord"] == "gcj02" for s in reply.body["stores"])


def test_items_read_do_not_grow_with_stores_elsewhere(shanghai: list[StoreRecord]) -> None:
    rng = random.Random(11)
    points = sample_points(shanghai, 30, rng)
    before = [nearby.find(lat, lng).items_read for lat, lng in points]
    others = [r for r in all_rows() if r.city != "上海市"][:1500]
    if not others:  # demo set: synthesize stores far from Shanghai
        others = [StoreRow(store_id=f"x{i}", name="店", city="北京市", lat=39.9 + i * 1e-3, lng=116.4)
                  for i in range(500)]
    others = [r for r in others if r.radius_m <= 2500]  # the index radius stays as it was
    service.upsert_many([(r.store_id, r) for r in others], NOW)
    after = [nearby.find(lat, lng).items_read for lat, lng in points]
    assert after == before
    assert sum(before) > 0
