"""Two runs computing one chain day's bands (a redelivered trigger, two
concurrent runs): the first to save wins and both use its bands."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.insights import chain
from tests.api import Api


def test_the_second_run_to_save_a_days_bands_uses_the_first_runs(api: Api) -> None:
    now = datetime(2026, 11, 24, 16, 5, tzinfo=UTC)
    first = chain.Bands(day="2026-11-25", parts=[[100, 8, 3000], [200, 8, 2500]], zones={"Asia/Shanghai": ["a", "b"]},
                        computed_at=now)
    second = chain.Bands(day="2026-11-25", parts=[[999, 8, 9000]], zones={"Asia/Shanghai": ["a", "b", "c"]},
                         computed_at=now)
    assert chain.save_bands(first, now) == first
    assert chain.save_bands(second, now).parts == first.parts  # refused: the first run's bands
    assert chain.read_bands("2026-11-25").parts == first.parts  # type: ignore[union-attr]
