"""Validating a WeCom group-robot webhook URL (pure, given the allow-list).

The delivery channel POSTs posts to it from inside our network, so the only
URL accepted is the robot's own shape
`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>` on a host of
`STORELOOP_WEBHOOK_HOSTS` (default `qyapi.weixin.qq.com`). A bare host entry
allows https on the default port only. Plain http is allowed only for an
entry that spells it out as an exact origin, `http://127.0.0.1:8123` (the
emulator, tests): nothing in a URL a client sends can widen the list. The
check runs when a URL is saved and again before every send."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

MAX_URL_LENGTH = 2048
WEBHOOK_PATH = "/cgi-bin/webhook/send"
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _allowed_origins(hosts: Iterable[str]) -> set[tuple[str, str, int]]:
    origins = set()
    for entry in hosts:
        entry = entry.strip().lower().rstrip("/")
        if entry.startswith("http://") or entry.startswith("https://"):
            parts = urlsplit(entry)
            if parts.hostname and not parts.path and not parts.query and not parts.username:
                origins.add((parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
        elif entry:
            origins.add(("https", entry, 443))
    return origins


def check_webhook_url(value: str, hosts: Iterable[str] | None = None) -> str:
    if hosts is None:
        from chalicelib.settings import get_settings

        hosts = get_settings().webhook_hosts
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in value):
        raise ValueError("must not contain whitespace, control characters or backslashes")
    try:
        parts = urlsplit(value)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError("must be a valid URL") from exc
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not carry credentials")
    host = (parts.hostname or "").lower()
    if (parts.scheme, host, port) not in _allowed_origins(hosts):
        raise ValueError("must be a WeCom group-robot webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...")
    if parts.path != WEBHOOK_PATH or parts.fragment:
        raise ValueError(f"must use the robot path {WEBHOOK_PATH}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if len(query) != 1 or query[0][0] != "key" or not _KEY.match(query[0][1]):
        raise ValueError("must carry exactly one robot key: ?key=...")
    return value
