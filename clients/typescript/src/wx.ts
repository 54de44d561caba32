/**
 * openapi-fetch on WeChat mini-programs: they have `wx.request`, but no
 * fetch, Request, Response, Headers or FormData. `wxTransport()` returns the
 * `fetch` and `Request` options for createStoreloopClient, and defines the
 * few globals openapi-fetch touches when they are missing.
 *
 *   import { createStoreloopClient } from "./index.js";
 *   import { wxTransport } from "./wx.js";
 *   const api = createStoreloopClient({ baseUrl: "https://api.example.cn", token, ...wxTransport() });
 *
 * Mini-programs may only call HTTPS domains listed in the admin console
 * (ICP-filed): use the stack's custom domain, never the execute-api URL.
 */

/** The part of `wx.request` this adapter uses (WeChat's documented options). */
export interface WxRequestOptions {
  url: string;
  method: string;
  header: Record<string, string>;
  data?: string;
  dataType: string; // anything but "json": give the body back as text, unparsed
  responseType: "text";
  timeout?: number;
  success(result: { statusCode: number; data: unknown; header: Record<string, string> }): void;
  fail(error: { errMsg: string }): void;
}
export interface WxApi {
  request(options: WxRequestOptions): unknown;
}

type HeaderSource = WxHeaders | Record<string, string> | Iterable<[string, string]> | { forEach(cb: (v: string, k: string) => void): void };

export class WxHeaders {
  private readonly map = new Map<string, string>();

  constructor(init?: HeaderSource) {
    if (!init) return;
    if (typeof (init as { forEach?: unknown }).forEach === "function" && !(init instanceof Array)) {
      (init as { forEach(cb: (v: string, k: string) => void): void }).forEach((v, k) => this.set(k, v));
    } else if (Symbol.iterator in (init as object)) {
      for (const [k, v] of init as Iterable<[string, string]>) this.set(k, v);
    } else {
      for (const [k, v] of Object.entries(init as Record<string, string>)) this.set(k, v);
    }
  }
  get(name: string): string | null { return this.map.get(name.toLowerCase()) ?? null; }
  has(name: string): boolean { return this.map.has(name.toLowerCase()); }
  set(name: string, value: string): void { this.map.set(name.toLowerCase(), String(value)); }
  append(name: string, value: string): void {
    const now = this.get(name);
    this.set(name, now === null ? value : `${now}, ${value}`);
  }
  delete(name: string): void { this.map.delete(name.toLowerCase()); }
  forEach(cb: (value: string, name: string) => void): void { this.map.forEach((v, k) => cb(v, k)); }
  entries(): IterableIterator<[string, string]> { return this.map.entries(); }
  [Symbol.iterator](): IterableIterator<[string, string]> { return this.map.entries(); }
  toObject(): Record<string, string> { return Object.fromEntries(this.map); }
}

export class WxRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: WxHeaders;
  readonly body: string | undefined;

  constructor(input: string | WxRequest, init: { method?: string; headers?: HeaderSource; body?: unknown } = {}) {
    this.url = typeof input === "string" ? input : input.url;
    this.method = (init.method ?? (typeof input === "string" ? "GET" : input.method)).toUpperCase();
    this.headers = new WxHeaders(init.headers ?? (typeof input === "string" ? undefined : input.headers));
    const body = init.body ?? (typeof input === "string" ? undefined : input.body);
    if (body !== undefined && body !== null && typeof body !== "string") {
      throw new TypeError("the wx adapter sends JSON text bodies only");
    }
    this.body = body ?? undefined;
  }
  async text(): Promise<string> { return this.body ?? ""; }
  clone(): WxRequest { return new WxRequest(this); }
}

export class WxResponse {
  readonly ok: boolean;
  readonly headers: WxHeaders;
  readonly body: null = null;
  readonly bodyUsed = false;

  constructor(private readonly raw: string, readonly status: number, headers: Record<string, string>) {
    this.ok = status >= 200 && status < 300;
    this.headers = new WxHeaders(headers);
  }
  async text(): Promise<string> { return this.raw; }
  async json(): Promise<unknown> { return JSON.parse(this.raw); }
  clone(): WxResponse { return new WxResponse(this.raw, this.status, this.headers.toObject()); }
}

/** A fetch(request) for openapi-fetch, made of wx.request. */
export function createWxFetch(api: WxApi, timeoutMs = 20000): (request: Request) => Promise<Response> {
  return (input: Request) =>
    new Promise((resolve, reject) => {
      const request = input as unknown as WxRequest;
      api.request({
        url: request.url,
        method: request.method,
        header: request.headers.toObject(),
        ...(request.body !== undefined ? { data: request.body } : {}),
        dataType: "text",
        responseType: "text",
        timeout: timeoutMs,
        success: (result) => {
          const text = typeof result.data === "string" ? result.data : JSON.stringify(result.data ?? "");
          resolve(new WxResponse(text, result.statusCode, result.header ?? {}) as unknown as Response);
        },
        fail: (error) => reject(new Error(`wx.request failed: ${error.errMsg}`)),
      });
    });
}

/** openapi-fetch reads these globals; a mini-program has none of them. */
export function installWxGlobals(target: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): void {
  target.Headers ??= WxHeaders;
  target.Request ??= WxRequest;
  target.Response ??= WxResponse;
  target.FormData ??= class FormData {};
}

/** The createStoreloopClient options that route requests through wx.request. */
export function wxTransport(api?: WxApi): { fetch: (request: Request) => Promise<Response>; Request: typeof Request } {
  installWxGlobals();
  const wxApi = api ?? (globalThis as unknown as { wx?: WxApi }).wx;
  if (!wxApi) throw new Error("wx.request is not available: pass the wx object explicitly");
  return { fetch: createWxFetch(wxApi), Request: WxRequest as unknown as typeof Request };
}
