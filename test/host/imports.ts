// Builds the import object of one VM: every function Envoy registers (envoy-imports.json),
// each wrapped once (not per call) to count host calls by name and to enforce cpp-host's
// restricted phases: while _start/_initialize runs, and while the host runs the guest's
// malloc, only a few host calls are allowed; any other traps with "restricted_callback"
// (proxy-wasm-cpp-host src/wasm.cc startVm and include/proxy-wasm/wasm.h allocMemory
// setRestrictedCallback; src/v8/v8.cc isHostFunctionAllowed).
import { readFileSync } from "node:fs";
import { envImports } from "./imports-env.ts";
import { wasiImports } from "./imports-wasi.ts";
import type { Vm } from "./vm.ts";

interface ImportList {
  env: string[];
  wasi_snapshot_preview1: string[];
}
const list = JSON.parse(readFileSync(new URL("./envoy-imports.json", import.meta.url), "utf8")) as ImportList;

const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;

/** "<module>.<name>" for every counter slot, in a fixed order. */
export const IMPORT_NAMES: readonly string[] = [
  ...list.env.map((n) => `env.${n}`),
  ...WASI_MODULES.flatMap((m) => list.wasi_snapshot_preview1.map((n) => `${m}.${n}`)),
];

/** cpp-host src/wasm.cc WasmBase::startVm (@c4d7bb0): host calls allowed during start. */
export const ALLOWED_DURING_START: ReadonlySet<string> = new Set([
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) =>
    [
      "fd_write",
      "args_sizes_get",
      "args_get",
      "environ_sizes_get",
      "environ_get",
      "fd_prestat_get",
      "fd_prestat_dir_name",
      "clock_time_get",
      "random_get",
      "fd_fdstat_get",
      "fd_fdstat_set_flags",
    ].map((n) => `${m}.${n}`),
  ),
]);

/**
 * cpp-host include/proxy-wasm/wasm.h WasmBase::allocMemory (@c4d7bb0, the host of Envoy ≤ 1.38):
 * host calls allowed while the guest's malloc runs. cpp-host 94091cd (Envoy 1.39) adds
 * poll_oneoff for the Go runtime; the older, stricter set is modelled.
 */
export const ALLOWED_DURING_MALLOC: ReadonlySet<string> = new Set([
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) => ["fd_write", "clock_time_get"].map((n) => `${m}.${n}`)),
]);

export class RestrictedCallError extends Error {}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- wraps host functions of every signature the ABI has
type AnyFn = (...args: any[]) => any;

function wrap(vm: Vm, idx: number, name: string, impl: AnyFn): AnyFn {
  const counts = vm.counts;
  const guard = () => {
    const r = vm.restricted;
    if (r !== null && !r.allowed.has(name)) {
      throw new RestrictedCallError(`restricted_callback: ${name} may not be called while ${r.phase}`);
    }
  };
  // Fixed arities avoid rest-argument allocation on the hot path.
  switch (impl.length) {
    case 0:
      return () => (counts[idx]++, guard(), impl());
    case 1:
      return (a: unknown) => (counts[idx]++, guard(), impl(a));
    case 2:
      return (a: unknown, b: unknown) => (counts[idx]++, guard(), impl(a, b));
    case 3:
      return (a: unknown, b: unknown, c: unknown) => (counts[idx]++, guard(), impl(a, b, c));
    case 4:
      return (a: unknown, b: unknown, c: unknown, d: unknown) => (counts[idx]++, guard(), impl(a, b, c, d));
    case 5:
      return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => (counts[idx]++, guard(), impl(a, b, c, d, e));
    case 6:
      return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) =>
        (counts[idx]++, guard(), impl(a, b, c, d, e, f));
    default:
      return (...args: unknown[]) => (counts[idx]++, guard(), impl(...args));
  }
}

export function buildImports(vm: Vm): WebAssembly.Imports {
  const env = envImports(vm);
  const wasi = wasiImports(vm);
  const out: Record<string, Record<string, AnyFn>> = { env: {}, wasi_snapshot_preview1: {}, wasi_unstable: {} };
  IMPORT_NAMES.forEach((full, idx) => {
    const dot = full.indexOf(".");
    const mod = full.slice(0, dot);
    const name = full.slice(dot + 1);
    const impl = mod === "env" ? env[name] : wasi[name];
    if (!impl) throw new Error(`host bug: no implementation for ${full}`);
    out[mod]![name] = wrap(vm, idx, full, impl);
  });
  return out as WebAssembly.Imports;
}
