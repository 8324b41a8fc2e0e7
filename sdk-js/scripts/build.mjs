// npm run build: dist/index.js (ES module), dist/clicktrail.min.js (script tag, global
// `clicktrail`), source maps for both, and .d.ts types from tsc.
//
// The script-tag build is bundled by esbuild and minified by terser, whose extra passes
// win about 70 bytes gzipped over esbuild's minifier: a tenth of the budget's headroom.
import { build } from "esbuild";
import { minify } from "terser";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");

/** The script-tag build, minified, with its source map; test/size.test.ts measures the same. */
export async function buildIife() {
  const out = await build({
    entryPoints: [join(root, "src/iife.ts")],
    bundle: true,
    format: "iife",
    target: "es2020",
    sourcemap: "external",
    // The bundle is one function: "use strict" (from tsconfig's strict) would only add bytes.
    tsconfigRaw: { compilerOptions: { alwaysStrict: false } },
    outfile: join(dist, "clicktrail.js"),
    write: false,
  });
  const js = out.outputFiles.find((f) => f.path.endsWith(".js")).text;
  const map = out.outputFiles.find((f) => f.path.endsWith(".map")).text;
  const min = await minify(js, {
    ecma: 2020,
    toplevel: true,
    compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
    mangle: true,
    sourceMap: { content: map, url: "clicktrail.min.js.map", filename: "clicktrail.min.js" },
  });
  return { code: min.code, map: min.map };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist);
  const { code, map } = await buildIife();
  writeFileSync(join(dist, "clicktrail.min.js"), code + "\n");
  writeFileSync(join(dist, "clicktrail.min.js.map"), map);
  await build({
    entryPoints: [join(root, "src/index.ts")],
    bundle: true,
    format: "esm",
    target: "es2020",
    sourcemap: true,
    outfile: join(dist, "index.js"),
  });
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
}
