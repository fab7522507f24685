// A fleet run's summary: the agents' counters summed and their HdrHistograms added, plus one breakdown row per agent.

import { decodeHistogram, encodeHistogram, type LatencySummary, newHistogram, summarize } from "./histogram.ts";
import type { AgentInfo } from "./fleet.ts";
import type { IntervalRecord } from "./intervals.ts";
import { addCounters, zeroCounters } from "./messages.ts";
import type { LoadOptions } from "./options.ts";
import { fmtCount, fmtPct, fmtUs } from "./report.ts";
import type { RunTotals } from "./run.ts";
import type { Share } from "./split.ts";
import { buildSummary, round, type Summary } from "./summary.ts";

/** Other agents' lines count in the latency figures only if the clock error bound is at most this part of the own-line p50. */
export const CROSS_CLOCK_SHARE = 0.1;

/** An agent's clock against the coordinator's, from the NATS round trip with the smallest RTT (NTP's rule). */
export interface ClockReading {
  /** Agent clock − coordinator clock, ms. */
  readonly offset_ms: number;
  /** Half that smallest round trip: the offset is right to within this, ms. */
  readonly uncertainty_ms: number;
}

/** How one agent's share of a fleet run went. */
export interface AgentOutcome {
  readonly info: AgentInfo;
  readonly share: Share;
  readonly clock: ClockReading;
  final?: { summary: Summary; totals: RunTotals | null };
  /** Why its share is incomplete: gone silent, or failed; with when (seconds after the start, if it had started). */
  incomplete?: string;
}

/** One row of the per-agent breakdown (`fleet.agents[]` in the JSON). */
export interface AgentRow {
  name: string;
  hostname: string;
  cores: number;
  clients_from: number;
  clients: number;
  senders: number;
  rate: number;
  clock_offset_ms: number;
  clock_uncertainty_ms: number;
  complete: boolean;
  note: string | null;
  registered: number;
  sent: number;
  /** Lines its clients received, from every agent's senders. */
  delivered: number;
  /** What its clients were owed: the fleet's sends × its registered clients (less its own sends without echo). */
  expected: number;
  loss: number;
  /** Latency of its own senders' lines at its own clients (one clock). */
  latency_us: LatencySummary;
  /** Latency of other agents' lines at its clients (two clocks). */
  cross_latency_us: LatencySummary;
  /** Its own HdrHistograms as it sent them (compressed base64, µs), for checking the merge. */
  histograms: { latency: string; raw: string; spread: string; cross: string } | null;
}

/** The fleet part of a summary (`fleet` in the JSON). */
export interface FleetFacts {
  bus: string;
  agents: AgentRow[];
  /** Largest pairwise clock error bound (sum of two agents' uncertainties), µs. */
  clock_error_us: number;
  /** Whether other agents' lines are in latency_us, and why. */
  cross_latency_included: boolean;
  cross_latency_note: string;
  /** Agents whose share is incomplete, each as a sentence. */
  incomplete: string[];
}

/** What the coordinator knows at the end. */
export interface FleetRun {
  readonly options: LoadOptions;
  readonly bus: string;
  readonly target: string;
  readonly agents: readonly AgentOutcome[];
  readonly recipients: number;
  readonly echo: boolean;
  readonly interrupted: boolean;
  readonly intervals: IntervalRecord[];
  readonly relayCpuS: number | null;
  readonly startedAt: string | null;
}

/** Sums, adds and evaluates: the fleet's Summary with --max-loss / --max-p99 decided on the merged result. */
export function buildFleetSummary(f: FleetRun): Summary & { fleet: FleetFacts } {
  const totals = zeroCounters();
  const latency = newHistogram(true);
  const raw = newHistogram(true);
  const spread = newHistogram(true);
  const cross = newHistogram(true);
  let joined = 0;
  let joinAttempts = 0;
  let joinS = 0;
  let senders = 0;
  let tracked = 0;
  let cpuS = 0;
  let stoppedS = 0;
  let lastS = 0;
  let drainCut = false;
  let clientDrops: number | null = 0;
  const add = (into: ReturnType<typeof newHistogram>, encoded: string) => {
    const h = decodeHistogram(encoded);
    into.add(h);
    h.destroy();
  };
  for (const a of f.agents) {
    const s = a.final?.summary;
    const t = a.final?.totals;
    if (s === undefined) continue;
    joined += s.registered;
    joinAttempts += s.join_attempts;
    joinS = Math.max(joinS, s.join_s);
    senders += s.senders;
    tracked += s.seq_tracked_receivers;
    if (s.warnings.some((w) => w.startsWith("lines were still arriving"))) drainCut = true;
    clientDrops = clientDrops === null || s.client_socket_drops === null ? null : clientDrops + s.client_socket_drops;
    add(latency, s.histograms.latency);
    add(raw, s.histograms.raw);
    add(spread, s.histograms.spread);
    if (t === null || t === undefined) continue;
    addCounters(totals, t.counters);
    add(cross, t.cross);
    cpuS += t.cpuS;
    stoppedS = Math.max(stoppedS, t.stoppedS);
    lastS = Math.max(lastS, t.lastDeliveryS);
  }
  // Clock rule: corrected clocks of two agents differ by at most the sum of their uncertainties.
  const u = f.agents.map((a) => a.clock.uncertainty_ms * 1000).sort((x, y) => y - x);
  const clockErrorUs = Math.round(f.agents.length < 2 ? 0 : u[0]! + u[1]!);
  const ownP50 = latency.totalCount > 0 ? latency.getValueAtPercentile(50) : 0;
  const crossIncluded = cross.totalCount > 0 && ownP50 > 0 && clockErrorUs <= CROSS_CLOCK_SHARE * ownP50;
  const crossNote =
    cross.totalCount === 0
      ? "no lines crossed agents"
      : crossIncluded
        ? `other agents' lines included: clock error ≤ ${clockErrorUs} µs, within ${CROSS_CLOCK_SHARE * 100} % of the own-line p50 (${ownP50} µs)`
        : `other agents' lines (${cross.totalCount}) left out of the latency figures: clock error bound ${clockErrorUs} µs exceeds ${CROSS_CLOCK_SHARE * 100} % of the own-line p50 (${ownP50} µs); they count for delivery and loss`;
  if (crossIncluded) latency.add(cross);
  const o = f.options;
  const workers = f.agents.reduce((n, a) => n + (a.final?.summary.workers ?? 0), 0);
  const summary = buildSummary({
    options: { ...o, workers },
    target: f.target,
    joined,
    joinAttempts,
    joinS,
    senders,
    echo: f.echo,
    recipients: f.recipients,
    totals,
    latency,
    raw,
    spread,
    trackedReceivers: tracked,
    interrupted: f.interrupted,
    drainCut,
    cpuS,
    t0Us: 0,
    stoppedUs: stoppedS * 1e6,
    lastDeliveryUs: lastS * 1e6,
    relayCpuS: f.relayCpuS,
    clientDrops,
    relayDrops: null,
    intervals: f.intervals,
    host: null,
    startedAt: f.startedAt,
  });
  // A spread is measured within one agent's clients (the only place one clock sees every arrival).
  summary.spread_us = { ...summary.spread_us, incomplete: Math.max(0, totals.sent - totals.complete) };
  const incomplete = f.agents.filter((a) => a.incomplete !== undefined).map((a) => `agent ${a.info.name}: ${a.incomplete}; its share (${a.share.clients} clients from id ${a.share.idBase}) is incomplete`);
  summary.breaches.push(...incomplete);
  if (!crossIncluded && cross.totalCount > 0) summary.warnings.push(crossNote);
  const fleet: FleetFacts = {
    bus: f.bus,
    agents: f.agents.map((a) => agentRow(a, totals.sent, f.echo)),
    clock_error_us: clockErrorUs,
    cross_latency_included: crossIncluded,
    cross_latency_note: crossNote,
    incomplete,
  };
  for (const h of [latency, raw, spread, cross]) h.destroy();
  return { ...summary, fleet };
}

function agentRow(a: AgentOutcome, fleetSent: number, echo: boolean): AgentRow {
  const s = a.final?.summary;
  const t = a.final?.totals ?? null;
  const registered = s?.registered ?? 0;
  const expected = fleetSent * registered - (echo ? 0 : (t?.counters.sent ?? 0));
  const delivered = t?.counters.delivered ?? s?.delivered ?? 0;
  const unique = delivered - (t?.counters.duplicates ?? 0);
  const crossH = t === null ? undefined : decodeHistogram(t.cross);
  const row: AgentRow = {
    name: a.info.name,
    hostname: a.info.hostname,
    cores: a.info.cores,
    clients_from: a.share.idBase,
    clients: a.share.clients,
    senders: a.share.senders,
    rate: a.share.rate,
    clock_offset_ms: round(a.clock.offset_ms, 3),
    clock_uncertainty_ms: round(a.clock.uncertainty_ms, 3),
    complete: a.incomplete === undefined && s !== undefined && !s.interrupted,
    note: a.incomplete ?? (s?.interrupted ? "interrupted" : null),
    registered,
    sent: t?.counters.sent ?? s?.sent ?? 0,
    delivered,
    expected,
    loss: expected > 0 ? round(Math.max(0, 1 - unique / expected), 6) : 0,
    latency_us: s?.latency_us ?? summarize(newHistogram()),
    cross_latency_us: crossH === undefined ? summarize(newHistogram()) : summarize(crossH),
    histograms: s === undefined ? null : { ...s.histograms, cross: t?.cross ?? encodeHistogram(newHistogram()) },
  };
  crossH?.destroy();
  return row;
}

/** One line per agent under the fleet's summary. */
export function agentLine(r: AgentRow): string {
  const state = r.complete ? "complete" : `INCOMPLETE (${r.note ?? "no final record"})`;
  const sign = r.clock_offset_ms >= 0 ? "+" : "";
  return `agent ${r.name.padEnd(12)} ${r.hostname}: ids ${r.clients_from}+${r.clients} (${r.registered} registered), sent ${fmtCount(r.sent)}, received ${fmtCount(r.delivered)} of ${fmtCount(r.expected)} (loss ${fmtPct(r.loss)}), own p50 ${fmtUs(r.latency_us.p50)} p99 ${fmtUs(r.latency_us.p99)}, clock ${sign}${r.clock_offset_ms.toFixed(3)} ± ${r.clock_uncertainty_ms.toFixed(3)} ms, ${state}`;
}
