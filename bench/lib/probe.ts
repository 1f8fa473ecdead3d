// Reads the allocation counter of a probe build (bench/fixtures/count-allocs.mjs) running inside
// the host. The host keeps its WebAssembly instances private, so while a probe plugin starts we
// record every instance created and later pick the one whose memory is the VM's.
type Exports = Record<string, unknown>;

export async function captureInstances<T>(fn: () => Promise<T>): Promise<{ result: T; instances: WebAssembly.Instance[] }> {
  const Original = WebAssembly.Instance;
  const instances: WebAssembly.Instance[] = [];
  const Capturing = new Proxy(Original, {
    construct(target, args) {
      const inst = Reflect.construct(target, args) as WebAssembly.Instance;
      instances.push(inst);
      return inst;
    },
  });
  (WebAssembly as { Instance: unknown }).Instance = Capturing;
  try {
    return { result: await fn(), instances };
  } finally {
    (WebAssembly as { Instance: unknown }).Instance = Original;
  }
}

export interface AllocCounter {
  allocs(): number;
  bytes(): number;
}

/** The counter of the instance that owns `memory`; throws when the module is not a probe build. */
export function allocCounter(instances: readonly WebAssembly.Instance[], memory: WebAssembly.Memory): AllocCounter {
  const inst = instances.find((i) => (i.exports as Exports).memory === memory);
  if (!inst) throw new Error("bench: no captured instance owns this VM's memory");
  const x = inst.exports as Exports;
  if (typeof x.__bench_allocs !== "function" || typeof x.__bench_alloc_bytes !== "function") {
    throw new Error("bench: module is not an allocation-probe build (no __bench_allocs export)");
  }
  return { allocs: x.__bench_allocs as () => number, bytes: x.__bench_alloc_bytes as () => number };
}
