"""A small client for the WeCom server API (base URL from settings, so the
emulator or a test double stands in by URL). Every call: the shared access
token (tokens.py), one refresh-and-retry on 40014/42001/40001, errors as
`WeComApiError(errcode)` / `WeComError(code)`, timeouts, no redirects.

Endpoints used (docs/wecom.md cites each page):
gettoken, externalcontact/groupchat/{add,get,update,del}_join_way,
externalcontact/groupchat/get, externalcontact/add_msg_template."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalicelib import retry
from chalicelib.settings import Settings, get_settings
from chalicelib.wecom import http, tokens
from chalicelib.wecom.errors import WeComApiError, WeComError, WeComOff

TOKEN_ERRCODES = frozenset({40014, 42001, 40001})  # invalid / expired / invalid credential: refresh once
BUSY_ERRCODES = frozenset({-1, 45033})  # system busy / too many concurrent calls: back off, retry
MAX_JOIN_WAY_CHATS = 5
MAX_STATE_CHARS = 30


class WeComClient:
    def __init__(self, settings: Settings, timeout_s: float = http.TIMEOUT_S):
        if settings.wecom == "off":
            raise WeComOff()
        self.base = settings.wecom_api_base
        self.corp_id, self.secret = settings.wecom_corp_id, settings.wecom_secret
        self.app = tokens.app_key(self.corp_id, self.secret)
        self.timeout_s = timeout_s

    # --- plumbing -------------------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, int]:
        query = urlencode({"corpid": self.corp_id, "corpsecret": self.secret})
        answer = http.call("GET", f"{self.base}/cgi-bin/gettoken?{query}", timeout_s=self.timeout_s)
        _check(answer)
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise WeComError("bad_response")
        return token, expires_in

    def token(self) -> str:
        return tokens.get(self.app, self._fetch_token)

    def call(self, path: str, payload: dict[str, Any] | None = None, method: str = "POST") -> dict[str, Any]:
        """One API call: a refused token is refreshed and the call retried once;
        "system busy" (-1) and too many concurrent calls (45033) are retried
        under the one retry policy (full jitter, the request's budget)."""
        refreshed = False
        for _ in retry.attempts(base_s=0.05, cap_s=1.0, what="WeCom"):
            token = self.token()
            answer = http.call(method, f"{self.base}/cgi-bin/{path}?{urlencode({'access_token': token})}",
                               payload, timeout_s=self.timeout_s)
            errcode = answer.get("errcode", 0)
            if errcode in TOKEN_ERRCODES and not refreshed:
                tokens.invalidate(self.app, token)
                refreshed = True
                continue
            if errcode in BUSY_ERRCODES:
                continue
            _check(answer)
            return answer
        raise AssertionError("unreachable")  # retry.attempts raises when the budget is spent

    # --- 「加入群聊」 join ways -------------------------------------------------------------------

    def add_join_way(self, *, chat_ids: list[str], state: str, room_base_name: str, room_base_id: int,
                     scene: int = 2, remark: str = "") -> str:
        _check_join_way(chat_ids, state, scene)
        answer = self.call("externalcontact/groupchat/add_join_way", {
            "scene": scene, "remark": remark[:30], "auto_create_room": 1, "room_base_name": room_base_name,
            "room_base_id": room_base_id, "chat_id_list": chat_ids, "state": state})
        return _str(answer, "config_id")

    def get_join_way(self, config_id: str) -> dict[str, Any]:
        answer = self.call("externalcontact/groupchat/get_join_way", {"config_id": config_id})
        way = answer.get("join_way")
        if not isinstance(way, dict):
            raise WeComError("bad_response")
        return way

    def update_join_way(self, config_id: str, *, chat_ids: list[str], state: str, room_base_name: str,
                        room_base_id: int, scene: int = 2, remark: str = "") -> None:
        _check_join_way(chat_ids, state, scene)
        self.call("externalcontact/groupchat/update_join_way", {
            "config_id": config_id, "scene": scene, "remark": remark[:30], "auto_create_room": 1,
            "room_base_name": room_base_name, "room_base_id": room_base_id, "chat_id_list": chat_ids,
            "state": state})

    def del_join_way(self, config_id: str) -> None:
        self.call("externalcontact/groupchat/del_join_way", {"config_id": config_id})

    # --- customer groups and mass-send ----------------------------------------------------------

    def group_chat(self, chat_id: str) -> dict[str, Any]:
        answer = self.call("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 0})
        chat = answer.get("group_chat")
        if not isinstance(chat, dict) or not isinstance(chat.get("member_list", []), list):
            raise WeComError("bad_response")
        return chat

    def add_msg_template_to_groups(self, sender: str, chat_ids: list[str], text: str) -> list[str]:
        """A mass-send task to customer groups; the owner confirms it in WeCom.
        Returns the chat ids WeCom refused (`fail_list`)."""
        answer = self.call("externalcontact/add_msg_template", {
            "chat_type": "group", "sender": sender, "chat_id_list": chat_ids, "text": {"content": text}})
        _str(answer, "msgid")
        return [c for c in answer.get("fail_list", []) if isinstance(c, str)]


def _check(answer: dict[str, Any]) -> None:
    errcode = answer.get("errcode", 0)
    if not isinstance(errcode, int):
        raise WeComError("bad_response")
    if errcode != 0:
        raise WeComApiError(errcode)


def _str(answer: dict[str, Any], name: str) -> str:
    value = answer.get(name)
    if not isinstance(value, str) or not value:
        raise WeComError("bad_response")
    return value


def _check_join_way(chat_ids: list[str], state: str, scene: int) -> None:
    """WeCom's own limits, checked before the call (its errcodes are less clear)."""
    if not 1 <= len(chat_ids) <= MAX_JOIN_WAY_CHATS:
        raise ValueError(f"a join way takes 1 to {MAX_JOIN_WAY_CHATS} chat ids")
    if len(state) > MAX_STATE_CHARS:
        raise ValueError(f"state is at most {MAX_STATE_CHARS} characters")
    if scene not in (1, 2):
        raise ValueError("scene is 1 (mini-program) or 2 (QR code)")


def get_client() -> WeComClient:
    return WeComClient(get_settings())
