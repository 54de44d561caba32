"""Bearer JWTs (HS256). Verification is pinned to HS256, so `alg: none` and
RS/HS confusion tokens are refused as unauthenticated."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt

from chalicelib.errors import Forbidden, Unauthenticated

Role = Literal["member", "staff", "admin"]
ROLES: tuple[Role, ...] = ("member", "staff", "admin")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # sub and store_id become DynamoDB keys


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    store_id: str | None = None
    issued_at: int | None = None  # the token's `iat` (seconds), for roster revocation

    def require(self, *roles: Role) -> Principal:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this")
        return self

    def require_store(self, store_id: str) -> Principal:
        """Staff act only for their own store; admins for any."""
        if self.role == "admin" or (self.role == "staff" and self.store_id == store_id):
            return self
        raise Forbidden("not staff of this store")


def issue_token(secret: str, sub: str, role: Role, now: datetime, ttl: timedelta,
                store_id: str | None = None) -> str:
    claims: dict[str, object] = {"sub": sub, "role": role, "iat": int(now.timestamp()),
                                 "exp": int((now + ttl).timestamp())}
    if store_id is not None:
        claims["store_id"] = store_id
    return jwt.encode(claims, secret, algorithm="HS256")


def principal_from_header(secret: str, header: str | None, allowed: Iterable[Role]) -> Principal:
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":  # an auth scheme is case-insensitive (RFC 9110 §11.1)
        raise Unauthenticated()
    token = token.strip()
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"token refused: {type(exc).__name__}") from exc
    role, sub, store_id = claims.get("role"), claims.get("sub"), claims.get("store_id")
    if role not in ROLES or not isinstance(sub, str) or not _ID.match(sub):
        raise Unauthenticated("token has no valid role/sub")
    if role == "staff" and not (isinstance(store_id, str) and _ID.match(store_id)):
        raise Unauthenticated("staff token has no valid store_id")
    iat = claims.get("iat")
    principal = Principal(sub=sub, role=role, store_id=store_id if role == "staff" else None,
                          issued_at=iat if isinstance(iat, int) else None)
    return principal.require(*allowed)
