// The SDK in a real browser: Debian's headless Chromium (scripts/ensure-chromium.sh),
// driven by playwright-core, never a downloaded browser. A recording server on
// 127.0.0.1 serves a page that loads dist/clicktrail.min.js through the async loader
// snippet, and stands in for the collector. With CLICKTRAIL_COLLECTOR_URL set it relays
// each batch to that collector instead and records the collector's answer.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import Ajv2020Module from "ajv/dist/2020.js";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "../dist/clicktrail.min.js");
const schemaDir = join(here, "../../schemas/jsonschema");
const CHROMIUM = "/usr/bin/chromium";
const upstream = process.env.CLICKTRAIL_COLLECTOR_URL?.replace(/\/$/, "");
const writeKey = process.env.CLICKTRAIL_WRITE_KEY || "dev";

// The loader snippet of the README, with the script's URL.
const snippet = (src: string) =>
  `!function(w,d,c,s){c=w.clicktrail=w.clicktrail||{q:[]};"init track page identify group alias reset flush optOut optIn".split(" ").map(function(m){c[m]=c[m]||function(){c.q.push([m,arguments])}});s=d.createElement("script");s.async=1;s.src="${src}";d.head.appendChild(s)}(window,document);`;

const page = (options: object) => `<!doctype html><meta charset="utf-8"><title>Clicktrail test page</title>
<script>${snippet("/clicktrail.min.js")}
clicktrail.init(${JSON.stringify(options)});
</script>
<a id="out" href="https://outbound.example/landing">outbound</a>`;

/** One POST /v1/batch as the recording server saw it, and the answer it gave. */
interface Seen {
  contentType: string;
  body: any;
  status: number;
}

class Recorder {
  server!: Server;
  url = "";
  seen: Seen[] = [];
  problems: string[] = [];
  /** What /v1/batch answers: the collector's answer, or 503 as in a broker outage. */
  mode: "ok" | "down" = "ok";
  validate?: (e: unknown) => string | null;

  async start() {
    if (existsSync(join(schemaDir, "envelope.json"))) {
      const Ajv2020 = (Ajv2020Module as any).default || Ajv2020Module;
      const ajv = new Ajv2020({ allErrors: true, strict: false });
      for (const f of readdirSync(schemaDir)) ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, f), "utf8")));
      const envelope = ajv.getSchema("https://schemas.clicktrail.dev/envelope.json")!;
      this.validate = (e) => (envelope(e) ? null : ajv.errorsText(envelope.errors));
    }
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url!, this.url);
    if (u.pathname == "/clicktrail.min.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync(dist));
    } else if (u.pathname == "/page.html") {
      res.writeHead(200, { "content-type": "text/html" }).end(page(JSON.parse(u.searchParams.get("o") || "{}")));
    } else if (u.pathname == "/other.html") {
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>No SDK here</title>");
    } else if (u.pathname == "/v1/batch" && req.method == "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c);
      const raw = Buffer.concat(chunks).toString();
      const s: Seen = { contentType: req.headers["content-type"] || "", body: null, status: 0 };
      try {
        s.body = JSON.parse(raw);
      } catch {
        this.problems.push("body is not JSON: " + raw.slice(0, 100));
      }
      this.check(s);
      if (this.mode == "down") {
        s.status = 503;
        res.writeHead(503, { "retry-after": "1", "content-type": "application/json" }).end('{"error":"broker is unavailable"}');
      } else if (upstream) {
        const r = await fetch(upstream + "/v1/batch", { method: "POST", headers: { "content-type": "text/plain" }, body: raw });
        s.status = r.status;
        res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text());
      } else {
        s.status = 200;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ accepted: s.body?.batch?.length ?? 0, rejected: [] }));
      }
      this.seen.push(s);
    } else {
      res.writeHead(404).end();
    }
  }

  check(s: Seen) {
    const p = (m: string) => this.problems.push(m);
    if (!s.contentType.startsWith("text/plain")) p("content-type " + s.contentType);
    if (!s.body) return;
    if (s.body.writeKey !== writeKey) p("writeKey " + s.body.writeKey);
    if (!/^\d{4}-\d\d-\d\dT/.test(s.body.sentAt)) p("sentAt " + s.body.sentAt);
    if (!Array.isArray(s.body.batch) || !s.body.batch.length) return p("empty batch");
    for (const e of s.body.batch) {
      const err = this.validate?.(e);
      if (err) p(`${e.type} ${e.messageId}: ${err}`);
    }
  }

  /** Events the collector acknowledged (2xx), in order, repeats included. */
  delivered(): any[] {
    return this.seen.filter((s) => s.status >= 200 && s.status < 300).flatMap((s) => s.body.batch);
  }

  reset() {
    this.seen = [];
    this.problems = [];
    this.mode = "ok";
  }
}

const until = async (what: string, f: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("timed out waiting until " + what);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const ids = (events: any[]) => events.map((e) => e.messageId);
const tracked = (events: any[], name: string) => events.filter((e) => e.event == name);

const rec = new Recorder();
let browser: Browser;
let ctx: BrowserContext;
let tab: Page;

const open = async (options: object = {}, query = "") => {
  const o = { writeKey, endpoint: rec.url, ...options };
  await tab.goto(`${rec.url}/page.html?o=${encodeURIComponent(JSON.stringify(o))}${query}`);
  await tab.waitForFunction(() => (window as any).clicktrail && !(window as any).clicktrail.q);
};

describe("in Chromium", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: run scripts/ensure-chromium.sh` }, () => {
  before(async () => {
    assert.ok(existsSync(dist), "dist/clicktrail.min.js: run npm run build first");
    await rec.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    rec.server?.close();
  });
  beforeEach(async () => {
    rec.reset();
    ctx = await browser.newContext();
    tab = await ctx.newPage();
  });
  afterEach(async () => {
    await ctx.close();
    assert.deepEqual(rec.problems, [], "every request body is a valid text/plain batch");
  });

  test("events arrive: the snippet's queued calls, page views (SPA too), track, identify, outbound clicks", async () => {
    await open({ flushInterval: 300 }, "&utm_source=news&utm_medium=email&utm_campaign=spring");
    await tab.evaluate(() => {
      const c = (window as any).clicktrail;
      c.track("Button Clicked", { id: "buy" });
      c.identify("u-1", { plan: "pro" });
      history.pushState({}, "", "/products/42");
    });
    await tab.click("#out", { noWaitAfter: true }).catch(() => {});
    await until("the outbound click arrives", () => tracked(rec.delivered(), "Outbound Link Clicked").length == 1);
    const ev = rec.delivered();
    const pages = ev.filter((e) => e.type == "page");
    assert.deepEqual(pages.map((e) => e.context.page.path), ["/page.html", "/products/42"]);
    assert.deepEqual(pages[0].context.campaign, { name: "spring", source: "news", medium: "email" });
    assert.equal(pages[0].context.library.name, "clicktrail-sdk");
    assert.equal(tracked(ev, "Button Clicked").length, 1);
    assert.equal(ev.find((e) => e.type == "identify").userId, "u-1");
    assert.equal(new Set(ev.map((e) => e.anonymousId)).size, 1);
    assert.equal(new Set(ids(ev)).size, ev.length, "no event twice");
  });

  test("navigating away in the middle of a batch still delivers it (pagehide flush)", async () => {
    await open({ flushInterval: 60_000, pageviews: false });
    await tab.evaluate(() => {
      for (let i = 0; i < 3; i++) (window as any).clicktrail.track("Before Leaving", { i });
    });
    assert.equal(rec.seen.length, 0, "the batch waits for its interval");
    await tab.goto(`${rec.url}/other.html`);
    await until("the batch arrives", () => tracked(rec.delivered(), "Before Leaving").length >= 3);
    assert.deepEqual(tracked(rec.delivered(), "Before Leaving").map((e) => e.properties.i), [0, 1, 2]);
  });

  test("events queued while offline arrive once the browser is back online", async () => {
    await open({ flushInterval: 200, pageviews: false });
    await ctx.setOffline(true);
    await tab.evaluate(() => {
      for (let i = 0; i < 5; i++) (window as any).clicktrail.track("Offline", { i });
    });
    await new Promise((r) => setTimeout(r, 1500)); // a few failed attempts
    const queued = await tab.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith("ct_q."))
        .reduce((n, k) => n + JSON.parse(localStorage.getItem(k)!).q.length, 0),
    );
    assert.equal(queued, 5, "kept in localStorage while offline");
    await ctx.setOffline(false);
    await until("the offline events arrive", () => tracked(rec.delivered(), "Offline").length >= 5, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const got = tracked(rec.delivered(), "Offline");
    assert.equal(got.length, 5);
    assert.equal(new Set(ids(got)).size, 5, "each exactly once");
  });

  test("a reload with a queued batch (collector down) delivers it exactly once", async () => {
    rec.mode = "down";
    await open({ flushInterval: 200, pageviews: false });
    await tab.evaluate(() => {
      for (let i = 0; i < 4; i++) (window as any).clicktrail.track("Queued", { i });
    });
    await until("the SDK has tried", () => rec.seen.length >= 1);
    rec.mode = "ok";
    await tab.reload();
    await tab.waitForFunction(() => (window as any).clicktrail && !(window as any).clicktrail.q);
    await until("the queued batch arrives", () => tracked(rec.delivered(), "Queued").length >= 4);
    await new Promise((r) => setTimeout(r, 2000)); // room for a duplicate to show up
    const got = tracked(rec.delivered(), "Queued");
    assert.deepEqual(got.map((e) => e.properties.i).sort(), [0, 1, 2, 3]);
    assert.equal(new Set(ids(got)).size, 4);
    assert.deepEqual(await tab.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("ct_q."))), [], "no queue left");
  });

  test("a reload with a batch not yet sent: pagehide delivers it, the next page repeats it only after the lease (same messageIds)", async () => {
    await open({ flushInterval: 60_000, pageviews: false });
    await tab.evaluate(() => {
      for (let i = 0; i < 3; i++) (window as any).clicktrail.track("Unsent", { i });
    });
    await tab.reload();
    await tab.waitForFunction(() => (window as any).clicktrail && !(window as any).clicktrail.q);
    await until("pagehide delivers the batch", () => tracked(rec.delivered(), "Unsent").length >= 3);
    const first = ids(tracked(rec.delivered(), "Unsent"));
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(tracked(rec.delivered(), "Unsent").length, 3, "not repeated while the 15 s lease runs");
    // The page that sent it never saw the 200, so the batch is still queued: after the
    // lease the new page sends it again, and the pipeline de-duplicates by messageId.
    await until("the lease runs out and the batch goes again", () => tracked(rec.delivered(), "Unsent").length >= 6, 20_000);
    const all = ids(tracked(rec.delivered(), "Unsent"));
    assert.deepEqual(all.slice(3), first, "the repeat carries the same messageIds");
  });

  test("two tabs of the site never send the same event twice", async () => {
    rec.mode = "down";
    await open({ flushInterval: 200, pageviews: false });
    const second = await ctx.newPage();
    const o = { writeKey, endpoint: rec.url, flushInterval: 200, pageviews: false };
    await second.goto(`${rec.url}/page.html?o=${encodeURIComponent(JSON.stringify(o))}`);
    await tab.evaluate(() => {
      for (let i = 0; i < 10; i++) (window as any).clicktrail.track("Tab 1", { i });
    });
    await second.evaluate(() => {
      for (let i = 0; i < 10; i++) (window as any).clicktrail.track("Tab 2", { i });
    });
    await until("both tabs have tried", () => rec.seen.length >= 2);
    rec.mode = "ok";
    await until("all 20 arrive", () => rec.delivered().length >= 20, 20_000);
    await new Promise((r) => setTimeout(r, 2000));
    const got = rec.delivered();
    assert.equal(got.length, 20, "sent: " + got.map((e) => e.event + e.properties.i));
    assert.equal(new Set(ids(got)).size, 20);
  });
});
