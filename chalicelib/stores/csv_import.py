"""Reading store lists in the public store-locator CSV format (the demo and
test data): one `StoreRow` per line, coordinates marked GCJ-02.

The address (line 3, the full street address) and the published opening
hours are kept. Traffic and spend tiers, member days and idle hours are not
in the source;
they are assigned deterministically from the store id so every run of the
demo sees the same 千店千券 spread."""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from chalicelib.stores.schemas import StoreRow

DEMO_CSV = Path(__file__).with_name("demo_stores.csv")
SHARED_CSV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cn_starbucks_stores_2024-06-03.csv"
_TIERS = ("high", "medium", "low")
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _pick(store_id: str, salt: str, choices: tuple[str, ...]) -> str:
    digest = hashlib.sha256(f"{salt}:{store_id}".encode()).digest()
    return choices[digest[0] % len(choices)]


def hours_from_csv(open_text: str, close_text: str) -> dict[str, list[str]] | None:
    """`today_open_time`/`today_close_time` ("07:00:00", "22:00:00"): the
    locator publishes one day, applied to every weekday. "00:00:00" closing
    is midnight (an overnight interval: close <= open); equal times are
    round the clock. Missing or malformed -> None (unknown: never gated)."""
    opening, closing = open_text.strip()[:5], close_text.strip()[:5]
    if len(opening) != 5 or len(closing) != 5 or opening[2] != ":" or closing[2] != ":":
        return None
    span = f"{opening}-{closing}"
    return {day: [span] for day in _DAYS}


def row_from_csv(line: dict[str, str]) -> StoreRow:
    store_id = line["store_id"].strip()
    city = line["city"].strip() or "未知"
    in_xinjiang = "新疆" in line.get("street_address_line1", "") or city == "乌鲁木齐市"
    return StoreRow(
        store_id=store_id, name=line["name"].strip()[:100], city=city[:100],
        lat=float(line["latitude"]), lng=float(line["longitude"]), coord="gcj02",
        radius_m=1000, timezone="Asia/Urumqi" if in_xinjiang else "Asia/Shanghai",
        traffic_tier=_pick(store_id, "traffic", _TIERS),  # type: ignore[arg-type]
        spend_tier=_pick(store_id, "spend", _TIERS),  # type: ignore[arg-type]
        member_day=_pick(store_id, "member_day", _DAYS),  # type: ignore[arg-type]
        idle_hour="16:00", group_capacity=200, status="open",
        address=(line.get("street_address_line3") or line.get("street_address_line1") or "").strip()[:300] or None,
        hours=hours_from_csv(line.get("today_open_time", ""), line.get("today_close_time", "")),  # type: ignore[arg-type]
    )


def read_rows(path: Path) -> Iterator[StoreRow]:
    with path.open(newline="", encoding="utf-8") as handle:  # newline="" keeps quoted CRLFs inside fields
        for line in csv.DictReader(handle):
            yield row_from_csv(line)


def default_source() -> Path:
    """`STORELOOP_SEED_CSV` when set, else the full shared data set when it is
    beside the repo, else the built-in demo set."""
    chosen = os.environ.get("STORELOOP_SEED_CSV")
    if chosen:
        return Path(chosen)
    return SHARED_CSV if SHARED_CSV.exists() else DEMO_CSV
