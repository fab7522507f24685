// The admin endpoint's view of a worker group: every worker asked for its counters, and the figures summed.

import { totalStats, type WorkerGroup } from "../scale/workers.ts";
import { FANOUT_BUCKETS_SECONDS } from "../stats.ts";
import { mergeColumns } from "./columns.ts";
import type { AdminSource, FanoutCounts } from "./source.ts";

/** Workers answer in well under a millisecond; one that never does (it just died) must not hang a scrape. */
const ANSWER_WITHIN_MS = 2000;

function within<T>(answer: Promise<T>): Promise<T> {
  const late = Bun.sleep(ANSWER_WITHIN_MS).then(() => Promise.reject(new Error(`the workers did not answer within ${ANSWER_WITHIN_MS} ms`)));
  return Promise.race([answer, late]);
}

/** A worker group on this process: totals are sums over the live workers, lag is the worst worker's. */
export function workersSource(group: WorkerGroup): AdminSource {
  return {
    health: () => ({ open: group.live > 0 }),
    close: () => {},
    async sample() {
      const reports = await within(group.reports());
      const counts = new Array<number>(FANOUT_BUCKETS_SECONDS.length + 1).fill(0);
      let sumSeconds = 0;
      let count = 0;
      let lagSeconds = 0;
      let backlog = 0;
      for (const r of reports) {
        r.fanout.counts.forEach((n, i) => (counts[i]! += n));
        sumSeconds += r.fanout.sumSeconds;
        count += r.fanout.count;
        lagSeconds = Math.max(lagSeconds, r.lagSeconds);
        backlog += r.backlog;
      }
      const fanout: FanoutCounts = { counts, sumSeconds, count };
      return {
        atMs: Date.now(),
        stats: totalStats(reports),
        clients: group.clients,
        backlog,
        fanout,
        lagSeconds,
        sockopts: group.sockopts,
        workers: reports.length,
        open: reports.length > 0,
        bus: undefined,
        perWorker: reports.map((r) => ({ index: r.index, clients: r.clients, lines: r.stats.linesRelayed as number, deliveries: r.stats.deliveries as number })),
      };
    },
    async clients() {
      const reports = await within(group.reports(true));
      return { clients: mergeColumns(reports.flatMap((r) => (r.clientColumns === undefined ? [] : [r.clientColumns]))), originMs: 0 };
    },
  };
}
