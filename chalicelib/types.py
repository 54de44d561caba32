"""Field types shared by request/response schemas (pydantic v2)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from chalicelib.geo.coords import Coord  # noqa: F401  (re-exported for schemas)

Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
WEEKDAYS: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
Tier3 = Literal["high", "medium", "low"]
MemberTier = Literal["new", "active", "loyal", "at_risk"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError("must be a 24-hour time HH:MM")
    return value


def _timezone(value: str) -> str:
    # ZoneInfo looks the one name up (cached); listing every zone costs ~10 ms per cold start
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError("must be an IANA time zone name such as Asia/Shanghai") from exc
    return value


def _iso_date(value: object) -> object:
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


def _plausible_date(value: date) -> date:
    # 9999-12-31 or 0001-01-01 overflow as soon as a range is widened or shifted to UTC
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return value


# Control characters (NUL, newlines, tabs, C1) and the line and paragraph
# separators have no place in a name, a city, a title or a nickname: they
# break group posts, the console and exports. Bidi marks stay: isolates are
# how Uyghur or Arabic text sits beside Chinese, and WeChat nicknames use
# overrides; sign-up must not refuse a member's own name.
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(value: str) -> str:
    if _NOT_IN_NAMES.search(value):
        raise ValueError("must not contain control characters (newlines, tabs, NUL) or line separators")
    return value


def printable_name(value: str) -> str:
    """A name kept from before the rule (or from a POS that does not check)
    made fit for a title: each control character a space, at most 100."""
    return " ".join(_NOT_IN_NAMES.sub(" ", value).split())[:100]


HHMM = Annotated[str, AfterValidator(_hhmm)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_plausible_date)]
EntityId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                 AfterValidator(_printable)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Fen = Annotated[int, Field(ge=0, le=100_000_000)]


def _plausible_instant(value: datetime) -> datetime:
    # year 1 or 9999 with an offset overflows on conversion to UTC
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_plausible_instant)]


def hhmm_minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)
