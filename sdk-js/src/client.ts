import { autotrack } from "./autotrack";
import { config, type Config, type Options } from "./config";
import { context } from "./context";
import { cookies, safe, uuid, warn, type Env, type KV } from "./env";
import type { Event } from "./event";
import { identity } from "./identity";
import { queue, type Queue } from "./queue";
import { session } from "./session";
import { backoff, send } from "./transport";

/** How long a batch being sent is held from other tabs; after it a dead tab's batch goes again. */
const LEASE = 15e3;
/** The Segment API's limit for one event. */
const MAX_EVENT = 32768;

type Props = Record<string, any>;

export interface Client {
  /** Starts the SDK. Calls before init do nothing. */
  init(options: Options): void;
  track(event: string, properties?: Props): void;
  page(name?: string, properties?: Props): void;
  /** Remembers userId (kept until reset) and sends an identify. */
  identify(userId?: string | null, traits?: Props): void;
  group(groupId: string, traits?: Props): void;
  /** Links userId to previousId (default: the current userId or anonymousId). */
  alias(userId: string, previousId?: string): void;
  /** Forgets the userId, anonymousId and session (on logout). */
  reset(): void;
  /** Sends what is queued now; resolves when the request is answered. */
  flush(): Promise<void>;
  /** Stops sending and forgets queued events; remembered on this device. */
  optOut(): void;
  optIn(): void;
  /** Events the queue caps have dropped on this page (each drop also warns). */
  dropped(): number;
}

/**
 * A client. Everything it takes from the browser can be replaced through env, which is
 * how the tests run it in Node with a fake clock, ids, storage and fetch.
 */
export const createClient = (env: Partial<Env> = {}): Client => {
  const w = env.win || globalThis;
  const now = env.now || Date.now;
  const id = env.id || uuid;
  const random = env.random || Math.random;
  let c: Config;
  let ids: KV;
  let q: Queue;
  let who: ReturnType<typeof identity>;
  let sid: () => string;
  let timer: any;
  let attempt = 0; // failed attempts in a row; while > 0 we wait for the retry timer
  let busy = 0; // time until which this tab's request is in flight

  const iso = (t: number) => new Date(t).toISOString();
  const off = () =>
    !c || !!ids.getItem("ct_optout") || (c.respectDnt && (w.navigator.doNotTrack == "1" || !!w.navigator.globalPrivacyControl));

  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => ((timer = 0), flush()), ms);
  };

  // Sends the oldest free events. On unload (pagehide, hidden) it does not wait for a
  // request in flight, and leaves alone a queue that is backing off: the next page sends it.
  const flush = async (unload?: any): Promise<void> => {
    const t = now();
    if (off() || attempt && unload || busy > t && !unload) return;
    const [batch, next, more] = q.take(t, t + LEASE, c.flushAt, c.maxBatchBytes - 200);
    if (!batch.length) {
      if (next && !timer) arm(next - t);
      return;
    }
    if (!unload) busy = t + LEASE;
    const r = await send(env.fetch || ((u, i) => w.fetch(u, i)), c.endpoint + "/v1/batch",
      JSON.stringify({ batch, sentAt: iso(now()), writeKey: c.writeKey }));
    if (!unload) busy = 0;
    const sent = batch.map((e) => e.messageId);
    if (r) {
      const d = r > 0 ? r : backoff(attempt, random());
      attempt++;
      q.settle(sent, now() + d);
      arm(d);
    } else {
      attempt = 0;
      // A full batch leaves events that have waited long enough, and events that came
      // during the request may make a batch: send them now.
      if (q.settle(sent, 0) >= c.flushAt || more) return flush();
      if (!timer) arm(c.flushInterval);
    }
  };

  const emit = (type: Event["type"], fields: Partial<Event>) => {
    if (off()) return;
    const t = now();
    let e: Event | null | undefined = {
      type,
      messageId: id(),
      anonymousId: who.anonymousId(),
      userId: who.userId(),
      timestamp: iso(t),
      context: { ...context(w, c.campaign), sessionId: sid() },
      ...fields,
    };
    if (c.beforeSend && !(e = c.beforeSend(e))) return;
    const b = new Blob([JSON.stringify(e)]).size;
    if (b > MAX_EVENT) return warn("event over 32 KB dropped");
    // While backing off, the retry timer sends; while a request is out, its answer does.
    if (q.push(e, b) >= c.flushAt && !attempt) flush();
    else if (!timer) arm(c.flushInterval);
  };

  const client: Client = {
    init(o) {
      if (c || !o || !o.writeKey) return warn("init: once, with a writeKey");
      c = config(o);
      let ls: KV | null | undefined = env.store;
      try {
        if (ls === undefined) ls = w.localStorage;
      } catch {
        // Blocked (reading window.localStorage throws): the anonymousId goes to a
        // cookie, the queue stays in memory. A store that throws later is handled by safe().
      }
      const mode = c.storage;
      if (mode == "none") ls = null;
      ids = safe(mode == "none" ? null : mode == "cookie" || !ls ? w.document && cookies(w.document) : ls);
      q = queue(safe(ls), id(), () => (ls ? Object.keys(ls) : []), now, c.maxQueue, c.maxQueueBytes);
      q.adopt();
      who = identity(ids, id);
      sid = session(ids, now, id, c.sessionTimeout);
      const bye = () => flush(1);
      w.addEventListener("pagehide", () => (bye(), q.leave()));
      w.document.addEventListener("visibilitychange", () => w.document.visibilityState == "hidden" && bye());
      autotrack(w, c, () => client.page(), client.track);
      // Events a previous page, tab or crash left behind, adopted above.
      if (!timer) arm(0);
    },
    track: (event, properties = {}) => emit("track", { event, properties }),
    page: (name, properties = {}) => emit("page", { name, properties }),
    identify(userId, traits = {}) {
      if (userId) who.setUserId(userId);
      emit("identify", { userId: who.userId(), traits });
    },
    group: (groupId, traits = {}) => emit("group", { groupId, traits }),
    alias: (userId, previousId) => emit("alias", { userId, previousId: previousId || who.userId() || who.anonymousId() }),
    reset: () => c && who.reset(),
    flush: () => flush(),
    optOut() {
      if (c) ids.setItem("ct_optout", "1"), q.clear();
    },
    optIn: () => c && ids.removeItem("ct_optout"),
    dropped: () => (c ? q.dropped() : 0),
  };
  return client;
};
