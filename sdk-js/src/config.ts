import { warn } from "./env";
import type { Event } from "./event";

export type StorageMode = "localStorage" | "cookie" | "none";

/** What init accepts. Every number out of its range is clamped, with a console warning. */
export interface Options {
  /** The source's write key; sent in the body. Required. */
  writeKey: string;
  /** The collector's base URL; events go to `${endpoint}/v1/batch`. Default "" (this origin). */
  endpoint?: string;
  /** Send when this many events wait. Default 20, 1..100. */
  flushAt?: number;
  /** Send at most this long after an event was queued, in ms. Default 5000, 100..60000. */
  flushInterval?: number;
  /** Largest request body in bytes; kept under 64 KB so keepalive works. Default 30000, 4096..60000. */
  maxBatchBytes?: number;
  /** Events kept while they cannot be sent; the oldest are dropped (and counted) past it. Default 1000, 10..10000. */
  maxQueue?: number;
  /** Bytes kept likewise. Default 1000000, 65536..4000000. */
  maxQueueBytes?: number;
  /** Idle time that ends a session, in ms. Default 30 min, 1 min..24 h. */
  sessionTimeout?: number;
  /** Where the anonymousId, session and opt-out live. Default "localStorage" (cookie when it is blocked); "none" keeps nothing on the device. */
  storage?: StorageMode;
  /** Send nothing when the browser says Do-Not-Track or Global Privacy Control. Default false. */
  respectDnt?: boolean;
  /** Page views on load and on SPA navigation (pushState, replaceState, popstate). Default true. */
  pageviews?: boolean;
  /** A track "Outbound Link Clicked" for clicks on links to other hosts. Default true. */
  outbound?: boolean;
  /** context.campaign from the URL's utm_* parameters. Default true. */
  campaign?: boolean;
  /** Sees every event before it is queued: return it (changed or not), or null to drop it. */
  beforeSend?: (event: Event) => Event | null | undefined;
}

export type Config = Required<Omit<Options, "beforeSend">> & Pick<Options, "beforeSend">;

/** Each number's default, lowest and highest value. */
const RANGES: [keyof Options, number, number, number][] = [
  ["flushAt", 20, 1, 100],
  ["flushInterval", 5e3, 100, 6e4],
  ["maxBatchBytes", 3e4, 4096, 6e4],
  ["maxQueue", 1e3, 10, 1e4],
  ["maxQueueBytes", 1e6, 65536, 4e6],
  ["sessionTimeout", 18e5, 6e4, 864e5],
];

/** Fills in defaults and clamps numbers into their ranges, with a warning. */
export const config = (o: Options): Config => {
  const c: any = { endpoint: "", storage: "localStorage", pageviews: true, outbound: true, campaign: true, ...o };
  for (const [k, def, lo, hi] of RANGES) {
    const v = (c[k] ??= def);
    if (!(v >= lo && v <= hi)) {
      warn(`${k}=${v} is outside ${lo}..${hi}`);
      c[k] = v < lo ? lo : v > hi ? hi : def;
    }
  }
  return c;
};
