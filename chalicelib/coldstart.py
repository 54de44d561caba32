"""The init step of a cold start, separate from the import.

Importing `app` only registers things: route proxies from the route table,
the event handlers, middleware; no capability, model or pydantic class.
`init()` does the work the first request would otherwise pay: settings
(and secrets from SSM), the one botocore DynamoDB client (session, service
model, endpoint ruleset) with every table model bound to it, one priming
GetItem (opens the connection: TCP and, on AWS, TLS), and with
`STORELOOP_PRELOAD=all` (the default) every capability's `routes.py` and
the pydantic validators of every route's body, query and response models.
With `none` a capability's first request imports it. `app.py` runs it at
import inside Lambda, i.e. in the function's init phase, which is where
AWS advises creating SDK clients. The tests' client does not run it, so
there the first request pays instead; `chalice local` runs `preload_all`
at start (it serves requests on threads; see app.py). docs/cold_start.md has the measured
costs of each part and of both choices.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chalicelib import db, edge
from chalicelib.errors import ConfigError
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel

PRIME_KEY = {"key": {"S": "max_radius"}}  # the geo-meta item every nearby lookup reads


def _prime() -> None:
    """One GetItem on the geo-meta table (half a read unit): the connection
    is open when the first request comes. A failure here is not fatal: the
    first request will meet it again and answer it properly."""
    from chalicelib.stores.models import GeoMeta

    try:
        db.connection().client.get_item(TableName=GeoMeta.Meta.table_name, Key=PRIME_KEY)
    except Exception:  # noqa: BLE001 - priming is an optimisation only
        pass


def route_models() -> list[type[BaseModel]]:
    """Every route's models (imports every capability's routes)."""
    from chalicelib import web

    seen: dict[type[BaseModel], None] = {}
    for spec in web.all_routes():
        for model in (spec.body, spec.query, spec.response):
            if model is not None:
                seen[model] = None
    return list(seen)


def build_validators() -> int:
    """Build the deferred pydantic validators (ApiModel's `defer_build`) of
    every route model now; returns how many were built."""
    built = 0
    for model in route_models():
        if not model.__pydantic_complete__:
            model.model_rebuild()
            built += 1
    return built


def init(prime: bool = True, preload: str | None = None) -> dict[str, float]:
    """Returns the seconds each part took. `preload` ("all" or "none")
    overrides the `STORELOOP_PRELOAD` setting. A configuration error is
    left for the first request to answer (in the error envelope), not the
    init phase."""
    took: dict[str, float] = {}
    started = time.perf_counter()
    try:
        db.ensure_bound()
        preload = preload or get_settings().preload
    except ConfigError:
        return {"client": time.perf_counter() - started}
    took["client"] = time.perf_counter() - started
    if prime:
        started = time.perf_counter()
        _prime()
        took["prime"] = time.perf_counter() - started
    if preload == "all":
        took.update(preload_all())
    return took


def preload_all() -> dict[str, float]:
    """Every capability's `routes.py`, then every route's validators (no
    settings, no DynamoDB); returns the seconds each took."""
    started = time.perf_counter()
    edge.import_route_modules()
    routes = time.perf_counter() - started
    started = time.perf_counter()
    build_validators()
    return {"routes": routes, "validators": time.perf_counter() - started}
