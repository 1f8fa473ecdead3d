// Compiles an AssemblyScript proxy-wasm module with the options every module of this project
// shares (filter and test fixtures alike), so what the tests load is built like what ships.
import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * @param {string} entry  AssemblyScript entry file
 * @param {string} outFile .wasm output path
 * @param {{ optimize?: boolean, extraArgs?: string[], names?: boolean }} [opts]
 *   names: keep the name section through the size pass (filter/size-report.mjs; not shipped)
 */
export async function compileModule(entry, outFile, opts = {}) {
  const optimize = opts.optimize ?? true;
  mkdirSync(dirname(outFile), { recursive: true });
  const args = [
    entry,
    "--outFile", outFile,
    // wasi-shim maps AssemblyScript's special imports (abort, trace, seed, Date) onto WASI,
    // which Envoy provides; env.abort/env.trace/env.seed are not Envoy host functions.
    "--config", "node_modules/@assemblyscript/wasi-shim/asconfig.json",
    // DESIGN.md: compile with abort routed to the SDK's proc_exit-based abort.
    "--use", "abort=abort_proc_exit",
    "--runtime", "incremental",
    // staticText("...") -> static UTF-8 bytes (static-text.mjs)
    "--transform", fileURLToPath(new URL("./static-text.mjs", import.meta.url)),
    // No --exportRuntime: Envoy calls only proxy_* exports, malloc/proxy_on_memory_allocate and
    // _start/_initialize (cpp-host src/wasm.cc), and nothing here calls __new/__pin/__collect.
    ...(optimize ? ["-O3z", "--noAssert"] : ["--debug"]),
    ...(optimize && !opts.names ? ["--converge"] : []),
    // Names for a size report: --converge with --debug takes minutes, and the report only ranks.
    ...(optimize && opts.names ? ["--debug"] : []),
    ...(opts.extraArgs ?? []),
  ];
  const { error, stderr } = await asc.main(args);
  if (error) {
    throw new Error(`asc failed for ${entry}: ${error.message}\n${stderr.toString()}`);
  }
  if (optimize) shrink(outFile, opts.names ?? false);
}

// The features asc 0.28 emits by default; the post-pass must not introduce any other.
const FEATURES = binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt
  | binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt;

/**
 * Binaryen's own -Oz pipeline (optimize 2, shrink 2) run to a fixed point after asc's -O3z:
 * semantics-preserving passes only (no traps-never-happen), and it finds what asc's pipeline
 * leaves (-600 B on the filter). Validation fails loudly if the module needs other features.
 * @param {string} file
 * @param {boolean} names keep function names (for size reports only)
 */
function shrink(file, names) {
  const mod = binaryen.readBinary(readFileSync(file));
  try {
    mod.setFeatures(FEATURES);
    if (!mod.validate()) throw new Error(`${file}: invalid before the size pass`);
    // wasm-opt -Oz's settings: asc leaves its own (larger inlining limits) in the shared binaryen.
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(2);
    binaryen.setDebugInfo(names);
    binaryen.setTrapsNeverHappen(false);
    binaryen.setFastMath(false);
    binaryen.setLowMemoryUnused(false);
    binaryen.setZeroFilledMemory(false);
    binaryen.setClosedWorld(false);
    binaryen.setAlwaysInlineMaxSize(2);
    binaryen.setFlexibleInlineMaxSize(20);
    binaryen.setOneCallerInlineMaxSize(-1);
    binaryen.setAllowInliningFunctionsWithLoops(false);
    binaryen.clearPassArguments();
    let bytes = mod.emitBinary();
    for (;;) {
      mod.optimize();
      const next = mod.emitBinary();
      if (next.length >= bytes.length) break;
      bytes = next;
    }
    writeFileSync(file, bytes);
  } finally {
    mod.dispose();
  }
}
