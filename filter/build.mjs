// `npm run build`: compiles the filter into filter/build/meshlat.wasm, the artifact a
// WasmPlugin points at. Usage: node filter/build.mjs [--debug]
import { statSync } from "node:fs";
import { compileModule } from "./compile.mjs";

const debug = process.argv.includes("--debug");
const out = debug ? "filter/build/meshlat.debug.wasm" : "filter/build/meshlat.wasm";
await compileModule("filter/assembly/index.ts", out, { optimize: !debug });
console.log(`built ${out} (${statSync(out).size} bytes)`);
