// Same-run comparison of filter builds: every .wasm drives the same prepared requests through the
// project's host, interleaved round by round (lib/interleave.ts), each paired with the first, so
// the machine's speed (and the host's, which differs from one process to the next) cancels out.
// Not part of `npm run bench`: for a change of the hot path against an earlier build, e.g. one
// compiled from an older commit (bench/build.mjs --reference shows how).
//   node --import tsx bench/compare-filters.ts a.wasm b.wasm [...] [--mix typical] [--rounds 41] [--iterations 4000] [--repeat 1]
import { parseArgs } from "node:util";
import { mixes, start, runSettling, warmUp } from "./filter.ts";
import type { Running } from "./filter.ts";
import { cpuNow, interleave } from "./lib/interleave.ts";
import { pairedRatios, summarize } from "./lib/stats.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mix: { type: "string", default: "typical" },
    rounds: { type: "string", default: "41" },
    iterations: { type: "string", default: "4000" },
    repeat: { type: "string", default: "1" },
  },
});
if (positionals.length < 2) throw new Error("usage: compare-filters.ts a.wasm b.wasm [...] [--mix name] [--rounds n] [--iterations n] [--repeat n]");
const spec = mixes(false).find((m) => m.name === values.mix);
if (!spec) throw new Error(`unknown mix ${values.mix}: ${mixes(false).map((m) => m.name).join(", ")}`);
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);

for (let rep = 1; rep <= Number(values.repeat); rep++) {
  const running: Running[] = [];
  try {
    for (const path of positionals) running.push(await start(path, spec));
    for (const r of running) await warmUp(r);
    const res = await interleave(positionals.map((name, i) => ({ name, run: (n: number) => runSettling(running[i]!, n) })),
      { rounds, iterations, warmupRounds: 1, now: cpuNow });
    for (const [i, r] of running.entries()) if (r.vm.failed) throw new Error(`${positionals[i]} failed: ${r.vm.failure?.message}`);
    const cells = res.map((c, i) => {
      if (i === 0) return `${c.name} ${Math.round(c.summary.median)} ns/req`;
      const q = summarize(pairedRatios(c.perRound, res[0]!.perRound));
      return `${c.name} ${Math.round(c.summary.median)} ns/req, x${q.median.toFixed(3)} (q1 ${q.q1.toFixed(3)}, q3 ${q.q3.toFixed(3)})`;
    });
    console.log(`run ${rep} (${spec.name}, ${rounds}x${iterations}): ${cells.join(" | ")}`);
  } finally {
    for (const r of running) r.plugin.stop();
  }
}
