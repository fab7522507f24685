// The console: lines buffered into one write per event-loop turn, bounded, so printing never throttles the relay.

const NEWLINE = 0x0a;
const utf8 = new TextEncoder();

/** Where flushed chunks go. Returns false when the destination is backed up (Node stream semantics). */
export interface ChunkWriter {
  write(chunk: Uint8Array): boolean;
  onDrain(listener: () => void): void;
}

/** A writer over `process.stdout` (or any Node writable). */
export function streamWriter(stream: NodeJS.WritableStream): ChunkWriter {
  // A console that went away (stdout piped into `head`, a closed terminal: EPIPE) must not stop the relay:
  // from then on its lines are dropped, and the summary on stderr still tells the tale.
  let gone = false;
  stream.on("error", () => void (gone = true));
  return {
    write(chunk) {
      if (gone) return true;
      try {
        return stream.write(chunk);
      } catch {
        gone = true;
        return true;
      }
    },
    onDrain: (listener) => void stream.on("drain", listener),
  };
}

/**
 * Collects lines as bytes and writes them in one chunk per event-loop turn. While the destination is
 * backed up, lines accumulate up to `maxPendingBytes`; past that they are dropped and counted, because
 * a relay that waits for its terminal stops relaying.
 */
export class LinePrinter {
  /** Lines dropped because the console could not keep up. */
  dropped = 0;
  private buf: Uint8Array;
  private len = 0;
  private scheduled = false;
  private blocked = false;
  private readonly flushSoon = () => this.flush();

  constructor(
    private readonly out: ChunkWriter,
    private readonly maxPendingBytes = 1 << 20,
  ) {
    this.buf = new Uint8Array(64 * 1024);
    out.onDrain(() => {
      this.blocked = false;
      this.schedule();
    });
  }

  /** Appends `bytes` and a newline. */
  // hot path: once per relayed line unless --quiet
  line(bytes: Uint8Array): void {
    const size = bytes.length + 1;
    if (this.len + size > this.buf.length && !this.makeRoom(size)) {
      this.dropped++;
      return;
    }
    this.buf.set(bytes, this.len);
    this.buf[this.len + bytes.length] = NEWLINE;
    this.len += size;
    if (!this.scheduled) this.schedule();
  }

  /** Appends a line of text. Cold path: notices and status lines. */
  text(line: string): void {
    this.line(utf8.encode(line));
  }

  /** Writes whatever is buffered now, unless the destination is backed up. */
  flush(): void {
    this.scheduled = false;
    if (this.len === 0 || this.blocked) return;
    // The stream may keep the chunk until written: hand it a copy, keep the buffer.
    const chunk = this.buf.slice(0, this.len);
    this.len = 0;
    if (!this.out.write(chunk)) this.blocked = true;
  }

  private schedule(): void {
    this.scheduled = true;
    setImmediate(this.flushSoon);
  }

  // Cold path: flush early, or let the buffer double while the console is slow, up to maxPendingBytes.
  private makeRoom(size: number): boolean {
    this.flush();
    const want = this.len + size;
    if (want <= this.buf.length) return true;
    if (want > this.maxPendingBytes) return false;
    let grown = this.buf.length * 2;
    while (grown < want) grown *= 2;
    const bigger = new Uint8Array(Math.min(grown, this.maxPendingBytes));
    bigger.set(this.buf.subarray(0, this.len));
    this.buf = bigger;
    return true;
  }
}
