// Where the filter's bytes go: builds filter/assembly/index.ts exactly as `npm run build` does
// but keeps the name section (filter/build/meshlat.names.wasm, not shipped), then prints the
// size of each section of the shipped artifact, the largest function bodies by name and what the
// data section holds. Usage: node filter/size-report.mjs [--top N] [--no-build]
import { Buffer } from "node:buffer";
import { readFileSync, statSync } from "node:fs";
import { compileModule } from "./compile.mjs";

const SHIPPED = "filter/build/meshlat.wasm";
const NAMED = "filter/build/meshlat.names.wasm";
const SECTION = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount"];

const args = process.argv.slice(2);
const top = Number(args[args.indexOf("--top") + 1]) || 25;
if (!args.includes("--no-build")) {
  await compileModule("filter/assembly/index.ts", SHIPPED);
  await compileModule("filter/assembly/index.ts", NAMED, { names: true });
}

/** A cursor over a wasm binary (LEB128 reads). */
function reader(buf, at = 0) {
  const r = {
    p: at,
    u() { let v = 0, s = 0, b; do { b = buf[r.p++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return v; },
    bytes(n) { const b = buf.subarray(r.p, r.p + n); r.p += n; return b; },
    name() { return Buffer.from(r.bytes(r.u())).toString("utf8"); },
  };
  return r;
}

/** Sections of a module: [{ id, name, start, size }]. */
function sections(buf) {
  const r = reader(buf, 8);
  const out = [];
  while (r.p < buf.length) {
    const id = buf[r.p++];
    const size = r.u();
    const start = r.p;
    const name = id === 0 ? `custom:${reader(buf, start).name()}` : SECTION[id];
    out.push({ id, name, start, size });
    r.p = start + size;
  }
  return out;
}

function functionSizes(buf) {
  const secs = sections(buf);
  const imports = (() => {
    const s = secs.find((x) => x.id === 2);
    if (!s) return 0;
    const r = reader(buf, s.start);
    let n = 0;
    for (let i = r.u(); i > 0; i--) { r.name(); r.name(); const kind = buf[r.p++]; if (kind === 0) { r.u(); n++; } else throw new Error("non-function import"); }
    return n;
  })();
  const names = new Map();
  const ns = secs.find((x) => x.name === "custom:name");
  if (ns) {
    const r = reader(buf, ns.start);
    r.name();
    while (r.p < ns.start + ns.size) {
      const sub = buf[r.p++];
      const len = r.u();
      const end = r.p + len;
      if (sub === 1) for (let i = r.u(); i > 0; i--) { const idx = r.u(); names.set(idx, r.name()); }
      r.p = end;
    }
  }
  const code = secs.find((x) => x.id === 10);
  const r = reader(buf, code.start);
  const out = [];
  const n = r.u();
  for (let i = 0; i < n; i++) {
    const size = r.u();
    out.push({ name: names.get(imports + i) ?? `#${imports + i}`, size });
    r.p += size;
  }
  return out;
}

function dataSummary(buf) {
  const s = sections(buf).find((x) => x.id === 11);
  if (!s) return null;
  const r = reader(buf, s.start);
  const n = r.u();
  let payload = 0;
  let utf16 = 0;
  for (let i = 0; i < n; i++) {
    const flags = r.u();
    if (flags !== 0) throw new Error(`data segment flags ${flags}`);
    if (buf[r.p++] !== 0x41) throw new Error("data offset is not i32.const");
    r.u();
    if (buf[r.p++] !== 0x0b) throw new Error("data offset expression too long");
    const d = r.bytes(r.u());
    payload += d.length;
    // An AssemblyScript string: rtId 2 (String), rtSize, then UTF-16 code units.
    if (d.length >= 8 && d[0] === 2 && d[1] === 0 && d[2] === 0 && d[3] === 0) utf16 += d.length - 8;
  }
  return { segments: n, bytes: s.size, payload, utf16 };
}

const shipped = readFileSync(SHIPPED);
console.log(`${SHIPPED}: ${statSync(SHIPPED).size} B (limit 65536, headroom ${65536 - shipped.length} B)`);
for (const s of sections(shipped)) console.log(`  ${s.name.padEnd(12)} ${String(s.size).padStart(6)} B`);
const d = dataSummary(shipped);
if (d) console.log(`  data: ${d.segments} segments, ${d.payload} B payload, ${d.utf16} B of it UTF-16 string text`);

const named = readFileSync(NAMED);
const fns = functionSizes(named).sort((a, b) => b.size - a.size);
const total = fns.reduce((a, f) => a + f.size, 0);
console.log(`\nfunction bodies (${NAMED}, same pipeline with names): ${fns.length} functions, ${total} B; largest ${top}:`);
for (const f of fns.slice(0, top)) console.log(`  ${String(f.size).padStart(6)}  ${f.name}`);
