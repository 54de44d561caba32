"""Pure pieces behind the console API: merge patch (RFC 7386), If-Match
matching, signed list cursors, short-code shape."""

from __future__ import annotations

import pytest

from chalicelib import etags, pages
from chalicelib.coupons import short_codes
from chalicelib.errors import ValidationFailed


def test_merge_patch_follows_rfc_7386_examples() -> None:
    assert etags.merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert etags.merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert etags.merge_patch({"a": "b"}, {"a": None}) == {}
    assert etags.merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert etags.merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert etags.merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}


def test_merge_patch_refuses_absurd_nesting_instead_of_recursing() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with pytest.raises(ValidationFailed):
        etags.merge_patch({}, deep)


def test_if_match_accepts_star_absent_listed_and_weak_tags_only() -> None:
    etags.require(None, '"v3"')
    etags.require("*", '"v3"')
    etags.require('"v2", "v3"', '"v3"')
    etags.require('W/"v3"', '"v3"')
    with pytest.raises(etags.PreconditionFailed):
        etags.require('"v2"', '"v3"')


def test_cursors_round_trip_and_are_bound_to_their_list() -> None:
    key = {"store_id": {"S": "S1"}, "list_key": {"S": "store"}}
    cursor = pages.encode_cursor("stores|", key)
    assert cursor is not None and pages.decode_cursor("stores|", cursor) == key
    assert pages.encode_cursor("stores|", None) is None
    for bad in (cursor + "x", "x" + cursor, "not-a-cursor", cursor.split(".")[0]):
        with pytest.raises(ValidationFailed):
            pages.decode_cursor("stores|", bad)
    with pytest.raises(ValidationFailed):
        pages.decode_cursor("stores|上海", cursor)


def test_short_codes_are_ten_digits_and_recognised_when_typed_with_spaces() -> None:
    codes = {short_codes.new_code() for _ in range(1000)}
    assert all(len(c) == 10 and c.isdigit() and c[0] != "0" for c in codes)
    assert len(codes) == 1000
    assert short_codes.is_short("1234 5678 90") and short_codes.is_short("12345678")
    assert not short_codes.is_short("1234567") and not short_codes.is_short("ABCDEFGH23")
