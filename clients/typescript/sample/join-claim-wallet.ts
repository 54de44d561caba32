/**
 * What a mini-program does first: join the nearest store's group, claim a
 * coupon there, show the wallet. Run by tests/integration/test_typescript_client.py
 * against `chalice local`:
 *
 *   node dist/sample/join-claim-wallet.js <baseUrl> <memberToken> <templateId>
 *
 * It prints one JSON line with what it saw. The wallet is read twice: with
 * Node's fetch, and through the wx.request adapter (a stand-in `wx` made of
 * fetch, as WeChat's would be made of its network stack).
 */
import { createStoreloopClient, newIdempotencyKey, type ErrorCode, type Schemas } from "../src/index.js";
import { wxTransport, type WxApi, type WxRequestOptions } from "../src/wx.js";

declare const process: { argv: string[]; exitCode?: number };

function fakeWx(): WxApi {
  return {
    request(options: WxRequestOptions) {
      fetch(options.url, { method: options.method, headers: options.header, body: options.data ?? null })
        .then(async (r) => {
          const header: Record<string, string> = {};
          r.headers.forEach((v, k) => { header[k] = v; });
          options.success({ statusCode: r.status, data: await r.text(), header });
        })
        .catch((e: Error) => options.fail({ errMsg: e.message }));
      return undefined;
    },
  };
}

async function main(): Promise<void> {
  const [baseUrl, token, templateId] = process.argv.slice(2);
  if (!baseUrl || !token || !templateId) throw new Error("usage: join-claim-wallet <baseUrl> <token> <templateId>");
  const api = createStoreloopClient({ baseUrl, token });

  const joined = await api.POST("/groups/join", { body: { lat: 31.2304, lng: 121.4737, coord: "gcj02" } });
  if (joined.error) throw new Error(`join refused: ${joined.error.error.code}`);
  const group: Schemas["JoinOut"] = joined.data;

  const key = newIdempotencyKey();
  const claimed = await api.POST("/coupon-templates/{template_id}/claim", {
    params: { path: { template_id: templateId }, header: { "Idempotency-Key": key } },
    body: { store_id: group.store_id },
  });
  if (claimed.error) throw new Error(`claim refused: ${claimed.error.error.code}`);

  // A refusal is typed: `code` is the union the operation declares, details are {field, problem}.
  const refused = await api.POST("/coupon-templates/{template_id}/claim", {
    params: { path: { template_id: "no-such-template" } },
    body: { store_id: group.store_id },
  });
  let refusal: ErrorCode | undefined;
  const fields: string[] = [];
  if (refused.error) {
    refusal = refused.error.error.code;
    for (const detail of refused.error.error.details) fields.push(detail.field);
  }
  const invalid = await api.POST("/groups/join", { body: { lat: 123, lng: 0, coord: "gcj02" } });
  if (invalid.error) for (const detail of invalid.error.error.details) fields.push(`${detail.field}: ${detail.problem}`);

  const wallet = await api.GET("/members/me/coupons", { params: { query: {} } });
  if (wallet.error) throw new Error(`wallet refused: ${wallet.error.error.code}`);

  const viaWx = createStoreloopClient({ baseUrl, token, ...wxTransport(fakeWx()) });
  const wxWallet = await viaWx.GET("/members/me/coupons", { params: { query: {} } });
  if (wxWallet.error) throw new Error(`wallet via wx refused: ${wxWallet.error.error.code}`);

  console.log(JSON.stringify({
    group_id: group.group_id,
    store_id: group.store_id,
    coupon_id: claimed.data.coupon_id,
    request_id: claimed.response.headers.get("x-request-id"),
    refusal,
    fields,
    wallet: wallet.data.coupons.map((c) => ({ coupon_id: c.coupon_id, title: c.title, status: c.status })),
    wx_wallet: wxWallet.data.coupons.map((c) => c.coupon_id),
    wx_request_id: wxWallet.response.headers.get("x-request-id"),
  }));
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
