// Waiting without fixed sleeps: a test polls a condition until it holds or a deadline passes
// (STYLE: no test sleeps for a tick). `sleep` is for pacing real traffic (load, injected
// delays), not for waiting on a result.
import { inspect } from "node:util";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between probes; 0 (the default) yields one macrotask (setImmediate) instead. */
  intervalMs?: number;
  /** What is awaited, for the timeout error (a function is called at the deadline). */
  what?: string | (() => string);
  /**
   * At the deadline return the last value instead of throwing: for callers whose own
   * assertions on that value say better what is off.
   */
  lastOnTimeout?: boolean;
}

/**
 * Calls `probe` until `accept` holds for its result and returns that result. A probe that
 * throws ends the poll with its error. At the deadline: throws with `what` and the last value
 * (or returns it, with `lastOnTimeout`).
 */
export async function poll<T>(probe: () => T | Promise<T>, accept: (v: T) => boolean, opts: PollOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 0;
  for (;;) {
    const last = await probe();
    if (accept(last)) return last;
    if (Date.now() >= deadline) {
      if (opts.lastOnTimeout) return last;
      const what = typeof opts.what === "function" ? opts.what() : (opts.what ?? "a condition");
      const shown = inspect(last, { depth: 2, breakLength: Infinity, maxStringLength: 500 });
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting on ${what}; last value ${shown}`);
    }
    await (interval > 0 ? sleep(interval) : new Promise((r) => setImmediate(r)));
  }
}

/** Waits until `cond()` is true (`poll` for a boolean). */
export async function until(cond: () => boolean | Promise<boolean>, opts: PollOptions): Promise<void> {
  await poll(cond, (ok) => ok, opts);
}
