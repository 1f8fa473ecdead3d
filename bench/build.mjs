// Compiles the benchmark's modules into bench/build/ (gitignored), with the filter's own
// compile options (filter/compile.mjs), skipping any whose inputs did not change:
//   noop-sdk.wasm        (b) no-op filter on the SDK
//   noop-raw.wasm        (c) raw-ABI no-op, the floor
//   *.probe.wasm         allocation-probe builds (bench/fixtures/count-allocs.mjs) of meshlat
//                        and of the SDK no-op; never timed, only counted
// and filter/build/meshlat.wasm (the shipped artifact, `npm run build`) when it is missing or
// stale. With --reference, only the reference filter (REFERENCE_COMMIT's filter/assembly, taken
// from git, compiled with today's options): bench/filter.ts times it in the same rounds as
// today's filter, so their ratio does not depend on the machine (issue 13: the filter's own work
// per request not worse than before its exponential histograms by more than 10%).
// Usage: node bench/build.mjs [--no-filter | --reference]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { compileModule } from "../filter/compile.mjs";

/** The last filter before wire v2 (181c44b): fixed-bound histograms, exemplar capture included. */
export const REFERENCE_COMMIT = "0ae3dd6";
export const REFERENCE_WASM = `bench/build/meshlat-${REFERENCE_COMMIT}.wasm`;

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

if (process.argv.includes("--reference")) {
  jobs.length = 0;
  const src = `bench/build/ref-${REFERENCE_COMMIT}`;
  if (!existsSync(join(src, "filter/assembly/index.ts"))) {
    rmSync(src, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    // Throws without git or the commit (e.g. a shallow clone): bench/filter.ts then skips the ratio.
    const tar = execFileSync("git", ["archive", "--format=tar", REFERENCE_COMMIT, "filter/assembly"], { maxBuffer: 1 << 26 });
    execFileSync("tar", ["-x", "-C", src], { input: tar });
  }
  jobs.push({ entry: join(src, "filter/assembly/index.ts"), out: REFERENCE_WASM, deps: [src] });
}

for (const j of jobs) {
  if (existsSync(j.out) && statSync(j.out).mtimeMs >= newest([...j.deps, ...SHARED])) continue;
  const t0 = Date.now();
  await compileModule(j.entry, j.out, { extraArgs: j.extraArgs });
  console.log(`bench: built ${j.out} (${statSync(j.out).size} bytes, ${Date.now() - t0} ms)`);
}
if (!filterSrc && !process.argv.includes("--reference")) console.log("bench: filter/assembly/index.ts not found; meshlat measurements will be skipped");
