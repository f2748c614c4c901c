// Splits a watch stream into lines without re-concatenating strings: chunks
// are kept as Buffers until a newline arrives, and each complete line is
// decoded once. A line longer than maxLineBytes is an error (a broken or
// hostile stream must not grow memory without bound).

const NL = 0x0a;

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`watch line longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes = 64 * 1024 * 1024) {}

  /** Feeds a chunk; returns the complete lines it finished (without '\n', '\r' stripped, blank lines skipped). */
  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NL, start);
      if (nl < 0) break;
      let line: string;
      if (this.pendingBytes === 0) {
        line = buf.toString('utf8', start, nl);
      } else {
        this.pending.push(buf.subarray(start, nl));
        line = Buffer.concat(this.pending, this.pendingBytes + nl - start).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
      }
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length > 0 && line.trim().length > 0) out.push(line);
    }
    if (start < buf.length) {
      const rest = buf.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxLineBytes) {
        this.pending = [];
        this.pendingBytes = 0;
        throw new LineTooLongError(this.maxLineBytes);
      }
      // Copy: the caller's chunk may be a slice of a larger pooled buffer.
      this.pending.push(Buffer.from(rest));
    }
    return out;
  }

  /** Whatever is left after the stream ended (a last line without '\n'), or undefined. */
  flush(): string | undefined {
    if (this.pendingBytes === 0) return undefined;
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8').trim();
    this.pending = [];
    this.pendingBytes = 0;
    return line.length > 0 ? line : undefined;
  }
}
