// Keeps the state file current: rewritten every --state-interval while who-is-who changed, and once more on shutdown.

import { rm } from "node:fs/promises";
import type { Periodic, PeriodicJob } from "./periodic.ts";
import { encodeState, encodeStatePieces } from "./state.ts";
import { commitTemporary, errorCode, type StateSource, temporaryOf, type WriteHooks, writeStateFile, writeStateFileSync, writeTemporary } from "./state-file.ts";

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
 * Writes `source` to `path` every period, only when its change counter moved since the last good write, one write
 * at a time. A failed write is logged once (and once more when writes work again), and retried next period.
 *
 * The period is a job of the relay's `Periodic`. On its timer the write is async, in pieces, with datagrams let in
 * between. A flooded relay runs it from the receive path instead, where nothing async would finish before the
 * flood ends: there it writes synchronously, and an async write stuck mid-way is superseded (it drops its
 * temporary file instead of renaming it over the newer one).
 */
export class StateKeeper {
  private job: PeriodicJob | undefined;
  private writing: Promise<void> | undefined;
  private writtenChanges: number;
  private failing = false;
  /** Bumped by every write begun: an async write that sees it moved has been superseded. */
  private generation = 0;
  /** An async write's rename is in flight: a synchronous write now could land before it and be overwritten. */
  private renaming = false;
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
    private readonly periodic: Periodic,
    private readonly hooks: WriteHooks = {},
  ) {
    this.writtenChanges = source.changes;
  }

  /**
   * Writes the state now and starts the period. Throws when the file cannot be written (a missing directory, no
   * permission): the operator hears it at start, not after the first crash.
   */
  async start(): Promise<void> {
    const state = this.source.snapshot(Date.now());
    await writeStateFile(this.path, encodeState(state, this.maxNameChars), this.hooks);
    this.writtenChanges = this.source.changes;
    this.job = this.periodic.every(this.intervalMs, (_nowMs, starved) => (starved ? this.writeStarved() : void this.writeIfChanged()));
  }

  /** Writes now if anything changed since the last write; waits for a write already running. */
  async writeIfChanged(): Promise<void> {
    if (this.writing !== undefined) return this.writing;
    if (this.source.changes === this.writtenChanges) return;
    await this.write();
  }

  /** Stops the period and writes the final state (after the goodbye), whatever changed. */
  async close(): Promise<void> {
    if (this.job !== undefined) this.periodic.remove(this.job);
    this.job = undefined;
    if (this.writing !== undefined) await this.writing;
    await this.write();
  }

  // From the receive path of a flooded relay: the whole write, now, on the event loop.
  private writeStarved(): void {
    if (this.renaming || this.source.changes === this.writtenChanges) return;
    this.generation++;
    const changes = this.source.changes;
    const started = performance.now();
    const state = this.source.snapshot(Date.now());
    const snapped = performance.now();
    const text = encodeState(state, this.maxNameChars);
    const encoded = performance.now();
    try {
      writeStateFileSync(this.path, text);
    } catch (err) {
      this.failed(err);
      return;
    }
    this.written(changes, { entries: state.clients.length + state.away.length, bytes: Buffer.byteLength(text), snapshotMs: snapped - started, encodeMs: encoded - snapped, longestPieceMs: encoded - snapped, writeMs: performance.now() - encoded });
  }

  private write(): Promise<void> {
    const run = async () => {
      const generation = ++this.generation;
      const superseded = () => this.generation !== generation;
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
        if (superseded()) return;
        pieceStart = performance.now();
      }
      const text = pieces.join("");
      const encoded = performance.now();
      const temporary = temporaryOf(this.path);
      try {
        await writeTemporary(temporary, text);
        if (superseded()) {
          await rm(temporary, { force: true });
          return;
        }
        this.hooks.beforeRename?.();
        this.renaming = true;
        await commitTemporary(temporary, this.path);
      } catch (err) {
        if (!superseded()) this.failed(err);
        return;
      } finally {
        this.renaming = false;
      }
      this.written(changes, { entries: state.clients.length + state.away.length, bytes: Buffer.byteLength(text), snapshotMs: snapped - started, encodeMs: encoded - snapped, longestPieceMs, writeMs: performance.now() - encoded });
    };
    this.writing = run().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private failed(err: unknown): void {
    if (!this.failing) this.log(`[SERVER] cannot write state file ${this.path}: ${errorCode(err)}; will retry every ${this.intervalMs / 1000} s`);
    this.failing = true;
  }

  private written(changes: number, how: StateWrite): void {
    if (this.failing) this.log(`[SERVER] state file ${this.path} written again`);
    this.failing = false;
    this.writtenChanges = changes;
    this.writes++;
    this.last = how;
  }
}
