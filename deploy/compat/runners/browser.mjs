// Drives the browser clients in Debian's Chromium, as sdk-js's browser test does:
// node browser.mjs CONFIG.json. For each client it opens the client's page (coming from
// a referrer), sets the anonymousId, makes every call of the scenario through the page's
// __call, leaves the page when the client delivers on leaving (a beacon), then waits
// until the test's site says the collector accepted every event of the client. It
// prints one JSON line per client and exits 1 when any failed.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const browser = await chromium.launch({ executablePath: cfg.chromium, args: ["--no-sandbox"] });
// A visitor's Chrome says Chrome, not HeadlessChrome (which the collector rightly counts
// as a bot): the same browser's user agent, as a headed Chromium sends it.
const probe = await browser.newPage();
const userAgent = (await probe.evaluate(() => navigator.userAgent)).replace("HeadlessChrome", "Chrome");
await probe.close();
let failed = false;
try {
  for (const c of cfg.clients) {
    const context = await browser.newContext({ userAgent });
    const page = await context.newPage();
    const logs = [];
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    page.on("requestfailed", (r) => logs.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    const result = { client: c.name, ok: false };
    try {
      await page.goto(c.url, { referer: cfg.referrer, waitUntil: "load" });
      await page.waitForFunction(() => typeof window.__call === "function", null, { timeout: 30000 });
      await page.evaluate((id) => window.__setAnonymousId(id), c.anonymousId);
      for (const call of c.calls) {
        // A library's call may wait for its delivery, which the polling below judges:
        // go on after a while whatever it does.
        await Promise.race([page.evaluate((call) => window.__call(call), call), sleep(cfg.callTimeoutMs)]);
      }
      if (c.leaveToFlush) await page.goto("about:blank");
      const deadline = Date.now() + cfg.deliveryTimeoutMs;
      for (;;) {
        const r = await fetch(`${cfg.site}/__delivered?client=${encodeURIComponent(c.name)}&n=${c.calls.length}`);
        if (r.status === 200) break;
        if (Date.now() > deadline) throw new Error(`not every event was accepted within ${cfg.deliveryTimeoutMs} ms: ${await r.text()}`);
        await sleep(200);
      }
      result.ok = true;
    } catch (e) {
      failed = true;
      result.error = String(e && e.stack ? e.stack : e);
      result.logs = logs.slice(-40);
    }
    console.log(JSON.stringify(result));
    await context.close();
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
