// GET /metrics: a Sample in the Prometheus text exposition format 0.0.4, written by hand (the format is small).

import { FANOUT_BUCKETS_SECONDS, FANOUT_TIMED_EVERY, Drops } from "../stats.ts";
import type { Sample } from "./source.ts";

/** The Content-Type Prometheus expects for format 0.0.4. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every drop reason the summary knows, in its order: one `relay_dropped_total` series each, zeros included. */
export const DROP_REASONS = Object.keys(new Drops()) as (keyof Drops)[];

/** What stays the same for the life of the process. */
export interface ProcessInfo {
  readonly version: string;
  /** Seconds since the epoch when the process started. */
  readonly startTimeSeconds: number;
}

/** Builds the exposition: HELP and TYPE for each family, base units, `_total` on counters, no per-client labels. */
export function renderMetrics(sample: Sample, info: ProcessInfo): string {
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge" | "histogram", help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const one = (name: string, type: "counter" | "gauge", help: string, value: number) => {
    family(name, type, help);
    out.push(`${name} ${num(value)}`);
  };
  const s = sample.stats;
  one("relay_datagrams_received_total", "counter", "UDP datagrams received, of any kind.", s.datagramsIn);
  one("relay_bytes_received_total", "counter", "Bytes of UDP payload received.", s.bytesIn);
  one("relay_lines_relayed_total", "counter", "Chat lines accepted for fan-out.", s.linesRelayed);
  one("relay_deliveries_total", "counter", "Datagrams handed to the kernel, one per recipient.", s.deliveries);
  one("relay_bytes_sent_total", "counter", "Bytes of UDP payload handed to the kernel.", s.bytesSent);
  family("relay_dropped_total", "counter", "Datagrams not relayed or not delivered, by reason (the summary's names).");
  for (const reason of DROP_REASONS) out.push(`relay_dropped_total{reason="${reason}"} ${num(s.drops[reason])}`);
  one("relay_send_errors_total", "counter", "Failed sends resumed past (no route, a firewall refusing, or ICMP errors where they could not be turned off).", s.sendErrors);
  one("relay_backpressure_events_total", "counter", "Times fan-out met a full socket buffer and queued the rest.", s.backpressureEvents);
  one("relay_challenges_total", "counter", "Join codes sent to new addresses (address validation).", s.challenges);
  one("relay_commands_total", "counter", "Commands executed.", s.commands);
  one("relay_joins_total", "counter", "Joins accepted.", s.joins);
  family("relay_leaves_total", "counter", "Clients that left: quit (/quit), timeout (idle sweep), evicted (lost a name race on another worker or node).");
  out.push(`relay_leaves_total{how="quit"} ${num(s.leaves)}`, `relay_leaves_total{how="timeout"} ${num(s.timeouts)}`, `relay_leaves_total{how="evicted"} ${num(s.evictions)}`);
  one("relay_clients", "gauge", "Registered clients.", sample.clients);
  one("relay_send_backlog_datagrams", "gauge", "Datagrams queued for a full socket buffer.", sample.backlog);
  family("relay_fanout_seconds", "histogram", `Time one broadcast takes (all its sendMany calls); one broadcast in ${FANOUT_TIMED_EVERY} is timed.`);
  let cumulative = 0;
  FANOUT_BUCKETS_SECONDS.forEach((le, i) => {
    cumulative += sample.fanout.counts[i] ?? 0;
    out.push(`relay_fanout_seconds_bucket{le="${le}"} ${num(cumulative)}`);
  });
  out.push(
    `relay_fanout_seconds_bucket{le="+Inf"} ${num(sample.fanout.count)}`,
    `relay_fanout_seconds_sum ${num(sample.fanout.sumSeconds)}`,
    `relay_fanout_seconds_count ${num(sample.fanout.count)}`,
  );
  one("relay_event_loop_lag_seconds", "gauge", "Worst lateness of a 100 ms timer over the last 1-2 s on the relay's thread(s).", sample.lagSeconds);
  if (sample.sockopts !== undefined) {
    family("relay_socket_buffer_bytes", "gauge", "Kernel socket buffer sizes granted.");
    out.push(`relay_socket_buffer_bytes{direction="receive"} ${num(sample.sockopts.recvBytes)}`, `relay_socket_buffer_bytes{direction="send"} ${num(sample.sockopts.sendBytes)}`);
  }
  one("relay_workers", "gauge", "Worker threads sharing the port (0: the relay runs on the main thread).", sample.workers);
  one("relay_socket_open", "gauge", "1 while the UDP socket is open.", sample.open ? 1 : 0);
  if (sample.bus !== undefined) {
    one("relay_bus_connected", "gauge", "1 while the mesh bus (NATS) connection is up.", sample.bus.connected ? 1 : 0);
    one("relay_bus_lines_lost_total", "counter", "Lines not published because the bus was down.", sample.bus.lost);
    one("relay_bus_lines_published_total", "counter", "Lines published to the other nodes.", sample.bus.published);
    one("relay_bus_lines_received_total", "counter", "Lines received from the other nodes.", sample.bus.received);
    one("relay_bus_reconnects_total", "counter", "Reconnections to the bus.", sample.bus.reconnects);
  }
  family("relay_build_info", "gauge", "Always 1; the labels say what is running.");
  out.push(`relay_build_info{version="${label(info.version)}",bun_version="${label(Bun.version)}"} 1`);
  const cpu = process.cpuUsage();
  one("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", (cpu.user + cpu.system) / 1e6);
  one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", process.memoryUsage.rss());
  one("process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.", info.startTimeSeconds);
  out.push("");
  return out.join("\n");
}

// Integers as integers; others in full precision (Prometheus reads Go float syntax, which JS number text is).
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
}

// Label values escape backslash, double quote and newline.
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
