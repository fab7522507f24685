// Counters in shared memory: the relay's thread copies them out a few times a second; the admin thread reads them
// without asking, so it answers even while the relay's event loop is saturated and runs no timers of its own.

import type { Relay } from "../relay.ts";
import type { Bus } from "../scale/bus.ts";
import { FANOUT_BUCKETS_SECONDS, RelayStats } from "../stats.ts";
import { DROP_REASONS } from "./metrics.ts";
import type { BusSample, FanoutCounts } from "./source.ts";

/** The number fields of RelayStats (all but `drops`), in declaration order. */
const STAT_FIELDS = Object.entries(new RelayStats()).flatMap(([k, v]) => (typeof v === "number" ? [k] : []));
const FANOUT_SLOTS = FANOUT_BUCKETS_SECONDS.length + 1;

// Slot layout of the Float64Array: the stats, the drops, then the fields below, then the fan-out buckets.
const DROPS_AT = STAT_FIELDS.length;
const CLIENTS = DROPS_AT + DROP_REASONS.length;
const BACKLOG = CLIENTS + 1;
const OPEN = BACKLOG + 1;
/** When the relay thread's own timer last ran (ms since the epoch): its lag is how overdue the next run is. */
const TICK_AT = OPEN + 1;
const PUBLISHED_AT = TICK_AT + 1;
const FANOUT_SUM = PUBLISHED_AT + 1;
const FANOUT_COUNT = FANOUT_SUM + 1;
const BUS = FANOUT_COUNT + 1; // connected (-1: no bus), published, received, lost, reconnects
const FANOUT_AT = BUS + 5;
const SLOTS = FANOUT_AT + FANOUT_SLOTS;

/** How often the relay thread's timer publishes (and proves the thread runs timers). */
export const PUBLISH_EVERY_MS = 100;

/** A block of shared counters for one relay thread. */
export function sharedCounters(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(SLOTS * 8);
  const view = new Float64Array(buffer);
  view[TICK_AT] = Date.now();
  view[BUS] = -1;
  return buffer;
}

/**
 * Runs on the relay's thread: copies its counters into `buffer` from a PUBLISH_EVERY_MS timer and from `observe`
 * (hand it to startRelay's `observe` before the relay exists; `attach` the relay once it does).
 */
export class Publisher {
  private readonly view: Float64Array;
  private relay: Relay | undefined;
  private bus: Bus | undefined;
  private lastMs = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.view = new Float64Array(buffer);
  }

  /**
   * For RelayOptions.observe (once per OBSERVE_EVERY datagrams): publishes if PUBLISH_EVERY_MS have passed. When
   * datagrams come faster than the relay handles them, Bun's receive loop runs back to back and no timer fires on its
   * thread; this keeps the figures current then.
   */
  readonly observe = (): void => {
    const now = performance.now();
    if (now - this.lastMs >= PUBLISH_EVERY_MS) this.publish(now);
  };

  attach(relay: Relay, bus?: Bus): void {
    this.relay = relay;
    this.bus = bus;
    this.publish(performance.now());
    this.timer = setInterval(() => {
      this.view[TICK_AT] = Date.now();
      this.publish(performance.now());
    }, PUBLISH_EVERY_MS);
    this.timer.unref();
  }

  /** Publishes once more (the socket closed) and stops the timer. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.publish(performance.now());
  }

  private publish(nowMs: number): void {
    const relay = this.relay;
    if (relay === undefined) return;
    this.lastMs = nowMs;
    const v = this.view;
    const stats = relay.stats as unknown as Record<string, number>;
    for (let i = 0; i < STAT_FIELDS.length; i++) v[i] = stats[STAT_FIELDS[i]!]!;
    const drops = relay.stats.drops;
    for (let i = 0; i < DROP_REASONS.length; i++) v[DROPS_AT + i] = drops[DROP_REASONS[i]!];
    v[CLIENTS] = relay.registry.size;
    v[BACKLOG] = relay.backlog;
    v[OPEN] = relay.open ? 1 : 0;
    const times = relay.fanoutTimes;
    v[FANOUT_SUM] = times.sumSeconds;
    v[FANOUT_COUNT] = times.count;
    for (let i = 0; i < FANOUT_SLOTS; i++) v[FANOUT_AT + i] = times.counts[i]!;
    const bus = this.bus;
    if (bus !== undefined) {
      v[BUS] = bus.connected ? 1 : 0;
      v[BUS + 1] = bus.counters.published;
      v[BUS + 2] = bus.counters.received;
      v[BUS + 3] = bus.counters.lost;
      v[BUS + 4] = bus.counters.reconnects;
    }
    v[PUBLISHED_AT] = Date.now();
  }
}

/** What one relay thread last published, read on another thread. */
export interface Published {
  readonly stats: RelayStats;
  readonly clients: number;
  readonly backlog: number;
  readonly open: boolean;
  /** How overdue the relay thread's PUBLISH_EVERY_MS timer is now, in seconds: its event-loop lag. */
  readonly lagSeconds: number;
  readonly fanout: FanoutCounts;
  readonly bus: BusSample | undefined;
}

/** Reads a block published by a Publisher (on any thread). */
export function readPublished(buffer: SharedArrayBuffer, nowMs = Date.now()): Published {
  const v = new Float64Array(buffer);
  const stats = new RelayStats();
  const into = stats as unknown as Record<string, number>;
  STAT_FIELDS.forEach((field, i) => (into[field] = v[i]!));
  DROP_REASONS.forEach((reason, i) => (stats.drops[reason] = v[DROPS_AT + i]!));
  const counts: number[] = [];
  for (let i = 0; i < FANOUT_SLOTS; i++) counts.push(v[FANOUT_AT + i]!);
  return {
    stats,
    clients: v[CLIENTS]!,
    backlog: v[BACKLOG]!,
    open: v[OPEN] === 1,
    lagSeconds: Math.max(0, nowMs - v[TICK_AT]! - PUBLISH_EVERY_MS) / 1000,
    fanout: { counts, sumSeconds: v[FANOUT_SUM]!, count: v[FANOUT_COUNT]! },
    bus:
      v[BUS] === -1
        ? undefined
        : { connected: v[BUS] === 1, published: v[BUS + 1]!, received: v[BUS + 2]!, lost: v[BUS + 3]!, reconnects: v[BUS + 4]! },
  };
}
