// Runs every *.test.ts under test/, aggregator/, wasmplugin/ and bench/ with Node's built-in
// test runner (TypeScript through tsx). Node 20's --test does not expand globs, so the files
// are listed here. Fixture modules are compiled first (test/fixtures/build.mjs).
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const roots = ["test", "aggregator", "wasmplugin", "bench"];
const only = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "build") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.ts")) files.push(p);
  }
}
for (const r of roots) if (existsSync(r)) walk(r);
files.sort();
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  console.error("no test files found");
  process.exit(1);
}

if (existsSync("test/fixtures/build.mjs")) {
  const b = spawnSync(process.execPath, ["test/fixtures/build.mjs"], { stdio: "inherit" });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", ...selected],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
