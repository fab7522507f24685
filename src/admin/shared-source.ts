// The admin endpoint's view of relay threads through their shared counters: read without asking, so never blocked.

import type { SocketSetup } from "../sockopt.ts";
import { RelayStats } from "../stats.ts";
import { DROP_REASONS } from "./metrics.ts";
import { type Published, readPublished } from "./shared.ts";
import type { AdminSource, ClientList, FanoutCounts, Sample } from "./source.ts";

/** How the relay answered no listing: its thread is saturated (it handles messages only between bursts). */
export class RelayBusyError extends Error {
  override readonly name = "RelayBusyError";
}

/** Waits for `answer` at most `ms`, else rejects with RelayBusyError. */
export function within<T>(answer: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RelayBusyError(`the relay did not answer within ${ms} ms: its thread is saturated; try again`)), ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/**
 * One relay thread (`buffers` of one, `workers` 0) or a worker group (one each): totals are sums, lag is the worst thread's.
 * `clients` asks the relay thread(s) for the listing, which can wait while they are saturated.
 */
export function sharedSource(buffers: () => readonly SharedArrayBuffer[], sockopts: SocketSetup | undefined, workers: number, clients: () => Promise<ClientList>): AdminSource {
  const read = (): Published[] => buffers().map((b) => readPublished(b));
  return {
    health() {
      const all = read();
      const bus = all[0]?.bus;
      return { open: all.some((p) => p.open), bus: bus?.connected };
    },
    close() {},
    clients,
    async sample(): Promise<Sample> {
      const all = read();
      const stats = new RelayStats();
      const total = stats as unknown as Record<string, number>;
      const counts = new Array<number>(all[0]?.fanout.counts.length ?? 0).fill(0);
      let sumSeconds = 0;
      let count = 0;
      for (const p of all) {
        for (const [field, value] of Object.entries(p.stats)) if (typeof value === "number") total[field] = (total[field] ?? 0) + value;
        for (const reason of DROP_REASONS) stats.drops[reason] += p.stats.drops[reason];
        p.fanout.counts.forEach((n, i) => (counts[i]! += n));
        sumSeconds += p.fanout.sumSeconds;
        count += p.fanout.count;
      }
      const fanout: FanoutCounts = { counts, sumSeconds, count };
      return {
        atMs: Date.now(),
        stats,
        // Every worker's registry holds every client: the count is one worker's, not a sum.
        clients: all.reduce((n, p) => Math.max(n, p.clients), 0),
        backlog: all.reduce((n, p) => n + p.backlog, 0),
        fanout,
        lagSeconds: all.reduce((n, p) => Math.max(n, p.lagSeconds), 0),
        sockopts,
        workers: workers === 0 ? 0 : all.length,
        open: all.some((p) => p.open),
        bus: all[0]?.bus,
        perWorker: workers === 0 ? undefined : all.map((p, index) => ({ index, clients: p.clients, lines: p.stats.linesRelayed, deliveries: p.stats.deliveries })),
      };
    },
  };
}
