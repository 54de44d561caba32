"""Geohash cells for the store geo index.

A store is indexed under the geohash cell of its own location at two
precisions (GSIs `by_cell5`, `by_cell6`). A nearby query covers the bounding
box of a disk whose radius is the largest store radius in use, so a 3 km
snack shop is found from 2.9 km away, and reads only the cells of that box:
the work depends on local density, never on the total number of stores.
"""

from __future__ import annotations

import math

from chalicelib.geo.coords import EARTH_RADIUS_M

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
# Slack added to every radius: stored coordinates are rounded to 7 decimals
# (~1 cm) after their cells were computed, and float edges are not exact.
EDGE_MARGIN_M = 1.0

# precision -> (lat degrees, lng degrees) spanned by one cell
_SPANS = {p: (180.0 / 2 ** ((5 * p) // 2), 360.0 / 2 ** ((5 * p + 1) // 2)) for p in range(1, 10)}


def encode(lat: float, lng: float, precision: int) -> str:
    lat_lo, lat_hi, lng_lo, lng_hi = -90.0, 90.0, -180.0, 180.0
    chars: list[str] = []
    bits, ch, even = 0, 0, True
    while len(chars) < precision:
        if even:
            mid = (lng_lo + lng_hi) / 2
            if lng >= mid:
                ch, lng_lo = (ch << 1) | 1, mid
            else:
                ch, lng_hi = ch << 1, mid
        else:
            mid = (lat_lo + lat_hi) / 2
            if lat >= mid:
                ch, lat_lo = (ch << 1) | 1, mid
            else:
                ch, lat_hi = ch << 1, mid
        even = not even
        bits += 1
        if bits == 5:
            chars.append(_BASE32[ch])
            bits, ch = 0, 0
    return "".join(chars)


def _box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float] | None:
    """Bounding box (lat_lo, lat_hi, lng_lo, lng_hi) of the spherical cap, or
    None when the cap holds a pole (every meridian crosses it then).

    Degrees come from the same sphere as `coords.distance_m`, so "inside the
    radius" means the same thing to the cover and to the exact filter (the
    111,320 m/degree used before is 0.1% too big: a 3 km cover fell ~3 m short
    due north, missing a store at a cell edge)."""
    delta = (radius_m + EDGE_MARGIN_M) / EARTH_RADIUS_M  # angular radius
    d_lat = math.degrees(delta)
    lat_lo, lat_hi = lat - d_lat, lat + d_lat
    if lat_hi >= 90.0 or lat_lo <= -90.0:
        return None
    # The widest longitude of a cap is asin(sin d / cos lat), reached slightly
    # poleward of its centre; `d / cos lat` would under-cover at high latitudes.
    d_lng = math.degrees(math.asin(min(1.0, math.sin(delta) / math.cos(math.radians(lat)))))
    return lat_lo, lat_hi, lng - d_lng, lng + d_lng


class CoverTooLarge(ValueError):
    """The cover would need more cells than allowed (near a pole, every
    longitude column is in it); raised before any cell is enumerated."""


def cells_covering(lat: float, lng: float, radius_m: float, precision: int,
                   max_cells: int | None = None) -> list[str]:
    """Every cell at `precision` that intersects the bounding box of the disk
    of `radius_m` (great-circle) around the point; handles the antimeridian
    (columns wrap) and the poles (a cap holding a pole takes whole rows)."""
    span_lat, span_lng = _SPANS[precision]
    rows, cols = round(180.0 / span_lat), round(360.0 / span_lng)
    box = _box(lat, lng, radius_m)
    if box is None:
        d_lat = math.degrees((radius_m + EDGE_MARGIN_M) / EARTH_RADIUS_M)
        lat_lo, lat_hi = max(lat - d_lat, -90.0), min(lat + d_lat, 90.0)
        col_range = range(cols)
    else:
        lat_lo, lat_hi, lng_lo, lng_hi = box
        first_col = math.floor((lng_lo + 180.0) / span_lng)
        last_col = math.floor((lng_hi + 180.0) / span_lng)
        col_range = range(first_col, min(last_col, first_col + cols - 1) + 1)
    first_row = max(math.floor((lat_lo + 90.0) / span_lat), 0)
    last_row = min(math.floor((lat_hi + 90.0) / span_lat), rows - 1)
    if max_cells is not None and (last_row - first_row + 1) * len(col_range) > max_cells:
        raise CoverTooLarge(f"more than {max_cells} cells at precision {precision}")
    cells: list[str] = []
    for row in range(first_row, last_row + 1):
        # encode each cell from its centre: a centre is never on an edge, so
        # float rounding cannot push it into a neighbour
        c_lat = -90.0 + (row + 0.5) * span_lat
        for col in col_range:
            c_lng = -180.0 + ((col % cols) + 0.5) * span_lng
            cells.append(encode(c_lat, c_lng, precision))
    return list(dict.fromkeys(cells))


def plan_cover(lat: float, lng: float, radius_m: float, max_fine_cells: int = 16,
               max_cells: int | None = None) -> tuple[int, list[str]]:
    """Pick the finer precision when it needs few queries, else the coarser one.
    Fine cells read fewer items; coarse cells need fewer queries for big radii.
    Raises CoverTooLarge when even the coarse cover exceeds `max_cells`."""
    try:
        return 6, cells_covering(lat, lng, radius_m, 6, max_cells=max_fine_cells)
    except CoverTooLarge:
        return 5, cells_covering(lat, lng, radius_m, 5, max_cells=max_cells)
