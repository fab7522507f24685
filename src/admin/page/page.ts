// The live page's script (runs in the browser): polls /series and /clients every second and draws them with uPlot.
/// <reference lib="dom" />

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** What /series returns per second (src/admin/history.ts, Point). */
interface Point {
  t: number;
  clients: number;
  linesPerSecond: number;
  deliveriesPerSecond: number;
  datagramsPerSecond: number;
  dropsPerSecond: number[];
  backlog: number;
  lagSeconds: number;
  fanoutSeconds: number;
}

interface ClientRow {
  name: string;
  address: string;
  port: number;
  joinedAt: string;
  idleSeconds: number;
  lines: number;
  rateLimited: number;
}

const WINDOW_SECONDS = 300;
const POLL_MS = 1000;
const COLOURS = ["#4fc3f7", "#ffb74d", "#e57373", "#81c784", "#ba68c8", "#fff176", "#4db6ac", "#f06292", "#a1887f", "#90a4ae"];

const $ = (id: string) => document.getElementById(id)!;
let token = sessionStorage.getItem("relay-admin-token") ?? "";
let points: Point[] = [];
let reasons: string[] = [];

/** 1234567 → "1.23 M": readable at any load. */
function si(n: number, unit = ""): string {
  if (!Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)} G${unit}`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)} k${unit}`;
  if (a >= 100 || Number.isInteger(n)) return `${Math.round(n)}${unit ? ` ${unit}` : ""}`;
  return `${n.toFixed(1)}${unit ? ` ${unit}` : ""}`;
}

function ms(seconds: number): string {
  const m = seconds * 1000;
  if (m >= 10_000) return `${Math.round(seconds)} s`;
  if (m >= 1000) return `${seconds.toFixed(1)} s`;
  return m >= 100 ? `${Math.round(m)} ms` : m >= 1 ? `${m.toFixed(1)} ms` : m === 0 ? "0" : `${Math.round(m * 1000)} µs`;
}

async function get<T>(path: string): Promise<T | undefined> {
  const res = await fetch(path, { headers: token === "" ? {} : { authorization: `Bearer ${token}` } });
  if (res.status === 401) {
    ($("login") as HTMLFormElement).hidden = false;
    $("status").textContent = "this relay wants its admin token";
    return undefined;
  }
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

interface Chart {
  plot: uPlot;
  series: (p: Point) => number[];
}
const charts: Chart[] = [];

/** A chart's box, made before any chart is drawn so that every box already has its width in the grid. */
function box(): HTMLElement {
  const b = document.createElement("div");
  b.className = "chart";
  $("charts").append(b);
  return b;
}

function chart(into: HTMLElement, title: string, labels: string[], series: (p: Point) => number[], value: (v: number) => string): Chart {
  const width = Math.max(300, into.clientWidth - 12);
  const opts: uPlot.Options = {
    title,
    width,
    height: 180,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: "#8b95a1", grid: { stroke: "#262c35" } },
      { stroke: "#8b95a1", grid: { stroke: "#262c35" }, size: 70, values: (_u, vals) => vals.map((v) => value(v)) },
    ],
    series: [
      {},
      ...labels.map((label, i) => ({
        label,
        stroke: COLOURS[i % COLOURS.length],
        width: 1.5,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? "–" : value(v)),
      })),
    ],
  };
  const c: Chart = { plot: new uPlot(opts, [[], ...labels.map(() => [])], into), series };
  charts.push(c);
  return c;
}

let dropsChart: Chart | undefined;
let dropsBox: HTMLElement;

function buildCharts(): void {
  const boxes = Array.from({ length: 7 }, box);
  chart(boxes[0]!, "Clients", ["clients"], (p) => [p.clients], (v) => si(v));
  chart(boxes[1]!, "Deliveries/s", ["deliveries/s"], (p) => [p.deliveriesPerSecond], (v) => si(v));
  chart(boxes[2]!, "Lines/s", ["lines/s", "datagrams in/s"], (p) => [p.linesPerSecond, p.datagramsPerSecond], (v) => si(v));
  dropsBox = boxes[3]!;
  chart(boxes[4]!, "Send backlog (datagrams)", ["backlog"], (p) => [p.backlog], (v) => si(v));
  chart(boxes[5]!, "Event-loop lag", ["lag"], (p) => [p.lagSeconds], ms);
  chart(boxes[6]!, "Fan-out time (one broadcast)", ["mean"], (p) => [p.fanoutSeconds], ms);
}

/** The drops chart shows the reasons seen in the window (rebuilt when a new one appears), or "none". */
function updateDrops(): void {
  const all = (window as unknown as { dropReasons: string[] }).dropReasons ?? [];
  const seen = all.filter((_r, i) => points.some((p) => (p.dropsPerSecond[i] ?? 0) > 0));
  const shown = seen.length === 0 ? ["none"] : seen;
  if (dropsChart === undefined || shown.join() !== reasons.join()) {
    if (dropsChart !== undefined) {
      dropsChart.plot.destroy();
      charts.splice(charts.indexOf(dropsChart), 1);
    }
    reasons = shown;
    const index = shown.map((r) => all.indexOf(r));
    dropsChart = chart(dropsBox, "Drops/s by reason", shown, (p) => index.map((i) => (i < 0 ? 0 : (p.dropsPerSecond[i] ?? 0))), (v) => si(v));
  }
}

function draw(): void {
  const cutoff = Date.now() / 1000 - WINDOW_SECONDS;
  points = points.filter((p) => p.t >= cutoff);
  updateDrops();
  for (const c of charts) {
    const cols: number[][] = [points.map((p) => p.t)];
    for (const p of points) c.series(p).forEach((v, i) => (cols[i + 1] ??= []).push(v));
    const n = c.plot.series.length - 1;
    for (let i = 1; i <= n; i++) cols[i] ??= [];
    c.plot.setData(cols as uPlot.AlignedData);
  }
  const last = points[points.length - 1];
  if (last === undefined) return;
  $("clients").textContent = si(last.clients);
  $("lines-rate").textContent = si(last.linesPerSecond);
  $("deliveries-rate").textContent = si(last.deliveriesPerSecond);
  $("drops-rate").textContent = si(last.dropsPerSecond.reduce((a, b) => a + b, 0));
  $("backlog").textContent = si(last.backlog);
  $("lag").textContent = ms(last.lagSeconds);
  $("fanout").textContent = last.fanoutSeconds === 0 ? "–" : ms(last.fanoutSeconds);
}

function drawClients(rows: ClientRow[]): void {
  const body = document.querySelector("#top tbody")!;
  body.replaceChildren(
    ...rows.map((c) => {
      const tr = document.createElement("tr");
      const cells = [c.name, `${c.address}:${c.port}`, si(c.lines), si(c.rateLimited), `${Math.round(c.idleSeconds)} s`, new Date(c.joinedAt).toLocaleTimeString()];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i >= 2 && i <= 4) td.className = "n";
        tr.append(td);
      });
      return tr;
    }),
  );
}

// The charts come from the admin thread's shared counters and always answer; the client table is asked of the
// relay's thread, which answers 503 while saturated: then the table waits and the charts go on.
async function poll(): Promise<void> {
  const since = points[points.length - 1]?.t ?? 0;
  const [series, top] = await Promise.allSettled([
    get<{ points: Point[]; reasons: string[] }>(`/series?since=${since}`),
    get<{ total: number; clients: ClientRow[] }>("/clients?sort=lines&limit=15"),
  ]);
  if (series.status === "rejected") {
    $("status").textContent = `cannot reach the relay: ${(series.reason as Error).message}`;
    return;
  }
  if (series.value === undefined) return;
  (window as unknown as { dropReasons: string[] }).dropReasons = series.value.reasons;
  points.push(...series.value.points);
  draw();
  const now = new Date().toLocaleTimeString();
  if (top.status === "fulfilled" && top.value !== undefined) {
    drawClients(top.value.clients);
    $("status").textContent = `updated ${now} · ${top.value.total} clients`;
  } else {
    $("status").textContent = `updated ${now} · client table waiting: the relay's thread is saturated`;
  }
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = ($("token") as HTMLInputElement).value.trim();
  sessionStorage.setItem("relay-admin-token", token);
  ($("login") as HTMLFormElement).hidden = true;
  void poll();
});

buildCharts();
void poll();
setInterval(() => void poll(), POLL_MS);
