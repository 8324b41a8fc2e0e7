import { warn, type KV } from "./env";
import type { Event } from "./event";

/** One queued event: the event, its size in bytes, and the time until which a request holds it. */
interface Item {
  e: Event;
  b: number;
  l?: number;
}

/**
 * What take hands out: the events to send, when the next held one is free again
 * (0: none held), and whether free events were left out (the batch is full).
 */
export type Batch = [events: Event[], next: number, more: boolean];

/** A page's queue is another's to adopt once its page is gone: left (pagehide) or silent this long. */
const SILENT = 12e4;
const PREFIX = "ct_q.";

/**
 * The event queue of one page, persisted in storage, so events survive reloads,
 * offline periods and crashes. An event stays in it until the request that carried
 * it is answered 2xx (or a non-retryable 4xx); while a request is out its events carry
 * a lease, the time until which they are not sent again.
 *
 * Each page writes only its own key, `ct_q.<page id>` = {h: heartbeat, q: items}:
 * localStorage has no transactions and reaches other tabs late, so a queue shared
 * by several writers would lose events. A new page adopts the queues of pages that
 * are gone: left (pagehide sets the heartbeat to 0) or silent for two minutes (a
 * crash, a killed tab). So live tabs never send each other's events, and an event
 * a dead page left behind goes out again once, with its messageId, from the page
 * that adopted it.
 */
export const queue = (s: KV, page: string, keys: () => string[], now: () => number, maxN: number, maxBytes: number) => {
  const key = PREFIX + page;
  let dropped = 0;
  // Set by pagehide, so that later writes (the visibilitychange that follows it) keep
  // the heartbeat at 0; a push means the page lives again (restored from the bfcache).
  let left: any;
  const read = (k = key): Item[] => {
    try {
      return JSON.parse(s.getItem(k)!).q || [];
    } catch {
      return [];
    }
  };
  const write = (q: Item[]) => (q.length ? s.setItem(key, JSON.stringify({ h: left ? 0 : now(), q })) : s.removeItem(key));
  const edit = <T>(f: (q: Item[]) => T): T => {
    const q = read();
    const r = f(q);
    write(q);
    return r;
  };
  return {
    /** Appends an event; past the caps drops the oldest and counts them. Says how many wait. */
    push: (e: Event, b: number): number =>
      edit((q) => {
        left = 0;
        let n = 0;
        let total = 0;
        q.push({ e, b });
        for (const i of q) total += i.b;
        while (q.length > maxN || total > maxBytes) {
          total -= q.shift()!.b;
          n++;
        }
        if (n) warn("queue full, oldest dropped: " + (dropped += n));
        return q.length;
      }),
    /** Leases the oldest free events, up to n of them and max bytes in all, until `until`. */
    take: (t: number, until: number, n: number, max: number) =>
      edit((q): Batch => {
        const events: Event[] = [];
        let next = 0;
        let bytes = 0;
        let more = false;
        for (const i of q)
          if ((i.l || 0) > t) next = next && next < i.l! ? next : i.l!;
          else if (bytes < max && events.length < n && ((bytes += i.b + 1) < max || !events.length)) {
            // The first event always goes, whatever its size (at most 32 KB, see client.ts).
            events.push(i.e);
            i.l = until;
          } else more = true;
        return [events, next, more];
      }),
    /** Removes sent events (until 0), or holds them until a time (a retry's). Says how many are left. */
    settle: (ids: string[], until: number): number =>
      edit((q) => {
        for (let n = q.length; n--; ) if (ids.includes(q[n].e.messageId)) until ? (q[n].l = until) : q.splice(n, 1);
        return q.length;
      }),
    /** This page is going: its queue is free for the next page to adopt. */
    leave() {
      left = 1;
      write(read());
    },
    /** Takes over the queues of pages that are gone. */
    adopt: () =>
      keys().map((k) => {
        if (k.startsWith(PREFIX) && k != key)
          try {
            if (JSON.parse(s.getItem(k)!).h < now() - SILENT) {
              edit((q) => q.push(...read(k)));
              s.removeItem(k);
            }
          } catch {}
      }),
    /** Forgets every queued event of this page (opt-out). */
    clear: () => s.removeItem(key),
    /** How many events the caps have dropped on this page. */
    dropped: () => dropped,
  };
};

export type Queue = ReturnType<typeof queue>;
