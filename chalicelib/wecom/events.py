"""Reading WeCom callbacks (pure): the outer envelope (`<Encrypt>`), the
decrypted event, and an identity for deduplicating redeliveries.

Bodies are small XML documents from WeCom; anything with a DOCTYPE (entity
tricks) or over the size limit is refused before parsing."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET  # noqa: S405 - DOCTYPE refused below; expat resolves no external entities
from dataclasses import dataclass, field

MAX_BODY_BYTES = 64 * 1024


class BadCallback(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _parse(data: bytes) -> ET.Element:
    if len(data) > MAX_BODY_BYTES:
        raise BadCallback("too_large")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise BadCallback("doctype")
    try:
        root = ET.fromstring(data)  # noqa: S314 - see above
    except ET.ParseError as exc:
        raise BadCallback("bad_xml") from exc
    if root.tag != "xml":
        raise BadCallback("bad_xml")
    return root


def encrypted_field(body: bytes) -> str:
    node = _parse(body).find("Encrypt")
    if node is None or not (node.text or "").strip():
        raise BadCallback("no_encrypt")
    return (node.text or "").strip()


@dataclass(frozen=True)
class ChatEvent:
    """A `change_external_chat` event (or another event, kind != that)."""

    event: str
    change_type: str = ""
    chat_id: str = ""
    update_detail: str = ""
    create_time: int = 0
    mem_change_cnt: int = 0
    join_scene: int | None = None
    members: tuple[str, ...] = field(default=())
    event_id: str = ""


def _int(root: ET.Element, name: str) -> int | None:
    text = (root.findtext(name) or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def parse_event(plain: bytes) -> ChatEvent:
    root = _parse(plain)
    members = tuple((item.text or "").strip() for item in root.findall("MemChangeList/Item"))
    return ChatEvent(
        event=(root.findtext("Event") or "").strip(),
        change_type=(root.findtext("ChangeType") or "").strip(),
        chat_id=(root.findtext("ChatId") or "").strip(),
        update_detail=(root.findtext("UpdateDetail") or "").strip(),
        create_time=_int(root, "CreateTime") or 0,
        mem_change_cnt=_int(root, "MemChangeCnt") or 0,
        join_scene=_int(root, "JoinScene"),
        members=members,
        # WeCom re-encrypts a redelivery with new random bytes, but the event inside is the same
        event_id=hashlib.sha256(plain).hexdigest(),
    )
