// Compiles the benchmark's modules into bench/build/ (gitignored), with the filter's own
// compile options (filter/compile.mjs), skipping any whose inputs did not change:
//   noop-sdk.wasm        (b) no-op filter on the SDK
//   noop-raw.wasm        (c) raw-ABI no-op, the floor
//   *.probe.wasm         allocation-probe builds (bench/fixtures/count-allocs.mjs) of meshlat
//                        and of the SDK no-op; never timed, only counted
// and filter/build/meshlat.wasm (the shipped artifact, `npm run build`) when it is missing or
// stale. Usage: node bench/build.mjs [--no-filter]
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { compileModule } from "../filter/compile.mjs";

const PROBE = ["--transform", "./bench/fixtures/count-allocs.mjs"];
const SHARED = ["filter/compile.mjs", "node_modules/@gcoredev/proxy-wasm-sdk-as/package.json", "node_modules/assemblyscript/package.json"];

function newest(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    if (s.isDirectory()) t = Math.max(t, newest(readdirSync(p).map((n) => join(p, n))));
    else t = Math.max(t, s.mtimeMs);
  }
  return t;
}

const filterSrc = existsSync("filter/assembly/index.ts") ? ["filter/assembly"] : null;
const jobs = [
  { entry: "bench/fixtures/noop-sdk.ts", out: "bench/build/noop-sdk.wasm", deps: ["bench/fixtures/noop-sdk.ts"] },
  { entry: "bench/fixtures/noop-raw.ts", out: "bench/build/noop-raw.wasm", deps: ["bench/fixtures/noop-raw.ts"] },
  { entry: "bench/fixtures/noop-sdk.ts", out: "bench/build/noop-sdk.probe.wasm", deps: ["bench/fixtures/noop-sdk.ts", "bench/fixtures/count-allocs.mjs"], extraArgs: PROBE },
];
if (filterSrc) {
  jobs.push({ entry: "filter/assembly/index.ts", out: "bench/build/meshlat.probe.wasm", deps: [...filterSrc, "bench/fixtures/count-allocs.mjs"], extraArgs: PROBE });
  if (!process.argv.includes("--no-filter")) jobs.push({ entry: "filter/assembly/index.ts", out: "filter/build/meshlat.wasm", deps: filterSrc });
}

for (const j of jobs) {
  if (existsSync(j.out) && statSync(j.out).mtimeMs >= newest([...j.deps, ...SHARED])) continue;
  const t0 = Date.now();
  await compileModule(j.entry, j.out, { extraArgs: j.extraArgs });
  console.log(`bench: built ${j.out} (${statSync(j.out).size} bytes, ${Date.now() - t0} ms)`);
}
if (!filterSrc) console.log("bench: filter/assembly/index.ts not found; meshlat measurements will be skipped");
