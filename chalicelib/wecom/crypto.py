"""WeCom callback crypto (pure): the signature and AES scheme of the official
"加解密方案说明" (developer.work.weixin.qq.com/document/path/91144).

- msg_signature = SHA1 of the sorted concatenation of token, timestamp,
  nonce and the base64 ciphertext;
- AESKey = base64decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with
  IV = AESKey[:16]; PKCS#7 padding to a multiple of 32 bytes (not 16);
- plaintext = random(16) + msg_len (4 bytes, network order) + msg + receiveid
  (the CorpID for an app's own callbacks).

Every failure raises `CryptoError` with a code; nothing here says which byte
was wrong beyond that code. AES itself is `aes.py` (pure Python, no native
dependency in the Lambda zip)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from chalicelib.wecom.aes import cbc_decrypt, cbc_encrypt

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16
MAX_CIPHERTEXT_B64 = 1 << 20  # a callback body is small; refuse to decode megabytes


class CryptoError(Exception):
    """`code`: bad_key, bad_signature, bad_ciphertext, bad_padding, bad_length, wrong_receiver."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("bad_key")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("bad_key") from exc
    if len(key) != 32:
        raise CryptoError("bad_key")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()  # noqa: S324 - WeCom's scheme


def verify(token: str, timestamp: str, nonce: str, encrypt: str, msg_signature: str) -> None:
    expected = signature(token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
        raise CryptoError("bad_signature")


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("bad_padding")
    n = data[-1]
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad_padding")
    return data[:-n]


def encrypt(key: bytes, msg: bytes, receive_id: str, random16: bytes | None = None) -> str:
    """The base64 ciphertext WeCom would send (`random16` fixed only in tests)."""
    rand = random16 if random16 is not None else os.urandom(16)
    plain = rand + struct.pack(">I", len(msg)) + msg + receive_id.encode()
    return base64.b64encode(cbc_encrypt(key, key[:16], _pad(plain))).decode()


def decrypt(key: bytes, ciphertext_b64: str, receive_id: str) -> bytes:
    """The msg inside, after checking its length field and its receiveid."""
    if len(ciphertext_b64) > MAX_CIPHERTEXT_B64:
        raise CryptoError("bad_ciphertext")
    try:
        raw = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("bad_ciphertext") from exc
    if not raw or len(raw) % 16:
        raise CryptoError("bad_ciphertext")
    plain = _unpad(cbc_decrypt(key, key[:16], raw))
    if len(plain) < 20:
        raise CryptoError("bad_length")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise CryptoError("bad_length")
    msg, tail = plain[20:20 + length], plain[20 + length:]
    if not hmac.compare_digest(tail, receive_id.encode()):
        raise CryptoError("wrong_receiver")
    return msg


class CallbackCrypto:
    """One app's callback settings: token, EncodingAESKey, receiveid (CorpID)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        self.token, self.key, self.receive_id = token, aes_key(encoding_aes_key), receive_id

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        """Verify, then decrypt (the signature is checked before any AES work)."""
        verify(self.token, timestamp, nonce, encrypted, msg_signature)
        return decrypt(self.key, encrypted, self.receive_id)

    def seal(self, msg: bytes, timestamp: str, nonce: str) -> tuple[str, str]:
        """(encrypt, msg_signature): what the sender (WeCom, or our emulator) posts."""
        encrypted = encrypt(self.key, msg, self.receive_id)
        return encrypted, signature(self.token, timestamp, nonce, encrypted)
