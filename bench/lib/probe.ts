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

/**
 * Wraps every import of the instances created while `fn` runs with a timer, to see where a
 * request's time goes (host functions vs the module itself). The wrapper adds its own cost to
 * every host call, so use the split, not the absolute numbers.
 */
export async function timingImports<T>(fn: () => Promise<T>): Promise<{ result: T; nsByImport: Map<string, number> }> {
  const Original = WebAssembly.Instance;
  const nsByImport = new Map<string, number>();
  const Timing = new Proxy(Original, {
    construct(target, args) {
      const [module, imports] = args as [WebAssembly.Module, WebAssembly.Imports];
      const wrapped: WebAssembly.Imports = {};
      for (const [mod, fns] of Object.entries(imports)) {
        const out: WebAssembly.ModuleImports = {};
        for (const [name, f] of Object.entries(fns)) {
          if (typeof f !== "function") { out[name] = f; continue; }
          const key = `${mod}.${name}`;
          out[name] = (...a: unknown[]) => {
            const t0 = process.hrtime.bigint();
            try {
              return (f as (...x: unknown[]) => unknown)(...a);
            } finally {
              nsByImport.set(key, (nsByImport.get(key) ?? 0) + Number(process.hrtime.bigint() - t0));
            }
          };
        }
        wrapped[mod] = out;
      }
      return Reflect.construct(target, [module, wrapped]) as WebAssembly.Instance;
    },
  });
  (WebAssembly as { Instance: unknown }).Instance = Timing;
  try {
    return { result: await fn(), nsByImport };
  } finally {
    (WebAssembly as { Instance: unknown }).Instance = Original;
  }
}
