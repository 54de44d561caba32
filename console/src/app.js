// Storeloop console: HQ (stores, templates, calendar, dashboard) and staff
// (scan or type → preview → confirm, today's redemptions, reverse).
// Calls the public API under /api with the user's bearer token.
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, AriaComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import jsQR from "jsqr";

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, CanvasRenderer]);

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const yuan = (fen) => (fen / 100).toFixed(2);
const session = () => JSON.parse(sessionStorage.getItem("storeloop") || "null");

// Every error code the console can meet, in plain Chinese and English.
const MESSAGES = {
  precondition_failed: "已被他人修改，请刷新后再改。 Someone else changed this since you opened it: reload, then edit again.",
  template_paused: "该券已暂停。 This coupon is paused.",
  already_redeemed: "该券已核销过。 This coupon was already redeemed.",
  expired: "该券已过期。 This coupon has expired.",
  wrong_store: "该券不能在本店使用。 This coupon cannot be used at this store.",
  invalid_code: "券码无效，请核对后重输。 This code is not valid: check it and type it again.",
  too_many_attempts: "错误次数过多，请稍后再试或扫码。 Too many wrong codes: wait a few minutes or scan the QR code.",
  min_spend_not_met: "未达到最低消费。 The order does not reach the minimum spend.",
  reversal_window_closed: "超过24小时，不能撤销。 Over 24 hours: it can no longer be reversed.",
  already_reversed: "已撤销过。 Already reversed.",
  validation_error: "填写有误。 Some fields are not valid.",
  unauthenticated: "请重新登录。 Please sign in again.",
  forbidden: "没有权限。 You are not allowed to do this.",
  not_found: "没有找到。 Not found.",
  template_exists: "编号已存在。 That id is taken.",
  try_again: "系统繁忙，请重试。 Busy right now: try again.",
  busy: "系统繁忙，请重试。 Busy right now: try again.",
  network: "网络错误，请检查连接。 Network error: check the connection.",
};

// Staff alerts from GET /stores/{id}/wecom, by code, in both languages (the API's message adds the details).
const ALERTS = {
  no_robot: "该群没有群机器人，帖子发不进去：在企业微信里打开该群，添加群机器人，复制 webhook 地址并保存。 This group has no group robot, so posts cannot reach it: in WeCom, open the group, add a group robot, copy its webhook URL and save it.",
};

function flash(text, ok = false) {
  const box = $("#flash");
  box.className = ok ? "ok" : "";
  box.textContent = text || "";
}

function explain(err) {
  const base = MESSAGES[err.code] || `出错了。 Something went wrong (${err.code}).`;
  const details = (err.details || []).map((d) => `${d.field}: ${d.problem}`).join("; ");
  return details ? `${base} ${details}` : base;
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || { code: "network", message: "", details: [] };
    super(e.message);
    Object.assign(this, { status, code: e.code, details: e.details || [] });
  }
}

// A view left while its request was in flight must not touch the next view.
let renderGen = 0;
class Stale extends Error {}

async function api(method, path, body, headers = {}) {
  const s = session();
  const gen = renderGen;
  let resp;
  try {
    resp = await fetch("/api" + path, {
      method,
      headers: { "Content-Type": "application/json", ...(s ? { Authorization: `Bearer ${s.token}` } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, null);
  }
  const text = await resp.text();
  if (gen !== renderGen) throw new Stale();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, data);
  return { data, etag: resp.headers.get("ETag") };
}

async function guarded(fn) {
  flash("");
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError) flash(explain(err));
    else if (!(err instanceof Stale)) throw err;
  }
}

// ---------- routing ----------
const HQ_ROUTES = { stores: "门店 Stores", templates: "优惠券 Coupons", calendar: "发帖日历 Calendar", dashboard: "看板 Dashboard" };
const STAFF_ROUTES = { redeem: "核销 Redeem", today: "今日核销 Today", groups: "社群 Groups" };

function renderNav() {
  const s = session();
  const routes = !s ? {} : s.role === "admin" ? HQ_ROUTES : STAFF_ROUTES;
  const current = location.hash.slice(2).split("/")[0];
  $("#nav").innerHTML = Object.entries(routes)
    .map(([k, v]) => `<a href="#/${k}" ${k === current ? 'aria-current="page"' : ""}>${v}</a>`).join("");
  $("#signout").hidden = !s;
}

async function route() {
  renderGen += 1;
  const s = session();
  let name = location.hash.slice(2).split("/")[0];
  if (!s) name = "signin";
  else if (!name || name === "signin") name = s.role === "admin" ? "stores" : "redeem";
  renderNav();
  const view = $("#view");
  view.innerHTML = "";
  await (VIEWS[name] || VIEWS.stores)(view);
}

// ---------- sign in ----------
async function signIn(role, storeId) {
  const resp = await fetch("/dev/token", { method: "POST", body: JSON.stringify({ role, store_id: storeId, sub: role === "staff" ? `staff-${storeId}` : "hq-operator" }) });
  const answer = await resp.json();
  if (!resp.ok) { flash(explain(new ApiError(resp.status, answer))); return; }
  const { token } = answer;
  sessionStorage.setItem("storeloop", JSON.stringify({ role, token, store_id: storeId }));
  go(role === "admin" ? "#/stores" : "#/redeem");
}

// Navigate once: a hash change renders through the hashchange listener only.
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signinView(view) {
  view.innerHTML = `<h1>登录 Sign in</h1>
  <div class="card"><p>本地一键登录（仅开发环境）。Local one-click sign-in (development only).</p>
  <div class="row"><button id="as-admin" type="button">总部运营登录 Sign in as HQ operator</button></div>
  <form class="row" id="staff-form"><label>门店编号 Store id<input id="staff-store" required value="S1" autocomplete="off"></label>
  <button type="submit">店员登录 Sign in as store staff</button></form>
  <form class="row" id="token-form"><label style="flex:1">或粘贴令牌 Or paste a bearer token<input id="token" autocomplete="off"></label>
  <label>角色 Role<select id="token-role"><option value="admin">HQ</option><option value="staff">staff</option></select></label>
  <label>门店 Store<input id="token-store" autocomplete="off"></label><button type="submit">使用 Use</button></form></div>`;
  $("#as-admin").onclick = () => signIn("admin");
  $("#staff-form").onsubmit = (e) => { e.preventDefault(); signIn("staff", $("#staff-store").value.trim()); };
  $("#token-form").onsubmit = (e) => {
    e.preventDefault();
    sessionStorage.setItem("storeloop", JSON.stringify({ role: $("#token-role").value, token: $("#token").value.trim(), store_id: $("#token-store").value.trim() }));
    go("#/");
  };
}

// ---------- HQ: stores ----------
const STORE_FIELDS = [["name", "名称 Name"], ["city", "城市 City"], ["status", "状态 Status", ["open", "closed"]],
  ["traffic_tier", "客流 Traffic tier", ["high", "medium", "low"]], ["spend_tier", "消费 Spend tier", ["high", "medium", "low"]],
  ["member_day", "会员日 Member day", ["", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]], ["idle_hour", "闲时 Idle hour (HH:MM)"],
  ["radius_m", "半径米 Radius (m)"], ["group_capacity", "群容量 Group capacity"]];

function field([key, label, options], value) {
  const id = `f-${key}`;
  if (options) return `<label for="${id}">${label}<select id="${id}" name="${key}">${options.map((o) => `<option ${o === (value ?? "") ? "selected" : ""}>${o}</option>`).join("")}</select></label>`;
  return `<label for="${id}">${label}<input id="${id}" name="${key}" value="${esc(value)}"></label>`;
}

async function storesView(view) {
  const [, , editId] = location.hash.split("/");
  if (editId) return storeEditView(view, decodeURIComponent(editId));
  view.innerHTML = `<h1>门店 Stores</h1>
  <form class="row" id="filter" role="search">
    <label>搜索 Search<input name="q" placeholder="名称或编号 name or id"></label>
    <label>城市 City<input name="city"></label>
    <label>客流 Traffic<select name="traffic_tier"><option value="">全部 all</option><option>high</option><option>medium</option><option>low</option></select></label>
    <label>状态 Status<select name="status"><option value="">全部 all</option><option>open</option><option>closed</option></select></label>
    <button type="submit">筛选 Filter</button></form>
  <table class="wide"><thead><tr><th>编号 Id</th><th>名称 Name</th><th>城市 City</th><th>客流 Traffic</th><th>消费 Spend</th><th>状态 Status</th><th></th></tr></thead><tbody id="rows"></tbody></table>
  <button id="more" class="secondary" type="button" hidden>加载更多 Load more</button>`;
  let cursor = null;
  const load = async (reset) => guarded(async () => {
    const params = new URLSearchParams([...new FormData($("#filter"))].filter(([, v]) => v));
    params.set("limit", "20");
    if (!reset && cursor) params.set("cursor", cursor);
    const { data } = await api("GET", `/stores?${params}`);
    if (reset) $("#rows").innerHTML = "";
    $("#rows").insertAdjacentHTML("beforeend", data.stores.map((s) => `<tr><td>${esc(s.store_id)}</td><td>${esc(s.name)}</td><td>${esc(s.city)}</td><td>${s.traffic_tier}</td><td>${s.spend_tier}</td><td>${s.status}</td><td><a href="#/stores/${encodeURIComponent(s.store_id)}">编辑 Edit</a></td></tr>`).join(""));
    cursor = data.next_cursor;
    $("#more").hidden = !cursor;
  });
  $("#filter").onsubmit = (e) => { e.preventDefault(); load(true); };
  $("#more").onclick = () => load(false);
  await load(true);
}

async function storeEditView(view, storeId) {
  const got = await guarded(() => api("GET", `/stores/${encodeURIComponent(storeId)}`));
  if (!got) return;
  let { data: store, etag } = got;
  view.innerHTML = `<h1>编辑门店 Edit store ${esc(storeId)}</h1>
  <form class="card" id="edit"><div class="row">${STORE_FIELDS.map((f) => field(f, store[f[0]])).join("")}</div>
  <button type="submit">保存 Save</button> <a href="#/stores">返回 Back</a></form>
  <div class="card" id="policy-card"><h2>门店策略 Policy: auto or pinned</h2>
  <p>自动字段跟随数据；固定后保持不变，次日生效。 Auto fields follow the data; a pinned field keeps its value. Changes apply from the store's next local day.</p>
  <table class="wide"><thead><tr><th>字段 Field</th><th>当前 Now</th><th>模式 Mode</th><th>数据建议 Data says</th><th>待生效 Pending</th><th>固定为 Pin to</th><th></th></tr></thead><tbody id="policy"></tbody></table></div>
  <div class="card"><h2>社群 Groups</h2><table><thead><tr><th>序号 Seq</th><th>成员/容量 Members / capacity</th><th>群聊 Chat</th><th>机器人 Robot</th></tr></thead><tbody id="groups"></tbody></table></div>
  <div class="card" id="wecom-card"><h2>企业微信入群 WeCom join code</h2><div id="wecom"></div></div>
  <div class="card"><h2>店员 Staff</h2><table><thead><tr><th>编号 Id</th><th>角色 Role</th><th>状态 Status</th><th></th></tr></thead><tbody id="staff"></tbody></table>
  <form class="row" id="add-staff"><label>新店员编号 New staff id<input name="staff_id" required autocomplete="off"></label>
  <label>角色 Role<select name="role"><option value="clerk">店员 clerk</option><option value="manager">店长 manager</option></select></label><button type="submit">添加 Add</button></form></div>
  <div class="card"><h2>门店券预览 Offers as a member tier sees them</h2>
  <form class="row" id="as-tier"><label>会员层级 Tier<select name="tier"><option value="">任何 any</option><option>new</option><option>active</option><option>loyal</option><option>at_risk</option></select></label><button type="submit">预览 Preview</button></form><ul id="offers"></ul></div>`;
  guarded(async () => {
    const { data } = await api("GET", `/stores/${encodeURIComponent(storeId)}/groups`);
    $("#groups").innerHTML = data.groups.map((g) => `<tr><td>${g.seq}${g.seq === data.current_seq ? " (当前 joining)" : ""}</td><td>${g.member_count} / ${g.capacity}</td><td>${esc(g.chat_ref || "-")}</td><td>${g.webhook_set ? "已设置 set" : "未设置 not set"}</td></tr>`).join("") || `<tr><td colspan="4">还没有群 No groups yet</td></tr>`;
  });
  loadPolicy(storeId);
  wecomInto($("#wecom"), storeId);
  const staffRow = (m) => `<tr data-id="${esc(m.staff_id)}"><td>${esc(m.staff_id)}</td><td>${m.role === "manager" ? "店长 manager" : "店员 clerk"}</td>
    <td>${m.status === "disabled" ? "停用 disabled" : "在职 active"}</td><td><button type="button" class="secondary" data-status="${m.status === "disabled" ? "active" : "disabled"}">${m.status === "disabled" ? "启用 Enable" : "停用 Disable"}</button></td></tr>`;
  guarded(async () => {
    const { data } = await api("GET", `/stores/${encodeURIComponent(storeId)}/staff?limit=200`);
    $("#staff").innerHTML = data.staff.map(staffRow).join("") || `<tr><td colspan="4">还没有店员 No staff yet</td></tr>`;
  });
  $("#staff").onclick = (e) => {
    const status = e.target.dataset.status;
    if (!status) return;
    const tr = e.target.closest("tr");
    guarded(async () => {
      const { data } = await api("PATCH", `/staff/${encodeURIComponent(tr.dataset.id)}`, { status });
      tr.outerHTML = staffRow(data);
    });
  };
  $("#add-staff").onsubmit = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    guarded(async () => {
      const { data } = await api("PUT", `/staff/${encodeURIComponent(f.get("staff_id"))}`, { store_id: storeId, role: f.get("role") });
      $("#staff td[colspan]")?.parentElement.remove();  // the "no staff yet" line
      $("#staff").insertAdjacentHTML("beforeend", staffRow(data));
      e.target.reset();
    });
  };
  $("#edit").onsubmit = (e) => {
    e.preventDefault();
    const patch = {};
    for (const [k, v] of new FormData(e.target)) {
      const old = store[k] ?? "";
      if (String(old) !== v) patch[k] = v === "" ? null : ["radius_m", "group_capacity"].includes(k) ? Number(v) : v;
    }
    guarded(async () => {
      const saved = await api("PATCH", `/stores/${encodeURIComponent(storeId)}`, patch, { "If-Match": etag });
      store = saved.data; etag = saved.etag;
      flash("已保存。 Saved.", true);
    });
  };
  $("#as-tier").onsubmit = (e) => {
    e.preventDefault();
    const tier = new FormData(e.target).get("tier");
    guarded(async () => {
      const { data } = await api("GET", `/stores/${encodeURIComponent(storeId)}/offers/preview${tier ? `?tier=${tier}` : ""}`);
      $("#offers").innerHTML = data.offers.map((o) => `<li>${esc(o.title)} — ${o.kind} ${o.value}${o.remaining != null ? ` (剩余 left ${o.remaining})` : ""}</li>`).join("") || "<li>无 none</li>";
    });
  };
}

// ---------- store policy (pins) and WeCom view ----------
const POLICY_FIELDS = { traffic_tier: ["客流层级 Traffic tier", ["high", "medium", "low"]], spend_tier: ["消费层级 Spend tier", ["high", "medium", "low"]],
  member_day: ["会员日 Member day", ["", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]], idle_hour: ["闲时 Idle hour", null] };

function policyRows(storeId, view) {
  return Object.entries(POLICY_FIELDS).map(([name, [label, options]]) => {
    const f = view.fields[name];
    if (!f) return "";
    const value = f.mode === "pinned" ? (f.pinned_value ?? "") : (f.current ?? "");
    const id = `pin-${name}`;
    const input = options
      ? `<select id="${id}" aria-label="固定为 Pin ${name} to">${options.map((o) => `<option value="${o}" ${o === value ? "selected" : ""}>${o || "无 none"}</option>`).join("")}</select>`
      : `<input id="${id}" aria-label="固定为 Pin ${name} to" value="${esc(value)}" placeholder="HH:MM" size="6">`;
    const pending = f.pending ? `${esc(f.pending.value ?? "无 none")} (${esc(f.pending.effective_from ?? "")})` : "-";
    return `<tr data-field="${name}"><td>${label}</td><td>${esc(f.current ?? "无 none")}</td>
      <td class="mode-${f.mode}">${f.mode === "pinned" ? "已固定 pinned" : "自动 auto"}</td>
      <td>${esc(f.derived ?? "-")}<br><small>${esc(f.reason)}</small></td><td>${pending}</td><td>${input}</td>
      <td><button type="button" data-act="pin">固定 Pin</button>${f.mode === "pinned" ? ` <button type="button" class="secondary" data-act="unpin">取消固定 Unpin</button>` : ""}</td></tr>`;
  }).join("");
}

function loadPolicy(storeId) {
  const body = $("#policy");
  const put = (payload, done) => guarded(async () => {
    const { data } = await api("PUT", `/stores/${encodeURIComponent(storeId)}/policy`, payload);
    body.innerHTML = policyRows(storeId, data);
    flash(done, true);
  });
  body.onclick = (e) => {
    const act = e.target.dataset.act;
    if (!act) return;
    const name = e.target.closest("tr").dataset.field;
    if (act === "unpin") { put({ unpin: [name] }, "已恢复自动，次日生效。 Back to auto (from the next local day)."); return; }
    const raw = $(`#pin-${name}`).value.trim();
    put({ pin: { [name]: raw === "" ? null : raw } }, "已固定，次日生效。 Pinned (from the next local day).");
  };
  return guarded(async () => {
    const { data } = await api("GET", `/stores/${encodeURIComponent(storeId)}/insights`);
    body.innerHTML = policyRows(storeId, data);
  });
}

function wecomInto(box, storeId) {
  return guarded(async () => {
    const { data } = await api("GET", `/stores/${encodeURIComponent(storeId)}/wecom`);
    const alerts = data.alerts.map((a) => `<li class="alert" data-code="${esc(a.code)}"><strong>${esc(a.group_id || a.chat_id)}</strong>: ${esc(ALERTS[a.code] || a.code)}<br><small>${esc(a.message)}</small></li>`).join("");
    const way = data.config_id
      ? `<dl class="kv"><dt>入群码 Join code (state)</dt><dd id="join-state">${esc(data.state)}</dd><dt>配置 Config id</dt><dd>${esc(data.config_id)}</dd>
         <dt>二维码 QR code</dt><dd>${data.qr_code ? `<a href="${esc(data.qr_code)}" target="_blank" rel="noopener">${esc(data.qr_code)}</a>` : "-"}</dd>
         <dt>种子群 Seed chats</dt><dd>${esc(data.seed_chat_ids.join(", ") || "-")}</dd></dl>`
      : `<p>还没有入群方式：店员在企业微信建群后登记。 No join way yet: staff register the store's WeCom groups first (PUT /stores/${esc(storeId)}/wecom).</p>`;
    box.innerHTML = `${way}
      <p>会员（本系统）Members placed by Storeloop: <strong>${data.storeloop_member_count}</strong> · 企业微信客户 WeCom customers: <strong>${data.wecom_customer_count}</strong> (通过入群码 via the join code ${data.wecom_via_join_way})</p>
      <h3>提醒 Alerts</h3>${alerts ? `<ul class="alerts">${alerts}</ul>` : "<p>没有提醒 No alerts</p>"}
      <table class="wide"><thead><tr><th>群 Group</th><th>名称 Name</th><th>状态 Status</th><th>成员 Members</th><th>客户 Customers</th><th>机器人 Robot</th></tr></thead>
      <tbody>${data.chats.map((c) => `<tr><td data-label="群 Group">${esc(c.group_id || c.chat_id)}</td><td data-label="名称 Name">${esc(c.name || "-")}</td><td data-label="状态 Status">${c.status === "active" ? "正常 active" : "已解散 dismissed"}</td><td data-label="成员 Members">${c.member_count}</td><td data-label="客户 Customers">${c.customer_count}</td><td data-label="机器人 Robot">${c.has_robot ? "有 yes" : "无 none"}</td></tr>`).join("") || `<tr><td colspan="6">没有群 No chats</td></tr>`}</tbody></table>`;
  });
}

async function staffGroupsView(view) {
  const s = session();
  view.innerHTML = `<h1>社群与提醒 Groups and alerts</h1><div class="card" id="wecom"></div>`;
  await wecomInto($("#wecom"), s.store_id);
}

// ---------- HQ: templates ----------
function isoIn(hours) { return new Date(Date.now() + hours * 3600e3).toISOString(); }

async function templatesView(view) {
  view.innerHTML = `<h1>优惠券模板 Coupon templates</h1>
  <details class="card" id="create-box"><summary>新建 Create a template</summary>
  <form id="create"><div class="row">
    <label>标题 Title<input name="title" required></label>
    <label>类型 Kind<select name="kind"><option value="amount_off">满减 amount_off</option><option value="percent_off">折扣 percent_off</option><option value="free_item">赠品 free_item</option></select></label>
    <label>面值 Value (分 fen / %)<input name="value" type="number" min="1" required value="500"></label>
    <label>库存 Stock<input name="total_stock" type="number" min="1" placeholder="不限 unlimited"></label>
    <label>有效天数 Valid days<input name="valid_days" type="number" min="1" value="7"></label>
    <label>领取时长(小时) Claim hours<input name="hours" type="number" min="1" value="72"></label></div>
  <fieldset class="row"><legend>适用范围 Scope (空=全部门店 empty = every store)</legend>
    <label>门店编号 Store ids (逗号分隔 comma-separated)<input name="store_ids"></label>
    <label>按城市选门店 Stores in city<input name="scope_city"></label>
    ${["high", "medium", "low"].map((t) => `<label class="inline"><input type="checkbox" name="traffic_tiers" value="${t}"> 客流 traffic ${t}</label>`).join("")}
    ${["high", "medium", "low"].map((t) => `<label class="inline"><input type="checkbox" name="spend_tiers" value="${t}"> 消费 spend ${t}</label>`).join("")}
  </fieldset><button type="submit">创建 Create</button></form></details>
  <form class="row" id="filter"><label>状态 Status<select name="status"><option value="">全部 all</option><option>active</option><option>paused</option><option>ended</option></select></label>
  <label>门店 Store<input name="store_id"></label><button type="submit">筛选 Filter</button></form>
  <table class="wide"><thead><tr><th>标题 Title</th><th>类型 Kind</th><th>范围 Scope</th><th>剩余 Left</th><th>状态 Status</th><th>操作 Actions</th></tr></thead><tbody id="rows"></tbody></table>
  <button id="more" class="secondary" type="button" hidden>加载更多 Load more</button>`;
  let cursor = null;
  const scopeText = (s) => [s.store_ids.join(","), s.traffic_tiers.map((t) => `客流 ${t}`).join(","), s.spend_tiers.map((t) => `消费 ${t}`).join(",")].filter(Boolean).join(" / ") || "全部门店 all";
  const row = (t) => `<tr data-id="${esc(t.template_id)}"><td>${esc(t.title)}</td><td>${t.kind} ${t.value}</td><td>${esc(scopeText(t.scope))}</td>
    <td>${t.remaining ?? "∞"}</td><td class="status-${t.status}">${t.status}</td><td>
    ${t.status === "active" ? `<button type="button" data-act="pause">暂停 Pause</button>` : ""}
    ${t.status === "paused" ? `<button type="button" data-act="resume">恢复 Resume</button>` : ""}
    <button type="button" class="secondary" data-act="copy">复制 Copy</button></td></tr>`;
  const load = (reset) => guarded(async () => {
    const params = new URLSearchParams([...new FormData($("#filter"))].filter(([, v]) => v));
    params.set("limit", "20");
    if (!reset && cursor) params.set("cursor", cursor);
    const { data } = await api("GET", `/coupon-templates?${params}`);
    if (reset) $("#rows").innerHTML = "";
    $("#rows").insertAdjacentHTML("beforeend", data.templates.map(row).join(""));
    cursor = data.next_cursor;
    $("#more").hidden = !cursor;
  });
  $("#rows").onclick = (e) => {
    const act = e.target.dataset.act;
    if (!act) return;
    const tr = e.target.closest("tr");
    const id = tr.dataset.id;
    guarded(async () => {
      const { data } = await api("POST", `/coupon-templates/${encodeURIComponent(id)}/${act}`, act === "copy" ? {} : undefined);
      if (act === "copy") $("#rows").insertAdjacentHTML("afterbegin", row(data));
      else tr.outerHTML = row(data);
      flash({ pause: "已暂停。 Paused.", resume: "已恢复。 Resumed.", copy: "已复制。 Copied." }[act], true);
    });
  };
  $("#filter").onsubmit = (e) => { e.preventDefault(); load(true); };
  $("#more").onclick = () => load(false);
  $("#create").onsubmit = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    guarded(async () => {
      let storeIds = f.get("store_ids").split(",").map((s) => s.trim()).filter(Boolean);
      if (f.get("scope_city")) {
        const { data } = await api("GET", `/stores?limit=200&city=${encodeURIComponent(f.get("scope_city"))}`);
        storeIds = storeIds.concat(data.stores.map((s) => s.store_id));
      }
      const body = {
        title: f.get("title"), kind: f.get("kind"), value: Number(f.get("value")),
        valid_days: Number(f.get("valid_days")), claim_start: isoIn(0), claim_end: isoIn(Number(f.get("hours"))),
        scope: { store_ids: storeIds, traffic_tiers: f.getAll("traffic_tiers"), spend_tiers: f.getAll("spend_tiers") },
      };
      if (f.get("total_stock")) body.total_stock = Number(f.get("total_stock"));
      const { data } = await api("POST", "/coupon-templates", body);
      $("#rows").insertAdjacentHTML("afterbegin", row(data));
      e.target.reset();
      flash("已创建。 Created.", true);
    });
  };
  await load(true);
}

// ---------- HQ: calendar ----------
function today() { return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); }

async function calendarView(view) {
  view.innerHTML = `<h1>发帖日历 Campaign calendar</h1>
  <form class="row" id="pick"><label>门店 Store<input name="store" required value="S1"></label><label>日期 Date<input name="date" type="date" value="${today()}"></label><button type="submit">查看 Show</button></form>
  <table class="wide"><thead><tr><th>时段 Slot</th><th>时间 At</th><th>类型 Kind</th><th>状态 Status</th><th>内容 What it said</th><th></th></tr></thead><tbody id="rows"></tbody></table>`;
  const STATUS = { pending: "待发 pending", sent: "已发 sent", failed: "失败 failed" };
  let timeZone = "Asia/Shanghai";
  const at = (iso) => new Date(iso).toLocaleTimeString("zh-CN", { timeZone, hour: "2-digit", minute: "2-digit", hour12: false });
  const row = (p) => `<tr data-id="${esc(p.post_id)}"><td>${esc(p.slot)}</td><td>${esc(at(p.fire_at))}</td><td>${esc(p.kind)}</td>
    <td>${STATUS[p.status] || esc(p.status)}${p.group_ids.length ? ` (群 groups ${p.sent_group_ids.length}/${p.group_ids.length})` : ""}${p.last_error ? `<br><small>${esc(p.last_error)}</small>` : ""}</td>
    <td>${esc(p.body || "")}</td><td>${p.status === "failed" ? `<button type="button" data-act="retry">重试 Retry</button>` : ""}</td></tr>`;
  let storeId = null;
  $("#pick").onsubmit = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    storeId = f.get("store");
    guarded(async () => {
      timeZone = (await api("GET", `/stores/${encodeURIComponent(storeId)}`)).data.timezone;
      const { data } = await api("GET", `/stores/${encodeURIComponent(storeId)}/posts?date=${f.get("date")}`);
      $("#rows").innerHTML = data.posts.map(row).join("") || `<tr><td colspan="6">这天没有帖子 No posts this day</td></tr>`;
    });
  };
  $("#rows").onclick = (e) => {
    if (e.target.dataset.act !== "retry") return;
    const tr = e.target.closest("tr");
    guarded(async () => {
      const { data } = await api("POST", `/stores/${encodeURIComponent(storeId)}/posts/${encodeURIComponent(tr.dataset.id)}/retry`);
      tr.outerHTML = row(data);
      flash("已重试。 Retried.", true);
    });
  };
}

// ---------- HQ: dashboard ----------
let chart = null;
let tierChart = null;
let memberTierChart = null;
let groupChart = null;
async function download(path, filename) {
  const s = session();
  const resp = await fetch("/api" + path, { headers: { Authorization: `Bearer ${s.token}` } });
  if (!resp.ok) throw new ApiError(resp.status, await resp.json());
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await resp.blob());
  link.download = filename;
  link.click();
  URL.revokeObjectURL(link.href);
}

async function dashboardView(view) {
  const to = today();
  const from = new Date(Date.parse(to) - 13 * 864e5).toISOString().slice(0, 10);
  view.innerHTML = `<h1>看板 Dashboard</h1>
  <form class="row" id="pick"><label>门店 Store (空=全连锁 blank = whole chain)<input name="store" autocomplete="off"></label>
  <label>券模板 Template id (可选 optional)<input name="template" autocomplete="off"></label>
  <label>从 From<input name="from" type="date" value="${from}"></label><label>到 To<input name="to" type="date" value="${to}"></label>
  <button type="submit">查看 Show</button><button type="button" class="secondary" id="csv">导出 CSV Export</button></form>
  <div class="card"><div id="chart" role="img" aria-label="每日领取与核销 claims and redemptions per day"></div></div>
  <div class="card" id="tier-card"><h2>按门店层级的核销率 Redemption rate by store tier</h2><div id="tier-chart" style="width:100%;height:240px" role="img" aria-label="按层级核销率 redemption rate by store tier"></div>
  <table id="tier-figures"><thead><tr><th>层级 Tier</th><th>门店 Stores</th><th>领取 Claims</th><th>核销 Redemptions</th><th>核销率 Rate</th></tr></thead><tbody></tbody></table></div>
  <div class="card" id="member-tier-card"><h2>按会员层级的核销率 Redemption rate by member tier (领券时 at claim)</h2><div id="member-tier-chart" class="small-chart" role="img" aria-label="按会员层级核销率 redemption rate by member tier"></div>
  <table id="member-tier-figures"><thead><tr><th>会员层级 Member tier</th><th>领取 Claims</th><th>核销 Redemptions</th><th>核销率 Rate</th></tr></thead><tbody></tbody></table></div>
  <div class="card" id="group-card"><h2>社群成员 Group members</h2><p id="group-now"></p><div id="group-chart" class="small-chart" role="img" aria-label="每日群成员 group members per day"></div>
  <table id="group-figures"><thead><tr><th>日期 Day</th><th>群成员 Members</th><th>入群 Joined</th><th>退群 Left</th></tr></thead><tbody></tbody></table></div>
  <table id="figures"><thead><tr><th>日期 Day</th><th>领取 Claims</th><th>核销 Redemptions</th><th>核销率 Rate</th><th>GMV (元)</th><th>群成员/门店 Members / stores</th></tr></thead><tbody></tbody></table>`;
  const source = (f) => {
    const range = `from=${f.get("from")}&to=${f.get("to")}`;
    if (f.get("template")) return { path: `/stats/templates/${encodeURIComponent(f.get("template"))}?${range}`, csv: null };
    if (f.get("store")) return { path: `/stats/stores/${encodeURIComponent(f.get("store"))}?${range}`, csv: `/stats/stores/${encodeURIComponent(f.get("store"))}/export?${range}` };
    return { path: `/stats/chain?${range}`, csv: `/stats/chain/export?${range}` };
  };
  // one row shape for store, chain and template answers
  const norm = (d) => ({ day: d.day, claims: d.coupons_claimed ?? d.claims, redeemed: d.coupons_redeemed ?? d.redemptions,
    rate: d.redemption_rate, gmv: d.gmv_fen ?? d.gmv_influenced_fen ?? 0, extra: d.group_members ?? d.stores_reporting ?? null });
  // The view's first (chain-wide) answer may arrive after a later "Show": only the latest request renders.
  let latest = 0;
  const show = (f) => guarded(async () => {
    const mine = ++latest;
    const { data } = await api("GET", source(f).path);
    if (mine !== latest) return;
    const days = data.days.map(norm);
    if (chart) chart.dispose();
    chart = echarts.init($("#chart"));
    chart.setOption({
      animation: false, aria: { enabled: true }, tooltip: { trigger: "axis" }, legend: {},
      xAxis: { type: "category", data: days.map((d) => d.day.slice(5)) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", name: "GMV 元", position: "right" }],
      series: [{ name: "领取 Claims", type: "bar", data: days.map((d) => d.claims) },
        { name: "核销 Redemptions", type: "bar", data: days.map((d) => d.redeemed) },
        { name: "GMV 元", type: "line", yAxisIndex: 1, data: days.map((d) => d.gmv / 100) }],
    });
    const chainWide = !f.get("store") && !f.get("template");
    $("#tier-card").hidden = !chainWide;
    if (chainWide) {
      const { data: t } = await api("GET", `/stats/chain/tiers?from=${f.get("from")}&to=${f.get("to")}`);
      if (mine !== latest) return;
      const label = (x) => `${x.dimension === "traffic_tier" ? "客流 traffic" : "消费 spend"} ${x.tier}`;
      if (tierChart) tierChart.dispose();
      tierChart = echarts.init($("#tier-chart"));
      tierChart.setOption({ animation: false, aria: { enabled: true }, tooltip: {}, grid: { left: 120 },
        xAxis: { type: "value", max: 1 }, yAxis: { type: "category", data: t.tiers.map(label) },
        series: [{ name: "核销率 Rate", type: "bar", data: t.tiers.map((x) => x.redemption_rate ?? 0) }] });
      $("#tier-figures tbody").innerHTML = t.tiers.map((x) => `<tr><td>${label(x)}</td><td>${x.stores_reporting}</td><td>${x.coupons_claimed}</td><td>${x.coupons_redeemed}</td><td>${x.redemption_rate ?? "-"}</td></tr>`).join("");
    }
    const scope = f.get("template") ? null : f.get("store") ? `/stats/stores/${encodeURIComponent(f.get("store"))}` : "/stats/chain";
    $("#member-tier-card").hidden = !scope;
    $("#group-card").hidden = !scope;
    if (scope) {
      const range = `from=${f.get("from")}&to=${f.get("to")}`;
      const [{ data: mt }, { data: g }] = await Promise.all([api("GET", `${scope}/member-tiers?${range}`), api("GET", `${scope}/groups?${range}`)]);
      if (mine !== latest) return;
      const TIER = { new: "新客 new", active: "活跃 active", loyal: "忠诚 loyal", at_risk: "流失风险 at risk" };
      if (memberTierChart) memberTierChart.dispose();
      memberTierChart = echarts.init($("#member-tier-chart"));
      memberTierChart.setOption({ animation: false, aria: { enabled: true }, tooltip: {}, grid: { left: 120 },
        xAxis: { type: "value", max: 1 }, yAxis: { type: "category", data: mt.tiers.map((x) => TIER[x.tier]) },
        series: [{ name: "核销率 Rate", type: "bar", data: mt.tiers.map((x) => x.redemption_rate ?? 0) }] });
      $("#member-tier-figures tbody").innerHTML = mt.tiers.map((x) => `<tr data-tier="${x.tier}"><td>${TIER[x.tier]}</td><td>${x.coupons_claimed}</td><td>${x.coupons_redeemed}</td><td>${x.redemption_rate ?? "-"}</td></tr>`).join("");
      $("#group-card").dataset.scope = g.store_id || "chain";
      $("#group-now").textContent = `现在 Now: ${g.members} 人在 members in ${g.groups} 个群 groups (满 full ${g.groups_full} · 未满 open ${g.groups_open}; 容量 capacity ${g.capacity})${g.store_id ? "" : ` · ${g.stores_with_groups} 家门店 stores`}`;
      if (groupChart) groupChart.dispose();
      groupChart = echarts.init($("#group-chart"));
      groupChart.setOption({ animation: false, aria: { enabled: true }, tooltip: { trigger: "axis" }, legend: {},
        xAxis: { type: "category", data: g.days.map((d) => d.day.slice(5)) }, yAxis: { type: "value", minInterval: 1 },
        series: [{ name: "群成员 Members", type: "line", data: g.days.map((d) => d.group_members) },
          { name: "入群 Joined", type: "bar", data: g.days.map((d) => d.members_joined) },
          { name: "退群 Left", type: "bar", data: g.days.map((d) => d.members_left) }] });
      $("#group-figures tbody").innerHTML = g.days.map((d) => `<tr><td>${d.day}</td><td>${d.group_members ?? "-"}</td><td>${d.members_joined}</td><td>${d.members_left}</td></tr>`).join("");
    }
    $("#figures tbody").innerHTML = days.map((d) => `<tr><td>${d.day}</td><td>${d.claims}</td><td>${d.redeemed}</td><td>${d.rate ?? "-"}</td><td>${yuan(d.gmv)}</td><td>${d.extra ?? "-"}</td></tr>`).join("");
  });
  $("#pick").onsubmit = (e) => { e.preventDefault(); show(new FormData(e.target)); };
  $("#csv").onclick = () => guarded(async () => {
    const { csv } = source(new FormData($("#pick")));
    if (!csv) { flash("模板数据请用图表查看。 Template figures are shown above; CSV covers stores and the chain."); return; }
    await download(csv, csv.includes("chain") ? "stats-chain.csv" : "stats-store.csv");
  });
  await show(new FormData($("#pick")));
}

// ---------- staff: redeem ----------
let stream = null;
function stopCamera() { if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; } }

async function redeemView(view) {
  view.innerHTML = `<h1>核销 Redeem a coupon</h1>
  <form class="card" id="lookup"><label>券码 Coupon code (扫码或输入数字 scan, or type the digits)<input id="code" name="code" inputmode="numeric" autocomplete="off" required class="big"></label>
  <label>消费金额(元) Order amount (yuan, optional)<input id="spend" name="spend" inputmode="decimal" autocomplete="off"></label>
  <div class="row"><button type="submit">查询 Check</button><button type="button" class="secondary" id="scan">扫码 Scan with camera</button></div>
  <video id="video" hidden playsinline muted></video></form>
  <div id="preview" aria-live="polite"></div>`;
  const spendFen = () => ($("#spend").value ? Math.round(Number($("#spend").value) * 100) : undefined);
  const check = () => guarded(async () => {
    const { data } = await api("POST", "/redemptions/preview", { code: $("#code").value.trim(), spend_fen: spendFen() });
    $("#preview").innerHTML = `<div class="card" id="preview-card"><h2>${esc(data.title)}</h2>
      <p>面值 Value: ${data.kind === "percent_off" ? `${data.value}%` : `¥${yuan(data.value)}`} · 最低消费 Min spend ¥${yuan(data.min_spend_fen)} · 有效至 Valid until ${esc(data.expires_at.slice(0, 16).replace("T", " "))}</p>
      <p>会员 Member: ${esc(data.member_id)} · 状态 Status: ${data.status}</p>
      ${data.redeemable ? `<p>将抵扣 Will take off: <strong>¥${yuan(data.discount_fen ?? data.value)}</strong></p><button type="button" id="confirm">确认核销 Confirm redemption</button>`
        : `<p role="alert">不能核销 Cannot redeem: ${esc(MESSAGES[data.refusal.code] || data.refusal.message)}</p>`}</div>`;
    const btn = $("#confirm");
    if (btn) {
      btn.focus();
      btn.onclick = () => guarded(async () => {
        const { data: r } = await api("POST", "/redemptions", { code: $("#code").value.trim(), spend_fen: spendFen() });
        $("#preview").innerHTML = `<div class="card"><p>核销成功 Redeemed: ¥${yuan(r.discount_fen)} (${esc(r.redemption_id.slice(0, 8))})</p><a href="#/today">今日核销 Today's redemptions</a></div>`;
        flash("核销成功。 Redeemed.", true);
      });
    }
  });
  $("#lookup").onsubmit = (e) => { e.preventDefault(); stopCamera(); check(); };
  $("#scan").onclick = async () => {
    const video = $("#video");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      flash("无法打开摄像头，请输入券码。 Cannot open the camera: type the code instead.");
      return;
    }
    video.srcObject = stream; video.hidden = false; await video.play();
    const canvas = document.createElement("canvas");
    const tick = () => {
      if (!stream) { video.hidden = true; return; }
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(video, 0, 0);
      const found = canvas.width ? jsQR(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height) : null;
      if (found) { $("#code").value = found.data; stopCamera(); video.hidden = true; check(); } else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  $("#code").focus();
}

async function todayView(view) {
  const s = session();
  view.innerHTML = `<h1>今日核销 Today's redemptions</h1><div class="row"><button type="button" class="secondary" id="csv">导出近7天 CSV Export last 7 days</button></div><table class="wide"><thead><tr><th>时间 Time</th><th>抵扣 Discount</th><th>会员 Member</th><th>状态 Status</th><th></th></tr></thead><tbody id="rows"></tbody></table>`;
  const load = () => guarded(async () => {
    const { data } = await api("GET", `/stores/${encodeURIComponent(s.store_id)}/redemptions`);
    $("#rows").innerHTML = data.redemptions.map((r) => `<tr data-id="${esc(r.redemption_id)}"><td>${esc(r.redeemed_at.slice(11, 19))}</td><td>¥${yuan(r.discount_fen)}</td><td>${esc(r.member_id)}</td><td>${r.status === "reversed" ? "已撤销 reversed" : "已核销 redeemed"}</td>
      <td>${r.status === "redeemed" ? `<button type="button" class="danger" data-act="reverse">撤销 Reverse</button>` : ""}</td></tr>`).join("") || `<tr><td colspan="5">今天还没有核销 None yet today</td></tr>`;
  });
  $("#csv").onclick = () => guarded(() => download(`/stores/${encodeURIComponent(s.store_id)}/redemptions/export`, `redemptions-${s.store_id}.csv`));
  $("#rows").onclick = (e) => {
    if (e.target.dataset.act !== "reverse") return;
    const id = e.target.closest("tr").dataset.id;
    if (!confirm("确认撤销？ Reverse this redemption?")) return;
    guarded(async () => { await api("POST", `/redemptions/${encodeURIComponent(id)}/reverse`); flash("已撤销。 Reversed.", true); await load(); });
  };
  await load();
}

const VIEWS = { signin: signinView, stores: storesView, templates: templatesView, calendar: calendarView, dashboard: dashboardView, redeem: redeemView, today: todayView, groups: staffGroupsView };

$("#signout").onclick = () => { stopCamera(); sessionStorage.removeItem("storeloop"); go("#/signin"); };
window.addEventListener("hashchange", () => { stopCamera(); route(); });
route();
