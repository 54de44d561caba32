"""Latitude bands for the store geo index (pure).

A store is indexed under the latitude band of its location at two band
heights (GSIs `by_band_fine`, `by_band_coarse`, range key = longitude). A
nearby lookup covers the bounding box of a disk whose radius is the largest
store radius in use with one Query per band the box touches, each reading
only the box's longitude span (`lng BETWEEN lo AND hi`): the items read are
the stores inside a strip barely larger than the box, wherever the chain
has its other stores, and the number of Queries is at most `MAX_QUERIES`
(2-3 at the fine height for a radius of up to ~1.6 km, the coarse height
up to the 5 km cap).

Geohash cells (`cells.py`) needed one Query per cell, 12 for a 1 km radius
at 31°N; a band reads a whole row of cells with one Query, because a row is
one contiguous range of a sort key."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.geo import cells

FINE_DEG = 0.01  # ~1.1 km of latitude
COARSE_DEG = 0.05  # ~5.6 km
MAX_QUERIES = 3


def band(lat: float, height_deg: float) -> str:
    return str(math.floor((lat + 90.0) / height_deg))


@dataclass(frozen=True)
class Range:
    band: str
    lng_lo: float
    lng_hi: float


class CoverTooLarge(ValueError):
    """The disk holds a pole, or would need too many Queries."""


def _lng_spans(lng_lo: float, lng_hi: float) -> list[tuple[float, float]]:
    """Split at the antimeridian."""
    if lng_hi - lng_lo >= 360.0:
        return [(-180.0, 180.0)]
    if lng_lo < -180.0:
        return [(lng_lo + 360.0, 180.0), (-180.0, lng_hi)]
    if lng_hi > 180.0:
        return [(lng_lo, 180.0), (-180.0, lng_hi - 360.0)]
    return [(lng_lo, lng_hi)]


def ranges(lat: float, lng: float, radius_m: float, height_deg: float) -> list[Range]:
    box = cells._box(lat, lng, radius_m)
    if box is None:
        raise CoverTooLarge("the disk holds a pole")
    lat_lo, lat_hi, lng_lo, lng_hi = box
    first, last = math.floor((lat_lo + 90.0) / height_deg), math.floor((lat_hi + 90.0) / height_deg)
    spans = _lng_spans(lng_lo, lng_hi)
    return [Range(str(b), lo, hi) for b in range(first, last + 1) for lo, hi in spans]


def plan(lat: float, lng: float, radius_m: float, max_queries: int = MAX_QUERIES,
         max_coarse: int = 24) -> tuple[str, list[Range]]:
    """("fine" | "coarse", the Queries to run): fine bands when they need
    at most `max_queries`, else coarse ones (fewer items per band row is
    not worth more round trips)."""
    fine = ranges(lat, lng, radius_m, FINE_DEG)
    if len(fine) <= max_queries:
        return "fine", fine
    coarse = ranges(lat, lng, radius_m, COARSE_DEG)
    if len(coarse) > max_coarse:
        raise CoverTooLarge(f"{len(coarse)} queries")
    return "coarse", coarse
