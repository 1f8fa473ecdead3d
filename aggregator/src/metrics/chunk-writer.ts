// Writes exposition text straight into reusable-size Buffers: a scrape of tens of thousands of
// series is hundreds of MB, and copying cached label bytes beats building JS strings that the
// stream would then encode again.
const CHUNK = 1 << 20;

export class ChunkWriter {
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private readonly done: Buffer[] = [];

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  flush(): void {
    if (this.pos === 0) return;
    this.done.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, this.buf.length));
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
