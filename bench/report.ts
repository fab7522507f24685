// The suite's own outputs: a markdown results table across groups, the run's context line, and the JSON file.

import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import type { run } from "mitata";
import type { BenchGroup } from "./suite.ts";

/** What mitata's `run()` returns (its types leave out `layout` and each trial's `group`). */
export type MitataResult = Awaited<ReturnType<typeof run>> & { readonly layout?: readonly { name: string | null }[] };
type Trial = MitataResult["benchmarks"][number];

/** One group's trials, kept for the table and the JSON file. */
export interface GroupResult {
  readonly group: BenchGroup;
  readonly trials: readonly Trial[];
  readonly notes: readonly string[];
}

/**
 * Splits one run's trials by suite group. Every mitata `group()` a suite group opens is named
 * `<suite group>: …`, and each trial records the index of its mitata group in `layout`.
 */
export function byGroup(result: MitataResult, groups: readonly BenchGroup[]): GroupResult[] {
  return groups.map((group) => ({
    group,
    notes: group.notes?.() ?? [],
    trials: result.benchmarks.filter((trial) => {
      const index = (trial as Trial & { group?: number }).group ?? -1;
      return result.layout?.[index]?.name?.startsWith(`${group.name}:`) ?? false;
    }),
  }));
}

/** `12.3 ns`, `4.56 µs`, `7.89 ms`: three significant digits, like mitata. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return "–";
  if (ns < 1e3) return `${ns.toFixed(ns < 10 ? 2 : 1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** Date, CPU model (from /proc/cpuinfo where there is one), core count and Bun version. */
export function describeMachine(): string {
  let model = cpus()[0]?.model ?? "unknown CPU";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line !== undefined) model = line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC · ${model} × ${cpus().length} · Bun ${Bun.version} (${process.platform}-${process.arch})`;
}

/**
 * A markdown table with one row per benchmark run: median, p99, mean, and, where the group declares
 * a per-unit argument, the median divided by it (time per recipient, per datagram).
 */
export function resultsTable(results: readonly GroupResult[]): string {
  const rows = ["| group | benchmark | p50 | p99 | avg | p50 per unit |", "| --- | --- | ---: | ---: | ---: | ---: |"];
  for (const { group, trials } of results) {
    for (const trial of trials) {
      for (const r of trial.runs) {
        if (r.stats === undefined) {
          rows.push(`| ${group.name} | ${r.name} | error: ${errorText(r.error)} | | | |`);
          continue;
        }
        const s = r.stats;
        const unit = group.per === undefined ? undefined : Number(r.args[group.per.arg]);
        const per = unit !== undefined && unit > 0 ? `${formatNs(s.p50 / unit)} ${group.per!.label}` : "";
        rows.push(`| ${group.name} | ${r.name} | ${formatNs(s.p50)} | ${formatNs(s.p99)} | ${formatNs(s.avg)} | ${per} |`);
      }
    }
  }
  return rows.join("\n");
}

/** The error of a failed run, in one line. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs that failed, as `group: name: message` lines. */
export function failures(results: readonly GroupResult[]): string[] {
  const out: string[] = [];
  for (const { group, trials } of results) {
    for (const trial of trials) {
      for (const r of trial.runs) if (r.stats === undefined) out.push(`${group.name}: ${r.name}: ${errorText(r.error)}`);
    }
  }
  return out;
}

/**
 * mitata's JSON (`layout`, `benchmarks`, `context`) as its own json format writes it with
 * `{ debug: false, samples: false }` (percentiles, no raw samples: those run to 100 MB), plus the
 * machine line and, per suite group, its trials' names, per-unit argument and notes.
 */
export function toJson(machine: string, result: MitataResult, results: readonly GroupResult[]): string {
  const doc = {
    machine,
    groups: results.map(({ group, trials, notes }) => ({
      name: group.name,
      title: group.title,
      per: group.per ?? null,
      notes,
      benchmarks: trials.map((t) => t.alias),
    })),
    layout: result.layout,
    benchmarks: result.benchmarks,
    context: result.context,
  };
  return JSON.stringify(doc, (key, value: unknown) => {
    if (key === "debug" || key === "samples") return undefined;
    if (value instanceof Error) return { message: value.message, stack: value.stack };
    return value;
  });
}
