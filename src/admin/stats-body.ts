// GET /stats: the /metrics figures as one JSON object, with rates, uptime and the config in force (token redacted).

import type { RelayConfig } from "../config.ts";
import { FANOUT_TIMED_EVERY } from "../stats.ts";
import type { History } from "./history.ts";
import type { ProcessInfo } from "./metrics.ts";
import type { Sample } from "./source.ts";

/** What /stats shows in place of the admin token. */
export const REDACTED = "[redacted]";

/** The /stats answer. */
export function statsBody(sample: Sample, history: History, config: RelayConfig, info: ProcessInfo) {
  const s = sample.stats;
  const fanout = sample.fanout;
  return {
    version: info.version,
    bunVersion: Bun.version,
    startedAt: new Date(info.startTimeSeconds * 1000).toISOString(),
    uptimeSeconds: Math.round(Date.now() - info.startTimeSeconds * 1000) / 1000,
    clients: sample.clients,
    sendBacklogDatagrams: sample.backlog,
    workers: sample.workers,
    perWorker: sample.perWorker,
    socketOpen: sample.open,
    eventLoopLagSeconds: sample.lagSeconds,
    socketBufferBytes: sample.sockopts === undefined ? undefined : { receive: sample.sockopts.recvBytes, send: sample.sockopts.sendBytes },
    totals: { ...s, drops: { ...s.drops }, dropsTotal: s.dropsTotal },
    fanout: {
      timedEvery: FANOUT_TIMED_EVERY,
      timed: fanout.count,
      meanSeconds: fanout.count === 0 ? 0 : fanout.sumSeconds / fanout.count,
    },
    bus: sample.bus,
    rates: { lastSecond: history.rates(1) ?? null, lastMinute: history.rates(60) ?? null },
    config: { ...config, adminToken: config.adminToken === undefined ? undefined : REDACTED },
  };
}
