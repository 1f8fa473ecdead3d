// Time sources for the host. Envoy reads both clocks from the worker dispatcher's time source
// (envoy source/extensions/common/wasm/context.cc getCurrentTimeNanoseconds /
// getMonotonicTimeNanoseconds) and drives tick / http-call timeout timers from the same
// dispatcher, so one Clock object serves all three here.

export interface TimerHandle {
  readonly dueNs: bigint;
}

export interface Clock {
  /** Monotonic nanoseconds (WASI clock_time_get id 1). */
  monoNs(): bigint;
  /** Wall-clock nanoseconds since the Unix epoch (WASI id 0, proxy_get_current_time_nanoseconds). */
  wallNs(): bigint;
  /** One-shot timer firing `delayNs` from now (monotonic). */
  setTimer(delayNs: bigint, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

interface ManualTimer extends TimerHandle {
  readonly seq: number;
  fn: (() => void) | null;
}

const DEFAULT_WALL_NS = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
const DEFAULT_MONO_NS = 1_000_000_000n;

/**
 * Tests drive exact nanoseconds. Timers fire synchronously inside advance*(), in due-time
 * order (ties in creation order), with the clock set to each timer's due time while it runs.
 */
export class ManualClock implements Clock {
  #mono: bigint;
  #wallOffset: bigint;
  #timers: ManualTimer[] = [];
  #seq = 0;

  constructor(opts: { wallNs?: bigint; monoNs?: bigint } = {}) {
    this.#mono = opts.monoNs ?? DEFAULT_MONO_NS;
    this.#wallOffset = (opts.wallNs ?? DEFAULT_WALL_NS) - this.#mono;
  }

  monoNs(): bigint {
    return this.#mono;
  }

  wallNs(): bigint {
    return this.#mono + this.#wallOffset;
  }

  /** Number of armed timers (for tests). */
  pendingTimers(): number {
    return this.#timers.length;
  }

  setTimer(delayNs: bigint, fn: () => void): TimerHandle {
    const t: ManualTimer = { dueNs: this.#mono + (delayNs < 0n ? 0n : delayNs), seq: this.#seq++, fn };
    this.#timers.push(t);
    this.#timers.sort((a, b) => (a.dueNs < b.dueNs ? -1 : a.dueNs > b.dueNs ? 1 : a.seq - b.seq));
    return t;
  }

  clearTimer(handle: TimerHandle): void {
    const i = this.#timers.indexOf(handle as ManualTimer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  advanceNs(ns: bigint | number): void {
    const delta = typeof ns === "bigint" ? ns : BigInt(Math.round(ns));
    if (delta < 0n) throw new RangeError("ManualClock cannot go backwards");
    const target = this.#mono + delta;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.dueNs > target) break;
      this.#timers.shift();
      this.#mono = next.dueNs;
      const fn = next.fn;
      next.fn = null;
      fn?.();
    }
    this.#mono = target;
  }

  advanceMs(ms: number): void {
    this.advanceNs(BigInt(Math.round(ms * 1e6)));
  }
}

interface RealTimer extends TimerHandle {
  t: NodeJS.Timeout;
}

/** process.hrtime for the monotonic clock, Date.now() anchored to it for wall time; setTimeout timers. */
export class RealClock implements Clock {
  readonly #wallBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

  monoNs(): bigint {
    return process.hrtime.bigint();
  }

  wallNs(): bigint {
    return process.hrtime.bigint() + this.#wallBase;
  }

  setTimer(delayNs: bigint, fn: () => void): TimerHandle {
    const ms = Number(delayNs) / 1e6;
    // unref: an armed tick must not keep the process alive on its own (servers do that).
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    const handle: RealTimer = { dueNs: process.hrtime.bigint() + delayNs, t };
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout((handle as RealTimer).t);
  }
}
