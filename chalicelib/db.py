"""Binding PynamoDB models to this deployment's tables.

Table names are `STORELOOP_TABLE_PREFIX + base name`, bound lazily on first
use (never at import time) so two stacks can share one DynamoDB and tests can
point the same models at DynamoDB Local or moto. Each capability lists its
models in its `models.py` as `MODELS`; `MODEL_MODULES` names those modules.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TableError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.settings import Settings, get_settings

MODEL_MODULES = (
    "chalicelib.stores.models",
    "chalicelib.staff.models",
    "chalicelib.members.models",
    "chalicelib.groups.models",
    "chalicelib.coupons.models",
    "chalicelib.campaigns.models",
    "chalicelib.delivery.models",
    "chalicelib.payments.models",
    "chalicelib.stats.models",
    "chalicelib.inventory.models",
    "chalicelib.idempotency",
    "chalicelib.wecom.models",
    "chalicelib.insights.models",
)

_bound_to: Settings | None = None
_connection: Connection | None = None


def all_models() -> list[type[Model]]:
    models: list[type[Model]] = []
    for name in MODEL_MODULES:
        models.extend(importlib.import_module(name).MODELS)
    return models


def table_name(model: type[Model], settings: Settings) -> str:
    return settings.table_prefix + model.BASE_NAME  # type: ignore[attr-defined]


def bind(settings: Settings) -> None:
    """Point every model at this deployment's tables, sharing one botocore
    client: PynamoDB would otherwise build a client (and load the DynamoDB
    service model, ~100 ms) per model class, on every cold start."""
    global _bound_to, _connection
    _connection = Connection(region=settings.region, host=settings.dynamodb_endpoint,
                             max_retry_attempts=settings.ddb_max_retries, connect_timeout_seconds=2,
                             read_timeout_seconds=settings.ddb_read_timeout_s)
    _connection.client.meta.events.register("after-call.dynamodb.BatchGetItem", _pace_unprocessed_keys,
                                            unique_id="storeloop-pace-unprocessed")
    for model in all_models():
        model.Meta.table_name = table_name(model, settings)
        model.Meta.host = settings.dynamodb_endpoint
        model.Meta.region = settings.region
        model.Meta.max_retry_attempts = settings.ddb_max_retries
        model._connection = None  # drop a connection made for other settings
        model._get_connection().connection._client = _connection.client
    _bound_to = settings


_short_pages = threading.local()  # per thread: BatchGetItem pages in a row that left keys unprocessed


def _pace_unprocessed_keys(parsed: dict[str, Any] | None = None, **_: Any) -> None:
    """PynamoDB's `batch_get` asks again for unprocessed keys at once, in a
    loop with no pause; DynamoDB's advice is an exponential back-off. Here,
    after each BatchGetItem answer: a short page waits (`retry.pace_unprocessed`,
    503 past the budget), a full one resets the streak."""
    from chalicelib import retry  # not at import: `import app` loads db.py and stays lean (docs/cold_start.md)

    if not (parsed and parsed.get("UnprocessedKeys")):
        _short_pages.streak = 0
        return
    _short_pages.streak = getattr(_short_pages, "streak", 0) + 1
    try:
        retry.pace_unprocessed(_short_pages.streak)
    except retry.Unavailable:
        _short_pages.streak = 0  # this read gives up; the next starts afresh
        raise


def connection() -> Connection:
    """The shared connection, for `TransactWrite(connection=db.connection())`."""
    ensure_bound()
    assert _connection is not None
    return _connection


def transact_write(**kwargs: Any) -> TransactWrite:
    return TransactWrite(connection=connection(), **kwargs)


def ensure_bound() -> None:
    settings = get_settings()
    if _bound_to is not settings:
        bind(settings)


def _existing_tables() -> set[str]:
    names: set[str] = set()
    start: str | None = None
    while True:
        page = connection().list_tables(exclusive_start_table_name=start)
        names.update(page.get("TableNames", []))
        start = page.get("LastEvaluatedTableName")
        if not start:
            return names


def create_tables() -> list[str]:
    """Create every missing table (idempotent, safe to run concurrently)."""
    ensure_bound()
    existing = _existing_tables()
    created = []
    for model in all_models():
        if model.Meta.table_name in existing:
            continue
        try:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
        except TableError as exc:  # another process created it first
            if "ResourceInUse" not in str(exc.cause) and "already exists" not in str(exc):
                raise
    return created


def _hash_first(key_schema: list[Any]) -> list[Any]:
    return sorted(key_schema, key=lambda key: key["KeyType"] != "HASH")


def cfn_table(model: type[Model]) -> dict[str, Any]:
    """The CloudFormation resource for a model, from the same schema
    `create_tables` uses, so the deployed tables cannot drift from the code."""
    schema = model._get_schema()
    props: dict[str, Any] = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": list(schema["attribute_definitions"]),
        "KeySchema": _hash_first(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    gsis = [{"IndexName": index["index_name"], "KeySchema": _hash_first(index["key_schema"]),
             "Projection": index["projection"]} for index in schema["global_secondary_indexes"]]
    if gsis:
        props["GlobalSecondaryIndexes"] = gsis
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream is not None:  # create_table enables the same stream (PynamoDB reads Meta.stream_view_type)
        props["StreamSpecification"] = {"StreamViewType": stream}
    ttl = model._ttl_attribute()
    if ttl is not None:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    return props
