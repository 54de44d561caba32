"""Latitude bands: at most 4 Queries for any allowed radius, and the cover
holds every point of the disk (pure)."""

from __future__ import annotations

import math
import random

import pytest

from chalicelib.geo import bands
from chalicelib.geo.coords import EARTH_RADIUS_M, distance_m
from chalicelib.stores.schemas import MAX_RADIUS_M


@pytest.mark.parametrize("lat", [0.0, 18.2, 31.23, 45.7, 53.4, -33.9])
@pytest.mark.parametrize("radius", [100, 1000, 2500, MAX_RADIUS_M])
def test_any_allowed_radius_needs_at_most_four_queries(lat: float, radius: int) -> None:
    for offset in (0.0, 0.0001, 0.0174, 0.0349):  # wherever the point sits inside its band
        assert 1 <= len(bands.plan(lat + offset, 121.47, radius)) <= bands.MAX_QUERIES


def test_the_demo_radius_is_two_queries_at_most() -> None:
    rng = random.Random(3)
    for _ in range(500):
        assert len(bands.plan(rng.uniform(18, 53), rng.uniform(73, 135), 1000)) <= 2


def test_every_point_of_the_disk_is_in_a_queried_range() -> None:
    rng = random.Random(5)
    for _ in range(300):
        lat, lng, radius = rng.uniform(-60, 60), rng.uniform(-179, 179), rng.uniform(50, MAX_RADIUS_M)
        plan = bands.plan(lat, lng, radius)
        for _ in range(20):  # a point at a random bearing, on or just inside the circle
            bearing, dist = rng.uniform(0, 2 * math.pi), radius * rng.uniform(0.9, 1.0)
            d = dist / EARTH_RADIUS_M
            p_lat = math.asin(math.sin(math.radians(lat)) * math.cos(d)
                              + math.cos(math.radians(lat)) * math.sin(d) * math.cos(bearing))
            p_lng = math.radians(lng) + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(math.radians(lat)),
                                                   math.cos(d) - math.sin(math.radians(lat)) * math.sin(p_lat))
            s_lat, s_lng = round(math.degrees(p_lat), 7), round(math.degrees(p_lng), 7)
            assert distance_m(lat, lng, s_lat, s_lng) <= radius + 0.5
            band = bands.band(s_lat, bands.HEIGHT_DEG)
            assert any(r.band == band and r.lng_lo <= s_lng <= r.lng_hi for r in plan), (lat, lng, radius)


def test_a_disk_across_the_antimeridian_is_split_not_lost() -> None:
    plan = bands.plan(10.0, 179.99, 3000)
    assert {(r.lng_lo < 0) for r in plan} == {True, False}
    assert any(r.lng_lo <= -179.999 for r in plan) and any(r.lng_hi >= 179.999 for r in plan)


def test_a_disk_holding_a_pole_is_refused() -> None:
    with pytest.raises(bands.CoverTooLarge):
        bands.plan(89.99, 0.0, 5000)
