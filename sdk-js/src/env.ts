// What the SDK takes from its surroundings. Everything here can be passed to
// createClient, so tests run in Node with a fake clock, ids, storage and fetch.

/** The three methods of Web Storage the SDK uses. */
export interface KV {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The part of a fetch Response the SDK reads. */
export interface Reply {
  status: number;
  headers: { get(name: string): string | null };
}

export type Fetch = (url: string, init: { method: string; body: string; keepalive: boolean }) => Promise<Reply>;

export interface Env {
  /** Milliseconds since the epoch. Default Date.now. */
  now: () => number;
  /** A new UUID. Default: a v4 UUID from crypto.getRandomValues. */
  id: () => string;
  /** A number in [0, 1) for backoff jitter. Default Math.random. */
  random: () => number;
  /** Default window.fetch. */
  fetch: Fetch;
  /** Persistent storage shared by the site's tabs. Default window.localStorage. */
  store?: KV | null;
  /** The window: location, document, navigator, screen, history. Default globalThis. */
  win: any;
}

/** A v4 UUID (crypto.randomUUID exists only in secure contexts). */
export const uuid = (): string =>
  (1e7 + "-1000-4000-8000-" + 1e11).replace(/[018]/g, (c: any) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );

export const warn = (m: string) => console.warn("clicktrail: " + m);

/**
 * Wraps a store that may throw (blocked storage, quota exceeded): from the first
 * failure on, this tab keeps going in memory with what it has seen, so an event is
 * never lost to a storage error while the page lives. Without a store it is plain
 * memory: the cookie-less mode that keeps nothing on the device.
 */
export const safe = (s?: KV | null): KV => {
  const m: Record<string, string | null> = {};
  const run = (f: () => any) => {
    if (s)
      try {
        return f();
      } catch {
        s = 0 as any;
      }
  };
  return {
    getItem: (k) => {
      const v = run(() => s!.getItem(k));
      if (s) m[k] = v;
      return m[k] ?? null;
    },
    setItem(k, v) {
      m[k] = v;
      run(() => s!.setItem(k, v));
    },
    removeItem(k) {
      m[k] = null;
      run(() => s!.removeItem(k));
    },
  };
};

/** First-party cookies, a year long, for the anonymousId, session and opt-out. */
export const cookies = (d: Document): KV => {
  const set = (k: string, v: string, age: number) =>
    (d.cookie = `${k}=${encodeURIComponent(v)};path=/;max-age=${age};samesite=lax${d.location.protocol == "https:" ? ";secure" : ""}`);
  return {
    getItem: (k) => {
      const v = d.cookie.match("(?:^|; )" + k + "=([^;]*)");
      return v ? decodeURIComponent(v[1]) : null;
    },
    setItem: (k, v) => void set(k, v, 31536e3),
    removeItem: (k) => void set(k, "", 0),
  };
};
