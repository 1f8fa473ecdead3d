// A render is a generator of chunks, run to completion by whoever streams it; a zero-length
// chunk (BREATH) asks that stream to let the event loop run before the next one, so that a
// render's long stretches of work without output (bringing 50k series up to date) do not hold
// ingest and /healthz for their whole length.
import { setImmediate as nextTurn } from "node:timers/promises";

export const BREATH: Buffer = Buffer.alloc(0);

/** The chunks of `chunks` without the breaths, each breath a turn of the event loop. */
export async function* breathing(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  for (const c of chunks) {
    if (c.length === 0) await nextTurn();
    else yield c;
  }
}

/** Lets the event loop run once (what a stream does on a BREATH). */
export const breathe = (): Promise<void> => nextTurn();
