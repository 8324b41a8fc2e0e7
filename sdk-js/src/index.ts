// The ES module entry: the page's client and its methods, and createClient for more.
import { createClient, type Client } from "./client";

export { createClient, type Client } from "./client";
export type { Options, StorageMode } from "./config";
export type { Env, Fetch, KV, Reply } from "./env";
export type { Event } from "./event";

/** The page's client, for `import { init, track } from "@clicktrail/sdk"`. */
export const clicktrail: Client = /* @__PURE__ */ createClient();
export const { init, track, page, identify, group, alias, reset, flush, optOut, optIn, dropped } = clicktrail;
