"""Coupon codes: what the member's QR shows.

v1  code = base32( 0x01 || coupon_id(12) || HMAC-SHA256(K, 0x01 || id)[:16] )
v2  code = base32( 0x02 || coupon_id(12) || E(terms) || HMAC-SHA256(K, 0x02 || id || E(terms))[:16] )

A-Z2-7 only (QR alphanumeric mode). K is derived from the JWT secret with a
domain-separation label, so a code's MAC can never be confused with a token
signature. A forged or altered code fails the MAC check here, before any
database lookup; 128 random bits of MAC make guessing hopeless.

v2 carries the coupon's frozen terms a redemption needs before its one
write (template, member, kind, value, min spend), so redeeming a v2 code
reads nothing first (`redemptions.py`). A coupon's terms never change after
issue, so a code signed at claim stays true. The terms are encrypted
(encrypt-then-MAC): a keystream HMAC-SHA256(K_enc, id || counter) XORed
over them, the 96 random bits of the coupon id being the nonce (one id,
one plaintext, ever), so the QR shows no more than a v1 code did (no member
id in clear). v1 codes stay valid forever; `sign_terms` falls back to v1
when the terms do not fit in `MAX_CODE_CHARS` (very long ids)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chalicelib.coupons.errors import InvalidCode

VERSION = 1
VERSION_TERMS = 2
ID_BYTES = 12
MAC_BYTES = 16
MAX_CODE_CHARS = 200  # a v2 code longer than this is signed as v1 instead (QR version 7 holds 224)
MAX_INPUT_CHARS = 256
_LABEL = b"storeloop/coupon-code/v1"
_ENC_LABEL = b"storeloop/coupon-code/v2/terms"
_CODE_LEN = 1 + ID_BYTES + MAC_BYTES
KINDS = ("amount_off", "percent_off", "free_item", "clearance")  # append only: the index is in issued codes


@dataclass(frozen=True)
class Terms:
    """What a coupon's redemption needs before its write; frozen at issue."""

    template_id: str
    member_id: str
    kind: str
    value: int
    min_spend_fen: int


@dataclass(frozen=True)
class Code:
    coupon_id: str
    terms: Terms | None  # None: a v1 code (the redemption reads the coupon for its terms)


def derive_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def new_coupon_id() -> str:
    return secrets.token_hex(ID_BYTES)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def _id_bytes(coupon_id: str) -> bytes:
    raw = bytes.fromhex(coupon_id)
    if len(raw) != ID_BYTES:
        raise ValueError("coupon ids are 12 bytes of hex")
    return raw


def sign(coupon_id: str, key: bytes) -> str:
    """A v1 code: the coupon id only."""
    payload = bytes([VERSION]) + _id_bytes(coupon_id)
    return _encode(payload + _mac(key, payload))


def _uvarint(n: int) -> bytes:
    if n < 0:
        raise ValueError("negative")
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_uvarint(raw: bytes, at: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if at >= len(raw) or shift > 63:
            raise ValueError("truncated number")
        byte = raw[at]
        at += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n, at


def _pack(terms: Terms) -> bytes:
    out = bytearray([KINDS.index(terms.kind)])
    out += _uvarint(terms.value) + _uvarint(terms.min_spend_fen)
    for text in (terms.template_id, terms.member_id):
        data = text.encode()
        out += _uvarint(len(data)) + data
    return bytes(out)


def _unpack(raw: bytes) -> Terms:
    if not raw or raw[0] >= len(KINDS):
        raise ValueError("unknown kind")
    value, at = _read_uvarint(raw, 1)
    min_spend, at = _read_uvarint(raw, at)
    texts = []
    for _ in range(2):
        n, at = _read_uvarint(raw, at)
        if at + n > len(raw):
            raise ValueError("truncated text")
        texts.append(raw[at:at + n].decode())
        at += n
    if at != len(raw):
        raise ValueError("trailing bytes")
    return Terms(template_id=texts[0], member_id=texts[1], kind=KINDS[raw[0]], value=value,
                 min_spend_fen=min_spend)


def _keystream(key: bytes, coupon_id: bytes, n: int) -> bytes:
    enc_key = hmac.new(key, _ENC_LABEL, hashlib.sha256).digest()
    blocks = (hmac.new(enc_key, coupon_id + bytes([i]), hashlib.sha256).digest() for i in range((n + 31) // 32))
    return b"".join(blocks)[:n]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def sign_terms(coupon_id: str, terms: Terms, key: bytes) -> str:
    """A v2 code (the coupon's terms inside), or v1 if they do not fit."""
    ident = _id_bytes(coupon_id)
    if terms.kind not in KINDS or terms.value < 0 or terms.min_spend_fen < 0:
        return sign(coupon_id, key)
    plain = _pack(terms)
    payload = bytes([VERSION_TERMS]) + ident + _xor(plain, _keystream(key, ident, len(plain)))
    code = _encode(payload + _mac(key, payload))
    return code if len(code) <= MAX_CODE_CHARS else sign(coupon_id, key)


def read(code: str, key: bytes) -> Code:
    """The coupon id (and, for v2, its terms) inside a genuine code;
    InvalidCode for anything else. The MAC is checked before anything in
    the payload is looked at."""
    text = code.strip().upper()
    if not text or len(text) > MAX_INPUT_CHARS:
        raise InvalidCode()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCode() from exc
    if len(raw) < _CODE_LEN or raw[0] not in (VERSION, VERSION_TERMS):
        raise InvalidCode()
    if raw[0] == VERSION and len(raw) != _CODE_LEN:
        raise InvalidCode()
    if _encode(raw) != text:
        raise InvalidCode()  # non-canonical: the last character's spare bits were altered
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidCode()
    ident = payload[1:1 + ID_BYTES]
    if raw[0] == VERSION:
        return Code(ident.hex(), None)
    sealed = payload[1 + ID_BYTES:]
    try:
        terms = _unpack(_xor(sealed, _keystream(key, ident, len(sealed))))
    except (ValueError, UnicodeDecodeError) as exc:  # a genuine MAC over bad terms: only a bug could sign that
        raise InvalidCode() from exc
    return Code(ident.hex(), terms)


def verify(code: str, key: bytes) -> str:
    """The coupon id inside a genuine code (v1 or v2); InvalidCode for anything else."""
    return read(code, key).coupon_id
