// What the admin endpoint reads from a running relay, whatever its shape: one relay, a worker group, or a mesh node.

import type { Relay } from "../relay.ts";
import type { Bus } from "../scale/bus.ts";
import type { SocketSetup } from "../sockopt.ts";
import type { RelayStats } from "../stats.ts";
import { LagMonitor } from "./lag.ts";

/** Counters at one moment. Built from what the relay already keeps; nothing here is counted for the admin endpoint alone. */
export interface Sample {
  /** Wall-clock time of the sample (ms since the epoch). */
  readonly atMs: number;
  /** Totals: one relay's counters, or the sum of every worker's. */
  readonly stats: RelayStats;
  readonly clients: number;
  /** Datagrams waiting for a full socket buffer (summed over workers). */
  readonly backlog: number;
  /** Fan-out time histogram (summed over workers). */
  readonly fanout: FanoutCounts;
  /** Event-loop lag of the relay's thread(s), the worst of them, in seconds. */
  readonly lagSeconds: number;
  readonly sockopts: SocketSetup | undefined;
  /** Worker threads (0: the relay runs on the main thread). */
  readonly workers: number;
  /** The UDP socket is open. */
  readonly open: boolean;
  /** On a mesh: the bus connection and its counters. */
  readonly bus: BusSample | undefined;
  /** With workers: each one's share (every worker's registry holds every client, once membership has spread). */
  readonly perWorker?: readonly WorkerShare[];
}

export interface WorkerShare {
  readonly index: number;
  readonly clients: number;
  readonly lines: number;
  readonly deliveries: number;
}

/** FanoutTimes as plain data. */
export interface FanoutCounts {
  readonly counts: readonly number[];
  readonly sumSeconds: number;
  readonly count: number;
}

export interface BusSample {
  readonly connected: boolean;
  readonly published: number;
  readonly received: number;
  readonly lost: number;
  readonly reconnects: number;
}

/** One client as /clients shows it. Times are ms on the clock `origin` says (performance.timeOrigin, or 0 for epoch). */
export interface ClientView {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly joinedAtMs: number;
  readonly lastSeenMs: number;
  readonly lines: number;
  readonly rateLimited: number;
}

/** Registered clients and the clock their times are on: add `originMs` to get ms since the epoch. */
export interface ClientList {
  readonly clients: readonly ClientView[];
  readonly originMs: number;
}

/** A running relay as the admin endpoint sees it. */
export interface AdminSource {
  sample(): Promise<Sample>;
  /** Every registered client; the caller sorts and pages. Do not hold on to the array. */
  clients(): Promise<ClientList>;
  /** Cheap, for /healthz: the socket is open; on a mesh, whether the bus is up. */
  health(): { readonly open: boolean; readonly bus?: boolean };
  /** Stops what the source runs for itself (the lag timer). */
  close(): void;
}

/** FanoutTimes copied (the live object keeps counting). */
export function fanoutCounts(times: FanoutCounts): FanoutCounts {
  return { counts: [...times.counts], sumSeconds: times.sumSeconds, count: times.count };
}

/** A relay on this thread (alone, or a mesh node with `bus`). Starts a lag timer on this thread. */
export function relaySource(relay: Relay, bus?: Bus): AdminSource {
  const lag = new LagMonitor();
  return {
    health: () => ({ open: relay.open, bus: bus?.connected }),
    close: () => lag.stop(),
    sample: async () => ({
      atMs: Date.now(),
      stats: relay.stats,
      clients: relay.registry.size,
      backlog: relay.backlog,
      fanout: fanoutCounts(relay.fanoutTimes),
      lagSeconds: lag.seconds(),
      sockopts: relay.sockopts,
      workers: 0,
      open: relay.open,
      bus: bus === undefined ? undefined : { connected: bus.connected, ...bus.counters },
    }),
    clients: async () => ({ clients: relay.registry.all(), originMs: performance.timeOrigin }),
  };
}
