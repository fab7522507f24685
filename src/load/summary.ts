// The end-of-run summary: what the workers counted and measured, turned into the numbers a person and a machine read.

import { encodeHistogram, type Histogram, type LatencySummary, summarize } from "./histogram.ts";
import type { FleetFacts } from "./fleet-summary.ts";
import type { HostFacts } from "./host.ts";
import type { EncodedHistograms, IntervalRecord } from "./intervals.ts";
import type { Counters } from "./messages.ts";
import type { LoadOptions } from "./options.ts";

/** One threshold given on the command line, and how the run fared against it. */
export interface Threshold {
  /** The flag that set it, e.g. "--max-loss". */
  flag: string;
  /** What it bounds, e.g. "loss", "p99". */
  metric: string;
  limit: number;
  actual: number;
  /** "fraction" or "ms". */
  unit: string;
  pass: boolean;
}

/** The end-of-run summary. Field names are the JSON keys. */
export interface Summary {
  target: string;
  clients: number;
  workers: number;
  registered: number;
  /** Registered clients that sent. */
  senders: number;
  echo: boolean;
  rate: number;
  duration_s: number;
  payload: number;
  join_s: number;
  join_attempts: number;
  sent: number;
  /** Sends that left more than 2 ms after their scheduled time. */
  late_sends: number;
  send_errors: number;
  /** sent × recipients, where recipients = registered clients (less the sender without echo). */
  expected: number;
  delivered: number;
  lost: number;
  loss: number;
  duplicates: number;
  reordered: number;
  other: number;
  /** ICMP port/host unreachable reported on the clients' sockets during the run. */
  icmp_errors: number;
  elapsed_s: number;
  sent_per_s: number;
  deliveries_per_s: number;
  /** One-way fan-out latency from each message's scheduled send time (coordinated-omission corrected), µs. */
  latency_us: LatencySummary;
  /** The same from the moment the message actually left, µs. */
  raw_latency_us: LatencySummary;
  /** First-to-last recipient spread of each message every recipient got, µs. */
  spread_us: LatencySummary & { incomplete: number };
  generator_cpu_s: number;
  generator_cpu_ns_per_datagram: number;
  relay_cpu_s: number | null;
  relay_cpu_ns_per_delivery: number | null;
  /** Datagrams the kernel dropped at the clients' sockets during the run (buffer full: the generator fell behind). */
  client_socket_drops: number | null;
  /** Datagrams dropped at a loopback relay's socket (the relay fell behind its input); null for a remote relay. */
  relay_socket_drops: number | null;
  /** Receivers per worker whose per-sender sequence numbers were tracked (all, unless clients × senders is huge). */
  seq_tracked_receivers: number;
  interrupted: boolean;
  warnings: string[];
  breaches: string[];
  /** Every threshold given, passed or not (`breaches` are the failed ones, as sentences). */
  thresholds: Threshold[];
  /** When sending started (ISO 8601), and the host the generator ran on. */
  started_at: string | null;
  host: HostFacts | null;
  /**
   * Reserved for the relay's own figures (its admin endpoint, --relay-metrics); absent when unknown. What the
   * generator itself knows about the relay is in relay_cpu_s, relay_cpu_ns_per_delivery and relay_socket_drops.
   */
  relay?: Record<string, unknown>;
  /** A run over several agents (--bus/--agents): the per-agent breakdown and the clock verdict; absent on one host. */
  fleet?: FleetFacts;
  /** One record per second (the last covers the drain), as --json-stream prints them. */
  intervals: IntervalRecord[];
  /** The whole run's HdrHistograms (compressed base64, µs): decode and merge them with any HdrHistogram library. */
  histograms: EncodedHistograms;
}

/** Everything a run measured, as the main thread holds it at the end. */
export interface Measured {
  readonly options: LoadOptions;
  readonly target: string;
  readonly joined: number;
  readonly joinAttempts: number;
  readonly joinS: number;
  /** Registered senders. */
  readonly senders: number;
  readonly echo: boolean;
  readonly recipients: number;
  readonly totals: Counters;
  readonly latency: Histogram;
  readonly raw: Histogram;
  readonly spread: Histogram;
  readonly trackedReceivers: number;
  readonly interrupted: boolean;
  readonly drainCut: boolean;
  /** The generator's CPU seconds over the run (all threads). */
  readonly cpuS?: number;
  readonly t0Us?: number;
  /** When sending stopped: the end of the schedule, or Ctrl+C. */
  readonly stoppedUs?: number;
  readonly lastDeliveryUs?: number;
  readonly relayCpuS?: number | null;
  readonly clientDrops?: number | null;
  readonly relayDrops?: number | null;
  readonly intervals?: IntervalRecord[];
  readonly host?: HostFacts | null;
  readonly startedAt?: string | null;
}

/** Builds the summary, its warnings and its threshold breaches. */
export function buildSummary(m: Measured): Summary {
  const o = m.options;
  const t = m.totals;
  const { cpuS = 0, t0Us = 0, stoppedUs = 0, lastDeliveryUs = 0, relayCpuS = null, clientDrops = null, relayDrops = null } = m;
  const expected = t.sent * m.recipients;
  const unique = t.delivered - t.duplicates;
  const elapsedS = Math.max(stoppedUs - t0Us, lastDeliveryUs - t0Us, 0) / 1e6;
  const received = t.delivered + t.other;
  const warnings: string[] = [];
  if (m.joined < o.clients) {
    warnings.push(`${o.clients - m.joined} clients not registered (${m.interrupted && m.recipients === 0 ? "interrupted while joining" : "given up after retries"})`);
  }
  if (!m.echo && t.selfDeliveries > 0) warnings.push(`echo looked off at the probe, yet ${t.selfDeliveries} lines came back to their senders`);
  if (t.late > 0) warnings.push(`${t.late} sends missed their slot by more than 2 ms: the generator or its host fell behind`);
  if (m.drainCut) warnings.push("lines were still arriving when the drain gave up (30 s after sending): part of the loss is lines still queued in the relay");
  if (t.unreachable > 0) warnings.push(`${t.unreachable} ICMP unreachable errors during the run: the relay went away or refused traffic`);
  if (m.trackedReceivers < m.joined && t.sent > 0) warnings.push(`sequence numbers tracked on ${m.trackedReceivers} receivers only (memory bound); loss is still exact`);
  if (clientDrops !== null && clientDrops > 0) {
    warnings.push(`${clientDrops} datagrams dropped at the clients' sockets (receive buffer full): the generator fell behind, so loss and latency overstate the relay's`);
  }
  const relayCpu = relayCpuS === null ? null : round(relayCpuS, 2);
  const summary: Summary = {
    target: m.target,
    clients: o.clients,
    workers: o.workers,
    registered: m.joined,
    senders: m.senders,
    echo: m.echo,
    rate: o.rate,
    duration_s: o.durationS,
    payload: o.payloadBytes,
    join_s: round(m.joinS, 3),
    join_attempts: m.joinAttempts,
    sent: t.sent,
    late_sends: t.late,
    send_errors: t.sendErrors,
    expected,
    delivered: t.delivered,
    lost: expected - unique,
    loss: expected > 0 ? round(1 - unique / expected, 6) : 0,
    duplicates: t.duplicates,
    reordered: t.reordered,
    other: t.other,
    icmp_errors: t.unreachable,
    elapsed_s: round(elapsedS, 3),
    sent_per_s: stoppedUs > t0Us ? Math.round(t.sent / ((stoppedUs - t0Us) / 1e6)) : 0,
    deliveries_per_s: elapsedS > 0 ? Math.round(t.delivered / elapsedS) : 0,
    latency_us: summarize(m.latency),
    raw_latency_us: summarize(m.raw),
    spread_us: { ...summarize(m.spread), incomplete: Math.max(0, t.sent - t.complete) },
    generator_cpu_s: round(cpuS, 3),
    generator_cpu_ns_per_datagram: received > 0 ? Math.round((cpuS * 1e9) / received) : 0,
    relay_cpu_s: relayCpu,
    relay_cpu_ns_per_delivery: relayCpu === null || t.delivered === 0 ? null : Math.round((relayCpu * 1e9) / t.delivered),
    client_socket_drops: clientDrops,
    relay_socket_drops: relayDrops,
    seq_tracked_receivers: m.trackedReceivers,
    interrupted: m.interrupted,
    warnings,
    breaches: [],
    thresholds: [],
    started_at: m.startedAt ?? null,
    host: m.host ?? null,
    intervals: m.intervals ?? [],
    histograms: { latency: encodeHistogram(m.latency), raw: encodeHistogram(m.raw), spread: encodeHistogram(m.spread) },
  };
  summary.thresholds = evaluateThresholds(summary, o);
  summary.breaches = checkThresholds(summary, o);
  return summary;
}

/** Every threshold the options set, with the run's value and whether it passed. */
export function evaluateThresholds(s: Summary, o: LoadOptions): Threshold[] {
  const out: Threshold[] = [];
  if (o.maxLoss !== undefined) out.push({ flag: "--max-loss", metric: "loss", limit: o.maxLoss, actual: s.loss, unit: "fraction", pass: s.loss <= o.maxLoss });
  if (o.maxP99Ms !== undefined) {
    const p99Ms = s.latency_us.p99 / 1000;
    out.push({ flag: "--max-p99", metric: "p99", limit: o.maxP99Ms, actual: p99Ms, unit: "ms", pass: p99Ms <= o.maxP99Ms });
  }
  return out;
}

/** A threshold as a person reads it: "loss 0.000 % ≤ 0.100 %" when it passed, with > when it did not. */
export function thresholdText(t: Threshold): string {
  const fmt = t.unit === "fraction" ? fmtPct : (v: number) => `${v.toFixed(2)} ms`;
  return `${t.metric} ${fmt(t.actual)} ${t.pass ? "≤" : ">"} ${t.flag} ${fmt(t.limit)}`;
}

/** Threshold breaches, each as a sentence; empty when the run passed. */
export function checkThresholds(s: Summary, o: LoadOptions): string[] {
  const out: string[] = [];
  if (o.maxLoss !== undefined && !(s.loss <= o.maxLoss)) out.push(`loss ${fmtPct(s.loss)} > --max-loss ${fmtPct(o.maxLoss)}`);
  if (o.maxP99Ms !== undefined && s.latency_us.p99 / 1000 > o.maxP99Ms) {
    out.push(`p99 ${fmtMs(s.latency_us.p99)} > --max-p99 ${o.maxP99Ms} ms`);
  }
  return out;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fmtPct(fraction: number): string {
  return `${(fraction * 100).toFixed(3)} %`;
}

function fmtMs(us: number): string {
  return `${(us / 1000).toFixed(2)} ms`;
}
