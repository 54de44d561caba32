"""Geohash cells for the store geo index.

A store is indexed under the geohash cell of its own location at two
precisions (GSIs `by_cell5`, `by_cell6`). A nearby query covers the bounding
box of a disk whose radius is the largest store radius in use, so a 3 km
snack shop is found from 2.9 km away, and reads only the cells of that box:
the work depends on local density, never on the total number of stores.
"""

from __future__ import annotations

import math

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
METRES_PER_DEGREE_LAT = 111_320.0

# precision -> (lat degrees, lng degrees) spanned by one cell
_SPANS = {p: (180.0 / 2 ** ((5 * p) // 2), 360.0 / 2 ** ((5 * p + 1) // 2)) for p in range(1, 10)}


def encode(lat: float, lng: float, precision: int) -> str:
    lat_lo, lat_hi, lng_lo, lng_hi = -90.0, 90.0, -180.0, 180.0
    chars, bits, ch, even = [], 0, 0, True
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


def cells_covering(lat: float, lng: float, radius_m: float, precision: int) -> list[str]:
    """Every cell at `precision` that intersects the bounding box of the disk."""
    d_lat = radius_m / METRES_PER_DEGREE_LAT
    d_lng = radius_m / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    span_lat, span_lng = _SPANS[precision]
    lat_lo, lat_hi = max(lat - d_lat, -89.999999), min(lat + d_lat, 89.999999)
    lng_lo, lng_hi = lng - d_lng, lng + d_lng
    # snap to cell-row / cell-column centres so every row and column is visited once
    first_row = math.floor((lat_lo + 90.0) / span_lat)
    last_row = math.floor((lat_hi + 90.0) / span_lat)
    first_col = math.floor((lng_lo + 180.0) / span_lng)
    last_col = math.floor((lng_hi + 180.0) / span_lng)
    cells: list[str] = []
    for row in range(first_row, last_row + 1):
        c_lat = -90.0 + (row + 0.5) * span_lat
        for col in range(first_col, last_col + 1):
            c_lng = -180.0 + ((col + 0.5) * span_lng) % 360.0
            cells.append(encode(c_lat, c_lng, precision))
    return list(dict.fromkeys(cells))


def plan_cover(lat: float, lng: float, radius_m: float, max_fine_cells: int = 16) -> tuple[int, list[str]]:
    """Pick the finer precision when it needs few queries, else the coarser one.
    Fine cells read fewer items; coarse cells need fewer queries for big radii."""
    fine = cells_covering(lat, lng, radius_m, 6)
    if len(fine) <= max_fine_cells:
        return 6, fine
    return 5, cells_covering(lat, lng, radius_m, 5)
