// `npm run demo -- --duration <s>` runs non-interactively: it must print where to look and a
// table with a verdict, then stop everything it started and exit 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { killOnExit } from "../support/child-process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("the demo prints the URLs and a live table with verdicts, then exits cleanly", { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "test/demo/demo.ts", "--duration", "9", "--port", "0", "--refresh", "3", "--rps", "80"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  let out = "";
  child.stdout.on("data", (d) => (out += String(d)));
  child.stderr.on("data", (d) => (out += String(d)));
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  assert.equal(code, 0, out);
  assert.match(out, /metrics\s+http:\/\/127\.0\.0\.1:\d+\/metrics/);
  assert.match(out, /latency\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1\/latency\?/);
  assert.match(out, /graph\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1\/graph\?/);
  assert.match(out, /service\s+tier\s+reporter\s+reqs\s+p99 total\s+proxy\s+network\s+app\s+mean split p\/n\/a %\s+verdict/);
  // The last table has rows for the three services with a real verdict for at least one.
  const last = out.slice(out.lastIndexOf("--- t="));
  for (const s of ["frontend", "checkout", "payment"]) assert.match(last, new RegExp(`^${s}\\s`, "m"), out);
  assert.match(last, /failed 0 {2}filters ok/, out);
  assert.match(last, /\s(application|network|proxy)$/m, out);
});
