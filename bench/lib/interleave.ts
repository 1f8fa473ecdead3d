// Round-robin timing of several contenders: every round runs each contender once, in an order
// rotated per round, so that whatever else the machine does lands on all of them alike.
import { summarize } from "./stats.ts";
import type { Summary } from "./stats.ts";

export interface Contender {
  name: string;
  /** Runs `iterations` units of work (e.g. requests); the harness times the call (awaited if async). */
  run(iterations: number): void | Promise<void>;
}

export interface InterleaveOptions {
  rounds: number;
  iterations: number;        // per contender per round
  warmupRounds?: number;     // untimed rounds first (JIT tiers, caches, the filters' own warm-up)
  now?: () => bigint;        // injectable clock for tests; default process.hrtime.bigint
}

export interface ContenderResult {
  name: string;
  /** ns per iteration, one value per timed round, in round order (pairable across contenders). */
  perRound: number[];
  summary: Summary;
}

/**
 * Process CPU time (user + system, all threads) in ns. On a shared machine a round that is
 * preempted loses wall time but not CPU time, so CPU-timed rounds stay comparable; the V8
 * threads' own work (GC, JIT) counts, as it is part of the cost.
 */
export function cpuNow(): bigint {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
}

export async function interleave(contenders: readonly Contender[], opts: InterleaveOptions): Promise<ContenderResult[]> {
  if (contenders.length === 0) throw new RangeError("no contenders");
  if (!(opts.rounds >= 1 && opts.iterations >= 1)) throw new RangeError("rounds and iterations must be >= 1");
  const now = opts.now ?? process.hrtime.bigint;
  const k = contenders.length;
  for (let r = 0; r < (opts.warmupRounds ?? 1); r++) for (const c of contenders) await c.run(opts.iterations);
  const perRound: number[][] = contenders.map(() => []);
  for (let r = 0; r < opts.rounds; r++) {
    for (let j = 0; j < k; j++) {
      const i = (r + j) % k;
      const t0 = now();
      await contenders[i].run(opts.iterations);
      perRound[i].push(Number(now() - t0) / opts.iterations);
    }
  }
  return contenders.map((c, i) => ({ name: c.name, perRound: perRound[i], summary: summarize(perRound[i]) }));
}
