"""Refusals of the groups capability, each with its contract code."""

from __future__ import annotations

from chalicelib.errors import Conflict, StoreloopError


class NoStoreNearby(Conflict):
    code, default_message = "no_store_nearby", "no open store covers this location"


class StoreClosed(Conflict):
    code, default_message = "store_closed", "this store is closed and takes no new members"


class JoinContended(StoreloopError):
    """The join kept losing races for longer than its time budget. Nothing
    was written; the client may retry."""

    status, code, default_message = 503, "try_again", "the store is busy; try again"
