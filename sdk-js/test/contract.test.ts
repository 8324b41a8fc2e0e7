// The SDK against the shared data contract in ../schemas: the JSON Schema files
// (draft 2020-12), the test vectors and the clock-skew vectors the Go code uses too.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import Ajv2020Module from "ajv/dist/2020.js";
import { uuid } from "../src/env.ts";
import { World } from "./fakes.ts";

const schemas = join(dirname(fileURLToPath(import.meta.url)), "../../schemas");
const schemaDir = join(schemas, "jsonschema");
const vectorsFile = join(schemas, "testdata/vectors.json");
const skewFile = join(schemas, "testdata/clock_skew.json");
const missing = (f: string) => (existsSync(f) ? false : `${f} is not there yet`);

const Ajv2020 = (Ajv2020Module as any).default || Ajv2020Module;
const load = () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const byName: Record<string, any> = {};
  for (const f of readdirSync(schemaDir).filter((f) => f.endsWith(".json"))) {
    const s = JSON.parse(readFileSync(join(schemaDir, f), "utf8"));
    ajv.addSchema(s);
    byName[f.replace(".json", "")] = s.$id;
  }
  return { ajv, id: (n: string) => byName[n] };
};

const check = (ajv: any, schemaId: string, e: unknown) => {
  const v = ajv.getSchema(schemaId)!;
  return v(e) ? null : ajv.errorsText(v.errors);
};

describe("schemas/jsonschema", { skip: missing(join(schemaDir, "envelope.json")) }, () => {
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.close());

  test("every event the SDK builds validates against the envelope and its type's schema", async () => {
    const { ajv, id } = load();
    const c = w.client({ flushAt: 100, pageviews: true, outbound: true }, { id: uuid });
    await w.advance(0);
    c.track("Order Completed", { revenue: 42.5 });
    c.page();
    c.page("Product", { sku: "42" });
    w.win.history.pushState({}, "", "/cart");
    c.identify("u-1", { plan: "pro" });
    c.identify(null);
    c.group("g-1", { name: "Acme" });
    c.alias("u-2");
    c.alias("u-3", "u-1");
    w.win.document.dispatch("click", { target: { closest: () => ({ host: "other.example", protocol: "https:", href: "https://other.example/x" }) } });
    c.reset();
    c.track("after reset");
    await c.flush();
    const events = w.net.calls.flatMap((x) => x.body.batch);
    assert.deepEqual(
      [...new Set(events.map((e: any) => e.type))].sort(),
      ["alias", "group", "identify", "page", "track"],
    );
    for (const e of events) {
      assert.equal(check(ajv, id("envelope"), e), null, `${e.type}: ${JSON.stringify(e)}`);
      assert.equal(check(ajv, id(e.type), e), null, `${e.type} schema`);
      assert.match(e.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    assert.equal(check(ajv, id("envelope"), { ...w.net.calls[0].body.batch[0], sentAt: w.net.calls[0].body.sentAt }), null);
  });
});

describe("schemas/testdata/vectors.json", { skip: missing(vectorsFile) || missing(join(schemaDir, "envelope.json")) }, () => {
  const vectors = existsSync(vectorsFile) ? JSON.parse(readFileSync(vectorsFile, "utf8")) : { valid: [], invalid: [] };
  test("the schema accepts every valid vector", () => {
    const { ajv, id } = load();
    assert.ok(vectors.valid.length > 0);
    for (const v of vectors.valid) assert.equal(check(ajv, id("envelope"), v.event), null, v.name);
  });
  test("the schema rejects every invalid vector, naming its field", () => {
    const { ajv, id } = load();
    assert.ok(vectors.invalid.length > 0);
    for (const v of vectors.invalid) {
      const err = check(ajv, id("envelope"), v.event);
      assert.notEqual(err, null, `${v.name} should be rejected`);
      if (v.field) assert.match(err!, new RegExp(v.field.split(".").pop()!), `${v.name}: ${err}`);
    }
  });
});

describe("schemas/testdata/clock_skew.json", { skip: missing(skewFile) }, () => {
  // The collector's correction, as DESIGN.md states it: receivedAt − (sentAt − original),
  // never in the future; without sentAt the original, bounded by receivedAt.
  const correct = (original: number | null, sentAt: number | null, received: number) => {
    if (original == null) return received;
    const t = sentAt == null ? original : received - (sentAt - original);
    return Math.min(t, received);
  };
  const ms = (s: string | null) => (s == null ? null : Date.parse(s));
  const vectors = existsSync(skewFile) ? JSON.parse(readFileSync(skewFile, "utf8")) : [];

  test("the vectors agree with the correction the SDK relies on", () => {
    for (const v of vectors)
      assert.equal(correct(ms(v.originalTimestamp), ms(v.sentAt), ms(v.receivedAt)!), ms(v.want), v.name);
  });

  test("an event sent late after retries, from a clock an hour fast, lands at its real time", async () => {
    const w = new World();
    try {
      const skew = 3600_000;
      w.clock.t += skew; // the device's clock
      w.net.script = [[503, { "Retry-After": "120" }]];
      const c = w.client();
      await w.advance(0);
      c.track("late");
      const realTime = w.clock.t - skew;
      await w.advance(5000 + 120_000, 1000);
      const last = w.net.calls[w.net.calls.length - 1];
      assert.equal(w.net.calls.length, 2);
      const received = last.at - skew + 150; // the real time at the collector, 150 ms later
      const e = last.body.batch[0];
      assert.equal(correct(ms(e.timestamp), ms(last.body.sentAt), received), realTime + 150);
    } finally {
      w.close();
    }
  });
});
