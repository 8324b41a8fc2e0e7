import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { World, warnings } from "./fakes.ts";

let w: World;
beforeEach(() => (w = new World()));
afterEach(() => w.close());

describe("wire body", () => {
  test("a track is sent as exactly the Segment batch body, text/plain with the write key inside", async () => {
    const c = w.client();
    await w.advance(0);
    c.track("Order Completed", { revenue: 42.5, currency: "EUR" });
    await w.advance(5000);
    assert.equal(w.net.calls.length, 1);
    const call = w.net.calls[0];
    assert.equal(call.url, "https://c.example/v1/batch");
    assert.equal(call.method, "POST");
    assert.equal(call.keepalive, true);
    assert.equal(typeof call.raw, "string", "a string body goes as text/plain: no CORS preflight");
    assert.equal(
      call.raw,
      JSON.stringify({
        batch: [
          {
            type: "track",
            messageId: "id-2",
            anonymousId: "id-3",
            timestamp: "2026-11-25T10:00:00.000Z",
            context: {
              page: {
                url: "https://shop.example/products/42?utm_source=news&utm_medium=email&utm_campaign=spring",
                path: "/products/42",
                title: "Blue shoes",
                referrer: "https://news.example/",
                search: "?utm_source=news&utm_medium=email&utm_campaign=spring",
              },
              userAgent: "FakeBrowser/1.0",
              locale: "en-GB",
              timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
              screen: { width: 1920, height: 1080, density: 2 },
              library: { name: "clicktrail-sdk", version: "0.1.0" },
              campaign: { name: "spring", source: "news", medium: "email" },
              sessionId: "id-4",
            },
            event: "Order Completed",
            properties: { revenue: 42.5, currency: "EUR" },
          },
        ],
        sentAt: "2026-11-25T10:00:05.000Z",
        writeKey: "wk",
      }),
    );
  });
});

describe("batching", () => {
  test("a batch goes as soon as flushAt events wait", async () => {
    const c = w.client({ flushAt: 3 });
    await w.advance(0);
    c.track("a");
    c.track("b");
    await w.advance(0);
    assert.equal(w.net.calls.length, 0);
    c.track("c");
    await w.advance(0);
    assert.equal(w.net.calls.length, 1);
    assert.deepEqual(w.net.calls[0].body.batch.map((e: any) => e.event), ["a", "b", "c"]);
  });

  test("a batch goes flushInterval after its first event", async () => {
    const c = w.client({ flushInterval: 2000 });
    await w.advance(0);
    c.track("a");
    await w.advance(1900);
    assert.equal(w.net.calls.length, 0);
    await w.advance(100);
    assert.equal(w.net.calls.length, 1);
  });

  test("no body goes over maxBatchBytes, and every event goes once", async () => {
    const c = w.client({ maxBatchBytes: 4096, flushAt: 100 });
    await w.advance(0);
    for (let i = 0; i < 10; i++) c.track("big", { blob: "x".repeat(1200), i });
    await w.advance(5000);
    await w.advance(10);
    assert.ok(w.net.calls.length >= 4, `${w.net.calls.length} requests`);
    for (const call of w.net.calls) assert.ok(Buffer.byteLength(call.raw) < 4096, `${Buffer.byteLength(call.raw)} bytes`);
    assert.deepEqual(w.net.calls.flatMap((c) => c.body.batch.map((e: any) => e.properties.i)), [...Array(10).keys()]);
  });

  test("flush() sends now", async () => {
    const c = w.client();
    await w.advance(0);
    c.track("a");
    await c.flush();
    assert.equal(w.net.calls.length, 1);
  });

  test("an event over 32 KB is dropped with a warning", async () => {
    const warn = warnings();
    const c = w.client();
    await w.advance(0);
    c.track("huge", { blob: "x".repeat(33000) });
    c.track("fine");
    await w.advance(5000);
    warn.restore();
    assert.deepEqual(w.net.calls[0].body.batch.map((e: any) => e.event), ["fine"]);
    assert.match(warn.seen.join(), /over 32 KB/);
  });
});

describe("retries", () => {
  test("a 503 with Retry-After is retried no sooner, with the same messageIds and a new sentAt", async () => {
    w.net.script = [[503, { "Retry-After": "3" }]];
    const c = w.client();
    await w.advance(0);
    c.track("a");
    c.track("b");
    await w.advance(5000);
    assert.equal(w.net.calls.length, 1);
    await w.advance(2900);
    assert.equal(w.net.calls.length, 1, "not before Retry-After");
    await w.advance(100);
    assert.equal(w.net.calls.length, 2);
    const [first, second] = w.net.calls;
    assert.deepEqual(
      second.body.batch.map((e: any) => e.messageId),
      first.body.batch.map((e: any) => e.messageId),
    );
    assert.deepEqual(
      second.body.batch.map((e: any) => e.timestamp),
      first.body.batch.map((e: any) => e.timestamp),
    );
    assert.equal(second.body.sentAt, "2026-11-25T10:00:08.000Z");
    assert.equal(w.store.queued().length, 0, "delivered events leave the queue");
  });

  test("429, 5xx and network errors back off exponentially (jitter 0.5..1, here 0.5)", async () => {
    w.net.script = [429, 500, "network", 502, 200];
    const c = w.client();
    await w.advance(0);
    c.track("a");
    await w.advance(5000 + 500 + 1000 + 2000 + 4000 + 100);
    const gaps = w.net.calls.slice(1).map((call, i) => call.at - w.net.calls[i].at);
    assert.deepEqual(gaps, [500, 1000, 2000, 4000]);
    assert.equal(new Set(w.net.sentIds()).size, 1);
    assert.equal(w.store.queued().length, 0);
  });

  test("jitter keeps each backoff within half to all of its step", async () => {
    w.net.script = Array(8).fill(503);
    const c = w.client({}, { random: () => 0.999 });
    await w.advance(0);
    c.track("a");
    await w.advance(5000 + 70_000);
    const gaps = w.net.calls.slice(1).map((call, i) => call.at - w.net.calls[i].at);
    const steps = [1000, 2000, 4000, 8000, 16000, 30000];
    steps.forEach((s, i) => assert.ok(gaps[i] >= s / 2 && gaps[i] <= s + 100, `gap ${i}: ${gaps[i]}`));
  });

  for (const status of [400, 401, 403, 413]) {
    test(`a ${status} is not retried: the batch is dropped with a warning`, async () => {
      const warn = warnings();
      w.net.script = [status];
      const c = w.client();
      await w.advance(0);
      c.track("a");
      await w.advance(5000 + 60_000);
      warn.restore();
      assert.equal(w.net.calls.length, 1);
      assert.equal(w.store.queued().length, 0);
      assert.match(warn.seen.join(), new RegExp(`answered ${status}`));
    });
  }

  test("events queued during backoff wait for the retry and then go too", async () => {
    w.net.script = [[503, { "Retry-After": "10" }]];
    const c = w.client({ flushAt: 2 });
    await w.advance(0);
    c.track("a");
    c.track("b");
    await w.advance(0);
    c.track("c");
    c.track("d");
    await w.advance(5000);
    assert.equal(w.net.calls.length, 1);
    await w.advance(5000);
    const delivered = w.net.calls.slice(1).flatMap((c) => c.body.batch.map((e: any) => e.event));
    assert.deepEqual(delivered.sort(), ["a", "b", "c", "d"]);
  });
});

describe("persistence", () => {
  test("a batch queued before a reload is delivered exactly once by the next page", async () => {
    w.net.script = ["network"];
    const a = w.client();
    await w.advance(0);
    a.track("before reload 1");
    a.track("before reload 2");
    await w.advance(5000);
    assert.equal(w.net.calls.length, 1);
    assert.equal(w.store.queued().length, 2, "kept while the network is down");

    w.reload();
    w.client();
    await w.advance(60_000);
    const ok = w.net.calls.slice(1);
    assert.equal(ok.length, 1);
    assert.deepEqual(ok[0].body.batch.map((e: any) => e.event), ["before reload 1", "before reload 2"]);
    assert.equal(w.store.queued().length, 0);
  });

  test("a crashed page's queue is adopted by a page that starts two minutes later", async () => {
    w.net.script = ["hang"];
    const a = w.client();
    await w.advance(0);
    a.track("x");
    await w.advance(5000);
    w.crash();
    w.client();
    await w.advance(30_000, 1000);
    assert.equal(w.net.calls.length, 1, "a page silent for less than 2 minutes may still live");
    await w.advance(95_000, 5_000);
    w.crash();
    w.client();
    await w.advance(100);
    assert.equal(w.net.calls.length, 2);
    assert.equal(w.net.calls[1].body.batch[0].messageId, w.net.calls[0].body.batch[0].messageId);
    assert.equal(w.store.queued().length, 0);
  });

  test("a batch sent at pagehide is held for its lease by the next page, then sent again (at least once)", async () => {
    w.net.script = ["hang"]; // the answer never reaches the page that left
    const a = w.client({ flushInterval: 60_000 });
    await w.advance(0);
    a.track("x");
    w.reload();
    w.client();
    await w.advance(14_000, 1000);
    assert.equal(w.net.calls.length, 1, "held while the lease runs");
    await w.advance(2000);
    assert.equal(w.net.calls.length, 2);
    assert.equal(w.net.calls[1].body.batch[0].messageId, w.net.calls[0].body.batch[0].messageId);
  });

  test("two tabs on one storage never send the same event twice", async () => {
    w.net.script = ["hang"];
    const a = w.client({ flushAt: 1 });
    const b = w.client({ flushAt: 1 });
    await w.advance(0);
    a.track("from a");
    await w.advance(0);
    b.track("from b");
    await w.advance(0);
    await b.flush();
    await a.flush();
    await w.advance(10_000);
    const ids = w.net.sentIds();
    assert.equal(ids.length, new Set(ids).size, `sent: ${ids}`);
    assert.equal(ids.length, 2);
  });

  test("past maxQueue the oldest events are dropped and counted", async () => {
    const warn = warnings();
    w.net.script = Array(50).fill("network");
    const c = w.client({ maxQueue: 10 });
    await w.advance(0);
    for (let i = 0; i < 15; i++) c.track("e" + i);
    warn.restore();
    assert.equal(w.store.queued().length, 10);
    assert.equal(w.store.queued()[0].event, "e5");
    assert.equal(c.dropped(), 5);
    assert.match(warn.seen.join(), /dropped: 5/);
    assert.match(warn.seen.join(), /queue full/);
  });
});

describe("unload", () => {
  test("pagehide sends what waits at once, with keepalive", async () => {
    const c = w.client();
    await w.advance(0);
    c.track("last click");
    w.win.dispatch("pagehide");
    await w.advance(0);
    assert.equal(w.net.calls.length, 1);
    assert.equal(w.net.calls[0].keepalive, true);
  });

  test("visibilitychange to hidden sends too", async () => {
    const c = w.client();
    await w.advance(0);
    c.track("a");
    w.win.document.visibilityState = "hidden";
    w.win.document.dispatch("visibilitychange");
    await w.advance(0);
    assert.equal(w.net.calls.length, 1);
    assert.equal(w.store.queued().length, 0, "the page lived to see the 200");
  });

  test("while backing off, pagehide leaves the queue for the next page", async () => {
    w.net.script = [[503, { "Retry-After": "30" }]];
    const c = w.client();
    await w.advance(0);
    c.track("a");
    await w.advance(5000);
    w.win.dispatch("pagehide");
    await w.advance(0);
    assert.equal(w.net.calls.length, 1);
    assert.equal(w.store.queued().length, 1);
  });
});

describe("session", () => {
  test("the session id holds while events come within 30 minutes and rolls over after", async () => {
    const c = w.client();
    await w.advance(0);
    const sid = () => w.store.getItem("ct_session")!.split(" ")[0];
    c.track("a");
    const s1 = sid();
    await w.advance(29 * 60_000, 60_000);
    c.track("b");
    assert.equal(sid(), s1);
    await w.advance(31 * 60_000, 60_000);
    c.track("c");
    assert.notEqual(sid(), s1);
    await c.flush();
    const sessions = w.net.calls.flatMap((x) => x.body.batch.map((e: any) => e.context.sessionId));
    assert.deepEqual(sessions, [s1, s1, sid()]);
  });

  test("sessionTimeout is configurable", async () => {
    const c = w.client({ sessionTimeout: 60_000, flushAt: 1 });
    await w.advance(0);
    c.track("a");
    await w.advance(61_000);
    c.track("b");
    await w.advance(0);
    const [a, b] = w.net.calls.map((x) => x.body.batch[0].context.sessionId);
    assert.notEqual(a, b);
  });
});

describe("identity", () => {
  test("the anonymousId survives a reload; identify adds the userId; reset forgets both", async () => {
    const a = w.client({ flushAt: 1 });
    await w.advance(0);
    a.track("a");
    w.reload();
    const b = w.client({ flushAt: 1 });
    await w.advance(0);
    b.identify("u-1", { plan: "pro" });
    b.track("b");
    b.reset();
    b.track("c");
    await w.advance(100);
    const evs = w.net.calls.flatMap((x) => x.body.batch);
    assert.deepEqual(evs.map((e: any) => e.type), ["track", "identify", "track", "track"]);
    assert.equal(evs[1].anonymousId, evs[0].anonymousId);
    assert.equal(evs[1].userId, "u-1");
    assert.deepEqual(evs[1].traits, { plan: "pro" });
    assert.equal(evs[2].userId, "u-1");
    assert.equal(evs[3].userId, undefined);
    assert.notEqual(evs[3].anonymousId, evs[0].anonymousId);
    assert.notEqual(evs[3].context.sessionId, evs[2].context.sessionId);
  });

  test("group and alias carry their ids; alias defaults previousId to the current id", async () => {
    const c = w.client({ flushAt: 10 });
    await w.advance(0);
    c.group("g-1", { name: "Acme" });
    c.alias("u-9");
    c.identify("u-1");
    c.alias("u-2");
    c.alias("u-3", "old");
    await c.flush();
    const [g, a1, , a2, a3] = w.net.calls[0].body.batch;
    assert.equal(g.groupId, "g-1");
    assert.equal(a1.previousId, a1.anonymousId);
    assert.equal(a2.previousId, "u-1");
    assert.equal(a3.previousId, "old");
  });

  test("cookie storage keeps the anonymousId in a first-party cookie", async () => {
    const c = w.client({ storage: "cookie" });
    await w.advance(0);
    c.track("a");
    assert.match(w.win.document.cookie, /^ct_\w+=[^;]+;path=\/;max-age=31536000;samesite=lax;secure$/);
    assert.equal(w.store.getItem("ct_anon"), null);
  });

  test("blocked localStorage falls back to a cookie for the anonymousId", async () => {
    const win: any = w.win;
    Object.defineProperty(win, "localStorage", { get: () => { throw new Error("SecurityError"); } });
    const c = w.client({}, { store: undefined });
    await w.advance(0);
    c.track("a");
    await c.flush();
    assert.match(w.win.document.cookie, /ct_/);
    assert.equal(w.net.calls.length, 1, "the queue lives in memory");
  });

  test("storage none keeps nothing on the device", async () => {
    const c = w.client({ storage: "none" });
    await w.advance(0);
    c.identify("u-1");
    c.track("a");
    await c.flush();
    assert.deepEqual(Object.keys(w.store), []);
    assert.equal(w.win.document.cookie, "");
    assert.equal(w.net.calls[0].body.batch.length, 2);
  });
});

describe("consent", () => {
  test("optOut stops sending, forgets the queue, and is remembered; optIn resumes", async () => {
    const a = w.client();
    await w.advance(0);
    a.track("before");
    a.optOut();
    a.track("while out");
    await w.advance(10_000);
    assert.equal(w.net.calls.length, 0);
    assert.equal(w.store.queued().length, 0);
    w.reload();
    const b = w.client({ flushAt: 1 });
    await w.advance(0);
    b.track("after reload");
    await w.advance(10_000);
    assert.equal(w.net.calls.length, 0, "the opt-out is kept on the device");
    b.optIn();
    b.track("in again");
    await w.advance(0);
    assert.deepEqual(w.net.calls.map((c) => c.body.batch[0].event), ["in again"]);
  });

  for (const [name, nav] of [
    ["Do-Not-Track", { doNotTrack: "1" }],
    ["Global Privacy Control", { globalPrivacyControl: true }],
  ] as const) {
    test(`${name} silences the SDK when respectDnt is on, not otherwise`, async () => {
      Object.assign(w.win.navigator, nav);
      const on = w.client({ respectDnt: true, flushAt: 1 });
      await w.advance(0);
      on.track("a");
      await w.advance(6000);
      assert.equal(w.net.calls.length, 0);
      const off = w.client({ flushAt: 1 });
      await w.advance(0);
      off.track("b");
      await w.advance(0);
      assert.equal(w.net.calls.length, 1);
    });
  }
});

describe("beforeSend", () => {
  test("beforeSend can change an event or drop it with null", async () => {
    const c = w.client({
      beforeSend: (e: any) => (e.event == "secret" ? null : { ...e, properties: { ...e.properties, seen: true } }),
    });
    await w.advance(0);
    c.track("secret");
    c.track("public");
    await c.flush();
    assert.deepEqual(w.net.calls[0].body.batch.map((e: any) => [e.event, e.properties]), [["public", { seen: true }]]);
  });
});

describe("config", () => {
  test("out-of-range numbers are clamped with a warning", async () => {
    const warn = warnings();
    const c = w.client({ flushAt: 0, flushInterval: 1e9, maxBatchBytes: 1e6 });
    warn.restore();
    assert.equal(warn.seen.length, 3);
    assert.match(warn.seen[0], /flushAt=0 is outside 1\.\.100/);
    await w.advance(0);
    c.track("a");
    await w.advance(0);
    assert.equal(w.net.calls.length, 1, "flushAt clamped to 1");
  });

  test("calls before init do nothing, init without a writeKey warns", async () => {
    const warn = warnings();
    const { createClient } = await import("../src/client.ts");
    const c = createClient(w.env());
    c.track("early");
    c.init({} as any);
    warn.restore();
    assert.match(warn.seen.join(), /writeKey/);
    await c.flush();
    assert.equal(w.net.calls.length, 0);
  });
});

describe("autotrack", () => {
  test("page views on load and on each SPA navigation that changes path or query", async () => {
    const c = w.client({ pageviews: true, flushAt: 100 });
    w.win.history.pushState({}, "", "/cart");
    w.win.history.replaceState({}, "", "/cart"); // same URL: no page view
    w.win.history.replaceState({}, "", "/cart#top"); // hash only: none either
    w.win.go("/products/42?utm_source=news&utm_medium=email&utm_campaign=spring");
    w.win.dispatch("popstate");
    await c.flush();
    const pages = w.net.calls[0].body.batch.map((e: any) => [e.type, e.context.page.path]);
    assert.deepEqual(pages, [["page", "/products/42"], ["page", "/cart"], ["page", "/products/42"]]);
  });

  test("a click on a link to another host is tracked, one to this host is not", async () => {
    const c = w.client({ outbound: true });
    const click = (host: string, protocol = "https:") =>
      w.win.document.dispatch("click", { target: { closest: () => ({ host, protocol, href: `${protocol}//${host}/x` }) } });
    click("shop.example");
    click("partner.example");
    click("", "mailto:");
    await c.flush();
    assert.deepEqual(w.net.calls[0].body.batch.map((e: any) => [e.event, e.properties.url]), [["Outbound Link Clicked", "https://partner.example/x"]]);
  });

  test("campaign: false leaves context.campaign out", async () => {
    const c = w.client({ campaign: false });
    c.track("a");
    await c.flush();
    assert.equal(w.net.calls[0].body.batch[0].context.campaign, undefined);
  });
});
