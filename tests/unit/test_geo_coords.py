"""WGS-84 <-> GCJ-02 conversion and great-circle distance (pure)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.geo.coords import (
    EARTH_RADIUS_M,
    distance_m,
    from_wgs84,
    gcj02_to_wgs84,
    outside_china,
    to_wgs84,
    wgs84_to_gcj02,
)

# inside the GCJ-02 rectangle, with a margin so both ends of a round trip stay in it
china_lat = st.floats(min_value=18.0, max_value=53.0)
china_lng = st.floats(min_value=74.0, max_value=134.5)

SHANGHAI = [(31.2304, 121.4737), (31.1443, 121.8083), (31.3960, 121.2540), (30.9000, 121.9000),
            (31.2397, 121.4998), (31.0335, 121.2279)]
OUTSIDE = [(35.6812, 139.7671), (51.5074, -0.1278), (-33.8688, 151.2093), (40.7128, -74.0060),
           (1.3521, 103.8198), (0.0, 0.0), (-89.0, 120.0)]


def test_the_published_reference_vector_converts_exactly() -> None:
    # the vector every coordtransform / eviltransform implementation tests against
    lat, lng = wgs84_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lng == pytest.approx(116.41024449916938, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(china_lat, china_lng)
def test_wgs84_to_gcj02_and_back_is_within_a_metre(lat: float, lng: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lng))
    assert distance_m(lat, lng, *back) < 1.0


@settings(max_examples=300, deadline=None)
@given(china_lat, china_lng)
def test_gcj02_to_wgs84_and_back_is_within_a_metre(lat: float, lng: float) -> None:
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lat, lng))
    assert distance_m(lat, lng, *back) < 1.0


@pytest.mark.parametrize("lat,lng", SHANGHAI)
def test_the_offset_in_shanghai_is_300_to_700_metres(lat: float, lng: float) -> None:
    assert 300.0 < distance_m(lat, lng, *wgs84_to_gcj02(lat, lng)) < 700.0
    assert 300.0 < distance_m(lat, lng, *gcj02_to_wgs84(lat, lng)) < 700.0


@settings(max_examples=200, deadline=None)
@given(china_lat, china_lng)
def test_the_offset_anywhere_in_china_is_under_a_kilometre(lat: float, lng: float) -> None:
    assert distance_m(lat, lng, *wgs84_to_gcj02(lat, lng)) < 1000.0


@pytest.mark.parametrize("lat,lng", OUTSIDE)
def test_points_outside_china_pass_through_unchanged(lat: float, lng: float) -> None:
    assert outside_china(lat, lng)
    assert wgs84_to_gcj02(lat, lng) == (lat, lng)
    assert gcj02_to_wgs84(lat, lng) == (lat, lng)
    assert to_wgs84(lat, lng, "gcj02") == (lat, lng)
    assert from_wgs84(lat, lng, "gcj02") == (lat, lng)


@pytest.mark.parametrize("lat,lng", SHANGHAI[:2] + OUTSIDE[:2])
def test_wgs84_input_is_never_converted(lat: float, lng: float) -> None:
    assert to_wgs84(lat, lng, "wgs84") == (lat, lng)
    assert from_wgs84(lat, lng, "wgs84") == (lat, lng)


def test_to_and_from_wgs84_dispatch_on_the_frame() -> None:
    lat, lng = SHANGHAI[0]
    assert to_wgs84(lat, lng, "gcj02") == gcj02_to_wgs84(lat, lng)
    assert from_wgs84(lat, lng, "gcj02") == wgs84_to_gcj02(lat, lng)


def test_distance_of_one_degree_of_latitude_is_pi_r_over_180() -> None:
    assert distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M / 180, rel=1e-12)
    assert distance_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(math.pi * EARTH_RADIUS_M / 180, rel=1e-9)


def test_distance_is_symmetric_zero_on_self_and_bounded_by_half_the_circumference() -> None:
    assert distance_m(31.2, 121.4, 31.2, 121.4) == 0.0
    assert distance_m(31.2, 121.4, 39.9, 116.4) == pytest.approx(distance_m(39.9, 116.4, 31.2, 121.4))
    assert distance_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert distance_m(89.0, 0.0, -89.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_shanghai_to_beijing_is_about_1068_km() -> None:
    assert distance_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(1_067_000, rel=0.005)


def test_distance_across_the_antimeridian_is_short() -> None:
    assert distance_m(0.0, 179.999, 0.0, -179.999) == pytest.approx(222.4, abs=0.5)
