// The README's layout table and the folders' own descriptions stay in step with the tree:
// every folder down to two levels is in the table and every row names a folder that exists;
// every folder that holds code says in its first file (a README.md, or an index.ts header
// comment) what it is for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { repoFiles as files, ROOT } from "./files.ts";

const CODE = /\.(ts|mjs|js)$/;

function folders(paths: string[]): Set<string> {
  const dirs = new Set<string>();
  for (const f of paths) for (let d = posix.dirname(f); d !== "."; d = posix.dirname(d)) dirs.add(d);
  return dirs;
}

function layoutTable(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /^## Layout\n([\s\S]*?)^## /m.exec(readme);
  assert.ok(section, "README.md has no '## Layout' section");
  const rows = section[1].split("\n").filter((l) => /^\| `/.test(l));
  return rows.map((l) => /^\| `([^`]+)`/.exec(l)![1].replace(/\/$/, ""));
}

test("the README's layout table lists exactly the folders down to two levels", () => {
  const table = layoutTable();
  const tree = [...folders(files())].filter((d) => d.split("/").length <= 2).sort();
  assert.deepEqual([...table].sort(), tree);
});

test("every folder that holds code says what it is for in its first file", () => {
  const all = files();
  const codeDirs = new Set(all.filter((f) => CODE.test(f)).map((f) => dirname(f)).filter((d) => d !== "."));
  const missing: string[] = [];
  for (const d of [...codeDirs].sort()) {
    const readme = join(ROOT, d, "README.md");
    const index = join(ROOT, d, "index.ts");
    if (existsSync(readme)) {
      // A heading, then at least one sentence.
      const text = readFileSync(readme, "utf8");
      if (!/^# .+\n\n\S.{20,}/.test(text)) missing.push(`${d}/README.md says nothing`);
    } else if (existsSync(index)) {
      if (!/^\/\/ \S.{20,}/.test(readFileSync(index, "utf8"))) missing.push(`${d}/index.ts has no header comment`);
    } else missing.push(`${d}: no README.md or index.ts`);
  }
  assert.deepEqual(missing, []);
});
