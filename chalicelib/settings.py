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
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI switch environments)."""
    get_settings.cache_clear()
