// The last five minutes, one point a second: rates for /stats and the live page's charts. Cold: one sample a second.

import type { DropReason } from "../stats.ts";
import { DROP_REASONS } from "./metrics.ts";
import type { Sample } from "./source.ts";

/** Points kept: five minutes at one a second. */
export const HISTORY_POINTS = 300;

/** Counter values at one moment, copied out of a Sample. */
interface Totals {
  readonly atMs: number;
  readonly lines: number;
  readonly deliveries: number;
  readonly datagrams: number;
  readonly drops: readonly number[];
  readonly fanoutSum: number;
  readonly fanoutCount: number;
}

/** One second of the charts. */
export interface Point {
  /** Seconds since the epoch. */
  readonly t: number;
  readonly clients: number;
  readonly linesPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly datagramsPerSecond: number;
  /** Per reason, in DROP_REASONS order. */
  readonly dropsPerSecond: readonly number[];
  readonly backlog: number;
  readonly lagSeconds: number;
  /** Mean time of the broadcasts timed in this second; 0 when none was. */
  readonly fanoutSeconds: number;
}

/** Rates over a span. */
export interface Rates {
  readonly seconds: number;
  readonly linesPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly datagramsPerSecond: number;
  /** Only the reasons with drops in the span. */
  readonly dropsPerSecond: Readonly<Partial<Record<DropReason, number>>>;
}

function totalsOf(sample: Sample): Totals {
  const s = sample.stats;
  return {
    atMs: sample.atMs,
    lines: s.linesRelayed,
    deliveries: s.deliveries,
    datagrams: s.datagramsIn,
    drops: DROP_REASONS.map((r) => s.drops[r]),
    fanoutSum: sample.fanout.sumSeconds,
    fanoutCount: sample.fanout.count,
  };
}

/** Samples kept in rings: totals (for rates) and the points derived from consecutive ones (for charts). */
export class History {
  private readonly totals: Totals[] = [];
  private readonly points: Point[] = [];

  /** Adds a sample (about one a second). */
  add(sample: Sample): void {
    const now = totalsOf(sample);
    const before = this.totals[this.totals.length - 1];
    this.totals.push(now);
    // Totals reach one more point back than charts, for the last minute's rates.
    if (this.totals.length > HISTORY_POINTS + 1) this.totals.shift();
    if (before === undefined) return;
    const dt = Math.max(0.001, (now.atMs - before.atMs) / 1000);
    const fanouts = now.fanoutCount - before.fanoutCount;
    this.points.push({
      t: now.atMs / 1000,
      clients: sample.clients,
      linesPerSecond: (now.lines - before.lines) / dt,
      deliveriesPerSecond: (now.deliveries - before.deliveries) / dt,
      datagramsPerSecond: (now.datagrams - before.datagrams) / dt,
      dropsPerSecond: now.drops.map((n, i) => (n - before.drops[i]!) / dt),
      backlog: sample.backlog,
      lagSeconds: sample.lagSeconds,
      fanoutSeconds: fanouts > 0 ? (now.fanoutSum - before.fanoutSum) / fanouts : 0,
    });
    if (this.points.length > HISTORY_POINTS) this.points.shift();
  }

  /** Points after `sinceSeconds` (epoch seconds), oldest first. */
  since(sinceSeconds = 0): Point[] {
    return this.points.filter((p) => p.t > sinceSeconds);
  }

  /** Rates from the sample about `seconds` ago (or the oldest kept) to the newest; undefined before two samples. */
  rates(seconds: number): Rates | undefined {
    const last = this.totals[this.totals.length - 1];
    if (last === undefined) return undefined;
    let first: Totals | undefined;
    for (let i = this.totals.length - 2; i >= 0; i--) {
      first = this.totals[i];
      if (last.atMs - first!.atMs >= seconds * 1000 - 250) break;
    }
    if (first === undefined) return undefined;
    const dt = (last.atMs - first.atMs) / 1000;
    const drops: Partial<Record<DropReason, number>> = {};
    DROP_REASONS.forEach((reason, i) => {
      const n = last.drops[i]! - first.drops[i]!;
      if (n > 0) drops[reason] = n / dt;
    });
    return {
      seconds: dt,
      linesPerSecond: (last.lines - first.lines) / dt,
      deliveriesPerSecond: (last.deliveries - first.deliveries) / dt,
      datagramsPerSecond: (last.datagrams - first.datagrams) / dt,
      dropsPerSecond: drops,
    };
  }
}
