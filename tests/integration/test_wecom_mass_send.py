"""A group WeCom opened by itself has no robot: its posts go out as a
mass-send task (add_msg_template, chat_type group) for the owner to confirm,
at most one a day, and what could not go is visible on the post."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.campaigns import posts
from chalicelib.campaigns.store_config import save_store
from chalicelib.groups import ledger
from chalicelib.groups.models import GroupRecord
from chalicelib.wecom.client import get_client
from devtools.wecom_emulator import Emulator, start_emulator
from tests.api import Api
from tests.conftest import use_environment
from tests.integration.test_campaign_days import DAY, fake_offers, sh, store_in  # noqa: F401 - fixture
from tests.integration.test_delivery_wecom import advance_watermark, tick

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fake_offers")]


@pytest.fixture
def emulator(ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emu = start_emulator(senders=1)
    use_environment(monkeypatch, STORELOOP_CHANNEL="wecom", **emu.env())
    yield emu
    emu.stop()


def test_a_group_without_a_robot_gets_one_mass_send_a_day(emulator: Emulator, api: Api, admin: str) -> None:
    save_store("s1", store_in(idle_hour=None), sh("00:00"))
    chat = emulator.state.new_chat("zhang", "政立路店#slaaaaaaaaaa#1").chat_id
    ledger.sync(get_client(), chat, sh("00:00"), store_id="s1", seq=1)  # as the callback would
    assert GroupRecord.get("s1", 1).chat_ref == chat and GroupRecord.get("s1", 1).webhook_url is None
    advance_watermark(sh("08:00"))

    tick("08:30")
    morning = posts.get("s1", f"{DAY.isoformat()}.morning")
    assert morning.status == "sent"
    (task,) = emulator.state.view()["templates"]
    assert (task["sender"], task["chat_id_list"], task["text"]) == ("zhang", [chat], morning.body)

    tick("12:00")  # the day's mass-send is used: the noon post fails, visibly, and is retried later
    noon = posts.get("s1", f"{DAY.isoformat()}.noon")
    assert noon.status == "failed" and noon.last_error == "s1.1: no robot: today's mass-send to this group is used"
    assert len(emulator.state.view()["templates"]) == 1

    listed = api.get(f"/stores/s1/posts?date={DAY.isoformat()}", as_=admin)  # type: ignore[attr-defined]
    by_slot = {p["slot"]: p["deliveries"] for p in listed.body["posts"]}
    assert by_slot["morning"] == [{"group_id": "s1.1", "channel": "mass_send", "status": "sent", "reason": None}]
    assert by_slot["noon"] == [{"group_id": "s1.1", "channel": "mass_send", "status": "failed",
                                "reason": "no robot: today's mass-send to this group is used"}]

    emulator.state.dismiss(chat)
    ledger.dismiss(chat, sh("12:01"))
    tick("12:05")
    assert posts.get("s1", f"{DAY.isoformat()}.noon").last_error == (
        "s1.1: no robot and the WeCom group is unknown or dismissed")
