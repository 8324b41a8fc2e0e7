import { warn, type KV } from "./env";
import type { Event } from "./event";

/** One queued event: the event, its size in bytes, and the time until which a sender holds it. */
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

/**
 * The event queue, persisted in storage that every tab of the site shares, so events
 * survive reloads, offline periods and crashes. An event stays in it until its sender
 * calls done (after a 2xx or a non-retryable 4xx). While a tab sends a batch the
 * batch's items carry a lease (the time until which they are held), so no other tab
 * sends them; a lease that outlives its tab (closed, crashed) expires and the events
 * go out again with the same messageId.
 *
 * Every read-modify-write runs under a Web Lock where the browser has one, so two
 * tabs never take the same event; unload (see client.ts) has no time to wait for one.
 */
export const queue = (s: KV, key: string, maxN: number, maxBytes: number, nav?: any) => {
  const read = (): Item[] => {
    try {
      return JSON.parse(s.getItem(key)!) || [];
    } catch {
      return [];
    }
  };
  const write = (q: Item[]) => (q.length ? s.setItem(key, JSON.stringify(q)) : s.removeItem(key));
  // Runs f on the stored items and writes them back, under the tabs' lock when there is one.
  const edit = <T>(f: (q: Item[]) => T, now?: boolean): Promise<T> | T => {
    const run = () => {
      const q = read();
      const r = f(q);
      write(q);
      return r;
    };
    const l = !now && nav && nav.locks;
    return l ? l.request(key, run) : run();
  };
  const dkey = key + "_dropped";
  return {
    /** Appends an event; past the caps drops the oldest and counts them. */
    push: (e: Event, b: number) =>
      edit((q) => {
        let n = 0;
        let total = 0;
        q.push({ e, b });
        for (const i of q) total += i.b;
        while (q.length > maxN || total > maxBytes) {
          total -= q.shift()!.b;
          n++;
        }
        if (n) {
          s.setItem(dkey, "" + (+s.getItem(dkey)! + n));
          warn("queue full, oldest dropped: " + n);
        }
      }),
    /** Leases the oldest free events, up to n of them and max bytes in all, until `until`. */
    take: (now: number, until: number, n: number, max: number, sync?: boolean) =>
      edit((q): Batch => {
        const events: Event[] = [];
        let next = 0;
        let bytes = 0;
        let more = false;
        for (const i of q)
          if ((i.l || 0) > now) next = next && next < i.l! ? next : i.l!;
          else if (bytes < max && events.length < n && ((bytes += i.b + 1) < max || !events.length)) {
            // The first event always goes, whatever its size (at most 32 KB, see client.ts).
            events.push(i.e);
            i.l = until;
          } else more = true;
        return [events, next, more];
      }, sync),
    /** How many events are free to send. */
    free: (now: number) => read().filter((i) => !((i.l || 0) > now)).length,
    /** Removes sent events (until 0), or holds them until a time (a retry's). */
    settle: (ids: string[], until: number) =>
      edit((q) => {
        for (let n = q.length; n--; ) if (ids.includes(q[n].e.messageId)) until ? (q[n].l = until) : q.splice(n, 1);
      }),
    /** Forgets every queued event (opt-out). */
    clear: () => s.removeItem(key),
    /** How many events the caps have dropped, ever, on this device. */
    dropped: () => +s.getItem(dkey)! | 0,
  };
};

export type Queue = ReturnType<typeof queue>;
