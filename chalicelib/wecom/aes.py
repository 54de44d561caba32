"""AES-256-CBC in pure Python (FIPS-197), for WeCom callbacks only: their
bodies are a few hundred bytes, so a table-driven pure implementation costs
a millisecond or two, and the Lambda zip stays free of a 4 MB native crypto
package (which would also make PyJWT import it on every cold start).
Checked against FIPS-197's AES-256 vector and against `cryptography` on
random inputs (tests/unit/test_wecom_crypto.py). No padding here: the
caller pads (WeCom pads to 32 bytes)."""

from __future__ import annotations

from functools import lru_cache


def _xtime(a: int) -> int:
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _mul(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        a, b = _xtime(a), b >> 1
    return result


@lru_cache(maxsize=1)
def _tables() -> tuple[list[int], ...]:
    sbox = [0] * 256
    p = q = 1
    while True:  # p runs over the multiplicative group, q = p^-1 (generator 3)
        p ^= ((p << 1) ^ (0x1B if p & 0x80 else 0)) & 0xFF
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q
        for shift in (1, 2, 3, 4):
            x ^= ((q << shift) | (q >> (8 - shift))) & 0xFF
        sbox[p] = x ^ 0x63
        if p == 1:
            break
    sbox[0] = 0x63
    inv = [0] * 256
    for i, v in enumerate(sbox):
        inv[v] = i
    muls = [[_mul(a, m) for a in range(256)] for m in (2, 3, 9, 11, 13, 14)]
    return (sbox, inv, *muls)


def _round_keys(key: bytes) -> list[list[int]]:
    if len(key) != 32:
        raise ValueError("AES-256 takes a 32-byte key")
    sbox = _tables()[0]
    words = [list(key[4 * i:4 * i + 4]) for i in range(8)]
    rcon = 1
    for i in range(8, 60):
        t = list(words[i - 1])
        if i % 8 == 0:
            t = [sbox[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            t = [sbox[b] for b in t]
        words.append([w ^ x for w, x in zip(words[i - 8], t, strict=True)])
    return [sum(words[4 * r:4 * r + 4], []) for r in range(15)]


_SHIFT = [((i // 4 + i % 4) % 4) * 4 + i % 4 for i in range(16)]  # ShiftRows: new[i] = old[_SHIFT[i]]
_UNSHIFT = [0] * 16
for _i, _j in enumerate(_SHIFT):
    _UNSHIFT[_j] = _i


def _encrypt_block(s: list[int], rk: list[list[int]]) -> list[int]:
    sbox, _, m2, m3, *_ = _tables()
    s = [b ^ k for b, k in zip(s, rk[0], strict=True)]
    for r in range(1, 15):
        s = [sbox[s[j]] for j in _SHIFT]
        if r < 14:
            mixed = []
            for c in range(0, 16, 4):
                a0, a1, a2, a3 = s[c:c + 4]
                mixed += [m2[a0] ^ m3[a1] ^ a2 ^ a3, a0 ^ m2[a1] ^ m3[a2] ^ a3,
                          a0 ^ a1 ^ m2[a2] ^ m3[a3], m3[a0] ^ a1 ^ a2 ^ m2[a3]]
            s = mixed
        s = [b ^ k for b, k in zip(s, rk[r], strict=True)]
    return s


def _decrypt_block(s: list[int], rk: list[list[int]]) -> list[int]:
    _, inv, _, _, m9, m11, m13, m14 = _tables()
    s = [b ^ k for b, k in zip(s, rk[14], strict=True)]
    for r in range(13, -1, -1):
        s = [inv[s[j]] for j in _UNSHIFT]
        s = [b ^ k for b, k in zip(s, rk[r], strict=True)]
        if r > 0:
            mixed = []
            for c in range(0, 16, 4):
                a0, a1, a2, a3 = s[c:c + 4]
                mixed += [m14[a0] ^ m11[a1] ^ m13[a2] ^ m9[a3], m9[a0] ^ m14[a1] ^ m11[a2] ^ m13[a3],
                          m13[a0] ^ m9[a1] ^ m14[a2] ^ m11[a3], m11[a0] ^ m13[a1] ^ m9[a2] ^ m14[a3]]
            s = mixed
    return s


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(iv) != 16 or len(data) % 16:
        raise ValueError("CBC needs a 16-byte IV and whole blocks")
    rk, prev, out = _round_keys(key), list(iv), bytearray()
    for i in range(0, len(data), 16):
        prev = _encrypt_block([b ^ p for b, p in zip(data[i:i + 16], prev, strict=True)], rk)
        out += bytes(prev)
    return bytes(out)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(iv) != 16 or len(data) % 16:
        raise ValueError("CBC needs a 16-byte IV and whole blocks")
    rk, prev, out = _round_keys(key), list(iv), bytearray()
    for i in range(0, len(data), 16):
        block = list(data[i:i + 16])
        out += bytes(b ^ p for b, p in zip(_decrypt_block(block, rk), prev, strict=True))
        prev = block
    return bytes(out)
