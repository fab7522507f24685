// Worker group: N relay threads on one SO_REUSEPORT port; the main thread owns the name index and passes membership on.

import { Worker } from "node:worker_threads";
import type { RelayConfig } from "../config.ts";
import { formatEndpoint } from "../protocol/endpoint.ts";
import { nameKey } from "../protocol/names.ts";
import { BindError, reservePort } from "../bind.ts";
import { sharedCounters } from "../admin/shared.ts";
import { addressKey, RememberedNames } from "../remembered.ts";
import type { SocketSetup } from "../sockopt.ts";
import type { RestoredBinding, StateSource } from "../state-file.ts";
import { RelayStats } from "../stats.ts";
import type { FromWorker, StatsSnapshot, ToWorker, WorkerData, WorkerReport } from "./worker-messages.ts";

/** A running group of relay workers. */
export interface WorkerGroup {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
  /** Kernel buffer sizes worker 0 was granted (every worker asks for the same). */
  readonly sockopts: SocketSetup | undefined;
  /** Workers still running. */
  readonly live: number;
  /** Clients in the name index: every worker's registry holds the same ones, give or take messages in flight. */
  readonly clients: number;
  /** With --admin: each live worker's shared counters (admin/shared.ts). */
  readonly shared: readonly SharedArrayBuffer[];
  /** Each live worker's view, fresh; `withClients` adds every client with its counts (the admin endpoint's /clients). */
  reports(withClients?: boolean): Promise<WorkerReport[]>;
  /** One worker tells every client the server is shutting down; all drain (up to `graceMs`) and stop. */
  shutdown(graceMs?: number): Promise<WorkerReport[]>;
  /**
   * Stops worker `index` without a word, as a crash would. The kernel then hashes its clients to the others,
   * which know them already. For tests of exactly that.
   */
  kill(index: number): Promise<void>;
  /** Who is who, for a state file: the main thread owns it, as it owns the name index. */
  readonly state: StateSource;
}

/** Where workers' console output goes: whole lines, in chunks. */
export type ConsoleWriter = (chunk: Uint8Array) => void;

/** Gossip often enough that a timeout is late by a small fraction of the idle timeout, and at most every second. */
function gossipPeriodMs(idleTimeoutMs: number): number {
  return idleTimeoutMs === 0 ? 1000 : Math.min(1000, Math.max(5, idleTimeoutMs / 8));
}

interface Entry {
  readonly name: string;
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** Last heard of (monotonic ms): at the join, then from liveness gossip. */
  seenMs: number;
}

/**
 * Starts `config.workers` relay threads on one port: checked free with a plain bind first (`reservePort`; with
 * `--port 0` that picks the port), then worker 0 binds it, and the others join its SO_REUSEPORT group. Throws
 * BindError when the port cannot be bound.
 */
export async function startWorkers(
  config: RelayConfig,
  writeConsole: ConsoleWriter = () => {},
  log: (line: string) => void = () => {},
  restore: readonly RestoredBinding[] = [],
): Promise<WorkerGroup> {
  const gossipMs = gossipPeriodMs(config.idleTimeoutMs);
  const workers = new Map<number, Worker>();
  // The name index: the single owner of who is called what. Workers admit optimistically; the first claim here wins.
  const byAddress = new Map<string, Entry>();
  const byName = new Map<string, string>();
  // Timed-out clients' names, mirrored from the sweeping worker's leaves: the state file's other half.
  const remembered = new RememberedNames(config.rememberedNames, config.rememberMs);
  remembered.restore(restore, performance.now());
  let changes = 0;
  const replies = new Map<number, (report: WorkerReport) => void>();
  const buffers = new Map<number, SharedArrayBuffer>();
  const closedReports = new Map<number, (report: WorkerReport) => void>();
  let nextId = 1;
  let sweeper = 0;
  let stopping = false;

  const send = (index: number, message: ToWorker) => workers.get(index)?.postMessage(message);
  const others = (from: number, message: ToWorker) => {
    for (const index of workers.keys()) if (index !== from) send(index, message);
  };

  function onMessage(from: number, message: FromWorker): void {
    switch (message.t) {
      case "join": {
        const at = addressKey(message.address, message.port);
        const key = nameKey(message.name);
        const holder = byName.get(key);
        if (holder !== undefined && holder !== at) return send(from, { t: "evict", name: message.name, address: message.address, port: message.port });
        const previous = byAddress.get(at);
        if (previous !== undefined) byName.delete(previous.key);
        byAddress.set(at, { name: message.name, key, address: message.address, port: message.port, seenMs: performance.now() });
        byName.set(key, at);
        remembered.take(message.address, message.port, 0);
        changes++;
        return others(from, message);
      }
      case "leave": {
        const at = addressKey(message.address, message.port);
        const entry = byAddress.get(at);
        if (entry === undefined || entry.key !== nameKey(message.name)) return;
        byAddress.delete(at);
        byName.delete(entry.key);
        if (message.timedOut) remembered.remember(message.address, message.port, message.name, performance.now());
        changes++;
        return others(from, message);
      }
      case "rename": {
        const at = addressKey(message.address, message.port);
        const entry = byAddress.get(at);
        if (entry === undefined) return; // its join lost, and the worker has been told to evict it
        const key = nameKey(message.name);
        const holder = byName.get(key);
        if (holder !== undefined && holder !== at) {
          return send(from, { t: "revert", name: message.name, oldName: entry.name, address: message.address, port: message.port });
        }
        byName.delete(entry.key);
        byAddress.set(at, { ...entry, name: message.name, key });
        byName.set(key, at);
        changes++;
        send(from, { t: "granted", name: message.name, address: message.address, port: message.port });
        return others(from, message);
      }
      case "seen": {
        const nowMs = performance.now();
        const heard = message.clients;
        for (let i = 0; i + 1 < heard.length; i += 2) {
          const entry = byAddress.get(addressKey(heard[i] as string, heard[i + 1] as number));
          if (entry !== undefined) entry.seenMs = nowMs;
        }
        return others(from, message);
      }
      case "console":
        return writeConsole(message.chunk);
      case "log":
        return log(message.line);
      case "report":
        replies.get(message.id)?.(message.report);
        replies.delete(message.id);
        return;
      case "closed":
        closedReports.get(from)?.(message.report);
        return;
      case "bound":
      case "failed":
        return; // handled while starting
    }
  }

  function spawn(index: number, port: number): Promise<{ port: number; sockopts: SocketSetup | undefined }> {
    const shared = config.admin === undefined ? undefined : sharedCounters();
    if (shared !== undefined) buffers.set(index, shared);
    const data: WorkerData = { index, config: { ...config, port }, sweeper: index === 0, gossipMs, restore, shared };
    const worker = new Worker(new URL("./worker-main.ts", import.meta.url), { workerData: data });
    workers.set(index, worker);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on("message", (message: FromWorker) => {
        if (!started && message.t === "bound") {
          started = true;
          resolve({ port: message.port, sockopts: message.sockopts });
        } else if (!started && message.t === "failed") {
          started = true;
          reject(new BindError(message.message));
        } else onMessage(index, message);
      });
      worker.on("error", (err: Error) => log(`[SERVER] worker ${index} failed: ${err.message}`));
      worker.on("exit", (code) => {
        workers.delete(index);
        buffers.delete(index);
        if (!started) {
          started = true;
          reject(new Error(`worker ${index} exited with code ${code} before binding`));
        }
        if (!stopping) onLost(index, code);
      });
    });
  }

  // A worker gone: the kernel rehashes its clients over the remaining sockets, whose registries know them already.
  function onLost(index: number, code: number): void {
    log(`[SERVER] worker ${index} stopped (exit code ${code}); ${workers.size} left, and they serve its clients`);
    if (index === sweeper && workers.size > 0) {
      sweeper = Math.min(...workers.keys());
      send(sweeper, { t: "sweeper" });
    }
  }

  async function stopAll(): Promise<void> {
    stopping = true;
    await Promise.all([...workers.values()].map((w) => w.terminate()));
    workers.clear();
  }

  let first: { port: number; sockopts: SocketSetup | undefined };
  try {
    first = await spawn(0, await reservePort(config.host, config.port));
    await Promise.all(Array.from({ length: config.workers - 1 }, (_, i) => spawn(i + 1, first.port)));
  } catch (err) {
    await stopAll();
    throw err;
  }

  function ask(index: number, clients: boolean): Promise<WorkerReport> {
    const id = nextId++;
    return new Promise((resolve) => {
      replies.set(id, resolve);
      send(index, { t: "report", id, clients });
    });
  }

  return {
    host: config.host,
    port: first.port,
    endpoint: formatEndpoint(config.host, first.port),
    sockopts: first.sockopts,
    get live() {
      return workers.size;
    },
    get clients() {
      return byAddress.size;
    },
    get shared() {
      return [...buffers.values()];
    },
    reports: (withClients = false) => Promise.all([...workers.keys()].map((index) => ask(index, withClients))),
    async shutdown(graceMs = 2000) {
      stopping = true;
      const announcer = Math.min(...workers.keys());
      const done = [...workers.keys()].map(
        (index) =>
          new Promise<WorkerReport>((resolve) => {
            closedReports.set(index, resolve);
            send(index, { t: "shutdown", announce: index === announcer, graceMs });
          }),
      );
      const reports = await Promise.race([Promise.all(done), Bun.sleep(graceMs + 3000).then(() => [] as WorkerReport[])]);
      await stopAll();
      return reports;
    },
    state: {
      get changes() {
        return changes + remembered.changes;
      },
      snapshot(wallNowMs) {
        const nowMs = performance.now();
        const offset = wallNowMs - nowMs;
        remembered.expire(nowMs);
        const clients = [...byAddress.values()].map((e) => ({ name: e.name, address: e.address, port: e.port, seenMs: e.seenMs + offset }));
        const away = [...remembered.all()].map((b) => ({ name: b.name, address: b.address, port: b.port, timedOutMs: b.expiresMs - remembered.ttlMs + offset }));
        return { writtenMs: wallNowMs, clients, away };
      },
    },
    async kill(index) {
      const worker = workers.get(index);
      if (worker === undefined) return;
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      await worker.terminate();
      await exited;
    },
  };
}

/** The counters of several workers, added up, for the one-line summary. */
export function totalStats(reports: readonly WorkerReport[]): RelayStats {
  const total = new RelayStats();
  const counters = total as unknown as Record<string, number | Record<string, number>>;
  for (const { stats } of reports) addInto(counters, stats);
  return total;
}

function addInto(into: Record<string, number | Record<string, number>>, from: StatsSnapshot): void {
  for (const [name, value] of Object.entries(from)) {
    const mine = into[name];
    if (typeof value === "number" && typeof mine === "number") into[name] = mine + value;
    else if (typeof value === "object" && typeof mine === "object") {
      for (const [reason, n] of Object.entries(value)) mine[reason] = (mine[reason] ?? 0) + n;
    }
  }
}
