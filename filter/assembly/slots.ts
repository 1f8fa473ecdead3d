// Per-stream state in a preallocated pool of fixed-size slots, found by context id through
// open addressing (linear probing, backward-shift deletion): no object or Map per stream. The
// pool doubles only when more streams are open at once than ever before (warm-up).

export const F_T0: u32 = 1;
export const F_T1: u32 = 2;
export const F_T2: u32 = 4;
export const F_T3: u32 = 8;
export const F_TIER: u32 = 16;
export const F_APP: u32 = 32;

// Slot layout: 0 ctx u32 (0 = free), 4 root u32, 8 flags u32, 12 tier i32,
// 16 t0, 24 t1, 32 t2, 40 t3 (u64 ns), 48 app µs u64, 56 status u32,
// 60 trace id length u32 (0 = none, 8 or 16), 64 trace id (16 bytes).
const SLOT: usize = 80;

let base: usize = 0;
let cap: u32 = 0;       // power of two
let used: u32 = 0;

function hashSlot(ctx: u32): u32 { return (ctx * 0x9e3779b1) & (cap - 1); }

function grow(): void {
  const oldBase = base;
  const oldCap = cap;
  cap = oldCap == 0 ? 256 : oldCap << 1;
  base = heap.alloc(<usize>cap * SLOT);
  memory.fill(base, 0, <usize>cap * SLOT);
  used = 0;
  for (let i: u32 = 0; i < oldCap; i++) {
    const o = oldBase + <usize>i * SLOT;
    const ctx = load<u32>(o);
    if (ctx == 0) continue;
    let j = hashSlot(ctx);
    while (load<u32>(base + <usize>j * SLOT) != 0) j = (j + 1) & (cap - 1);
    memory.copy(base + <usize>j * SLOT, o, SLOT);
    used++;
  }
  if (oldBase != 0) heap.free(oldBase);
}

/** A fresh slot for the stream (proxy_on_context_create). */
export function open(ctx: u32, root: u32): usize {
  if ((used + 1) * 2 > cap) grow();
  let j = hashSlot(ctx);
  while (true) {
    const p = base + <usize>j * SLOT;
    const c = load<u32>(p);
    if (c == 0 || c == ctx) {
      if (c == 0) used++;
      memory.fill(p, 0, SLOT);
      store<u32>(p, ctx);
      store<u32>(p + 4, root);
      return p;
    }
    j = (j + 1) & (cap - 1);
  }
}

/** The stream's slot, or 0 when unknown (e.g. a root context id). */
export function find(ctx: u32): usize {
  if (cap == 0 || ctx == 0) return 0;
  let j = hashSlot(ctx);
  while (true) {
    const p = base + <usize>j * SLOT;
    const c = load<u32>(p);
    if (c == ctx) return p;
    if (c == 0) return 0;
    j = (j + 1) & (cap - 1);
  }
}

/** Frees the stream's slot (proxy_on_delete), keeping probe chains intact. */
export function close(ctx: u32): void {
  const p0 = find(ctx);
  if (p0 == 0) return;
  let i = <u32>((p0 - base) / SLOT);
  store<u32>(p0, 0);
  used--;
  let j = i;
  while (true) {
    j = (j + 1) & (cap - 1);
    const pj = base + <usize>j * SLOT;
    const c = load<u32>(pj);
    if (c == 0) return;
    const k = hashSlot(c);
    // move j back to i if its home k is not cyclically within (i, j]
    const between = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (!between) {
      memory.copy(base + <usize>i * SLOT, pj, SLOT);
      store<u32>(pj, 0);
      i = j;
    }
  }
}

// @ts-ignore: decorator
@inline export function root(s: usize): u32 { return load<u32>(s, 4); }
// @ts-ignore: decorator
@inline export function flags(s: usize): u32 { return load<u32>(s, 8); }
// @ts-ignore: decorator
@inline export function setFlag(s: usize, f: u32): void { store<u32>(s, load<u32>(s, 8) | f, 8); }
// @ts-ignore: decorator
@inline export function tier(s: usize): i32 { return load<i32>(s, 12); }
// @ts-ignore: decorator
@inline export function setTier(s: usize, v: i32): void { store<i32>(s, v, 12); setFlag(s, F_TIER); }
// @ts-ignore: decorator
@inline export function t0(s: usize): u64 { return load<u64>(s, 16); }
// @ts-ignore: decorator
@inline export function t1(s: usize): u64 { return load<u64>(s, 24); }
// @ts-ignore: decorator
@inline export function t2(s: usize): u64 { return load<u64>(s, 32); }
// @ts-ignore: decorator
@inline export function t3(s: usize): u64 { return load<u64>(s, 40); }
// @ts-ignore: decorator
@inline export function app(s: usize): u64 { return load<u64>(s, 48); }
// @ts-ignore: decorator
@inline export function status(s: usize): u32 { return load<u32>(s, 56); }
// @ts-ignore: decorator
@inline export function setT0(s: usize, v: u64): void { store<u64>(s, v, 16); setFlag(s, F_T0); }
// @ts-ignore: decorator
@inline export function setT1(s: usize, v: u64): void { store<u64>(s, v, 24); setFlag(s, F_T1); }
// @ts-ignore: decorator
@inline export function setT2(s: usize, v: u64): void { store<u64>(s, v, 32); setFlag(s, F_T2); }
// @ts-ignore: decorator
@inline export function setT3(s: usize, v: u64): void { store<u64>(s, v, 40); setFlag(s, F_T3); }
// @ts-ignore: decorator
@inline export function setApp(s: usize, v: u64): void { store<u64>(s, v, 48); setFlag(s, F_APP); }
// @ts-ignore: decorator
@inline export function setStatus(s: usize, v: u32): void { store<u32>(s, v, 56); }
// @ts-ignore: decorator
@inline export function traceLen(s: usize): u32 { return load<u32>(s, 60); }
// @ts-ignore: decorator
@inline export function setTraceLen(s: usize, v: u32): void { store<u32>(s, v, 60); }
/** Where the stream's trace id bytes live (traceLen of them). */
// @ts-ignore: decorator
@inline export function traceId(s: usize): usize { return s + 64; }
