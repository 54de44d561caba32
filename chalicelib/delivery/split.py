"""Fitting a body into WeCom text messages (pure): at most `limit` UTF-8
bytes each, split on line breaks where possible and never inside a
character (a Chinese character is 3 bytes)."""

from __future__ import annotations

WECOM_TEXT_LIMIT = 2048
MAX_PARTS = 5  # past this a post is trimmed, not spammed: the tail is the least important offers
TRIM_MARK = "…"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest prefix of at most `limit` bytes, preferring a line break."""
    head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")  # drops a torn last character
    if len(head) == len(text):
        return head, ""
    newline = head.rfind("\n")
    if newline > 0:
        head = head[:newline]
    return head, text[len(head):].lstrip("\n")


def split_body(text: str, limit: int = WECOM_TEXT_LIMIT, max_parts: int = MAX_PARTS) -> list[str]:
    if limit < 8:
        raise ValueError("limit too small")
    parts: list[str] = []
    rest = text
    while rest and len(parts) < max_parts:
        head, rest = _cut(rest, limit)
        parts.append(head)
    if rest:  # too long even for max_parts: trim the last part and mark it
        last = parts[-1]
        budget = limit - utf8_len(TRIM_MARK)
        parts[-1] = last.encode("utf-8")[:budget].decode("utf-8", errors="ignore") + TRIM_MARK
    return parts or [""]
