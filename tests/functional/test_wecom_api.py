"""The WeCom client against the emulator (and a few misbehaving servers),
and the store join-way routes, on moto."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.settings import Settings, get_settings
from chalicelib.wecom import http, tokens
from chalicelib.wecom.client import WeComClient
from chalicelib.wecom.errors import WeComApiError, WeComError, WeComOff
from chalicelib.wecom.models import WeComToken
from devtools.wecom_emulator import Emulator, start_emulator
from tests.api import Api, token
from tests.conftest import use_environment

ADMIN = token("admin", "hq-ops")
STAFF = token("staff", "zhang", store_id="s1")


@pytest.fixture
def emulator(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emu = start_emulator(senders=1)  # no callback URL: the in-process app is not reachable over HTTP
    prefix = get_settings().table_prefix
    use_environment(monkeypatch, STORELOOP_TABLE_PREFIX=prefix, **emu.env())
    yield emu
    emu.stop()


def client() -> WeComClient:
    return WeComClient(get_settings(), timeout_s=1.0)


def test_a_token_is_fetched_once_and_reused(emulator: Emulator) -> None:
    wecom = client()
    chat = emulator.state.new_chat("zhang", "g1").chat_id
    for _ in range(5):
        assert wecom.group_chat(chat)["chat_id"] == chat
    assert emulator.state.gettoken_calls == 1
    cached = WeComToken.get(wecom.app)
    assert cached.access_token and cached.fetches == 1
    assert wecom.secret not in cached.app  # keyed by a hash, never the secret
    assert tokens.app_key("a", "b") != tokens.app_key("a", "c")
    # (concurrent callers: tests/integration/test_wecom_flow.py, on DynamoDB Local; moto's
    # conditional writes are not atomic across threads)


@pytest.mark.parametrize("damage", ["unknown", "expired"])
def test_a_refused_token_is_refreshed_and_the_call_retried_once(emulator: Emulator, damage: str) -> None:
    wecom = client()
    chat = emulator.state.new_chat("zhang", "g1").chat_id
    wecom.group_chat(chat)
    if damage == "unknown":  # 40014: the cache holds a token WeCom never issued
        WeComToken(wecom.app).update(actions=[WeComToken.access_token.set("bogus")])
    else:  # 42001: WeCom expired it early
        emulator.state.expire_token_now()
    assert wecom.group_chat(chat)["chat_id"] == chat
    assert emulator.state.gettoken_calls == 2


def test_a_busy_wecom_is_retried_with_backoff(emulator: Emulator) -> None:
    wecom = client()
    chat = emulator.state.new_chat("zhang", "g1").chat_id
    emulator.state.busy_answers = 3
    assert wecom.group_chat(chat)["chat_id"] == chat and emulator.state.busy_answers == 0


def test_api_errors_are_typed_with_their_errcode(emulator: Emulator) -> None:
    wecom = client()
    with pytest.raises(WeComApiError) as err:
        wecom.get_join_way("nope")
    assert (err.value.errcode, err.value.code) == (41044, "errcode_41044")
    with pytest.raises(WeComApiError) as err:
        wecom.group_chat("wrnope")
    assert err.value.errcode == 40050
    bad = Settings.from_env({**emulator.env(), "STORELOOP_JWT_SECRET": "x" * 32, "STORELOOP_WECOM_SECRET": "wrong"})
    with pytest.raises(WeComApiError) as err:
        WeComClient(bad).group_chat("wr1")
    assert err.value.errcode == 40001


def test_join_way_limits_are_checked_before_the_call_and_by_wecom(emulator: Emulator) -> None:
    wecom = client()
    chats = [emulator.state.new_chat("zhang", f"g{i}").chat_id for i in range(6)]
    for kwargs in ({"chat_ids": chats}, {"chat_ids": [], "state": "s"}, {"chat_ids": chats[:1], "state": "s" * 31},
                   {"chat_ids": chats[:1], "scene": 3}):
        args = {"state": "s", "room_base_name": "店#", "room_base_id": 1, **kwargs}
        with pytest.raises(ValueError):
            wecom.add_join_way(**args)  # type: ignore[arg-type]
    config_id = wecom.add_join_way(chat_ids=chats[:5], state="s" * 30, room_base_name="店#", room_base_id=1)
    way = wecom.get_join_way(config_id)
    assert way["chat_id_list"] == chats[:5] and way["qr_code"].startswith("https://")
    # the emulator enforces the documented limits too
    with pytest.raises(WeComApiError) as err:
        wecom.call("externalcontact/groupchat/add_join_way", {"scene": 2, "chat_id_list": chats, "state": "s"})
    assert err.value.errcode == 40058
    wecom.del_join_way(config_id)
    with pytest.raises(WeComApiError):
        wecom.get_join_way(config_id)


class Misbehaving:
    """A server that redirects, stalls or answers garbage."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits.append(self.path)
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{outer.port}/stolen")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path.startswith("/slow"):
                    time.sleep(1.5)
                    self.send_response(200)
                    self.end_headers()
                else:
                    body = b"<html>oops</html>"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_redirects_timeouts_and_garbage_become_codes_not_messages() -> None:
    odd = Misbehaving()
    base = f"http://127.0.0.1:{odd.port}"
    for path, code in (("/redirect", "redirect"), ("/slow", "timeout"), ("/garbage", "bad_response")):
        with pytest.raises(WeComError) as err:
            http.call("GET", base + path + "?access_token=SECRET", timeout_s=0.5)
        assert err.value.code == code and "SECRET" not in str(err.value)
    assert "/stolen" not in odd.hits
    odd.server.shutdown()
    with pytest.raises(WeComError) as err:
        http.call("GET", base + "/closed", timeout_s=0.5)
    assert err.value.code in ("network", "timeout")


def test_the_client_refuses_to_exist_when_wecom_is_off(api: Api) -> None:
    with pytest.raises(WeComOff):
        WeComClient(get_settings())
    put_store(api)
    reply = api.put("/stores/s1/wecom", {"seed_chat_ids": ["wr1"]}, as_=ADMIN)
    assert (reply.status, reply.error_code) == (409, "wecom_off")
    assert api.post("/groups/join", {"store_id": "s1"}, as_=token("member", "m1")).body["join"] is None


def put_store(api: Api, store_id: str = "s1") -> None:
    store = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5}
    assert api.put(f"/stores/{store_id}", store, as_=ADMIN).status == 200
    staff = {"s1": "zhang", "s2": "li"}[store_id]  # on the store's roster
    assert api.put(f"/staff/{staff}", {"store_id": store_id, "role": "manager"}, as_=ADMIN).status == 200


def test_staff_register_seed_groups_and_members_get_the_join_way(api: Api, emulator: Emulator) -> None:
    put_store(api)
    early = api.post("/groups/join", {"store_id": "s1"}, as_=token("member", "m0"))
    assert early.status == 200 and early.body["join"] is None  # no join way until staff register a group
    seed = emulator.state.new_chat("zhang", "政立路店1群").chat_id
    reply = api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=STAFF)
    assert reply.status == 200, reply.body
    way = reply.body
    assert way["join_way_chat_ids"] == [seed] and way["chats"][0]["member_count"] == 1
    (remote,) = emulator.state.view()["join_ways"]
    assert (remote["state"], remote["auto_create_room"], remote["room_base_id"]) == (way["state"], 1, 2)
    assert remote["room_base_name"] == f"政立路店#{way['state']}#" and len(way["state"]) <= 30
    # registering again (same seeds) updates the same join way, never a second one
    assert api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN).body["config_id"] == way["config_id"]
    assert len(emulator.state.view()["join_ways"]) == 1
    joined = api.post("/groups/join", {"store_id": "s1"}, as_=token("member", "m1"))
    assert joined.status == 200
    assert joined.body["join"] == {"config_id": way["config_id"], "qr_code": way["qr_code"], "state": way["state"],
                                   "expected_chat_id": seed, "expected_group_id": "s1.1"}


def test_registration_refusals(api: Api, emulator: Emulator) -> None:
    put_store(api)
    put_store(api, "s2")
    seed = emulator.state.new_chat("zhang", "g").chat_id
    assert api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=token("staff", "li", store_id="s2")).status == 403
    assert api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=token("member", "m1")).status == 403
    assert api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}).status == 401
    for body in ({}, {"seed_chat_ids": []}, {"seed_chat_ids": [seed] * 2}, {"seed_chat_ids": ["a b"]},
                 {"seed_chat_ids": [f"wr{i}" for i in range(6)]}, {"seed_chat_ids": [seed], "x": 1}):
        reply = api.put("/stores/s1/wecom", body, as_=ADMIN)
        assert reply.status == 400 and reply.error_code == "validation_error", body
    reply = api.put("/stores/s1/wecom", {"seed_chat_ids": ["wrnosuchchat"]}, as_=ADMIN)
    assert (reply.status, reply.error_code) == (409, "unknown_chat")
    assert api.put("/stores/nope/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN).status == 404
    assert api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN).status == 200
    reply = api.put("/stores/s2/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN)
    assert (reply.status, reply.error_code) == (409, "chat_of_another_store")


def test_wecom_being_down_is_a_502_with_a_code(api: Api, emulator: Emulator) -> None:
    put_store(api)
    seed = emulator.state.new_chat("zhang", "g").chat_id
    emulator.stop()
    reply = api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN)
    assert (reply.status, reply.error_code) == (502, "wecom_unavailable")
    assert reply.body["error"]["details"] == [{"field": "wecom", "problem": "network"}]
    assert "127.0.0.1" not in reply.body["error"]["message"]


def test_the_nightly_reconcile_corrects_what_callbacks_missed(api: Api, emulator: Emulator) -> None:
    """No callback reaches the in-process app here: everything WeCom did
    after registration is drift the reconcile must find."""
    from chalicelib.clock import get_clock
    from chalicelib.groups import ledger
    from chalicelib.groups.models import GroupRecord
    from chalicelib.groups.reconcile import reconcile_all

    put_store(api)
    seed, spare = (emulator.state.new_chat("zhang", name).chat_id for name in ("g1", "g0"))
    way = api.put("/stores/s1/wecom", {"seed_chat_ids": [seed, spare]}, as_=STAFF).body
    for i in range(199 + 199 + 5):  # fills both seeds and WeCom opens a third group
        emulator.state.scan(way["config_id"], f"wm{i}")
    emulator.state.dismiss(spare)
    (drift,) = reconcile_all(get_clock().now())
    wecom = {c["chat_id"]: c["member_count"] for c in emulator.state.view()["chats"]}
    (auto,) = set(wecom) - {seed}
    assert (drift.added, drift.retired, drift.error) == ([auto], [spare], None)
    assert drift.recounted == {seed: (1, 200)}
    chats = {c.chat_id: c for c in ledger.store_chats("s1")}
    assert {c: int(chats[c].member_count) for c in wecom} == wecom == {seed: 200, auto: 6}
    assert (chats[auto].seq, chats[auto].origin, chats[spare].status) == (3, "auto", "dismissed")
    assert GroupRecord.get("s1", 3).chat_ref == auto
    (remote,) = emulator.state.view()["join_ways"]
    assert remote["chat_id_list"] == [auto] and remote["room_base_id"] == 4
    again = reconcile_all(get_clock().now())  # nothing left to correct
    assert (again[0].added, again[0].recounted, again[0].retired) == ([], {}, [])


def test_a_failed_or_abandoned_creation_does_not_block_the_store(api: Api, emulator: Emulator,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from chalicelib.clock import FixedClock, get_clock, set_clock
    from chalicelib.wecom.models import StoreJoinWay

    put_store(api)
    seed = emulator.state.new_chat("zhang", "g").chat_id

    def refuse(*args: object, **kwargs: object) -> str:
        raise WeComApiError(40058)

    with monkeypatch.context() as patch:
        patch.setattr(WeComClient, "add_join_way", refuse)
        reply = api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN)
    assert (reply.status, reply.error_code) == (409, "wecom_refused")
    assert reply.body["error"]["details"] == [{"field": "seed_chat_ids", "problem": "errcode_40058"}]
    # the failed creation released its claim: the next registration goes through at once
    first = api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=ADMIN)
    assert first.status == 200
    # a registration that died right after its placeholder: refused for a minute, then taken over
    put_store(api, "s2")
    other = emulator.state.new_chat("li", "g2").chat_id
    now = get_clock().now()
    StoreJoinWay("s2", state="x", room_base_name="x", room_base_id=1, updated_at=now).save()
    reply = api.put("/stores/s2/wecom", {"seed_chat_ids": [other]}, as_=ADMIN)
    assert (reply.status, reply.error_code) == (409, "join_way_busy")
    set_clock(FixedClock(now + timedelta(seconds=61)))
    reply = api.put("/stores/s2/wecom", {"seed_chat_ids": [other]}, as_=ADMIN)
    assert reply.status == 200 and reply.body["config_id"] != first.body["config_id"]
    assert len(emulator.state.view()["join_ways"]) == 2


def test_the_nightly_schedule_runs_the_reconcile(api: Api, emulator: Emulator) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.groups import ledger

    put_store(api)
    seed = emulator.state.new_chat("zhang", "g1").chat_id
    way = api.put("/stores/s1/wecom", {"seed_chat_ids": [seed]}, as_=STAFF).body
    for i in range(7):  # no callback reaches the in-process app: drift only the schedule can correct
        emulator.state.scan(way["config_id"], f"wm{i}")
    with Client(app) as client:
        client.lambda_.invoke("groups_reconcile", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert {c.chat_id: int(c.member_count) for c in ledger.store_chats("s1")} == {seed: 8}
