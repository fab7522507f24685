// The state file on disk (--state): loaded once at start, written atomically every few seconds while it changed and on shutdown.

import { closeSync, fsyncSync, openSync, readSync, renameSync, statSync, writeSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import type { Chat } from "./chat.ts";
import type { Registry } from "./registry.ts";
import { decodeState, maxStateBytes, type RelayState, type StateLimits } from "./state.ts";

/** A binding to put back, with the time it has left to be claimed. */
export interface RestoredBinding {
  readonly address: string;
  readonly port: number;
  readonly name: string;
  readonly leftMs: number;
}

/** What a state file is written from: one relay, or the main thread of a worker group. */
export interface StateSource {
  /** Bumped by every change to who is who; the file is rewritten only when it moved. */
  readonly changes: number;
  /** Registered clients and remembered bindings now, in wall-clock times. */
  snapshot(wallNowMs: number): RelayState;
}

/** What loading found: bindings to restore (none for a missing or bad file). */
export interface LoadedState {
  readonly bindings: readonly RestoredBinding[];
  /** Entries the file held, before bindings past the remember window were dropped. */
  readonly entries: number;
}

const NOTHING: LoadedState = Object.freeze({ bindings: [], entries: 0 });

/**
 * Reads `path`. Missing: nothing to restore. Unreadable, oversize (refused by size before it is read), not UTF-8,
 * or refused by `decodeState`: one line to `log` naming the file and the problem, the file moved aside to
 * `path.bad-<timestamp>` (never deleted), and nothing restored. Never throws.
 */
export function loadStateFile(path: string, limits: StateLimits, rememberMs: number, log: (line: string) => void, wallNowMs = Date.now()): LoadedState {
  const problem = readState(path, limits);
  if (typeof problem === "string") {
    if (problem === "") return NOTHING;
    const aside = `${path}.bad-${new Date(wallNowMs).toISOString().replace(/[:.]/g, "-")}`;
    let moved: string;
    try {
      renameSync(path, aside);
      moved = `moved aside to ${aside}`;
    } catch (err) {
      moved = `could not be moved aside (${errorCode(err)})`;
    }
    log(`[SERVER] state file ${path}: ${problem}; ${moved}; starting with nobody remembered`);
    return NOTHING;
  }
  return { bindings: restoredBindings(problem, rememberMs, wallNowMs), entries: problem.clients.length + problem.away.length };
}

// The state, or a problem ("" for a file that is simply not there).
function readState(path: string, limits: StateLimits): RelayState | string {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return "not a regular file";
    size = stat.size;
  } catch (err) {
    return errorCode(err) === "ENOENT" ? "" : `unreadable (${errorCode(err)})`;
  }
  const max = maxStateBytes(limits);
  if (size > max) return `${size} bytes, more than the ${max} a relay with --max-clients ${limits.maxClients} writes; not read`;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readBounded(path, max));
  } catch (err) {
    return err instanceof TypeError ? "not UTF-8" : `unreadable (${errorCode(err)})`;
  }
  const decoded = decodeState(text, limits);
  return decoded.ok ? decoded.state : decoded.problem;
}

// Reads at most `max` bytes (plus one, to notice a file that grew after the stat).
function readBounded(path: string, max: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buffer = new Uint8Array(Math.min(max + 1, statSync(path).size + 1));
    let filled = 0;
    for (;;) {
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) break;
      filled += n;
      if (filled === buffer.length) throw Object.assign(new Error("grew while read"), { code: "EFBIG" });
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** The file's clients and remembered names as bindings to restore: a client's window counts from the write. */
export function restoredBindings(state: RelayState, rememberMs: number, wallNowMs: number): RestoredBinding[] {
  const out: RestoredBinding[] = [];
  // A time in the future (a clock stepped back, or a forged file) counts as now: never more than the window.
  const left = (sinceMs: number) => rememberMs - Math.max(0, wallNowMs - sinceMs);
  for (const c of state.clients) {
    const leftMs = left(state.writtenMs);
    if (leftMs > 0) out.push({ address: c.address, port: c.port, name: c.name, leftMs });
  }
  for (const a of state.away) {
    const leftMs = left(a.timedOutMs);
    if (leftMs > 0) out.push({ address: a.address, port: a.port, name: a.name, leftMs });
  }
  return out;
}

/** A relay's clients and remembered names as a `StateSource`. Times in the relay are monotonic; the file's are wall-clock. */
export function relayStateSource(registry: Registry, chat: Chat): StateSource {
  return {
    get changes() {
      return chat.changes;
    },
    snapshot(wallNowMs) {
      const offset = wallNowMs - performance.now();
      const clients = registry.all().map((c) => ({ name: c.name, address: c.address, port: c.port, seenMs: c.lastSeenMs + offset }));
      const away = [];
      const ttl = chat.rememberMs;
      for (const b of chat.rememberedBindings()) away.push({ name: b.name, address: b.address, port: b.port, timedOutMs: b.expiresMs - ttl + offset });
      return { writtenMs: wallNowMs, clients, away };
    },
  };
}

/** Test hook: runs between the temporary file's fsync and the rename (a fault-injection test kills the process there). */
export interface WriteHooks {
  readonly beforeRename?: () => void;
}

/**
 * Writes `text` to `path` so that a crash at any moment leaves the old file or the new one, never a torn one:
 * a temporary file in the same directory, fsync, rename over `path`, fsync the directory (the rename itself).
 * The fsyncs run off the event loop.
 */
export async function writeStateFile(path: string, text: string, hooks: WriteHooks = {}): Promise<void> {
  const temporary = temporaryOf(path);
  await writeTemporary(temporary, text);
  hooks.beforeRename?.();
  await commitTemporary(temporary, path);
}

/** Where `writeStateFile` writes before the rename. */
export const temporaryOf = (path: string): string => `${path}.tmp`;

/** The first half of `writeStateFile`: `text` into `temporary`, synced. */
export async function writeTemporary(temporary: string, text: string): Promise<void> {
  const file = await open(temporary, "w", 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The second half: `temporary` renamed over `path`, and the rename synced. */
export async function commitTemporary(temporary: string, path: string): Promise<void> {
  await rename(temporary, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * `writeStateFile` on the event loop, through a temporary file of its own (`.tmp-sync`), for a relay whose
 * async I/O is starved by a flood: its completions would not be seen until the flood ends. Blocks for the write
 * and both fsyncs (~2 ms for a small file on the test machine).
 */
export function writeStateFileSync(path: string, text: string): void {
  const temporary = `${path}.tmp-sync`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dir = openSync(dirname(path), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The error code of a failed file operation (ENOENT, EACCES, ...), or its message. */
export function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? (err as Error).message;
}
