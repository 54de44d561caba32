/**
 * Storeloop's typed client: types generated from the API's OpenAPI document by
 * openapi-typescript (generated/schema.d.ts), requests by openapi-fetch.
 *
 *   const api = createStoreloopClient({ baseUrl, token: () => session.token });
 *   const { data, error } = await api.POST("/coupon-templates/{template_id}/claim", {
 *     params: { path: { template_id }, header: { "Idempotency-Key": key } }, body: { store_id } });
 *   if (error) switch (error.error.code) { case "sold_out": ...; }
 *
 * In a mini-program, pass `...wxTransport()` from "./wx.js" (wx.request has no fetch API).
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "../generated/schema.js";

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];
export type ErrorCode = Schemas["ErrorCode"];
export type ErrorDetail = Schemas["ErrorDetail"];
export type StoreloopClient = Client<paths>;

export interface StoreloopOptions {
  baseUrl: string;
  /** The bearer token, or a function returning the current one (refreshed tokens). */
  token?: string | (() => string | undefined);
  fetch?: ClientOptions["fetch"];
  Request?: ClientOptions["Request"];
}

export function createStoreloopClient(options: StoreloopOptions): StoreloopClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.Request ? { Request: options.Request } : {}),
  });
  client.use({
    onRequest({ request }) {
      const token = typeof options.token === "function" ? options.token() : options.token;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return undefined; // the request is changed in place (works with the wx adapter's Request too)
    },
  });
  return client;
}

/** A fresh Idempotency-Key: make one per logical action and resend it on every retry of that action. */
export function newIdempotencyKey(): string {
  const random = () => Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
  return `${Date.now().toString(16)}-${random()}-${random()}-${random()}`;
}

/** Seconds to wait before retrying a 503 `try_again`, from its Retry-After header. */
export function retryAfterSeconds(response: { headers: { get(name: string): string | null } }): number {
  const value = Number(response.headers.get("Retry-After"));
  return Number.isFinite(value) && value > 0 ? value : 1;
}
