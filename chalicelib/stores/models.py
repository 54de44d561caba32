"""Storage of store configuration and the geo index over it."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, NumberSetAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class ByCell5(GlobalSecondaryIndex["StoreRecord"]):
    class Meta:
        index_name = "by_cell5"
        projection = AllProjection()

    cell5 = UnicodeAttribute(hash_key=True)


class ByCell6(GlobalSecondaryIndex["StoreRecord"]):
    class Meta:
        index_name = "by_cell6"
        projection = AllProjection()

    cell6 = UnicodeAttribute(hash_key=True)


class ByListing(GlobalSecondaryIndex["StoreRecord"]):
    """Every store in one partition sorted by city then id: `GET /stores`
    pages through it (a city filter is a `begins_with` key condition)."""

    class Meta:
        index_name = "by_listing"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True)
    city_key = UnicodeAttribute(range_key=True)


class ByBand(GlobalSecondaryIndex["StoreRecord"]):
    """Latitude band (geo/bands.py, ~3.9 km) -> stores sorted by longitude."""

    class Meta:
        index_name = "by_band"
        projection = AllProjection()

    band = UnicodeAttribute(hash_key=True)
    lng = NumberAttribute(range_key=True)


class StoreRecord(Model):
    """A store's configuration. Coordinates are WGS-84. Counters (members,
    stock, posts) live with their own capabilities, so a config upsert never
    overwrites them."""

    BASE_NAME = "stores"

    class Meta:
        table_name = "stores"

    store_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    city = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    radius_m = NumberAttribute()
    timezone = UnicodeAttribute()
    traffic_tier = UnicodeAttribute()
    spend_tier = UnicodeAttribute()
    member_day = UnicodeAttribute(null=True)
    idle_hour = UnicodeAttribute(null=True)
    group_capacity = NumberAttribute()
    status = UnicodeAttribute()
    cell5 = UnicodeAttribute()
    cell6 = UnicodeAttribute()
    band = UnicodeAttribute(null=True)  # null only on items saved before the band index (`cli backfill-bands`)
    address = UnicodeAttribute(null=True)
    hours = UnicodeAttribute(null=True)  # opening hours, JSON (stores/hours.py dumps/loads); absent = always open
    afternoon_window = UnicodeAttribute(null=True)  # "HH:MM-HH:MM" the idle hour is chosen in (default 14:00-17:00)
    updated_at = UTCDateTimeAttribute()
    list_key = UnicodeAttribute(null=True)  # LIST_KEY: files the store in by_listing
    city_key = UnicodeAttribute(null=True)  # city + "#" + store_id

    by_cell5 = ByCell5()
    by_listing = ByListing()
    by_cell6 = ByCell6()
    by_band = ByBand()


LIST_KEY = "store"


class GeoMeta(Model):
    """One item, `max_radius`: the largest radius any store has ever had.
    Nearby queries cover that radius; it only grows (a guarded max), which
    can cost extra reads but never misses a store."""

    BASE_NAME = "geo-meta"

    class Meta:
        table_name = "geo-meta"

    key = UnicodeAttribute(hash_key=True)
    max_radius_m = NumberAttribute(null=True)
    # key "seed": the demo seed's ledger (campaigns/store_seed.py): which chunks of
    # which row set (`fingerprint`) are written, so a restart skips a complete
    # seed and an interrupted one resumes
    fingerprint = UnicodeAttribute(null=True)
    chunks = NumberAttribute(null=True)
    done = NumberSetAttribute(null=True)


MODELS = [StoreRecord, GeoMeta]
