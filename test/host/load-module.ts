// Compiling a module and refusing what Envoy would refuse, before any VM exists:
// - an import Envoy does not register: "Failed to load Wasm module due to a missing import"
//   (proxy-wasm/proxy-wasm-cpp-host src/v8/v8.cc link); the list is envoy-imports.json;
// - no ABI version export: "Missing or unknown Proxy-Wasm ABI version" (cpp-host
//   src/bytecode_util.cc getAbiVersion). Only 0.2.1 is modelled here; 0.1.0/0.2.0 modules are
//   refused with the same code.
// - no malloc / proxy_on_memory_allocate: "Wasm module is missing malloc function"
//   (cpp-host src/wasm.cc getFunctions);
// - (loadModule only) an import or proxy-wasm export whose type differs from Envoy's
//   (cpp-host src/v8/v8.cc link / getModuleFunctionImpl), see wasm-signatures.ts.
import { readFileSync } from "node:fs";
import { HostError } from "./errors.ts";
import { checkSignatures } from "./wasm-signatures.ts";

interface ImportList {
  env: string[];
  wasi_snapshot_preview1: string[];
}

const list = JSON.parse(readFileSync(new URL("./envoy-imports.json", import.meta.url), "utf8")) as ImportList;

/** "<module>.<name>" of every function Envoy provides to an ABI 0.2.1 module (WASI under both module names). */
export const ENVOY_IMPORTS: ReadonlySet<string> = new Set([
  ...list.env.map((n) => `env.${n}`),
  ...list.wasi_snapshot_preview1.map((n) => `wasi_snapshot_preview1.${n}`),
  ...list.wasi_snapshot_preview1.map((n) => `wasi_unstable.${n}`),
]);

/** Throws HostError naming the first import Envoy does not provide, or a missing required export. */
export function checkModule(module: WebAssembly.Module): void {
  for (const imp of WebAssembly.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.kind !== "function" || !ENVOY_IMPORTS.has(name)) {
      throw new HostError(
        "HOST_ERR_MISSING_IMPORT",
        `Failed to load Wasm module due to a missing import: ${name} (${imp.kind}); Envoy does not provide it`,
      );
    }
  }
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (!exports.has("proxy_abi_version_0_2_1")) {
    throw new HostError("HOST_ERR_NO_ABI_VERSION", "Missing or unknown Proxy-Wasm ABI version (expected export proxy_abi_version_0_2_1)");
  }
  if (!exports.has("malloc") && !exports.has("proxy_on_memory_allocate")) {
    throw new HostError("HOST_ERR_NO_MALLOC", "Wasm module is missing malloc function");
  }
  if (!exports.has("memory")) {
    throw new HostError("HOST_ERR_NO_MEMORY", "Wasm module exports no linear memory named 'memory'");
  }
}

/**
 * Compiles and checks a module (bytes of a .wasm file): checkModule, then the types of its
 * imports and proxy-wasm exports against Envoy's (wasm-signatures.ts; needs the bytes, so only here).
 */
export async function loadModule(bytes: Uint8Array): Promise<WebAssembly.Module> {
  const module = await WebAssembly.compile(bytes);
  checkModule(module);
  checkSignatures(bytes);
  return module;
}
