// Keeps the state file current: rewritten every --state-interval while who-is-who changed, and once more on shutdown.

import { encodeState, encodeStatePieces } from "./state.ts";
import { errorCode, type StateSource, type WriteHooks, writeStateFile } from "./state-file.ts";

/** How long the last write took, for the operator and for docs/restarts.md. */
export interface StateWrite {
  readonly entries: number;
  readonly bytes: number;
  /** Taking the snapshot, on the event loop in one go: the part that holds up datagrams. */
  readonly snapshotMs: number;
  /** Building the text, on the event loop too, but in pieces with datagrams let in between. */
  readonly encodeMs: number;
  /** The longest piece of encoding: how long datagrams waited at most. */
  readonly longestPieceMs: number;
  /** Writing, fsync, rename and the directory fsync, off the event loop. */
  readonly writeMs: number;
}

/**
 * Writes `source` to `path` on a timer, only when its change counter moved since the last good write, one write
 * at a time. A failed write is logged once (and once more when writes work again), and retried next period.
 */
export class StateKeeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private writing: Promise<void> | undefined;
  private writtenChanges: number;
  private failing = false;
  /** The last write that succeeded. */
  last: StateWrite | undefined;
  /** Writes that succeeded. */
  writes = 0;

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
    private readonly source: StateSource,
    private readonly maxNameChars: number,
    private readonly log: (line: string) => void,
    private readonly hooks: WriteHooks = {},
  ) {
    this.writtenChanges = source.changes;
  }

  /**
   * Writes the state now and starts the timer. Throws when the file cannot be written (a missing directory, no
   * permission): the operator hears it at start, not after the first crash.
   */
  async start(): Promise<void> {
    const state = this.source.snapshot(Date.now());
    await writeStateFile(this.path, encodeState(state, this.maxNameChars), this.hooks);
    this.writtenChanges = this.source.changes;
    this.timer = setInterval(() => void this.writeIfChanged(), this.intervalMs);
    this.timer.unref();
  }

  /** Writes now if anything changed since the last write; waits for a write already running. */
  async writeIfChanged(): Promise<void> {
    if (this.writing !== undefined) return this.writing;
    if (this.source.changes === this.writtenChanges) return;
    await this.write();
  }

  /** Stops the timer and writes the final state (after the goodbye), whatever changed. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.writing !== undefined) await this.writing;
    await this.write();
  }

  private write(): Promise<void> {
    const run = async () => {
      const changes = this.source.changes;
      const started = performance.now();
      const state = this.source.snapshot(Date.now());
      const snapped = performance.now();
      const pieces: string[] = [];
      let longestPieceMs = 0;
      let pieceStart = performance.now();
      for (const piece of encodeStatePieces(state, this.maxNameChars)) {
        pieces.push(piece);
        longestPieceMs = Math.max(longestPieceMs, performance.now() - pieceStart);
        await new Promise<void>((resolve) => setImmediate(resolve)); // let datagrams in
        pieceStart = performance.now();
      }
      const text = pieces.join("");
      const encoded = performance.now();
      try {
        await writeStateFile(this.path, text, this.hooks);
      } catch (err) {
        if (!this.failing) this.log(`[SERVER] cannot write state file ${this.path}: ${errorCode(err)}; will retry every ${this.intervalMs / 1000} s`);
        this.failing = true;
        return;
      }
      if (this.failing) this.log(`[SERVER] state file ${this.path} written again`);
      this.failing = false;
      this.writtenChanges = changes;
      this.writes++;
      this.last = { entries: state.clients.length + state.away.length, bytes: Buffer.byteLength(text), snapshotMs: snapped - started, encodeMs: encoded - snapped, longestPieceMs, writeMs: performance.now() - encoded };
    };
    this.writing = run().finally(() => (this.writing = undefined));
    return this.writing;
  }
}
