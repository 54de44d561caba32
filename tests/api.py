"""One small client for tests: the same calls over the in-process Chalice
test client or real HTTP against `chalice local`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chalicelib.auth import issue_token

TEST_SECRET = "test-secret-for-storeloop-tests-only-0123456789"


def token(role: str, sub: str, store_id: str | None = None, secret: str = TEST_SECRET, *,
          enroll: bool = True) -> str:
    """A signed token. Staff tokens are honoured only for staff on the roster,
    so a staff token also puts `sub` on the roster at `store_id` (pass
    enroll=False to test a token for someone who is not)."""
    if role == "staff" and enroll:
        enroll_staff(sub, store_id)
    return issue_token(secret, sub, role, datetime.now(UTC), timedelta(hours=1),  # type: ignore[arg-type]
                       store_id=store_id)


def enroll_staff(staff_id: str, store_id: str | None) -> None:
    from chalicelib import db
    from chalicelib.staff import roster
    from chalicelib.staff.models import StaffRecord

    try:
        db.ensure_bound()
        StaffRecord(staff_id, store_id=store_id or "-", role="clerk", updated_at=datetime.now(UTC)).save()
    except Exception:  # noqa: BLE001 - no tables (yet) in this test: the token alone is what it wants
        return
    roster.forget(staff_id)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


def _parse(text: str, content_type: str) -> Any:
    """JSON bodies as data; anything else (a CSV export) as text."""
    if not text:
        return None
    return text if content_type.startswith("text/") else json.loads(text)


class Api:
    def __init__(self, chalice_client: Any = None, base_url: str | None = None):
        self._client = chalice_client
        self._base = base_url
        self._session = requests.Session() if base_url else None

    def call(self, method: str, path: str, body: Any = None, *, as_: str | None = None, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if as_ is not None:
            hdrs["Authorization"] = f"Bearer {as_}"
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if self._client is not None:
            resp = getattr(self._client.http, method.lower())(path, headers=hdrs, body=payload or b"")
            text = resp.body.decode() if isinstance(resp.body, bytes) else resp.body
            ctype = {k.lower(): v for k, v in resp.headers.items()}.get("content-type", "")
            return Reply(resp.status_code, _parse(text, ctype), dict(resp.headers))
        assert self._session is not None
        r = self._session.request(method, self._base + path, data=payload, headers=hdrs, timeout=30)
        return Reply(r.status_code, _parse(r.text, r.headers.get("content-type", "")), dict(r.headers))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)
