"""The real flow on DynamoDB Local + the WeCom emulator + `chalice local`:
staff register a seed group, Storeloop creates the join way, members join
through HTTP and scan it, WeCom fills groups and opens new ones, its signed
callbacks keep the ledger equal to WeCom's own numbers."""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from chalicelib.groups.models import GroupRecord
from chalicelib.wecom.models import CallbackSeen, WeComChat
from devtools.wecom_emulator import Emulator, start_emulator
from tests.api import token
from tests.conftest import use_environment
from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN = token("admin", "hq-ops")
STAFF = token("staff", "zhang", store_id="s1")
MEMBERS = 450  # the number: 2 full groups and a third, through HTTP, on 2 cores in about a minute
_local = threading.local()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = start_emulator()
    yield emu
    emu.stop()


@pytest.fixture
def stack(ddb_env: dict[str, str], emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChaliceLocal]:
    env = {**ddb_env, **emulator.env()}
    use_environment(monkeypatch, **emulator.env())
    server = ChaliceLocal(env).start()
    emulator.state.callback_url = server.url + "/wecom/callback"
    yield server
    server.stop()


def call(base: str, method: str, path: str, body: Any = None, bearer: str | None = None) -> tuple[int, Any]:
    session = getattr(_local, "session", None) or requests.Session()
    _local.session = session
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    r = session.request(method, base + path, json=body, timeout=60, headers=headers)
    return r.status_code, (r.json() if r.headers.get("Content-Type", "").startswith("application/json") else r.text)


def ledger_view(server: ChaliceLocal) -> list[tuple[str, int, int, str]]:
    status, body = call(server.url, "GET", "/stores/s1/wecom", bearer=STAFF)
    assert status == 200, body
    return sorted((c["chat_id"], c["member_count"], c["customer_count"], c["status"]) for c in body["chats"])


def emulator_view(emulator: Emulator) -> list[tuple[str, int, int, str]]:
    chats = emulator.state.view()["chats"]
    return sorted((c["chat_id"], c["member_count"], c["customer_count"], "active") for c in chats)


def set_up_store(server: ChaliceLocal, emulator: Emulator) -> dict[str, Any]:
    store = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "group_capacity": 200}
    assert call(server.url, "PUT", "/stores/s1", store, ADMIN)[0] == 200
    assert call(server.url, "PUT", "/staff/zhang", {"store_id": "s1", "role": "manager"}, ADMIN)[0] == 200
    seed = emulator.state.new_chat("zhang", "政立路店福利1群").chat_id  # staff create it in the WeCom client
    status, body = call(server.url, "PUT", "/stores/s1/wecom", {"seed_chat_ids": [seed]}, STAFF)
    assert status == 200, body
    assert body["config_id"] and body["qr_code"] and body["state"].startswith("sl")
    assert [c["chat_id"] for c in body["chats"]] == [seed] and body["chats"][0]["group_id"] == "s1.1"
    assert body["alerts"][0]["code"] == "no_robot"  # staff learn posts cannot reach it yet, and what to do
    return dict(body)


def test_members_fill_wecom_groups_and_the_ledger_follows_wecom(stack: ChaliceLocal, emulator: Emulator) -> None:
    way = set_up_store(stack, emulator)

    def member(i: int) -> str:
        member_id = f"m{i:04d}"
        status, body = call(stack.url, "POST", "/groups/join", {"store_id": "s1"}, token("member", member_id))
        assert status == 200, body
        assert body["join"]["config_id"] == way["config_id"] and body["join"]["qr_code"] == way["qr_code"]
        # the member scans the QR code the mini-program shows
        return emulator.state.scan(body["join"]["config_id"], member_id)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(member, range(MEMBERS)))
    emulator.state.outbox.join()  # every callback delivered (and answered)
    elapsed = time.monotonic() - started

    # WeCom's side: a group admits up to 200 people, its owner included; two auto-created groups
    wecom = emulator.state.view()
    counts = sorted(((c["member_count"], c["customer_count"]) for c in wecom["chats"]), reverse=True)
    assert counts == [(200, 199), (200, 199), (53, 52)], (counts, elapsed)
    assert wecom["failed_deliveries"] == 0
    assert ledger_view(stack) == emulator_view(emulator)

    # Storeloop's groups: its own counter (members who joined through us, capped at the store's
    # capacity) and each group bound to the WeCom chat with the same number
    groups = {int(g.seq): g for g in GroupRecord.query("s1")}
    assert [int(groups[s].member_count) for s in (1, 2, 3)] == [200, 200, 50]
    chats = {int(c.seq): c for c in WeComChat.by_store.query("s1")}
    assert {s: groups[s].chat_ref for s in (1, 2, 3)} == {s: chats[s].chat_id for s in (1, 2, 3)}
    assert [chats[s].origin for s in (1, 2, 3)] == ["seed", "auto", "auto"]
    assert chats[2].name.endswith(f"#{way['state']}#2") and chats[3].name.endswith(f"#{way['state']}#3")
    assert [int(chats[s].via_join_way) for s in (1, 2, 3)] == [199, 199, 52]
    # joins we recorded and joins WeCom reports, side by side
    totals = call(stack.url, "GET", "/stores/s1/wecom", bearer=STAFF)[1]
    assert (totals["storeloop_member_count"], totals["wecom_customer_count"], totals["wecom_via_join_way"]) == (
        MEMBERS, MEMBERS, MEMBERS)
    # Storeloop keeps the join way on groups that still admit members, numbering the next one
    (remote,) = wecom["join_ways"]
    assert remote["chat_id_list"] == [chats[3].chat_id] and remote["room_base_id"] == 4
    # new joins are told the group WeCom will fill next
    status, body = call(stack.url, "POST", "/groups/join", {"store_id": "s1"}, token("member", "late"))
    assert body["join"]["expected_chat_id"] == chats[3].chat_id and body["join"]["expected_group_id"] == "s1.3"

    # WeCom redelivers: every callback again, three times, shuffled: nothing changes
    before = ledger_view(stack)
    deliveries = [d for d in emulator.state.deliveries if d["status"] == 200]
    replays = deliveries * 3
    random.Random(9).shuffle(replays)

    def replay(d: dict[str, Any]) -> tuple[int, Any]:
        r = requests.post(f"{stack.url}/wecom/callback?{urlencode(d['query'])}", data=d["body"].encode(),
                          headers={"Content-Type": "text/xml"}, timeout=60)
        return r.status_code, r.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(replay, replays))
    assert set(answers) == {(200, "success")}
    assert ledger_view(stack) == before == emulator_view(emulator)

    # and even past the dedupe window (forgotten events applied again, old ones last): the
    # ledger follows WeCom's current numbers, never the replayed event's
    for seen in CallbackSeen.scan():
        seen.delete()
    oldest_first = sorted(deliveries, key=lambda d: d["query"]["timestamp"])[:60] + deliveries[:60]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(replay, oldest_first)) == {(200, "success")}
    assert ledger_view(stack) == before


def test_forged_or_altered_callbacks_are_refused_and_change_nothing(stack: ChaliceLocal, emulator: Emulator) -> None:
    set_up_store(stack, emulator)
    config_id = emulator.state.view()["join_ways"][0]["config_id"]
    chat_id = emulator.state.scan(config_id, "wm-1")
    emulator.state.outbox.join()
    before = ledger_view(stack)
    assert before == emulator_view(emulator)
    good = [d for d in emulator.state.deliveries if d["status"] == 200][-1]
    url = f"{stack.url}/wecom/callback"

    def post(query: dict[str, str], body: str) -> requests.Response:
        return requests.post(f"{url}?{urlencode(query)}", data=body.encode(), timeout=30,
                             headers={"Content-Type": "text/xml"})

    forged_sig = {**good["query"], "msg_signature": "0" * 40}
    assert (r := post(forged_sig, good["body"])).status_code == 403 and r.json()["error"]["code"] == "bad_signature"
    later = {**good["query"], "timestamp": str(int(good["query"]["timestamp"]) + 1)}
    assert post(later, good["body"]).status_code == 403
    altered = good["body"].replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA")
    assert post(good["query"], altered).status_code == 403
    # a dismissal forged by someone who knows the callback token but not the AES key
    from chalicelib.wecom.crypto import CallbackCrypto

    attacker = CallbackCrypto(emulator.state.crypto.token, "A" * 43, emulator.state.corp_id)
    plain = f"<xml><Event>change_external_chat</Event><ChatId>{chat_id}</ChatId><ChangeType>dismiss</ChangeType></xml>"
    encrypted, sig = attacker.seal(plain.encode(), "1700000000", "n")
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    r = post({"msg_signature": sig, "timestamp": "1700000000", "nonce": "n"}, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_callback"
    for query, junk in [({}, good["body"]), (good["query"], ""), (good["query"], "<xml>"),
                        (good["query"], '<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'),
                        (good["query"], "\x00\xff" * 100)]:
        assert 400 <= post(query, junk).status_code < 500
    assert ledger_view(stack) == before

    # the URL check WeCom makes when the callback is configured
    echostr, sig = emulator.state.crypto.seal(b"echo-4711", "1700000000", "n2")
    r = requests.get(url, params={"msg_signature": sig, "timestamp": "1700000000", "nonce": "n2",
                                  "echostr": echostr}, timeout=30)
    assert (r.status_code, r.text) == (200, "echo-4711")
    r = requests.get(url, params={"msg_signature": "1" * 40, "timestamp": "1700000000", "nonce": "n2",
                                  "echostr": echostr}, timeout=30)
    assert r.status_code == 403

    # a dismissed group is retired, and a late callback never revives it
    emulator.state.dismiss(chat_id)
    emulator.state.outbox.join()
    assert [c[3] for c in ledger_view(stack)] == ["dismissed"]
    assert post(good["query"], good["body"]).status_code == 200  # a redelivery of an older update
    assert [c[3] for c in ledger_view(stack)] == ["dismissed"]


def test_concurrent_registrations_create_one_join_way(stack: ChaliceLocal, emulator: Emulator) -> None:
    store = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5}
    assert call(stack.url, "PUT", "/stores/s1", store, ADMIN)[0] == 200
    seed = emulator.state.new_chat("zhang", "g").chat_id
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: call(stack.url, "PUT", "/stores/s1/wecom", {"seed_chat_ids": [seed]},
                                               ADMIN), range(8)))
    assert len(emulator.state.view()["join_ways"]) == 1
    codes = {status if status == 200 else body["error"]["code"] for status, body in replies}
    assert codes <= {200, "join_way_busy"} and 200 in codes  # busy: the first was still creating it
    assert call(stack.url, "PUT", "/stores/s1/wecom", {"seed_chat_ids": [seed]}, ADMIN)[0] == 200
    assert len(emulator.state.view()["join_ways"]) == 1


# --- the access token is shared by every process -------------------------------------------------


def _burst(env: dict[str, str], calls: int) -> int:
    """In a fresh process: `calls` concurrent WeCom API calls; how many succeeded."""
    os.environ.update(env)
    from chalicelib import db
    from chalicelib.settings import reset_settings
    from chalicelib.wecom.client import get_client

    reset_settings()
    db.ensure_bound()
    client = get_client()
    with ThreadPoolExecutor(max_workers=calls) as pool:
        return sum(1 for way in pool.map(lambda _: client.get_join_way(env["CONFIG_ID"]), range(calls)) if way)


def test_many_processes_fetch_one_token_per_expiry(ddb_env: dict[str, str], emulator: Emulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, **emulator.env())
    seed = emulator.state.new_chat("zhang", "seed").chat_id
    config_id = emulator.state.add_join_way({"scene": 2, "chat_id_list": [seed], "state": "slx"})["config_id"]
    env = {**ddb_env, **emulator.env(), "CONFIG_ID": config_id}
    ctx = multiprocessing.get_context("spawn")

    def round_of_calls() -> None:
        with ctx.Pool(3) as pool:
            assert pool.starmap(_burst, [(env, 34), (env, 33), (env, 33)]) == [34, 33, 33]

    round_of_calls()
    assert emulator.state.gettoken_calls == 1
    round_of_calls()  # cached: no new fetch
    assert emulator.state.gettoken_calls == 1
    # WeCom expires the token (early, as its docs warn it may): calls get 42001, one refresh for all
    emulator.state.expire_token_now()
    round_of_calls()
    assert emulator.state.gettoken_calls == 2
    assert emulator.state.api_calls["externalcontact/groupchat/get_join_way"] == 300
