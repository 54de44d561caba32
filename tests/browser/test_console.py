"""The console in a real browser: HQ operator and store staff journeys."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from devtools.stream_poller import for_settings
from tests.api import Api, token
from tests.browser.conftest import ConsoleErrors, shot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STORE = {"name": "徐汇旗舰店", "city": "上海", "lat": 31.19, "lng": 121.43, "traffic_tier": "high",
         "spend_tier": "medium"}


def seed(http: Api, admin: str) -> None:
    for sid, over in (("S1", {}), ("S2", {"name": "西湖店", "city": "杭州", "traffic_tier": "low"}),
                      ("S3", {"name": "静安店", "status": "closed"})):
        assert http.put(f"/stores/{sid}", {**STORE, **over}, as_=admin).status == 200


def sign_in(page: Any, console: str, role: str, store_id: str = "S1") -> None:
    page.goto(console + "/#/signin")
    if role == "admin":
        page.get_by_role("button", name="Sign in as HQ operator").click()
        page.get_by_role("heading", name="门店 Stores").wait_for()
    else:
        page.get_by_label("Store id").fill(store_id)
        page.get_by_role("button", name="Sign in as store staff").click()
        page.get_by_role("heading", name="Redeem a coupon").wait_for()


def test_operator_creates_pauses_resumes_a_tier_template_and_sees_it_in_list_and_chart(
        browser: Any, console: str, http: Api, admin: str, errors: ConsoleErrors, ddb_env: dict[str, str]) -> None:
    seed(http, admin)
    page = errors.watch(browser.new_page(viewport={"width": 1280, "height": 900}))
    sign_in(page, console, "admin")
    page.get_by_label("Search").fill("S")
    page.get_by_label("City").fill("上海")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="西湖店")).to_have_count(0)
    expect(page.get_by_role("cell", name="静安店")).to_have_count(1)
    shot(page, "hq-stores")

    page.get_by_role("link", name="Coupons").click()
    page.get_by_text("Create a template").click()
    page.get_by_label("Title").fill("高客流专享满减")
    page.get_by_label("Stock").fill("100")
    page.get_by_label("客流 traffic high").check()
    page.get_by_role("button", name="创建 Create").click()
    row = page.locator("tr", has_text="高客流专享满减")
    row.get_by_text("客流 high").wait_for()
    row.get_by_role("button", name="Pause").click()
    row.locator(".status-paused").wait_for()
    shot(page, "hq-templates")
    template_id = row.get_attribute("data-id")
    member = token("member", "m-chart")
    refused = http.post(f"/coupon-templates/{template_id}/claim", {"store_id": "S1"}, as_=member)
    assert refused.error_code == "template_paused"
    row.get_by_role("button", name="Resume").click()
    row.locator(".status-active").wait_for()
    row.get_by_role("button", name="Copy").click()
    expect(page.locator("tr", has_text="高客流专享满减")).to_have_count(2)
    page.get_by_label("Status").select_option("active")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr", has_text="高客流专享满减").locator(".status-active")).to_have_count(2)
    assert http.post(f"/coupon-templates/{template_id}/claim", {"store_id": "S1"}, as_=member).status == 201
    for_settings().drain()  # member-tier figures: the coupons stream, as the deployed consumer reads it

    page.get_by_role("link", name="Dashboard").click()
    page.locator("#chart canvas").wait_for()
    today = page.locator("#figures tbody tr").last
    expect(today.locator("td").nth(1)).to_have_text("1")  # chain-wide: the claim just made, charted and tabled
    expect(page.locator("#tier-figures tbody tr", has_text="客流 traffic high")).to_contain_text("1")
    new_tier = page.locator("#member-tier-figures tbody tr[data-tier=new] td")  # m-chart never paid: "new"
    expect(new_tier.nth(1)).to_have_text("1")
    expect(page.locator("#member-tier-figures tbody tr[data-tier=loyal] td").nth(1)).to_have_text("0")
    page.locator("#member-tier-chart canvas").wait_for()
    expect(page.locator("#group-now")).to_contain_text("0 人在 members in 0 个群 groups")
    shot(page, "hq-dashboard")
    page.get_by_label("Template id").fill(str(template_id))
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#figures tbody tr").last.locator("td").nth(1)).to_have_text("1")
    with page.expect_download() as download:
        page.get_by_label("Template id").fill("")
        page.get_by_role("button", name="Export").click()
    assert download.value.suggested_filename == "stats-chain.csv"

    noon = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=12, minute=1, second=0, microsecond=0)
    subprocess.run([sys.executable, "-m", "chalicelib.cli", "tick", "--at", noon.isoformat()],
                   env={**os.environ, **ddb_env}, check=True, capture_output=True)
    page.get_by_role("link", name="Calendar").click()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#rows tr", has_text="noon")).to_contain_text("flash_coupon")
    shot(page, "hq-calendar")


def test_staff_previews_redeems_by_short_code_sees_it_today_and_reverses(
        browser: Any, console: str, http: Api, admin: str, errors: ConsoleErrors) -> None:
    seed(http, admin)
    now = datetime.now(UTC)
    tpl = http.post("/coupon-templates", {
        "title": "满30减5", "kind": "amount_off", "value": 500, "min_spend_fen": 3000, "valid_days": 3,
        "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(days=1)).isoformat()},
        as_=admin).body
    coupon = http.post(f"/coupon-templates/{tpl['template_id']}/claim", {"store_id": "S1"},
                       as_=token("member", "m-staff")).body
    page = errors.watch(browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True))
    sign_in(page, console, "staff", "S1")
    page.get_by_label("Coupon code").fill(coupon["short_code"])
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Cannot redeem").wait_for()  # min spend not met yet, in both languages
    assert "未达到最低消费" in page.locator("#preview").inner_text()
    page.get_by_label("Order amount").fill("45")
    page.get_by_label("Order amount").press("Enter")  # keyboard only from here: Enter checks, Enter confirms
    expect(page.get_by_role("button", name="Confirm redemption")).to_be_focused()
    assert "¥5.00" in page.locator("#preview-card").inner_text()
    shot(page, "staff-preview")
    page.keyboard.press("Enter")
    page.get_by_text("核销成功 Redeemed").first.wait_for()
    page.get_by_role("link", name="今日核销 Today", exact=True).click()
    page.get_by_role("cell", name="已核销 redeemed").wait_for()
    shot(page, "staff-today")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reverse").click()
    page.get_by_role("cell", name="已撤销 reversed").wait_for()
    assert http.get("/members/me/coupons", as_=token("member", "m-staff")).body["coupons"][0]["status"] == "claimed"


def test_a_stale_edit_in_a_second_tab_gets_412_and_the_ui_says_so(
        browser: Any, console: str, http: Api, admin: str, errors: ConsoleErrors) -> None:
    seed(http, admin)
    errors.allowed = {412}
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    first, second = errors.watch(context.new_page()), errors.watch(context.new_page())
    for page in (first, second):  # each tab signs in (the session is per tab)
        sign_in(page, console, "admin")
        page.goto(console + "/#/stores/S1")
        page.get_by_label("Name").wait_for()
    first.get_by_label("Name").fill("徐汇旗舰店（新）")
    first.get_by_role("button", name="Save").click()
    first.get_by_text("已保存").wait_for()
    second.get_by_label("Idle hour").fill("15:30")
    second.get_by_role("button", name="Save").click()
    second.get_by_text("已被他人修改").wait_for()
    assert "Someone else changed this" in second.locator("#flash").inner_text()
    shot(second, "hq-stale-edit")
    second.get_by_label("New staff id").fill("clerk-9")
    second.get_by_role("button", name="添加 Add").click()
    second.locator("#staff tr", has_text="clerk-9").get_by_role("button", name="Disable").click()
    expect(second.locator("#staff tr", has_text="clerk-9")).to_contain_text("停用 disabled")
    assert http.get("/staff/clerk-9", as_=admin).body["status"] == "disabled"
    assert http.get("/stores/S1", as_=admin).body["idle_hour"] is None


def seed_wecom(store_id: str) -> None:
    """What PUT /stores/{id}/wecom and WeCom's callbacks leave in the ledger
    (that flow is tested against the emulator in tests/integration): a join
    way and one active chat with no group robot."""
    from chalicelib.wecom.models import StoreJoinWay, WeComChat

    now = datetime.now(UTC)
    StoreJoinWay(store_id, state=f"sl{store_id}", config_id="cfg-9f2", qr_code="https://wework.example/qr/9f2",
                 seed_chat_ids=["wrOgQh1"], chat_ids=["wrOgQh1"], room_base_name="徐汇店群", room_base_id=1,
                 updated_at=now).save()
    WeComChat("wrOgQh1", store_id=store_id, seq=1, name="徐汇店1群", member_count=3, customer_count=2,
              via_join_way=2, updated_at=now).save()


def test_operator_pins_and_unpins_policy_sees_join_code_alerts_and_store_charts(
        browser: Any, console: str, http: Api, admin: str, errors: ConsoleErrors, ddb_env: dict[str, str]) -> None:
    seed(http, admin)
    seed_wecom("S1")
    for i in range(3):
        assert http.post("/groups/join", {"store_id": "S1"}, as_=token("member", f"gm{i}")).status in (200, 201)
    page = errors.watch(browser.new_page(viewport={"width": 1280, "height": 1000}))
    sign_in(page, console, "admin")
    page.goto(console + "/#/stores/S1")
    policy = page.locator("#policy tr[data-field=member_day]")
    expect(policy).to_contain_text("自动 auto")
    page.get_by_label("固定为 Pin member_day to").select_option("WED")
    policy.get_by_role("button", name="Pin").click()
    expect(policy).to_contain_text("已固定 pinned")
    expect(policy.locator("td").nth(4)).to_contain_text("WED")  # pending: from the next local day
    view = http.get("/stores/S1/insights", as_=admin).body["fields"]["member_day"]
    assert (view["mode"], view["pinned_value"], view["pending"]["value"]) == ("pinned", "WED", "WED")
    idle = page.locator("#policy tr[data-field=idle_hour]")
    page.get_by_label("固定为 Pin idle_hour to").fill("15:00")
    idle.get_by_role("button", name="Pin").click()
    expect(idle).to_contain_text("已固定 pinned")
    idle.get_by_role("button", name="Unpin").click()
    expect(idle).to_contain_text("自动 auto")
    assert http.get("/stores/S1/insights", as_=admin).body["fields"]["idle_hour"]["mode"] == "auto"
    expect(page.locator("#join-state")).to_have_text("slS1")
    expect(page.locator("#wecom .alert[data-code=no_robot]")).to_contain_text("S1.1")
    expect(page.locator("#wecom .alert")).to_contain_text("has no group robot")
    expect(page.locator("#groups")).to_contain_text("3 / 200")
    shot(page, "hq-store-policy")

    # a loyal member (4 orders this month) and a new one claim at S1; the loyal one's coupon is redeemed
    now = datetime.now(UTC)
    assert http.put("/members/me", {"nickname": "老客"}, as_=token("member", "m-loyal")).status == 200
    for i in range(4):
        assert http.post("/payments", {"payment_id": f"pl{i}", "member_id": "m-loyal", "store_id": "S1",
                                       "amount_fen": 3000, "paid_at": (now - timedelta(days=i + 1)).isoformat()},
                         as_=admin).status == 200
    tpl = http.post("/coupon-templates", {
        "title": "满30减5", "kind": "amount_off", "value": 500, "valid_days": 3,
        "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(days=1)).isoformat()},
        as_=admin).body
    held = {m: http.post(f"/coupon-templates/{tpl['template_id']}/claim", {"store_id": "S1"},
                         as_=token("member", m)).body for m in ("m-loyal", "m-new")}
    assert http.put("/staff/clerk-s1", {"store_id": "S1"}, as_=admin).status == 200
    assert http.post("/redemptions", {"code": held["m-loyal"]["short_code"]},
                     as_=token("staff", "clerk-s1", store_id="S1")).status == 201
    for_settings().drain()
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_label("Store (空=全连锁 blank = whole chain)").fill("S1")
    page.get_by_role("button", name="Show").click()
    page.locator("#group-card[data-scope=S1]").wait_for()  # the store's answer, not the chain's first one
    expect(page.locator("#figures tbody tr").last.locator("td").nth(5)).to_have_text("3")  # group members today
    expect(page.locator("#figures tbody tr").nth(-2).locator("td").nth(5)).to_have_text("0")
    expect(page.locator("#group-now")).to_contain_text("3 人在 members in 1 个群 groups (满 full 0 · 未满 open 1")
    expect(page.locator("#group-figures tbody tr").last.locator("td").nth(1)).to_have_text("3")
    page.locator("#group-chart canvas").wait_for()
    loyal = page.locator("#member-tier-figures tbody tr[data-tier=loyal] td")
    expect(loyal.nth(1)).to_have_text("1")  # claimed
    expect(loyal.nth(3)).to_have_text("1")  # rate
    expect(page.locator("#member-tier-figures tbody tr[data-tier=new] td").nth(3)).to_have_text("0")
    shot(page, "hq-dashboard-store")


def test_staff_see_their_stores_group_alerts(browser: Any, console: str, http: Api, admin: str,
                                             errors: ConsoleErrors) -> None:
    seed(http, admin)
    seed_wecom("S1")
    page = errors.watch(browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True))
    sign_in(page, console, "staff", "S1")
    page.get_by_role("link", name="社群 Groups").click()
    expect(page.locator(".alert[data-code=no_robot]")).to_contain_text("添加群机器人")
    expect(page.locator("#wecom")).to_contain_text("徐汇店1群")
    shot(page, "staff-groups")
