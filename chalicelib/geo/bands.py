"""Latitude bands for the store geo index (pure).

A store is indexed under the latitude band of its location (GSI `by_band`,
range key = longitude). A nearby lookup covers the bounding box of a disk
whose radius is the largest store radius in use with one Query per band
the box touches, each reading only the box's longitude span (`lng BETWEEN
lo AND hi`): the items read are the stores inside a strip a little taller
than the box, wherever the chain has its other stores. A box of height h
touches at most floor(h / HEIGHT_DEG) + 2 bands: 2 for the 1 km radius of
the demo stores, 4 at the 5 km cap (`stores.schemas.MAX_RADIUS_M`), so a
lookup is at most 4 Queries.

One index, not one per band height: CloudFormation adds one GSI per stack
update, and each GSI is another write per store save.

Geohash cells (`cells.py`) needed one Query per cell, 12 for a 1 km radius
at 31°N; a band reads a whole row of cells with one Query, because a row is
one contiguous range of a sort key."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.geo import cells

HEIGHT_DEG = 0.035  # ~3.9 km of latitude
MAX_QUERIES = 4


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


def plan(lat: float, lng: float, radius_m: float, max_queries: int = MAX_QUERIES) -> list[Range]:
    """The Queries to run; CoverTooLarge beyond `max_queries` per side of
    the antimeridian (a radius over the cap)."""
    out = ranges(lat, lng, radius_m, HEIGHT_DEG)
    if len(out) > max_queries * len({(r.lng_lo, r.lng_hi) for r in out}):
        raise CoverTooLarge(f"{len(out)} queries")
    return out
