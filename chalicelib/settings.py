"""All configuration, read once from the environment into one typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.errors import ConfigError
from chalicelib.secrets import read_ssm_parameter

CHANNELS = ("record", "wecom")


@dataclass(frozen=True)
class Settings:
    jwt_secret: str
    table_prefix: str = "storeloop-dev-"
    dynamodb_endpoint: str | None = None  # None = real AWS
    region: str = "ap-east-1"
    channel: str = "record"
    fanout_queue: str = "storeloop-dev-fanout"  # SQS queue the tick fans out to
    # botocore's own retries per DynamoDB call (throttling, 5xx, dropped connections),
    # standard mode; then `txn`/`retry` re-send within the request's budget
    ddb_max_retries: int = 3
    ddb_read_timeout_s: float = 10.0
    cors_origins: tuple[str, ...] = ()  # console origins allowed cross-origin (none by default)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "ap-east-1"
        secret = env.get("STORELOOP_JWT_SECRET", "")
        if not secret and env.get("STORELOOP_JWT_SECRET_PARAM"):
            secret = read_ssm_parameter(env["STORELOOP_JWT_SECRET_PARAM"], region)
        if len(secret) < 32:  # RFC 7518: an HS256 key of at least 256 bits
            raise ConfigError("STORELOOP_JWT_SECRET must be set (at least 32 characters)")
        channel = env.get("STORELOOP_CHANNEL", "record")
        if channel not in CHANNELS:
            raise ConfigError(f"STORELOOP_CHANNEL must be one of {CHANNELS}, not {channel!r}")
        prefix = env.get("STORELOOP_TABLE_PREFIX", "storeloop-dev-")
        return cls(
            jwt_secret=secret,
            table_prefix=prefix,
            dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None,
            region=region,
            channel=channel,
            fanout_queue=env.get("STORELOOP_FANOUT_QUEUE", f"{prefix}fanout"),
            ddb_max_retries=_int(env, "STORELOOP_DDB_MAX_RETRIES", 3, 0, 10),
            ddb_read_timeout_s=float(_int(env, "STORELOOP_DDB_READ_TIMEOUT_S", 10, 1, 60)),
            cors_origins=tuple(o.strip() for o in env.get("STORELOOP_CORS_ORIGINS", "").split(",") if o.strip()),
        )


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI switch environments)."""
    get_settings.cache_clear()
