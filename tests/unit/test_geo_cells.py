"""Geohash cells and the cover a nearby query reads (pure)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.geo import cells
from chalicelib.geo.coords import EARTH_RADIUS_M, distance_m


def destination(lat: float, lng: float, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    """The point `dist_m` from (lat, lng) along a great circle (the inverse of distance_m)."""
    d, b = dist_m / EARTH_RADIUS_M, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lng)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def test_encode_matches_known_geohashes() -> None:
    assert cells.encode(57.64911, 10.40744, 9) == "u4pruydqq"  # the Wikipedia example
    assert cells.encode(31.2304, 121.4737, 6) == "wtw3sj"
    assert cells.encode(0.0, 0.0, 5) == "s0000"
    assert cells.encode(-90.0, -180.0, 5) == "00000"
    assert cells.encode(90.0, 180.0, 5) == "zzzzz"


def test_a_cell6_is_the_prefix_of_its_cell5() -> None:
    assert cells.encode(31.2304, 121.4737, 6)[:5] == cells.encode(31.2304, 121.4737, 5)


@settings(max_examples=600, deadline=None)
@given(lat=st.floats(-89.9, 89.9), lng=st.floats(-180.0, 180.0), radius=st.floats(1.0, 5000.0),
       bearing=st.floats(0.0, 360.0), fraction=st.floats(0.0, 1.0), precision=st.sampled_from([5, 6]))
def test_every_point_within_the_radius_is_in_a_covered_cell(lat: float, lng: float, radius: float, bearing: float,
                                                             fraction: float, precision: int) -> None:
    p_lat, p_lng = destination(lat, lng, bearing, radius * fraction)
    assert distance_m(lat, lng, p_lat, p_lng) <= radius * 1.000001
    assert cells.encode(p_lat, p_lng, precision) in cells.cells_covering(lat, lng, radius, precision)


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(18.0, 54.0), lng=st.floats(73.0, 135.0), radius=st.floats(1.0, 5000.0),
       bearing=st.floats(0.0, 360.0))
def test_the_rim_of_the_disk_is_covered_by_the_plan(lat: float, lng: float, radius: float, bearing: float) -> None:
    precision, plan = cells.plan_cover(lat, lng, radius)
    p_lat, p_lng = destination(lat, lng, bearing, radius)
    assert cells.encode(p_lat, p_lng, precision) in plan


@pytest.mark.parametrize("bearing", [0.0, 90.0, 180.0, 270.0, 45.0, 135.0])
def test_a_3km_store_is_covered_from_2_9km_away(bearing: float) -> None:
    store = (31.2304, 121.4737)
    me = destination(*store, bearing, 2900.0)
    precision, plan = cells.plan_cover(*me, 3000.0)
    assert cells.encode(*store, precision) in plan


def test_due_north_at_the_radius_is_covered_with_the_same_sphere_as_the_distance() -> None:
    # a point exactly 2,999.5 m due north, placed just past a cell6 row edge
    span_lat = 180.0 / 2 ** 15
    edge = math.floor((31.23 + 90.0) / span_lat) * span_lat - 90.0
    north = edge + 1e-9
    south = north - math.degrees(2999.5 / EARTH_RADIUS_M)
    assert distance_m(south, 121.47, north, 121.47) < 3000.0
    assert cells.encode(north, 121.47, 6) in cells.cells_covering(south, 121.47, 3000.0, 6)


def test_the_cover_wraps_across_the_antimeridian() -> None:
    cover = cells.cells_covering(0.0, 179.999, 2000.0, 6)
    assert cells.encode(0.0, -179.999, 6) in cover
    assert cells.encode(0.0, 179.999, 6) in cover
    west = cells.cells_covering(-10.0, -179.999, 2000.0, 5)
    assert cells.encode(-10.0, 179.995, 5) in west


def test_a_cap_holding_a_pole_takes_every_longitude() -> None:
    cover = set(cells.cells_covering(89.99, 0.0, 5000.0, 5))
    for lng in range(-180, 180, 7):
        assert cells.encode(89.99, float(lng), 5) in cover
    south = set(cells.cells_covering(-89.99, 45.0, 3000.0, 5))
    assert cells.encode(-89.999, -135.0, 5) in south


def test_high_latitudes_widen_the_cover_instead_of_missing_stores() -> None:
    # at 80 degrees a 5 km disk spans ~0.26 degrees of longitude either side; the rim must stay covered
    lat, lng = 80.0, 10.0
    for bearing in (60.0, 90.0, 120.0, 270.0):
        point = destination(lat, lng, bearing, 4999.0)
        assert cells.encode(*point, 5) in cells.cells_covering(lat, lng, 5000.0, 5)


def test_cells_are_unique() -> None:
    for lat, lng, radius in [(31.23, 121.47, 1000.0), (0.0, 179.99, 5000.0), (89.99, 0.0, 5000.0)]:
        cover = cells.cells_covering(lat, lng, radius, 5)
        assert len(cover) == len(set(cover))


def test_plan_prefers_few_fine_cells_for_a_1km_radius_and_coarse_cells_for_5km() -> None:
    assert cells.plan_cover(31.2304, 121.4737, 1000.0)[0] == 6
    precision, plan = cells.plan_cover(31.2304, 121.4737, 5000.0)
    assert precision == 5 and len(plan) <= 16


@pytest.mark.parametrize("lat", [18.0, 31.0, 40.0, 53.5])
def test_queries_per_lookup_stay_small_across_china(lat: float) -> None:
    for radius in (500.0, 1000.0, 3000.0, 5000.0):
        assert len(cells.plan_cover(lat, 110.0, radius)[1]) <= 20


def test_a_cover_too_large_is_refused_before_it_is_built() -> None:
    with pytest.raises(cells.CoverTooLarge):
        cells.cells_covering(90.0, 0.0, 5000.0, 6, max_cells=100)
    with pytest.raises(cells.CoverTooLarge):
        cells.plan_cover(89.9, 0.0, 5000.0, max_cells=100)
    assert len(cells.plan_cover(53.5, 134.0, 5000.0, max_cells=100)[1]) <= 20
