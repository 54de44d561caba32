"""Refusals of the groups capability, each with its contract code."""

from __future__ import annotations

from chalicelib.errors import Conflict


class NoStoreNearby(Conflict):
    code, default_message = "no_store_nearby", "no open store covers this location"


class StoreClosed(Conflict):
    code, default_message = "store_closed", "this store is closed and takes no new members"
