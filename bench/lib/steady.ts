// Steady-state timing of a server under load: an untimed warm-up that lasts until the cost per
// unit stops falling (JIT tiers, inline caches, the young generation's size), then paired rounds
// of two contenders whose order alternates, so that what one round leaves behind (garbage, a
// pending drain, a warmed cache) lands on each contender alike.
import { quantileSorted } from "./stats.ts";

export interface WarmUpOptions {
  /** Rounds always run (the first few are dominated by compilation, whatever they measure). */
  minRounds: number;
  /** Rounds at most: a machine too noisy to settle still gets measured, and says so. */
  maxRounds: number;
  /** Rounds per window: the median of the last `window` is compared with the `window` before. */
  window: number;
  /** Settled when the last window's median is at most this fraction below the previous one's. */
  tolerance: number;
}

const median = (xs: readonly number[]) => quantileSorted([...xs].sort((a, b) => a - b), 0.5);

/**
 * True when the costs (one per round, in order, lower is better) stopped falling: the median
 * of the last `window` rounds is no more than `tolerance` below the median of the `window`
 * rounds before. Medians, because one preempted round must neither end nor prolong the warm-up.
 */
export function stoppedFalling(costs: readonly number[], window: number, tolerance: number): boolean {
  if (!(window >= 1) || !(tolerance >= 0)) throw new RangeError(`bad window ${window} or tolerance ${tolerance}`);
  if (costs.length < 2 * window) return false;
  const last = median(costs.slice(-window));
  const before = median(costs.slice(-2 * window, -window));
  return last >= before * (1 - tolerance);
}

/** Runs `round` (it returns the round's cost per unit) until the cost settles; returns every cost. */
export async function warmUp(round: () => Promise<number>, o: WarmUpOptions): Promise<{ costs: number[]; settled: boolean }> {
  if (!(o.minRounds >= 1 && o.maxRounds >= o.minRounds)) throw new RangeError(`bad warm-up rounds ${o.minRounds}..${o.maxRounds}`);
  const costs: number[] = [];
  while (costs.length < o.maxRounds) {
    costs.push(await round());
    if (costs.length >= o.minRounds && stoppedFalling(costs, o.window, o.tolerance)) return { costs, settled: true };
  }
  return { costs, settled: false };
}

/** `rounds` pairs of a and b, a first in even rounds and b first in odd ones; results in pair order. */
export async function alternatingPairs<A, B>(rounds: number, a: () => Promise<A>, b: () => Promise<B>): Promise<{ a: A; b: B; aFirst: boolean }[]> {
  if (!(rounds >= 1)) throw new RangeError(`rounds must be >= 1, got ${rounds}`);
  const out: { a: A; b: B; aFirst: boolean }[] = [];
  for (let r = 0; r < rounds; r++) {
    const aFirst = r % 2 === 0;
    if (aFirst) {
      const x = await a();
      out.push({ a: x, b: await b(), aFirst });
    } else {
      const y = await b();
      out.push({ a: await a(), b: y, aFirst });
    }
  }
  return out;
}
