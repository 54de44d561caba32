"""Coupon codes: what the member's QR shows.

code = base32( version(1) || coupon_id(12 bytes) || HMAC-SHA256(key, version || id)[:16] )

47 characters of A-Z2-7 (QR alphanumeric mode). The key is derived from the
JWT secret with a domain-separation label, so a code's MAC can never be
confused with a token signature. A forged or altered code fails the MAC
check here, before any database lookup; 128 random bits of MAC make
guessing hopeless."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from chalicelib.coupons.errors import InvalidCode

VERSION = 1
ID_BYTES = 12
MAC_BYTES = 16
_LABEL = b"storeloop/coupon-code/v1"
_CODE_LEN = 1 + ID_BYTES + MAC_BYTES


def derive_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def new_coupon_id() -> str:
    return secrets.token_hex(ID_BYTES)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(coupon_id: str, key: bytes) -> str:
    payload = bytes([VERSION]) + bytes.fromhex(coupon_id)
    if len(payload) != 1 + ID_BYTES:
        raise ValueError("coupon ids are 12 bytes of hex")
    return base64.b32encode(payload + _mac(key, payload)).decode().rstrip("=")


def verify(code: str, key: bytes) -> str:
    """The coupon id inside a genuine code; InvalidCode for anything else."""
    text = code.strip().upper()
    if not text or len(text) > 64:
        raise InvalidCode()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCode() from exc
    if len(raw) != _CODE_LEN or raw[0] != VERSION:
        raise InvalidCode()
    if base64.b32encode(raw).decode().rstrip("=") != text:
        raise InvalidCode()  # non-canonical: the last character's spare bits were altered
    payload, mac = raw[:1 + ID_BYTES], raw[1 + ID_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidCode()
    return payload[1:].hex()
