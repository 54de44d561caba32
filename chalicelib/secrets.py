"""Where the JWT secret comes from in a deployed stack: an SSM Parameter
Store SecureString named by `STORELOOP_JWT_SECRET_PARAM`, read once per
Lambda container. The template holds only the parameter's name."""

from __future__ import annotations

from chalicelib.errors import ConfigError


def read_ssm_parameter(name: str, region: str) -> str:
    import boto3  # provided by the Lambda runtime; imported only when used

    try:
        reply = boto3.client("ssm", region_name=region).get_parameter(Name=name, WithDecryption=True)
    except Exception as exc:  # noqa: BLE001 - any failure here is a deployment fault
        raise ConfigError(f"cannot read the JWT secret from SSM parameter {name}: {exc}") from exc
    return str(reply["Parameter"]["Value"])
