// Writes exposition text straight into reusable-size Buffers: a scrape of tens of thousands of
// series is hundreds of MB, and copying cached label bytes beats building JS strings that the
// stream would then encode again. Chunks come from a small free list that the gzip stream
// refills once zlib has consumed them (gzip-stream.ts): fresh 1 MiB buffers cost page faults and
// unmapping on every chunk of every scrape, more CPU than writing into them.
export const CHUNK = 1 << 20;
/** Free chunks kept between scrapes: a streamed scrape has one being written and one in zlib. */
const MAX_FREE = 4;
const free: Buffer[] = [];
/** The backing stores of chunks this module made: only those go back to the free list. */
const ours = new WeakSet<ArrayBufferLike>();

/** A CHUNK-byte buffer, from the free list when one is there. */
export function takeChunk(): Buffer {
  const b = free.pop();
  if (b) return b;
  const fresh = Buffer.allocUnsafeSlow(CHUNK);
  ours.add(fresh.buffer);
  return fresh;
}

/**
 * Gives back a chunk (or a view of one) that nothing will read again; anything else is ignored.
 * Its holder must be done with it: the next scrape writes into it.
 */
export function recycle(view: Uint8Array): void {
  const ab = view.buffer;
  if (!ours.has(ab) || free.length >= MAX_FREE || free.some((f) => f.buffer === ab)) return;
  free.push(Buffer.from(ab, 0, CHUNK));
}

const NONE: Buffer = Buffer.alloc(0);

export class ChunkWriter {
  /** The chunk being written; taken when the first byte needs it. */
  private buf: Buffer = NONE;
  private pos = 0;
  private readonly done: Buffer[] = [];

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    this.buf = n > CHUNK ? Buffer.allocUnsafe(n) : takeChunk();
  }

  flush(): void {
    if (this.pos > 0) this.done.push(this.buf.subarray(0, this.pos));
    else recycle(this.buf); // taken, never written: nobody else holds it
    this.buf = NONE;
    this.pos = 0;
  }

  /** Full chunks written so far (the caller yields them). */
  take(): Buffer[] {
    return this.done.splice(0);
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  ascii(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  /** A non-negative safe integer, digit by digit (the common case for counts). */
  uint(n: number): void {
    if (n < 10) { this.room(1); this.buf[this.pos++] = 48 + n; return; }
    const s = String(n);
    this.room(s.length);
    this.pos += this.buf.write(s, this.pos, "latin1");
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }
}
