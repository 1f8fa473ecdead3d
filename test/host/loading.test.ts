// What Envoy refuses before any traffic: imports it does not provide, missing exports, host
// calls during module start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { HostError } from "./errors.ts";
import { ENVOY_IMPORTS, loadModule } from "./load-module.ts";
import { startPlugin } from "./plugin.ts";
import { fixture, NODE } from "./test-support.ts";

const bytes = (name: string) => readFileSync(new URL(`../fixtures/build/${name}.wasm`, import.meta.url));

test("loadModule refuses what Envoy refuses, naming the reason", async () => {
  const cases: [fixture: string, code: string, message: RegExp][] = [
    ["forbidden", "HOST_ERR_MISSING_IMPORT", /missing import: env\.proxy_get_configuration/],
    ["no-malloc", "HOST_ERR_NO_MALLOC", /missing malloc function/],
    // cpp-host src/v8/v8.cc: imports are linked by name AND type; proxy-wasm exports are looked up
    // with the type Envoy calls them with.
    [
      "bad-import-type",
      "HOST_ERR_SIGNATURE_MISMATCH",
      /import type mismatch: env\.proxy_log, want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32$/,
    ],
    ["bad-export-type", "HOST_ERR_SIGNATURE_MISMATCH", /Bad function signature for: proxy_on_tick, want: i32 -> void, but the module exports: i32 -> i32$/],
  ];
  for (const [name, code, message] of cases) {
    await assert.rejects(loadModule(bytes(name)), (e: HostError) => {
      assert.equal(e.code, code, name);
      assert.match(e.message, message, name);
      return true;
    });
  }
});

test("the import list is Envoy's: 42 env functions, 18 WASI under both module names, no AssemblyScript specials", () => {
  assert.equal(ENVOY_IMPORTS.size, 42 + 18 * 2);
  for (const name of ["env.proxy_log", "env.proxy_http_call", "wasi_snapshot_preview1.clock_time_get", "wasi_unstable.fd_write"]) {
    assert.ok(ENVOY_IMPORTS.has(name), name);
  }
  for (const name of ["env.abort", "env.trace", "env.seed", "env.proxy_get_configuration", "env.proxy_clear_route_cache", "wasi_snapshot_preview1.clock_res_get"]) {
    assert.ok(!ENVOY_IMPORTS.has(name), name);
  }
});

test("the fixtures built like the filter import only what Envoy provides, with Envoy's types", async () => {
  for (const name of ["hello", "lifecycle", "probe", "httpcall", "queue"]) {
    const m = await fixture(name);
    for (const i of WebAssembly.Module.imports(m)) assert.ok(ENVOY_IMPORTS.has(`${i.module}.${i.name}`), `${name}: ${i.module}.${i.name}`);
  }
});

test("a host call other than proxy_log / WASI basics during _start fails the plugin (restricted_callback)", async () => {
  const module = new WebAssembly.Module(bytes("start-restricted"));
  await assert.rejects(startPlugin({ module, configuration: "", node: NODE }), (e: HostError) => {
    assert.equal(e.code, "HOST_ERR_START_FAILED");
    assert.match(e.message, /restricted_callback: env\.proxy_get_property/);
    return true;
  });
});

test("startPlugin validates its options", async () => {
  const module = await fixture("hello");
  const cases: [string, Record<string, unknown>][] = [
    ["no node id", { module, configuration: "", node: {} }],
    ["bad workers", { module, configuration: "", node: NODE, workers: 0 }],
    ["bad log level", { module, configuration: "", node: NODE, logLevel: "verbose" }],
    ["not a module", { module: new Uint8Array(4), configuration: "", node: NODE }],
  ];
  for (const [name, opts] of cases) {
    await assert.rejects(startPlugin(opts as never), (e: HostError) => e.code === "HOST_ERR_BAD_OPTIONS", name);
  }
});
