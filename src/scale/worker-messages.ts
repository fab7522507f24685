// The messages between the main thread and relay worker threads: membership changes, liveness gossip, console, control.

import type { ClientColumns } from "../admin/columns.ts";
import type { RelayConfig } from "../config.ts";
import type { SocketSetup } from "../sockopt.ts";
import type { RestoredBinding } from "../state-file.ts";

/** What a worker is started with. */
export interface WorkerData {
  readonly index: number;
  /** The relay config, with the port every worker binds (worker 0 may get 0 and report the port it got). */
  readonly config: RelayConfig;
  /** This worker's idle sweep times clients out (exactly one worker's does). */
  readonly sweeper: boolean;
  /** Liveness gossip period: how often a worker tells the others which clients it heard from. */
  readonly gossipMs: number;
  /** Bindings from the state file: every worker remembers them, so a client returns on whichever socket it hashes to. */
  readonly restore: readonly RestoredBinding[];
  /** With --admin: where this worker publishes its counters for the admin endpoint (admin/shared.ts). */
  readonly shared?: SharedArrayBuffer;
}

/** A counters snapshot: RelayStats as structured clone carries it. */
export interface StatsSnapshot {
  readonly [counter: string]: number | Readonly<Record<string, number>>;
}

/** One worker's view, for the summary and for tests. */
export interface WorkerReport {
  readonly index: number;
  readonly clients: number;
  readonly names: readonly string[];
  readonly stats: StatsSnapshot;
  readonly backlog: number;
  /** Every client this worker knows, with its counts, when the report asked for them (/clients). */
  readonly clientColumns?: ClientColumns;
}

/** Worker → main. `join`/`leave`/`rename` report what the worker's chat already did (optimistically, for names). */
export type FromWorker =
  | { readonly t: "bound"; readonly port: number; readonly sockopts: SocketSetup | undefined }
  | { readonly t: "failed"; readonly message: string }
  | { readonly t: "join"; readonly name: string; readonly address: string; readonly port: number }
  | { readonly t: "leave"; readonly name: string; readonly address: string; readonly port: number; readonly timedOut: boolean }
  | { readonly t: "rename"; readonly name: string; readonly address: string; readonly port: number }
  /** Clients this worker heard from since its last gossip: [address, port, address, port, ...]. */
  | { readonly t: "seen"; readonly clients: readonly (string | number)[] }
  | { readonly t: "console"; readonly chunk: Uint8Array }
  /** A line for the operator's log (stderr). */
  | { readonly t: "log"; readonly line: string }
  | { readonly t: "report"; readonly id: number; readonly report: WorkerReport }
  | { readonly t: "closed"; readonly report: WorkerReport };

/** Main → worker. `join`/`leave`/`rename` are granted changes from other workers, applied silently. */
export type ToWorker =
  | { readonly t: "join"; readonly name: string; readonly address: string; readonly port: number }
  | { readonly t: "leave"; readonly name: string; readonly address: string; readonly port: number; readonly timedOut: boolean }
  | { readonly t: "rename"; readonly name: string; readonly address: string; readonly port: number }
  /** Your join of `name` lost: the name was granted to someone else first. */
  | { readonly t: "evict"; readonly name: string; readonly address: string; readonly port: number }
  /** Your rename to `name` lost: the client is `oldName` again. */
  | { readonly t: "revert"; readonly name: string; readonly oldName: string; readonly address: string; readonly port: number }
  /** Your rename to `name` went through. */
  | { readonly t: "granted"; readonly name: string; readonly address: string; readonly port: number }
  | { readonly t: "seen"; readonly clients: readonly (string | number)[] }
  | { readonly t: "sweeper" }
  | { readonly t: "report"; readonly id: number; readonly clients?: boolean }
  /** Stop: the one told to `announce` tells every client the server is shutting down. */
  | { readonly t: "shutdown"; readonly announce: boolean; readonly graceMs: number };
