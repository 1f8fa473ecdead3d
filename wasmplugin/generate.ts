// Writes wasmplugin/deploy/ from wasmplugin/src/ (the single source).
//   node --import tsx wasmplugin/generate.ts          write the files
//   node --import tsx wasmplugin/generate.ts --check  exit 1 if any file differs (CI drift check)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedFiles } from "./src/files.ts";
import { defaults } from "./src/settings.ts";

export const DEPLOY_DIR = join(dirname(fileURLToPath(import.meta.url)), "deploy");

function main(argv: string[]): number {
  const check = argv.includes("--check");
  const stale: string[] = [];
  for (const [rel, content] of generatedFiles(defaults)) {
    const path = join(DEPLOY_DIR, rel);
    let current: string | undefined;
    try { current = readFileSync(path, "utf8"); } catch { current = undefined; }
    if (current === content) continue;
    stale.push(rel);
    if (!check) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }
  if (check && stale.length > 0) {
    console.error(`wasmplugin/deploy is stale, run: node --import tsx wasmplugin/generate.ts\n  ${stale.join("\n  ")}`);
    return 1;
  }
  if (!check) console.log(stale.length ? `wrote ${stale.length} file(s)` : "up to date");
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
