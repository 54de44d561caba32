"""All configuration, read once from the environment into one typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from chalicelib.errors import ConfigError
from chalicelib.secrets import read_ssm_parameter

CHANNELS = ("record", "wecom")
WECOM_MODES = ("off", "emulator", "live")
WECOM_API_BASE = "https://qyapi.weixin.qq.com"
WEBHOOK_HOSTS = ("qyapi.weixin.qq.com",)
# Lambda's init phase (chalicelib/coldstart.py): `all` imports every capability
# and builds its validators there; `none` leaves each to its first request.
PRELOADS = ("all", "none")


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
    wecom: str = "off"  # off | emulator | live (docs/wecom.md)
    wecom_api_base: str = WECOM_API_BASE
    wecom_corp_id: str = ""
    wecom_secret: str = field(default="", repr=False)  # secrets never in a repr (or a log line)
    wecom_callback_token: str = field(default="", repr=False)
    wecom_aes_key: str = field(default="", repr=False)  # the 43-character EncodingAESKey
    # robot webhook hosts; an entry "http://host:port" (exact) also allows plain http to it (tests, the emulator)
    webhook_hosts: tuple[str, ...] = WEBHOOK_HOSTS
    insights_weeks: int = 8  # N: the store insights look at the last N complete local weeks
    preload: str = "all"  # STORELOOP_PRELOAD: what Lambda's init phase imports (docs/cold_start.md)

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
        wecom = _wecom_settings(env, region)
        preload = env.get("STORELOOP_PRELOAD") or "all"
        if preload not in PRELOADS:
            raise ConfigError(f"STORELOOP_PRELOAD must be one of {PRELOADS}, not {preload!r}")
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
            **wecom,
            insights_weeks=_int(env, "STORELOOP_INSIGHTS_WEEKS", 8, 1, 52),
            preload=preload,
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


def _secret(env: dict[str, str], name: str, region: str) -> str:
    """`NAME` itself, or the SSM SecureString named by `NAME_PARAM` (deployed stacks)."""
    value = env.get(name, "")
    if not value and env.get(f"{name}_PARAM"):
        value = read_ssm_parameter(env[f"{name}_PARAM"], region)
    return value


def _wecom_settings(env: dict[str, str], region: str) -> dict:
    mode = env.get("STORELOOP_WECOM", "off")
    if mode not in WECOM_MODES:
        raise ConfigError(f"STORELOOP_WECOM must be one of {WECOM_MODES}, not {mode!r}")
    hosts = tuple(h.strip().lower() for h in env.get("STORELOOP_WEBHOOK_HOSTS", "").split(",") if h.strip())
    values: dict = {"wecom": mode, "webhook_hosts": hosts or WEBHOOK_HOSTS,
                    "wecom_api_base": (env.get("STORELOOP_WECOM_API_BASE") or WECOM_API_BASE).rstrip("/")}
    if mode == "off":
        return values
    values.update(
        wecom_corp_id=env.get("STORELOOP_WECOM_CORP_ID", ""),
        wecom_secret=_secret(env, "STORELOOP_WECOM_SECRET", region),
        wecom_callback_token=_secret(env, "STORELOOP_WECOM_CALLBACK_TOKEN", region),
        wecom_aes_key=_secret(env, "STORELOOP_WECOM_AES_KEY", region),
    )
    missing = [name for name, key in (("STORELOOP_WECOM_CORP_ID", "wecom_corp_id"),
                                      ("STORELOOP_WECOM_SECRET", "wecom_secret"),
                                      ("STORELOOP_WECOM_CALLBACK_TOKEN", "wecom_callback_token"),
                                      ("STORELOOP_WECOM_AES_KEY", "wecom_aes_key")) if not values[key]]
    if missing:
        raise ConfigError(f"STORELOOP_WECOM={mode} needs {', '.join(missing)}")
    if len(values["wecom_aes_key"]) != 43:
        raise ConfigError("STORELOOP_WECOM_AES_KEY must be the 43-character EncodingAESKey")
    if mode == "live" and not values["wecom_api_base"].startswith("https://"):
        raise ConfigError("STORELOOP_WECOM=live needs an https STORELOOP_WECOM_API_BASE")
    return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI switch environments)."""
    get_settings.cache_clear()
