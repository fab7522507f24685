// What a load run shows: the summary's JSON line, the table, the live line.

import type { LatencySummary } from "./histogram.ts";
import { type Attribution, attributionText } from "./relay-metrics.ts";
import { type Summary, thresholdText } from "./summary.ts";

export function summaryJson(s: Summary): string {
  return JSON.stringify(s);
}

/** The readable table printed at the end. */
export function summaryTable(s: Summary): string {
  const lat = (l: LatencySummary) =>
    `p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${fmtUs(l.p99)}  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}`;
  const rows: [string, string][] = [
    ["target", `${s.target}  (echo ${s.echo ? "on" : "off"})`],
    ["clients", `${s.registered}/${s.clients} registered in ${s.join_s.toFixed(2)} s (${s.join_attempts} name sends), ${s.senders} sending, ${s.workers} worker${s.workers === 1 ? "" : "s"}`],
    ["offered", `${fmtCount(s.rate)} msg/s × ${s.duration_s} s, ${s.payload} B payload`],
    ["sent", `${fmtCount(s.sent)} (${fmtCount(s.sent_per_s)}/s), ${s.late_sends} late, ${s.send_errors} send errors`],
    ["delivered", `${fmtCount(s.delivered)} of ${fmtCount(s.expected)} expected, ${fmtCount(s.deliveries_per_s)}/s over ${s.elapsed_s.toFixed(2)} s`],
    ["loss", `${fmtPct(s.loss)} (${s.lost} lost), ${s.duplicates} duplicates, ${s.reordered} reordered`],
    ["latency", lat(s.latency_us)],
    ["  raw", lat(s.raw_latency_us)],
    ["spread", `p50 ${fmtUs(s.spread_us.p50)}  p99 ${fmtUs(s.spread_us.p99)}  max ${fmtUs(s.spread_us.max)}  (${s.spread_us.count} complete messages)`],
    ["generator", `${s.generator_cpu_s.toFixed(2)} s CPU, ${s.generator_cpu_ns_per_datagram} ns per datagram received`],
  ];
  if (s.relay_cpu_s !== null) rows.push(["relay", `${s.relay_cpu_s.toFixed(2)} s CPU, ${s.relay_cpu_ns_per_delivery} ns per delivery`]);
  if (s.client_socket_drops !== null) {
    const relay = s.relay_socket_drops === null ? "" : `, ${s.relay_socket_drops} at the relay's socket`;
    rows.push(["drops", `${s.client_socket_drops} at the clients' sockets${relay} (kernel counters)`]);
  }
  rows.push(...relayRows(s.relay));
  for (const w of s.warnings) rows.push(["warning", w]);
  // k6-style: every threshold given, ✓ or ✗ (exit 1 if any is ✗).
  s.thresholds.forEach((t, i) => rows.push([i === 0 ? "thresholds" : "", `${t.pass ? "✓" : "✗"} ${thresholdText(t)}`]));
  if (s.interrupted) rows.push(["note", "interrupted: summary so far"]);
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join("\n");
}

/** --relay-metrics: the relay's own figures, and where the loss went. */
function relayRows(r: Record<string, unknown> | undefined): [string, string][] {
  if (r === undefined) return [];
  if (typeof r.error === "string") return [["relay says", `nothing: ${r.error}`]];
  const drops = Object.entries((r.drops ?? {}) as Record<string, number>).map(([k, n]) => `${k} ${n}`);
  const cpu = typeof r.cpu_ns_per_delivery === "number" ? `, ${r.cpu_ns_per_delivery} ns CPU per delivery` : "";
  const lagMs = ((r.event_loop_lag_max_s as number) * 1000).toFixed(1);
  return [
    ["relay says", `drops ${drops.length > 0 ? drops.join(", ") : "none"}, ${r.send_errors} send errors, backlog peak ${r.backlog_peak}, ${r.clients_registered} clients registered${cpu}, event-loop lag max ${lagMs} ms`],
    ["loss at", attributionText(r.attribution as Attribution)],
  ];
}

/** One interval, as the live line on stderr and as a `--json-stream` object. */
export interface IntervalView {
  t_s: number;
  joined: number;
  sent_per_s: number;
  deliveries_per_s: number;
  loss_so_far: number;
  p99_so_far_us: number;
  late: number;
  /** --relay-metrics: clients the relay had registered at its last scrape. */
  relay_clients?: number;
}

export function liveLine(v: IntervalView, clients: number): string {
  return `[${String(v.t_s).padStart(4)} s] joined ${v.joined}/${clients}  sent ${fmtCount(v.sent_per_s)}/s  deliveries ${fmtCount(v.deliveries_per_s)}/s  loss ${fmtPct(v.loss_so_far)}  p99 ${fmtUs(v.p99_so_far_us)}${v.late > 0 ? `  late ${v.late}` : ""}${
    v.relay_clients !== undefined && v.relay_clients > v.joined ? `  relay has ${v.relay_clients} clients (${v.relay_clients - v.joined} not ours)` : ""
  }`;
}

export function fmtUs(us: number): string {
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

export function fmtPct(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction !== 0 && Math.abs(fraction) < 0.0001 ? 5 : 3)} %`;
}

export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}
