"""A local WeCom: the parts of the server API Storeloop uses, behaving as the
official docs say (docs/wecom.md cites them), over real HTTP.

WeCom API (under /cgi-bin/, JSON, `errcode`/`errmsg` in every answer):
- `gettoken?corpid=&corpsecret=`: the same token while it is valid
  (`expires_in` 7200 s); fetches are counted. Errcodes: 40013 bad corpid,
  40001 bad secret; on other calls 41001 missing token, 40014 unknown
  token, 42001 expired token.
- `externalcontact/groupchat/add_join_way`, `get_join_way`,
  `update_join_way`, `del_join_way`: scene 1|2, 1-5 `chat_id_list` of
  existing chats, `state` <= 30 characters, `room_base_name` <= 40
  (errcode 40058 for a bad parameter, 40050-style 41044 for an unknown config).
- `externalcontact/groupchat/get`: members with `type`, `join_scene`, `state`.
- `externalcontact/add_msg_template` (`chat_type` group): recorded; a group
  receives at most as many mass messages a month as the month has days.
- `webhook/send?key=`: a group robot: at most 20 messages a minute
  (errcode 45009 beyond), text content at most 2048 bytes (40058).

Emulator controls (under /emulator/, not WeCom's):
- `POST /emulator/chats {owner, name?}`: staff create a customer group in
  the WeCom client (a `create` callback follows);
- `POST /emulator/scan {config_id, external_userid}`: a customer scans a
  join way's QR code: they join the first listed group under 200 members;
  when every listed group is full and `auto_create_room` is 1, WeCom opens
  `room_base_name + room_base_id` (owned by the first group's owner), adds
  it to the join way and bumps `room_base_id`; callbacks `create` and
  `update/add_member` (`join_scene` 3, `mem_change_cnt` 1) follow;
- `POST /emulator/leave {chat_id, userid}`, `POST /emulator/dismiss {chat_id}`;
- `POST /emulator/advance {seconds}`: move the emulator's clock (token expiry);
  `POST /emulator/expire-token`; `POST /emulator/busy {calls}`: the next
  calls answer errcode -1 (system busy);
- `POST /emulator/callback-url {url}`; `GET /emulator/state`;
  `GET /emulator/deliveries` (every callback as posted, for replay tests);
  `POST /emulator/drain` waits until every queued callback was delivered.

Callbacks are signed and encrypted like WeCom's (chalicelib.wecom.crypto)
and posted by a few sender threads, so they can arrive out of order; a
delivery that is not answered 200 is retried 3 times, as WeCom does.

Run alone: `python -m devtools.wecom_emulator --port 8790 --callback-url
http://127.0.0.1:8000/wecom/callback`; from code: `start_emulator(...)`.
"""

from __future__ import annotations

import argparse
import calendar
import itertools
import json
import queue
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

from chalicelib.wecom.crypto import CallbackCrypto

TOKEN_TTL_S = 7200
CHAT_LIMIT = 200  # a customer group's QR code stops admitting at 200 members
ROBOT_LIMIT, ROBOT_WINDOW_S = 20, 60.0
TEXT_LIMIT = 2048
SENDERS = 4
DEFAULTS = {"corp_id": "wwemulatorcorp0001", "secret": "emulator-app-secret",
            "token": "emulatorCallbackToken", "aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ"}


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


@dataclass
class Member:
    userid: str
    type: int  # 1 staff, 2 external customer
    join_time: int
    join_scene: int  # 1 invited by a member, 3 scanned the group QR code
    state: str | None = None


@dataclass
class Chat:
    chat_id: str
    name: str
    owner: str
    create_time: int
    members: list[Member] = field(default_factory=list)
    version: int = 1

    def view(self) -> dict[str, Any]:
        members = []
        for m in self.members:
            item: dict[str, Any] = {"userid": m.userid, "type": m.type, "join_time": m.join_time,
                                    "join_scene": m.join_scene, "group_nickname": "", "name": m.userid}
            if m.state:
                item["state"] = m.state
            members.append(item)
        return {"chat_id": self.chat_id, "name": self.name, "owner": self.owner, "create_time": self.create_time,
                "notice": "", "member_list": members, "admin_list": [], "member_version": str(self.version)}


class WeComState:
    """All of the emulated corp, behind one lock."""

    def __init__(self, corp_id: str, secret: str, token: str, aes_key: str, callback_url: str | None):
        self.corp_id, self.secret, self.aes_key = corp_id, secret, aes_key
        self.crypto = CallbackCrypto(token, aes_key, corp_id)
        self.callback_url = callback_url
        self.lock = threading.RLock()
        self.offset_s = 0.0
        self.access_token: str | None = None
        self.token_expires = 0.0
        self.retired_tokens: set[str] = set()
        self.gettoken_calls = 0
        self.api_calls: dict[str, int] = defaultdict(int)
        self.chats: dict[str, Chat] = {}
        self.dismissed: set[str] = set()
        self.join_ways: dict[str, dict[str, Any]] = {}
        self.robot_sends: dict[str, list[float]] = defaultdict(list)
        self.robot_texts: dict[str, list[str]] = defaultdict(list)
        self.templates: list[dict[str, Any]] = []
        self.template_counts: dict[tuple[str, str], int] = defaultdict(int)
        self.ids = itertools.count(1)
        self.outbox: queue.Queue[str | None] = queue.Queue()  # event plaintexts to post
        self.deliveries: list[dict[str, Any]] = []
        self.failed_deliveries = 0
        self.busy_answers = 0  # the next N API calls answer errcode -1 (system busy)

    def now(self) -> float:
        return time.time() + self.offset_s

    # --- tokens ---------------------------------------------------------------------------------

    def gettoken(self, corpid: str, secret: str) -> dict[str, Any]:
        with self.lock:
            if corpid != self.corp_id:
                raise ApiError(40013, "invalid corpid")
            if secret != self.secret:
                raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
            self.gettoken_calls += 1
            now = self.now()
            if self.access_token is None or self.token_expires <= now:
                if self.access_token:
                    self.retired_tokens.add(self.access_token)
                self.access_token, self.token_expires = secrets.token_urlsafe(48), now + TOKEN_TTL_S
            return {"access_token": self.access_token, "expires_in": int(self.token_expires - now)}

    def check_token(self, token: str | None) -> None:
        with self.lock:
            if not token:
                raise ApiError(41001, "access_token missing")
            if token == self.access_token and self.token_expires > self.now():
                return
            if token == self.access_token or token in self.retired_tokens:
                raise ApiError(42001, "access_token expired")
            raise ApiError(40014, "invalid access_token")

    def expire_token_now(self) -> None:
        """WeCom may invalidate a token early (docs): the next call gets 42001."""
        with self.lock:
            self.token_expires = 0

    # --- chats and join ways --------------------------------------------------------------------

    def new_chat(self, owner: str, name: str) -> Chat:
        with self.lock:
            now = int(self.now())
            chat = Chat(f"wr{secrets.token_hex(14)}", name, owner, now, [Member(owner, 1, now, 0)])
            self.chats[chat.chat_id] = chat
            self.emit(chat.chat_id, "create")
            return chat

    def chat(self, chat_id: Any) -> Chat:
        if not isinstance(chat_id, str) or chat_id not in self.chats:
            raise ApiError(40050, "chat_id not exist")
        return self.chats[chat_id]

    def _join_way_fields(self, body: dict[str, Any], partial: dict[str, Any] | None = None) -> dict[str, Any]:
        way = dict(partial or {})
        scene = body.get("scene")
        if scene not in (1, 2):
            raise ApiError(40058, "invalid scene: 1 or 2")
        chat_ids = body.get("chat_id_list")
        if not isinstance(chat_ids, list) or not 1 <= len(chat_ids) <= 5:
            raise ApiError(40058, "chat_id_list: 1 to 5 chat ids")
        for chat_id in chat_ids:
            self.chat(chat_id)
        state = body.get("state", "")
        if not isinstance(state, str) or len(state) > 30:
            raise ApiError(40058, "state: at most 30 characters")
        base_name = body.get("room_base_name", "")
        if not isinstance(base_name, str) or len(base_name) > 40:
            raise ApiError(40058, "room_base_name: at most 40 characters")
        base_id = body.get("room_base_id", 1)
        auto = body.get("auto_create_room", 1)
        if not isinstance(base_id, int) or auto not in (0, 1):
            raise ApiError(40058, "invalid room_base_id or auto_create_room")
        way.update(scene=scene, remark=str(body.get("remark", ""))[:30], auto_create_room=auto,
                   room_base_name=base_name, room_base_id=base_id, chat_id_list=list(chat_ids), state=state)
        return way

    def add_join_way(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            config_id = secrets.token_hex(16)
            way = self._join_way_fields(body, {"config_id": config_id})
            way["qr_code"] = f"https://wwcdn.weixin.qq.com/emulator/join/{config_id}.png"
            self.join_ways[config_id] = way
            return {"config_id": config_id}

    def join_way(self, config_id: Any) -> dict[str, Any]:
        if not isinstance(config_id, str) or config_id not in self.join_ways:
            raise ApiError(41044, "config_id not exist")
        return self.join_ways[config_id]

    def update_join_way(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            way = self.join_way(body.get("config_id"))
            self.join_ways[way["config_id"]] = self._join_way_fields(body, way)
            return {}

    def scan(self, config_id: str, userid: str) -> str:
        """A customer scans the join way: the chat they end up in."""
        with self.lock:
            way = self.join_way(config_id)
            listed = [self.chats[c] for c in way["chat_id_list"] if c in self.chats]
            for chat in listed:
                if any(m.userid == userid for m in chat.members):
                    return chat.chat_id
            target = next((c for c in listed if len(c.members) < CHAT_LIMIT), None)
            if target is None:
                if not way["auto_create_room"] or not listed:
                    raise ApiError(40058, "every group of this join way is full")
                target = self.new_chat(listed[0].owner, f"{way['room_base_name']}{way['room_base_id']}")
                way["room_base_id"] += 1
                way["chat_id_list"] = [*way["chat_id_list"], target.chat_id]
            target.members.append(Member(userid, 2, int(self.now()), 3, way["state"] or None))
            target.version += 1
            self.emit(target.chat_id, "update", "add_member", JoinScene=3, MemChangeCnt=1,
                      MemChangeList=[userid])
            return target.chat_id

    def leave(self, chat_id: str, userid: str) -> None:
        with self.lock:
            chat = self.chat(chat_id)
            before = len(chat.members)
            chat.members = [m for m in chat.members if m.userid != userid]
            if len(chat.members) != before:
                chat.version += 1
                self.emit(chat_id, "update", "del_member", QuitScene=0, MemChangeCnt=1, MemChangeList=[userid])

    def dismiss(self, chat_id: str) -> None:
        with self.lock:
            self.chat(chat_id)
            del self.chats[chat_id]
            self.dismissed.add(chat_id)
            for way in self.join_ways.values():
                way["chat_id_list"] = [c for c in way["chat_id_list"] if c != chat_id]
            self.emit(chat_id, "dismiss")

    # --- mass send and robots -------------------------------------------------------------------

    def add_msg_template(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if body.get("chat_type") != "group":
                raise ApiError(40058, "the emulator sends to groups only (chat_type group)")
            sender = body.get("sender")
            text = (body.get("text") or {}).get("content") if isinstance(body.get("text"), dict) else None
            chat_ids = body.get("chat_id_list") or []
            if not isinstance(sender, str) or not sender or not isinstance(text, str) or not text:
                raise ApiError(40058, "sender and text.content are required for groups")
            if not isinstance(chat_ids, list) or len(chat_ids) > 2000:
                raise ApiError(40058, "chat_id_list: at most 2000 groups")
            now = datetime.fromtimestamp(self.now(), UTC)
            month = now.strftime("%Y-%m")
            per_month = calendar.monthrange(now.year, now.month)[1]  # one a day, on average, by default
            fail = []
            for chat_id in chat_ids:
                chat = self.chats.get(chat_id)
                if chat is None or chat.owner != sender or self.template_counts[(chat_id, month)] >= per_month:
                    fail.append(chat_id)
                else:
                    self.template_counts[(chat_id, month)] += 1
            msgid = f"msg{next(self.ids)}"
            self.templates.append({"msgid": msgid, "sender": sender, "chat_id_list": chat_ids, "text": text,
                                   "fail_list": fail})
            return {"msgid": msgid, "fail_list": fail}

    def robot_send(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if not key:
                raise ApiError(93000, "invalid webhook url")
            text = (body.get("text") or {}).get("content") if isinstance(body.get("text"), dict) else None
            if body.get("msgtype") != "text" or not isinstance(text, str):
                raise ApiError(40008, "invalid message type")
            if len(text.encode()) > TEXT_LIMIT:
                raise ApiError(40058, "content exceeds 2048 bytes")
            now = self.now()
            recent = [t for t in self.robot_sends[key] if now - t < ROBOT_WINDOW_S]
            if len(recent) >= ROBOT_LIMIT:
                raise ApiError(45009, "api freq out of limit")
            self.robot_sends[key] = [*recent, now]
            self.robot_texts[key].append(text)
            return {}

    # --- callbacks ------------------------------------------------------------------------------

    def emit(self, chat_id: str, change_type: str, update_detail: str | None = None, **extra: Any) -> None:
        fields: list[tuple[str, Any]] = [
            ("ToUserName", self.corp_id), ("FromUserName", "sys"), ("CreateTime", int(self.now())),
            ("MsgType", "event"), ("Event", "change_external_chat"), ("ChatId", chat_id),
            ("ChangeType", change_type)]
        if update_detail:
            fields.append(("UpdateDetail", update_detail))
        chat = self.chats.get(chat_id)
        if change_type == "update" and chat is not None:
            fields += [("LastMemVer", str(chat.version - 1)), ("CurMemVer", str(chat.version))]
        fields += list(extra.items())
        self.outbox.put(_event_xml(fields))

    def seal(self, plain: str) -> tuple[dict[str, str], bytes]:
        timestamp, nonce = str(int(self.now())), secrets.token_hex(8)
        encrypted, signature = self.crypto.seal(plain.encode(), timestamp, nonce)
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>").encode()
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, body

    def deliver_forever(self) -> None:
        while True:
            item = self.outbox.get()
            if item is None:
                self.outbox.task_done()
                return
            try:
                self._deliver(item)
            finally:
                self.outbox.task_done()

    def _deliver(self, plain: str) -> None:
        url = self.callback_url
        if not url:
            return
        query, body = self.seal(plain)
        for attempt in range(4):  # the first try and WeCom's 3 retries
            request = urllib.request.Request(f"{url}?{urlencode(query)}", data=body, method="POST",
                                             headers={"Content-Type": "text/xml"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            with self.lock:
                self.deliveries.append({"query": query, "body": body.decode(), "status": status, "plain": plain})
            if status == 200:
                return
            time.sleep(0.05 * (attempt + 1))
        with self.lock:
            self.failed_deliveries += 1

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {
                "gettoken_calls": self.gettoken_calls, "api_calls": dict(self.api_calls),
                "chats": [{"chat_id": c.chat_id, "name": c.name, "owner": c.owner, "member_count": len(c.members),
                           "customer_count": sum(m.type == 2 for m in c.members)} for c in self.chats.values()],
                "dismissed": sorted(self.dismissed), "join_ways": list(self.join_ways.values()),
                "robots": {k: list(v) for k, v in self.robot_texts.items()}, "templates": list(self.templates),
                "pending_callbacks": self.outbox.unfinished_tasks, "failed_deliveries": self.failed_deliveries,
            }


def _event_xml(fields: list[tuple[str, Any]]) -> str:
    parts = ["<xml>"]
    for name, value in fields:
        if isinstance(value, list):
            items = "".join(f"<Item><![CDATA[{escape(str(v))}]]></Item>" for v in value)
            parts.append(f"<{name}>{items}</{name}>")
        elif isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    parts.append("</xml>")
    return "".join(parts)


Route = Callable[[WeComState, dict[str, Any], dict[str, str]], dict[str, Any]]

API: dict[str, Route] = {
    "externalcontact/groupchat/add_join_way": lambda s, b, q: s.add_join_way(b),
    "externalcontact/groupchat/get_join_way": lambda s, b, q: {"join_way": dict(s.join_way(b.get("config_id")))},
    "externalcontact/groupchat/update_join_way": lambda s, b, q: s.update_join_way(b),
    "externalcontact/groupchat/del_join_way": lambda s, b, q: (s.join_ways.pop(s.join_way(b.get("config_id"))
                                                                                ["config_id"]), {})[1],
    "externalcontact/groupchat/get": lambda s, b, q: {"group_chat": s.chat(b.get("chat_id")).view()},
    "externalcontact/add_msg_template": lambda s, b, q: s.add_msg_template(b),
}

CONTROL: dict[str, Route] = {
    "chats": lambda s, b, q: {"chat_id": s.new_chat(str(b.get("owner") or "staff1"),
                                                    str(b.get("name") or "客户群")).chat_id},
    "scan": lambda s, b, q: {"chat_id": s.scan(str(b.get("config_id")), str(b.get("external_userid")))},
    "leave": lambda s, b, q: (s.leave(str(b.get("chat_id")), str(b.get("userid"))), {})[1],
    "dismiss": lambda s, b, q: (s.dismiss(str(b.get("chat_id"))), {})[1],
    "advance": lambda s, b, q: (setattr(s, "offset_s", s.offset_s + float(b.get("seconds", 0))), {})[1],
    "expire-token": lambda s, b, q: (s.expire_token_now(), {})[1],
    "busy": lambda s, b, q: (setattr(s, "busy_answers", int(b.get("calls", 1))), {})[1],
    "callback-url": lambda s, b, q: (setattr(s, "callback_url", b.get("url")), {})[1],
    "drain": lambda s, b, q: (s.outbox.join(), {})[1],
}


def _handler(state: WeComState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, payload: dict[str, Any], status: int = 200) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return {}
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                raise ApiError(47001, "data format error") from None
            if not isinstance(body, dict):
                raise ApiError(47001, "data format error")
            return body

        def _route(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            try:
                body = self._body() if self.command == "POST" else {}
                if parts.path.startswith("/emulator/"):
                    name = parts.path.removeprefix("/emulator/")
                    if self.command == "GET" and name == "state":
                        return self._answer(state.view())
                    if self.command == "GET" and name == "deliveries":
                        with state.lock:
                            return self._answer({"deliveries": list(state.deliveries)})
                    if name not in CONTROL:
                        return self._answer({"error": "unknown control"}, 404)
                    return self._answer(CONTROL[name](state, body, query))
                path = parts.path.removeprefix("/cgi-bin/")
                if path == "gettoken":
                    answer = state.gettoken(query.get("corpid", ""), query.get("corpsecret", ""))
                elif path == "webhook/send":
                    answer = state.robot_send(query.get("key", ""), body)
                elif path in API and self.command == "POST":
                    state.check_token(query.get("access_token"))
                    with state.lock:
                        if state.busy_answers > 0:
                            state.busy_answers -= 1
                            raise ApiError(-1, "system busy")
                        state.api_calls[path] += 1
                        answer = API[path](state, body, query)
                else:
                    return self._answer({"errcode": 404, "errmsg": "unknown api"}, 404)
                self._answer({"errcode": 0, "errmsg": "ok", **answer})
            except ApiError as exc:
                self._answer({"errcode": exc.errcode, "errmsg": exc.errmsg})

        do_GET = do_POST = _route  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # bursts of concurrent callers queue instead of being reset
    daemon_threads = True


class Emulator:
    """A running emulator: `url`, `state`, `stop()`."""

    def __init__(self, state: WeComState, host: str = "127.0.0.1", port: int = 0, senders: int = SENDERS):
        self.state = state
        self.server = _Server((host, port), _handler(state))
        self.threads = [threading.Thread(target=self.server.serve_forever, daemon=True)]
        self.threads += [threading.Thread(target=state.deliver_forever, daemon=True) for _ in range(senders)]
        self.senders = senders

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def env(self) -> dict[str, str]:
        """The Storeloop settings that point at this emulator."""
        return {"STORELOOP_WECOM": "emulator", "STORELOOP_WECOM_API_BASE": self.url,
                "STORELOOP_WECOM_CORP_ID": self.state.corp_id, "STORELOOP_WECOM_SECRET": self.state.secret,
                "STORELOOP_WECOM_CALLBACK_TOKEN": self.state.crypto.token,
                "STORELOOP_WECOM_AES_KEY": self.state.aes_key,
                "STORELOOP_WEBHOOK_HOSTS": f"qyapi.weixin.qq.com,{self.url}"}

    def start(self) -> Emulator:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        for _ in range(self.senders):
            self.state.outbox.put(None)
        self.server.shutdown()
        self.server.server_close()


def start_emulator(port: int = 0, callback_url: str | None = None, *, corp_id: str = DEFAULTS["corp_id"],
                   secret: str = DEFAULTS["secret"], token: str = DEFAULTS["token"],
                   aes_key: str = DEFAULTS["aes_key"], senders: int = SENDERS) -> Emulator:
    """Start an emulator in this process (threads); `emulator.env()` gives the
    settings that point Storeloop at it. `make run` (devtools/stack.py) can
    call this and set the callback URL to its `chalice local`'s /wecom/callback."""
    state = WeComState(corp_id, secret, token, aes_key, callback_url)
    emulator = Emulator(state, port=port, senders=senders).start()
    return emulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--callback-url", default=None)
    args = parser.parse_args()
    emulator = start_emulator(args.port, args.callback_url)
    print(json.dumps(emulator.env(), indent=2))  # noqa: T201 - a dev tool's output
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
