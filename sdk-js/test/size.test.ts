// The script-tag build must stay at or under 3 KB minified and gzipped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
// @ts-ignore: a plain ES module script, no types
import { buildIife } from "../scripts/build.mjs";

const BUDGET = 3072;

test("the IIFE build is at most 3072 bytes min+gzip", async (t) => {
  const { code } = await buildIife();
  // As dist/clicktrail.min.js is served: with its sourceMappingURL comment and newline.
  const file = Buffer.from(code + "\n");
  const gz = gzipSync(file, { level: 9 }).length;
  t.diagnostic(`clicktrail.min.js: ${file.length} bytes minified, ${gz} bytes min+gzip (budget ${BUDGET})`);
  console.log(`size: ${gz} bytes min+gzip (${file.length} minified), budget ${BUDGET}`);
  assert.ok(gz <= BUDGET, `${gz} bytes min+gzip, over the ${BUDGET}-byte budget`);
});
