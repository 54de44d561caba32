"""`cli backfill-bands`: stores saved before the nearby band index (no
`band`) are invisible to GET /stores/nearby until it runs; afterwards they
are found, a second run changes nothing, and a store moved between the Scan
and the update keeps the band its save wrote."""

from __future__ import annotations

import pytest

from chalicelib.cli import main
from chalicelib.cli.backfill import fill_band
from chalicelib.stores.models import StoreRecord
from tests.api import Api
from tests.functional.test_nearby_api import HERE, nearby, put
from tests.unit.test_geo_cells import destination


def without_band(store_id: str) -> None:
    """As an item written before the index (low-level: nothing else changes)."""
    StoreRecord._get_connection().update_item(store_id, actions=[StoreRecord.band.remove()])


def found(api: Api) -> set[str]:
    reply = nearby(api, *HERE)
    assert reply.status == 200, reply.body
    return {s["store"]["store_id"] for s in reply.body["stores"]}


def test_backfill_bands_makes_old_stores_nearby_again_once(api: Api, admin: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    for i, bearing in enumerate((0, 90, 180)):
        put(api, admin, f"N{i}", destination(*HERE, bearing, 300))
    without_band("N1")
    without_band("N2")
    etag = api.get("/stores/N1", as_=admin).headers["ETag"]
    assert found(api) == {"N0"}

    assert main(["backfill-bands", "--dry-run"]) == 0
    assert "stores: 2 without a band, would update 2" in capsys.readouterr().out
    assert found(api) == {"N0"}

    assert main(["backfill-bands"]) == 0
    assert "stores: 2 without a band, updated 2" in capsys.readouterr().out
    assert found(api) == {"N0", "N1", "N2"}
    assert api.get("/stores/N1", as_=admin).headers["ETag"] == etag  # not a config change

    assert main(["backfill-bands"]) == 0  # idempotent
    assert "stores: 0 without a band, updated 0" in capsys.readouterr().out


def test_a_store_moved_between_the_scan_and_the_update_keeps_its_own_band(api: Api, admin: str) -> None:
    put(api, admin, "M1", destination(*HERE, 0, 300))
    without_band("M1")
    stale = StoreRecord.get("M1", consistent_read=True)  # what the Scan read
    put(api, admin, "M1", destination(*HERE, 0, 60_000))  # moved 60 km north meanwhile: its save wrote the band
    band = StoreRecord.get("M1", consistent_read=True).band
    assert fill_band(stale) is False
    assert StoreRecord.get("M1", consistent_read=True).band == band
