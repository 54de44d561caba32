"""Validating a WeCom group-robot webhook URL (pure). The delivery channel
POSTs posts to it from inside our network, so only a plain https URL to a
named host is accepted: no credentials, no IP literals, no localhost."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def check_webhook_url(value: str) -> str:
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("must not contain whitespace or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError("must be a valid URL") from exc
    if parts.scheme != "https":
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    host = (parts.hostname or "").rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError("must name a host, not an IP address")
    if not _HOSTNAME.match(host) or host == "localhost" or host.endswith(".localhost"):
        raise ValueError("must name a public host such as qyapi.weixin.qq.com")
    return value
