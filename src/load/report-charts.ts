// The HTML report's charts as data: one or more runs' summaries turned into uPlot-ready series, computed at generation time.

import { decodeHistogram } from "./histogram.ts";
import type { IntervalRecord } from "./intervals.ts";
import type { Summary } from "./summary.ts";

/** One run on the page: its label (a file name, or "this run") and its summary. */
export interface LabelledRun {
  readonly label: string;
  readonly summary: Summary;
}

/** One line of a chart. */
export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  /** Dash pattern in px; absent = solid. */
  readonly dash?: number[];
  /** The y scale it is drawn on: "y" (left axis) or "y2" (right axis). */
  readonly scale: "y" | "y2";
}

/** A chart as the page script draws it: x values, then one array of y values (null = no point) per series. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  /** "time": seconds after sending started; "percentile": 1/(1−p) on a log axis, labelled as percentiles. */
  readonly x: "time" | "percentile";
  readonly yLabel: string;
  readonly y2Label?: string;
  readonly series: SeriesSpec[];
  readonly data: (number | null)[][];
}

const RUN_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const DASHES: (number[] | undefined)[] = [undefined, [6, 4], [2, 3], [10, 3, 2, 3], [1, 5]];

/**
 * 1/(1−p) from 1 (p = 0) to 10^7 (p = 99.99999 %), ten points a decade: the x axis of a percentile spectrum, as
 * HdrHistogram's plotter and wrk2 draw it. A run's line stops where its count no longer resolves the percentile.
 */
export const SPECTRUM_X: readonly number[] = Array.from({ length: 71 }, (_, k) => Math.round(10 ** (k / 10) * 1000) / 1000);

/** Latency (ms) at each SPECTRUM_X point of an encoded histogram; null beyond what its count resolves. */
export function spectrum(encoded: string): (number | null)[] {
  const h = decodeHistogram(encoded);
  const n = h.totalCount;
  return SPECTRUM_X.map((x) => (n === 0 || x > n ? null : h.getValueAtPercentile(100 * (1 - 1 / x)) / 1000));
}

/** Every chart of the report, for one run or several overlaid. */
export function buildCharts(runs: readonly LabelledRun[]): ChartSpec[] {
  const many = runs.length > 1;
  const tag = (run: LabelledRun, what: string) => (many ? `${run.label}: ${what}` : what);
  // One colour per run when comparing (metrics told apart by dash); one colour per metric for a single run.
  const style = (r: number, m: number) => ({ color: RUN_COLORS[(many ? r : m) % RUN_COLORS.length]!, ...(many && DASHES[m] ? { dash: DASHES[m] } : {}) });
  const time = timeAxis(runs.map((r) => r.summary.intervals));
  const perTime = (recs: IntervalRecord[], f: (r: IntervalRecord) => number | null) => {
    const at = new Map(recs.map((r) => [r.t_s, f(r)]));
    return time.map((t) => at.get(t) ?? null);
  };
  const rate = (r: IntervalRecord, n: number) => (r.seconds > 0 ? Math.round(n / r.seconds) : null);
  const ms = (us: number, r: IntervalRecord) => (r.delivered > 0 ? us / 1000 : null);
  const throughput: ChartSpec = {
    id: "throughput",
    title: "Deliveries and sends per second",
    x: "time",
    yLabel: "deliveries/s",
    y2Label: "sent/s",
    series: runs.flatMap((run, i) => [
      { label: tag(run, "deliveries/s"), scale: "y" as const, ...style(i, 0) },
      { label: tag(run, "sent/s"), scale: "y2" as const, ...style(i, 1) },
    ]),
    data: [time, ...runs.flatMap((run) => [perTime(run.summary.intervals, (r) => rate(r, r.delivered)), perTime(run.summary.intervals, (r) => rate(r, r.sent))])],
  };
  const loss: ChartSpec = {
    id: "loss",
    // Counted when lines arrive, not by the second they were sent in: a line in flight at a boundary shows as loss in one second.
    title: "Loss per second (deliveries short of that second's sends × recipients; the run's loss is exact)",
    x: "time",
    yLabel: "loss %",
    series: runs.map((run, i) => ({ label: tag(run, "loss %"), scale: "y" as const, ...style(i, 2) })),
    data: [time, ...runs.map((run) => perTime(run.summary.intervals, (r) => (r.sent > 0 ? r.loss * 100 : null)))],
  };
  const pcts = [
    ["p50", (r: IntervalRecord) => r.p50_us],
    ["p90", (r: IntervalRecord) => r.p90_us],
    ["p99", (r: IntervalRecord) => r.p99_us],
    ["p99.9", (r: IntervalRecord) => r.p999_us],
  ] as const;
  const latency: ChartSpec = {
    id: "latency",
    title: "Latency percentiles per second (from scheduled send time)",
    x: "time",
    yLabel: "ms",
    series: runs.flatMap((run, i) => pcts.map(([name], m) => ({ label: tag(run, name), scale: "y" as const, ...style(i, m) }))),
    data: [time, ...runs.flatMap((run) => pcts.map(([, f]) => perTime(run.summary.intervals, (r) => ms(f(r), r))))],
  };
  const spectrumChart: ChartSpec = {
    id: "spectrum",
    title: "Latency by percentile (HdrHistogram percentile spectrum), corrected and raw",
    x: "percentile",
    yLabel: "ms",
    series: runs.flatMap((run, i) => [
      { label: tag(run, "corrected (from scheduled send)"), scale: "y" as const, ...style(i, 0) },
      { label: tag(run, "raw (from actual send)"), scale: "y" as const, ...style(i, 1), ...(many ? {} : { dash: [6, 4] }) },
    ]),
    data: [[...SPECTRUM_X], ...runs.flatMap((run) => [spectrum(run.summary.histograms.latency), spectrum(run.summary.histograms.raw)])],
  };
  const spread: ChartSpec = {
    id: "spread",
    title: "Spread (first to last recipient of a message) by percentile",
    x: "percentile",
    yLabel: "ms",
    series: runs.map((run, i) => ({ label: tag(run, "spread"), scale: "y" as const, ...style(i, 0) })),
    data: [[...SPECTRUM_X], ...runs.map((run) => spectrum(run.summary.histograms.spread))],
  };
  return [throughput, loss, latency, trimSpectrum(spectrumChart), trimSpectrum(spread)];
}

/** Ends a spectrum's x axis at the last percentile any run resolves, and at least one decade on. */
function trimSpectrum(c: ChartSpec): ChartSpec {
  const [xs = [], ...ys] = c.data;
  let last = 10;
  for (const y of ys) for (let i = 0; i < y.length; i++) if (y[i] !== null) last = Math.max(last, i);
  const end = Math.min(xs.length, Math.ceil((last + 1) / 10) * 10 + 1);
  return { ...c, data: c.data.map((col) => col.slice(0, end)) };
}

/** The union of the runs' interval end times, ascending (whole seconds, plus each run's drain record). */
function timeAxis(runs: readonly IntervalRecord[][]): number[] {
  return [...new Set(runs.flatMap((recs) => recs.map((r) => r.t_s)))].sort((a, b) => a - b);
}
