// Small hand-written fakes for the unit tests: storage, window, fetch, clock, ids.
import { mock } from "node:test";
import { createClient, type Client } from "../src/client.ts";
import type { Env, KV, Reply } from "../src/env.ts";

/** Like localStorage: items are the object's own properties, so Object.keys lists them. */
export class FakeStore implements KV {
  [key: string]: any;
  getItem(k: string): string | null {
    return Object.prototype.hasOwnProperty.call(this, k) ? this[k] : null;
  }
  setItem(k: string, v: string) {
    this[k] = String(v);
  }
  removeItem(k: string) {
    delete this[k];
  }
  /** Every page's queued events. */
  queued(): any[] {
    return Object.keys(this)
      .filter((k) => k.startsWith("ct_q."))
      .flatMap((k) => JSON.parse(this[k]).q.map((i: any) => i.e));
  }
}

type Listener = (e: any) => void;
class Target {
  listeners: Record<string, Listener[]> = {};
  addEventListener(t: string, f: Listener) {
    (this.listeners[t] ||= []).push(f);
  }
  dispatch(t: string, e: any = {}) {
    for (const f of this.listeners[t] || []) f(e);
  }
}

export class FakeWindow extends Target {
  location: URL;
  document = Object.assign(new Target(), { title: "Blue shoes", referrer: "https://news.example/", visibilityState: "visible", cookie: "" });
  navigator: Record<string, any> = { userAgent: "FakeBrowser/1.0", language: "en-GB" };
  screen = { width: 1920, height: 1080 };
  devicePixelRatio = 2;
  history = {
    pushState: (_s: any, _t: string, u: string) => this.go(u),
    replaceState: (_s: any, _t: string, u: string) => this.go(u),
  };
  constructor(url = "https://shop.example/products/42?utm_source=news&utm_medium=email&utm_campaign=spring") {
    super();
    this.location = new URL(url);
    (this.document as any).location = this.location;
  }
  go(u: string) {
    this.location.href = new URL(u, this.location.href).href;
  }
}

export interface Call {
  url: string;
  body: any;
  raw: string;
  keepalive: boolean;
  method: string;
  at: number;
}

/** A fetch that records each request and answers from a script (default 200). */
export class FakeFetch {
  calls: Call[] = [];
  /** Answers for the next requests, in order: a status, [status, headers], "network" (a rejected fetch) or "hang". */
  script: (number | [number, Record<string, string>] | "network" | "hang")[] = [];
  constructor(private clock: Clock) {}
  fetch = async (url: string, init: { method: string; body: string; keepalive: boolean }): Promise<Reply> => {
    this.calls.push({ url, raw: init.body, body: JSON.parse(init.body), keepalive: init.keepalive, method: init.method, at: this.clock.t });
    const a = this.script.length ? this.script.shift()! : 200;
    if (a === "network") throw new TypeError("Failed to fetch");
    if (a === "hang") return new Promise(() => {});
    const [status, headers] = Array.isArray(a) ? a : [a, {}];
    return { status, headers: new Headers(headers) };
  };
  /** messageIds in the order they were sent, repeats included. */
  sentIds(): string[] {
    return this.calls.flatMap((c) => c.body.batch.map((e: any) => e.messageId));
  }
}

export class Clock {
  t = Date.parse("2026-11-25T10:00:00.000Z");
  now = () => this.t;
}

/** Lets pending promise callbacks run (fetch answers, Web Lock grants). */
export const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/** One test's world: fake timers, a clock, ids, storage, window and fetch. */
export class World {
  clock = new Clock();
  store = new FakeStore();
  win = new FakeWindow();
  net = new FakeFetch(this.clock);
  n = 0;
  id = () => `id-${++this.n}`;
  constructor() {
    mock.timers.enable({ apis: ["setTimeout"] });
  }
  env(over: Partial<Env> = {}): Partial<Env> {
    return { now: this.clock.now, id: this.id, random: () => 0, fetch: this.net.fetch, store: this.store, win: this.win, ...over };
  }
  client(options: Record<string, any> = {}, over: Partial<Env> = {}): Client {
    const c = createClient(this.env(over));
    c.init({ writeKey: "wk", endpoint: "https://c.example", pageviews: false, outbound: false, ...options });
    return c;
  }
  /** Moves the clock and the timers on together, then lets callbacks run. */
  async advance(ms: number, by = 100) {
    await settle();
    mock.timers.tick(0);
    await settle();
    for (let left = ms; left > 0; left -= by) {
      const step = Math.min(by, left);
      this.clock.t += step;
      mock.timers.tick(step);
      await settle();
    }
  }
  /** A page reload: pagehide, then this page's timers are gone; the next client starts on the same storage. */
  reload() {
    // Chromium's order when a page goes.
    this.win.dispatch("pagehide");
    this.win.document.visibilityState = "hidden";
    this.win.document.dispatch("visibilitychange");
    this.crash();
  }
  /** A crash: no pagehide, the timers are gone; the next client starts on the same storage. */
  crash() {
    mock.timers.reset();
    mock.timers.enable({ apis: ["setTimeout"] });
    this.win = new FakeWindow();
  }
  close() {
    mock.timers.reset();
  }
}

/** console.warn, recorded. */
export const warnings = () => {
  const seen: string[] = [];
  const m = mock.method(console, "warn", (s: string) => void seen.push(s));
  return { seen, restore: () => m.mock.restore() };
};
