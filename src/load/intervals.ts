// One record per second of a run: the workers' interval reports merged into counts, percentiles and histograms.

import { encodeHistogram, type Histogram, mergeEncoded, newHistogram } from "./histogram.ts";
import { addCounters, type Counters, zeroCounters } from "./messages.ts";
import { round } from "./summary.ts";

/** The three HdrHistograms of a run or an interval, each in the standard compressed base64 form (V2), µs. */
export interface EncodedHistograms {
  /** Latency from each message's scheduled send time (coordinated-omission corrected). */
  readonly latency: string;
  /** Latency from the moment the message actually left. */
  readonly raw: string;
  /** First-to-last recipient spread of each complete message. */
  readonly spread: string;
}

/** What the generator sees of the relay during one interval; a field is absent when it cannot be known. */
export interface RelayDeltas {
  /** The relay process's CPU seconds (--spawn-server or --relay-pid). */
  cpu_s?: number;
  /** Datagrams the kernel dropped at a loopback relay's socket. */
  socket_drops?: number;
}

/** One interval. Field names are the JSON keys (`intervals[]` in --out, `{"interval": …}` lines of --json-stream). */
export interface IntervalRecord {
  /** End of the interval, seconds after sending started. */
  t_s: number;
  /** Its length: 1, except the last record, which covers the drain after sending stopped. */
  seconds: number;
  /** The drain record: what arrived after the last full second. */
  drain: boolean;
  sent: number;
  delivered: number;
  /** Second copies among `delivered` (a fleet's coordinator needs them to merge loss exactly). */
  duplicates: number;
  /**
   * 1 − delivered / (sent × recipients) in this interval, at least 0. Deliveries are counted when they arrive and
   * sends when they leave, so a line sent at the end of one second and delivered in the next shifts a little
   * between neighbours; the run's `loss` is exact.
   */
  loss: number;
  late: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  raw_p99_us: number;
  spread_p99_us: number;
  /** Datagrams dropped at the clients' sockets (kernel counters); null where they cannot be read. */
  client_socket_drops: number | null;
  /** Relay-side deltas; absent when nothing about the relay is known. */
  relay?: RelayDeltas;
  histograms: EncodedHistograms;
}

/** What a worker's interval report contributes. */
export interface WorkerInterval {
  readonly counters: Counters;
  readonly latency: string;
  readonly raw: string;
  readonly spread: string;
}

/** Cumulative readings taken when an interval completes; deltas between readings go into the records. */
export interface Readings {
  readonly relayCpuS: number | null;
  readonly relayDrops: number | null;
  readonly clientDrops: number | null;
}

interface Slot {
  readonly counters: Counters;
  readonly latency: Histogram;
  readonly raw: Histogram;
  readonly spread: Histogram;
  reports: number;
}

/** Merges the workers' per-interval reports into IntervalRecords, in order, as each interval completes. */
export class IntervalRecorder {
  readonly records: IntervalRecord[] = [];
  private readonly slots = new Map<number, Slot>();
  private drainSlot: Slot | undefined;
  private last: Readings;
  private lastEndS = 0;

  constructor(
    private workers: number,
    private readonly recipients: number,
    private readonly read: () => Readings,
  ) {
    this.last = read();
  }

  /** Folds one worker's report for interval `index` in; returns the record when that was the last worker to report it. */
  add(index: number, r: WorkerInterval): IntervalRecord | undefined {
    let slot = this.slots.get(index);
    if (slot === undefined) {
      slot = newSlot();
      this.slots.set(index, slot);
    }
    fold(slot, r);
    if (slot.reports < this.workers) return undefined;
    this.slots.delete(index);
    return this.close(slot, index + 1, 1, false);
  }

  /** One reporter fewer (an agent that went away): returns the records that were waiting only for it, in order. */
  dropReporter(): IntervalRecord[] {
    this.workers--;
    const out: IntervalRecord[] = [];
    for (const index of [...this.slots.keys()].sort((a, b) => a - b)) {
      const slot = this.slots.get(index)!;
      if (slot.reports < this.workers) continue;
      this.slots.delete(index);
      out.push(this.close(slot, index + 1, 1, false));
    }
    return out;
  }

  /** Folds one worker's final report in; returns the drain record once every worker has sent its own (undefined if it holds nothing). */
  addFinal(r: WorkerInterval, endS: number): IntervalRecord | undefined {
    this.drainSlot ??= newSlot();
    const slot = this.drainSlot;
    fold(slot, r);
    if (slot.reports < this.workers) return undefined;
    if (slot.counters.sent === 0 && slot.counters.delivered === 0) return undefined;
    return this.close(slot, round(Math.max(endS, this.lastEndS), 3), round(Math.max(0, endS - this.lastEndS), 3), true);
  }

  private close(slot: Slot, tS: number, seconds: number, drain: boolean): IntervalRecord {
    const c = slot.counters;
    const now = this.read();
    const was = this.last;
    this.last = now;
    this.lastEndS = Math.max(this.lastEndS, tS);
    const delta = (a: number | null, b: number | null) => (a === null || b === null ? undefined : b - a);
    const relay: RelayDeltas = {};
    const cpu = delta(was.relayCpuS, now.relayCpuS);
    if (cpu !== undefined) relay.cpu_s = round(cpu, 3);
    const drops = delta(was.relayDrops, now.relayDrops);
    if (drops !== undefined) relay.socket_drops = drops;
    const owed = c.sent * this.recipients;
    const unique = c.delivered - c.duplicates;
    const at = (h: Histogram, p: number) => (h.totalCount === 0 ? 0 : h.getValueAtPercentile(p));
    const record: IntervalRecord = {
      t_s: tS,
      seconds,
      drain,
      sent: c.sent,
      delivered: c.delivered,
      duplicates: c.duplicates,
      loss: owed > 0 ? round(Math.max(0, 1 - unique / owed), 6) : 0,
      late: c.late,
      p50_us: at(slot.latency, 50),
      p90_us: at(slot.latency, 90),
      p99_us: at(slot.latency, 99),
      p999_us: at(slot.latency, 99.9),
      max_us: slot.latency.totalCount === 0 ? 0 : slot.latency.maxValue,
      raw_p99_us: at(slot.raw, 99),
      spread_p99_us: at(slot.spread, 99),
      client_socket_drops: delta(was.clientDrops, now.clientDrops) ?? null,
      ...(Object.keys(relay).length > 0 ? { relay } : {}),
      histograms: { latency: encodeHistogram(slot.latency), raw: encodeHistogram(slot.raw), spread: encodeHistogram(slot.spread) },
    };
    this.records.push(record);
    return record;
  }
}

function newSlot(): Slot {
  return { counters: zeroCounters(), latency: newHistogram(true), raw: newHistogram(true), spread: newHistogram(true), reports: 0 };
}

function fold(slot: Slot, r: WorkerInterval): void {
  addCounters(slot.counters, r.counters);
  mergeEncoded(slot.latency, r.latency);
  mergeEncoded(slot.raw, r.raw);
  mergeEncoded(slot.spread, r.spread);
  slot.reports++;
}
