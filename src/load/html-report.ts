// The HTML report: one self-contained file (uPlot and the data inlined, no network) for one run or several overlaid.

import { readFileSync } from "node:fs";
import { agentLine } from "./fleet-summary.ts";
import { fmtCount, fmtPct, fmtUs } from "./report.ts";
import { buildCharts, type LabelledRun } from "./report-charts.ts";
import { type Summary, thresholdText } from "./summary.ts";

export type { LabelledRun } from "./report-charts.ts";

/** uPlot's script and style, read from node_modules when a report is written (never fetched). */
function uplotAssets(): { js: string; css: string } {
  const dist = (file: string) => readFileSync(Bun.resolveSync(`uplot/dist/${file}`, import.meta.dir), "utf8");
  return { js: dist("uPlot.iife.min.js"), css: dist("uPlot.min.css") };
}

const pageScript = () => readFileSync(new URL("./report-page.js", import.meta.url), "utf8");

/** A table row: a label, then one cell per run. */
type Row = readonly [string, ...string[]];

/** The whole page. `title` heads it; every run gets a column in the tables and a line in every chart. */
export function renderReport(runs: readonly LabelledRun[], title: string, generatedAt = new Date()): string {
  const { js, css } = uplotAssets();
  const charts = buildCharts(runs);
  // The page carries each run's summary as --out wrote it, less the per-second histograms (the charts hold what they show).
  const data = {
    title,
    generated_at: generatedAt.toISOString(),
    runs: runs.map((r) => ({ label: r.label, summary: { ...r.summary, intervals: r.summary.intervals.map(({ histograms: _, ...rest }) => rest) } })),
    charts,
  };
  const heads = runs.map((r) => r.label);
  const section = (name: string, rows: Row[]) => (rows.length === 0 ? "" : `<h2>${esc(name)}</h2>\n${table(heads, rows)}`);
  const each = (f: (s: Summary) => string): string[] => runs.map((r) => f(r.summary));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Generated ${esc(data.generated_at)} by <code>bun run load</code>. Latency is one-way, relay fan-out, from each message's scheduled send time (corrected for coordinated omission) unless marked raw.</p>
${section("Thresholds", thresholdRows(runs))}
${section("Run configuration", configRows(each))}
${section("Host", hostRows(each))}
${section("Results", resultRows(each))}
${section("Agents", agentRows(runs))}
${section("Relay", relayRows(runs, each))}
${section("Warnings", warningRows(runs))}
${charts.map((c) => `<div class="chart" id="chart-${c.id}"></div>`).join("\n")}
<script type="application/json" id="report-data">${JSON.stringify(data).replace(/</g, "\\u003c")}</script>
<script>${js}</script>
<script>${pageScript()}</script>
</body>
</html>
`;
}

const PAGE_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}.meta{color:#666;margin:0 0 10px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{border-bottom:1px solid #ddd;padding:3px 12px 3px 0;text-align:left;vertical-align:top}
th{font-weight:600}td:first-child{color:#555;white-space:nowrap}.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.chart{margin:26px 0}code{background:#f4f4f4;padding:0 3px}`;

function table(heads: readonly string[], rows: readonly Row[]): string {
  const head = heads.length > 1 ? `<tr><th></th>${heads.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>` : "";
  // Cells are HTML already (escaped where they carry data); labels are plain text.
  return `<table>${head}${rows.map(([label, ...cells]) => `<tr><td>${esc(label)}</td>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</table>`;
}

/** One row per agent name over the runs that had agents: its breakdown line and whether its share completed. */
function agentRows(runs: readonly LabelledRun[]): Row[] {
  const names = [...new Set(runs.flatMap((r) => r.summary.fleet?.agents.map((a) => a.name) ?? []))];
  const rows: Row[] = names.map((name) => [
    name,
    ...runs.map((r) => {
      const a = r.summary.fleet?.agents.find((x) => x.name === name);
      return a === undefined ? "–" : `<span class="${a.complete ? "pass" : "fail"}">${a.complete ? "✓" : "✗"}</span> ${esc(agentLine(a))}`;
    }),
  ]);
  if (rows.length > 0) rows.push(["clocks", ...runs.map((r) => esc(r.summary.fleet?.cross_latency_note ?? "–"))]);
  return rows;
}

function thresholdRows(runs: readonly LabelledRun[]): Row[] {
  const flags = [...new Set(runs.flatMap((r) => r.summary.thresholds.map((t) => t.flag)))];
  return flags.map((flag) => [
    flag,
    ...runs.map((r) => {
      const t = r.summary.thresholds.find((x) => x.flag === flag);
      return t === undefined ? "–" : `<span class="${t.pass ? "pass" : "fail"}">${t.pass ? "✓" : "✗"}</span> ${esc(thresholdText(t))}`;
    }),
  ]);
}

function configRows(each: (f: (s: Summary) => string) => string[]): Row[] {
  return [
    ["target", ...each((s) => esc(`${s.target} (echo ${s.echo ? "on" : "off"})`))],
    ["started", ...each((s) => esc(s.started_at ?? "–"))],
    ["clients", ...each((s) => esc(`${s.registered}/${s.clients} registered in ${s.join_s.toFixed(2)} s, ${s.senders} sending, ${s.workers} workers`))],
    ["offered", ...each((s) => esc(`${fmtCount(s.rate)} msg/s × ${s.duration_s} s, ${s.payload} B payload`))],
  ];
}

function hostRows(each: (f: (s: Summary) => string) => string[]): Row[] {
  const h = (f: (host: NonNullable<Summary["host"]>) => string) => each((s) => (s.host === null || s.host === undefined ? "–" : esc(f(s.host))));
  const bytes = (n: number | null) => (n === null ? "?" : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`);
  return [
    ["kernel", ...h((x) => x.kernel)],
    ["CPU", ...h((x) => `${x.cores} cores available, ${x.cpu}`)],
    ["memory", ...h((x) => `${x.memory_gib} GiB`)],
    ["Bun", ...h((x) => x.bun)],
    ["client receive buffer", ...h((x) => `asked ${bytes(x.client_rcvbuf_asked)}, granted ${bytes(x.client_rcvbuf_granted)}`)],
    ["net.core", ...h((x) => `rmem_max ${bytes(x.rmem_max)}, wmem_max ${bytes(x.wmem_max)}, rmem_default ${bytes(x.rmem_default)}`)],
  ];
}

function resultRows(each: (f: (s: Summary) => string) => string[]): Row[] {
  const lat = (l: Summary["latency_us"]) => `p50 ${fmtUs(l.p50)} · p90 ${fmtUs(l.p90)} · p99 ${fmtUs(l.p99)} · p99.9 ${fmtUs(l.p999)} · max ${fmtUs(l.max)}`;
  return [
    ["sent", ...each((s) => esc(`${fmtCount(s.sent)} (${fmtCount(s.sent_per_s)}/s), ${s.late_sends} late, ${s.send_errors} errors`))],
    ["delivered", ...each((s) => esc(`${fmtCount(s.delivered)} of ${fmtCount(s.expected)}, ${fmtCount(s.deliveries_per_s)}/s`))],
    ["loss", ...each((s) => esc(`${fmtPct(s.loss)} (${s.lost} lost), ${s.duplicates} duplicates, ${s.reordered} reordered`))],
    ["latency", ...each((s) => esc(lat(s.latency_us)))],
    ["latency, raw", ...each((s) => esc(lat(s.raw_latency_us)))],
    ["spread", ...each((s) => esc(`${lat(s.spread_us)} (${s.spread_us.count} complete messages)`))],
    ["generator CPU", ...each((s) => esc(`${s.generator_cpu_s.toFixed(2)} s, ${s.generator_cpu_ns_per_datagram} ns per datagram received`))],
  ];
}

/** What the generator knows about the relay, then the relay's own figures (`relay`, from its admin endpoint) when present. */
function relayRows(runs: readonly LabelledRun[], each: (f: (s: Summary) => string) => string[]): Row[] {
  const rows: Row[] = [
    ["relay CPU", ...each((s) => (s.relay_cpu_s === null ? "unknown (no --spawn-server or --relay-pid)" : esc(`${s.relay_cpu_s.toFixed(2)} s, ${s.relay_cpu_ns_per_delivery} ns per delivery`)))],
    ["relay socket drops", ...each((s) => (s.relay_socket_drops === null ? "unknown (relay not on loopback)" : esc(String(s.relay_socket_drops))))],
    ["client socket drops", ...each((s) => (s.client_socket_drops === null ? "unknown" : esc(String(s.client_socket_drops))))],
  ];
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.summary.relay ?? {})))];
  for (const k of keys) rows.push([k, ...each((s) => (s.relay?.[k] === undefined ? "–" : esc(JSON.stringify(s.relay[k]))))]);
  return rows;
}

function warningRows(runs: readonly LabelledRun[]): Row[] {
  const rows: Row[] = [];
  runs.forEach((r, i) => {
    for (const w of r.summary.warnings) rows.push([runs.length > 1 ? r.label : "warning", ...runs.map((_, j) => (j === i ? esc(w) : ""))]);
    if (r.summary.interrupted) rows.push([r.label, ...runs.map((_, j) => (j === i ? "interrupted: the summary so far" : ""))]);
  });
  return rows;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
