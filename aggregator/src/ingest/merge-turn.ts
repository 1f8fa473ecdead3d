// Runs the ingest work (read, check, merge) of the requests whose bodies completed in one turn
// of the event loop together, back to back, in one setImmediate. Between two requests the HTTP
// work (sockets, parser, fastify) evicts the reader's and the store's code and data from the CPU
// caches; a turn's batches read and merged in a row find them warm. Each request is answered
// once its own work is done — 204 still means merged, an error still means nothing merged — and
// it waits at most for the work of its own turn. What waits is bounded by the admission (at
// most 4 × max_concurrent_ingest batches waiting, their bytes within max_inflight_bytes until
// the answer: ingest/admission.ts), and a turn's work yields to the event loop every SLICE_MS,
// so a turn of large batches does not hold /healthz and /metrics for all of them at once.

/** Longest run of work before the rest waits for the next turn (a 100-series batch takes ~0.1-0.2 ms). */
export const SLICE_MS = 5;

export class MergeTurn<T> {
  private readonly items: T[] = [];
  private readonly resolves: (() => void)[] = [];
  private readonly rejects: ((e: unknown) => void)[] = [];
  private scheduled = false;
  private readonly run = (): void => this.drain();

  constructor(private readonly work: (item: T) => void) {}

  /** Runs the work on `item` with the rest of this turn's; resolves when done, rejects with what it threw. */
  submit(item: T): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.resolves.push(resolve);
      this.rejects.push(reject);
    });
    this.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
    return done;
  }

  private drain(): void {
    this.scheduled = false;
    const t0 = performance.now();
    let i = 0;
    while (i < this.items.length) {
      const k = i++;
      try {
        this.work(this.items[k]!);
        this.resolves[k]!();
      } catch (e) {
        this.rejects[k]!(e);
      }
      if (performance.now() - t0 >= SLICE_MS) break;
    }
    // Answers settle in microtasks after this returns; what is left waits for the next turn.
    this.items.splice(0, i);
    this.resolves.splice(0, i);
    this.rejects.splice(0, i);
    if (this.items.length > 0) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }
}
