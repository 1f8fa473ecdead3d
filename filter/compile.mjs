// Compiles an AssemblyScript proxy-wasm module with the options every module of this project
// shares (filter and test fixtures alike), so what the tests load is built like what ships.
import asc from "assemblyscript/asc";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * @param {string} entry  AssemblyScript entry file
 * @param {string} outFile .wasm output path
 * @param {{ optimize?: boolean, extraArgs?: string[] }} [opts]
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
    // No --exportRuntime: Envoy calls only proxy_* exports, malloc/proxy_on_memory_allocate and
    // _start/_initialize (cpp-host src/wasm.cc), and nothing here calls __new/__pin/__collect.
    ...(optimize ? ["-O3z", "--converge", "--noAssert"] : ["--debug"]),
    ...(opts.extraArgs ?? []),
  ];
  const { error, stderr } = await asc.main(args);
  if (error) {
    throw new Error(`asc failed for ${entry}: ${error.message}\n${stderr.toString()}`);
  }
}
