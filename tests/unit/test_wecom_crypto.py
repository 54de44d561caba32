"""WeCom callback crypto against published vectors, round trips, and every
way a forged or damaged callback must be refused."""

from __future__ import annotations

import base64

import pytest

from chalicelib.wecom import crypto
from chalicelib.wecom.crypto import CallbackCrypto, CryptoError
from chalicelib.wecom.events import BadCallback, encrypted_field, parse_event

# Published test vectors (the `wechat-crypto` crate's docs, which follow the
# official scheme): key, a ciphertext of "test" for receiveid "rust" with
# random "1234567890123456", and a signature over an echostr.
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ"
CIPHER_TEST = "9s4gMv99m88kKTh/H8IdkNiFGeG9pd7vNWl50fGRWXY="
ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="


def test_published_signature_vector() -> None:
    assert crypto.signature("QDG6eK", "1409659589", "263014780", ECHO) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"


def test_published_ciphertext_decrypts_and_our_encryption_reproduces_it() -> None:
    key = crypto.aes_key(KEY)
    assert crypto.decrypt(key, CIPHER_TEST, "rust") == b"test"
    assert crypto.encrypt(key, b"test", "rust", random16=b"1234567890123456") == CIPHER_TEST


def test_padding_is_to_32_bytes_not_16() -> None:
    key = crypto.aes_key(KEY)
    for size in (0, 1, 11, 12, 13, 44, 100):
        raw = base64.b64decode(crypto.encrypt(key, b"x" * size, "corp"))
        assert len(raw) % 32 == 0
        assert crypto.decrypt(key, crypto.encrypt(key, b"x" * size, "corp"), "corp") == b"x" * size


def test_round_trip_through_open_and_seal_with_chinese_text() -> None:
    box = CallbackCrypto("tok", KEY, "wwcorp")
    msg = "<xml><Name><![CDATA[政立路店#slabc#2]]></Name></xml>".encode()
    encrypted, sig = box.seal(msg, "1700000000", "n1")
    assert box.open(sig, "1700000000", "n1", encrypted) == msg


@pytest.mark.parametrize("tamper", ["signature", "timestamp", "nonce", "ciphertext", "token"])
def test_any_altered_part_fails_the_signature(tamper: str) -> None:
    box = CallbackCrypto("tok", KEY, "wwcorp")
    encrypted, sig = box.seal(b"<xml/>", "1700000000", "n1")
    args = {"signature": sig, "timestamp": "1700000000", "nonce": "n1", "ciphertext": encrypted}
    if tamper == "signature":
        args["signature"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    elif tamper == "timestamp":
        args["timestamp"] = "1700000001"
    elif tamper == "nonce":
        args["nonce"] = "n2"
    elif tamper == "ciphertext":
        args["ciphertext"] = ("A" if encrypted[0] != "A" else "B") + encrypted[1:]
    else:
        box = CallbackCrypto("other-token", KEY, "wwcorp")
    with pytest.raises(CryptoError) as err:
        box.open(args["signature"], args["timestamp"], args["nonce"], args["ciphertext"])
    assert err.value.code == "bad_signature"


def test_a_correctly_signed_but_altered_ciphertext_is_refused_except_where_cbc_is_malleable() -> None:
    """An attacker who knows the token (so can sign) but not the key flips
    each byte of the ciphertext in turn. WeCom's scheme has no MAC over the
    ciphertext beyond msg_signature (document/path/91144), so the AES layer
    guarantees exactly this, for a 16-byte message to "wwcorp" (64 bytes,
    four AES blocks):

    - a flip in block 0 garbles only the random prefix (unchecked) and flips
      the same byte of block 1: in the length field -> bad_length; in the
      message -> that message byte flipped, nothing else (CBC malleability:
      the token, checked first by `open`, is what authenticates);
    - a flip in block 1 garbles the length (bad_length) and flips a byte of
      block 2: of the message tail or the receiveid (the garbled length is
      refused first), or of the padding (bad_padding, checked first);
    - a flip in block 2 or 3 breaks the padding (bad_padding).
    Never a crash; never a message but the one predicted above."""
    key = crypto.aes_key(KEY)
    msg = b"<xml>hello</xml>"
    encrypted = crypto.encrypt(key, msg, "wwcorp", random16=b"1234567890123456")
    raw = base64.b64decode(encrypted)
    assert len(raw) == 64
    for position in range(len(raw)):
        damaged = bytearray(raw)
        damaged[position] ^= 0x5A
        text = base64.b64encode(bytes(damaged)).decode()
        if 4 <= position < 16:
            flipped = bytearray(msg)
            flipped[position - 4] ^= 0x5A
            assert crypto.decrypt(key, text, "wwcorp") == bytes(flipped), position
            continue
        # block 2 holds msg[12:16] + "wwcorp" (offsets 0-9), then padding (10-15)
        expected = "bad_length" if position < 4 or 16 <= position < 26 else "bad_padding"
        with pytest.raises(CryptoError) as err:
            crypto.decrypt(key, text, "wwcorp")
        assert err.value.code == expected, position


def test_open_checks_the_signature_before_any_decryption(monkeypatch: pytest.MonkeyPatch) -> None:
    box = CallbackCrypto("tok", KEY, "wwcorp")
    encrypted, sig = box.seal(b"<xml/>", "1700000000", "n1")
    damaged = ("A" if encrypted[0] != "A" else "B") + encrypted[1:]

    def never(*_: object) -> bytes:
        raise AssertionError("decrypted before the signature was checked")

    monkeypatch.setattr(crypto, "decrypt", never)
    with pytest.raises(CryptoError, match="bad_signature"):
        box.open(sig, "1700000000", "n1", damaged)


def test_wrong_receiver_id_is_refused() -> None:
    key = crypto.aes_key(KEY)
    with pytest.raises(CryptoError, match="wrong_receiver"):
        crypto.decrypt(key, crypto.encrypt(key, b"<xml/>", "wwothercorp"), "wwcorp")


@pytest.mark.parametrize("text,code", [
    ("not base64!!", "bad_ciphertext"), ("", "bad_ciphertext"), ("QUJD", "bad_ciphertext"),
    (base64.b64encode(b"\x00" * 32).decode(), "bad_padding"),
])
def test_malformed_ciphertexts_are_refused(text: str, code: str) -> None:
    with pytest.raises(CryptoError) as err:
        crypto.decrypt(crypto.aes_key(KEY), text, "wwcorp")
    assert err.value.code == code


@pytest.mark.parametrize("key", ["", "short", KEY + "A", "!" * 43])
def test_bad_encoding_aes_keys_are_refused(key: str) -> None:
    with pytest.raises(CryptoError, match="bad_key"):
        crypto.aes_key(key)


def test_callback_bodies_and_events_parse() -> None:
    body = b"<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>"
    assert encrypted_field(body) == "abc="
    plain = (b"<xml><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wr1]]></ChatId>"
             b"<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail>"
             b"<JoinScene>3</JoinScene><MemChangeCnt>1</MemChangeCnt><CreateTime>1700000000</CreateTime>"
             b"<MemChangeList><Item><![CDATA[wm1]]></Item></MemChangeList></xml>")
    event = parse_event(plain)
    assert (event.event, event.chat_id, event.change_type, event.update_detail) == (
        "change_external_chat", "wr1", "update", "add_member")
    assert (event.join_scene, event.mem_change_cnt, event.members) == (3, 1, ("wm1",))
    assert event.event_id == parse_event(plain).event_id != parse_event(plain.replace(b"wm1", b"wm2")).event_id


@pytest.mark.parametrize("body,code", [
    (b"<xml><Nope/></xml>", "no_encrypt"), (b"not xml", "bad_xml"), (b"<other/>", "bad_xml"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>', "doctype"),
    (b"<xml>" + b"x" * 70000 + b"</xml>", "too_large"),
])
def test_hostile_callback_bodies_are_refused(body: bytes, code: str) -> None:
    with pytest.raises(BadCallback) as err:
        encrypted_field(body)
    assert err.value.code == code


def test_aes_256_matches_fips_197_and_the_cryptography_package() -> None:
    import os

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from chalicelib.wecom import aes

    key, block = bytes(range(32)), bytes.fromhex("00112233445566778899aabbccddeeff")
    assert aes.cbc_encrypt(key, bytes(16), block).hex() == "8ea2b7ca516745bfeafc49904b496089"  # FIPS-197 C.3
    assert aes.cbc_decrypt(key, bytes(16), bytes.fromhex("8ea2b7ca516745bfeafc49904b496089")) == block
    for size in (16, 32, 48, 160, 1024):
        key, iv, data = os.urandom(32), os.urandom(16), os.urandom(size)
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        reference = enc.update(data) + enc.finalize()
        assert aes.cbc_encrypt(key, iv, data) == reference
        assert aes.cbc_decrypt(key, iv, reference) == data
    with pytest.raises(ValueError):
        aes.cbc_encrypt(bytes(16), bytes(16), block)  # AES-128 keys are not what WeCom uses
    with pytest.raises(ValueError):
        aes.cbc_decrypt(key, bytes(16), b"x" * 17)
