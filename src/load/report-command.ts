// `bun run load report A.json B.json … --out FILE.html`: several runs' --out files overlaid on one report page.

import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../flags.ts";
import { type LabelledRun, renderReport } from "./html-report.ts";
import type { Summary } from "./summary.ts";

export const REPORT_COMMAND = "bun run src/load.ts report";

export const REPORT_USAGE = `Usage: ${REPORT_COMMAND} A.json [B.json …] --out FILE.html [--title TEXT]

Draws the summaries that \`bun run src/load.ts … --out A.json\` wrote on one self-contained HTML page:
every run a column in the tables and a line in every chart (e.g. before/after a change, or two relays).

  --out FILE.html      where to write the page (required)
  --title TEXT         the page's heading (default: the runs' labels)
  -h, --help           this text

Exit: 0 written, 1 a file is missing, unreadable or not a load summary, 2 bad arguments.
`;

/** What the subcommand was asked to do. */
export type ReportArgs = { readonly help: true } | { readonly help: false; readonly files: readonly string[]; readonly out: string; readonly title: string | undefined };

/** A summary file that cannot be used; the message names it. Exit 1. */
export class ReportInputError extends Error {
  override readonly name = "ReportInputError";
}

/** Reads the subcommand's arguments (those after `report`). Throws ConfigError for bad ones. */
export function parseReportArgs(argv: readonly string[]): ReportArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { out: { type: "string" }, title: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length === 0) throw new ConfigError("report: no summary files given (the JSON files that --out wrote)");
  if (values.out === undefined || values.out === "") throw new ConfigError("report: --out FILE.html is required");
  return { help: false, files: positionals, out: values.out, title: values.title };
}

/** Reads one --out file; throws ReportInputError naming it when it is missing, unreadable, or not a load summary of this version. */
export function readSummaryFile(file: string): Summary {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ReportInputError(`${file}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? (err as Error).message})`}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.trim().split("\n").at(-1) ?? "");
  } catch {
    throw new ReportInputError(`${file}: not JSON (expected the summary that --out writes)`);
  }
  const s = value as Partial<Summary> | null;
  if (typeof s !== "object" || s === null || typeof s.target !== "string" || typeof s.latency_us !== "object") {
    throw new ReportInputError(`${file}: not a load generator summary (expected the JSON that --out writes)`);
  }
  if (!Array.isArray(s.intervals) || typeof s.histograms !== "object" || s.histograms === null) {
    throw new ReportInputError(`${file}: a load summary without intervals and histograms (written before --report existed): run it again`);
  }
  return s as Summary;
}

/** Labels for the runs: file names without .json, made unique. */
export function labelFiles(files: readonly string[]): string[] {
  const names = files.map((f) => basename(f).replace(/\.json$/i, ""));
  return names.map((n, i) => (names.indexOf(n) === i && names.lastIndexOf(n) === i ? n : `${n} (${i + 1})`));
}

/** Runs the subcommand; returns the exit code. Writes to stderr what went wrong. */
export function runReportCommand(args: Exclude<ReportArgs, { help: true }>): number {
  try {
    const labels = labelFiles(args.files);
    const runs: LabelledRun[] = args.files.map((f, i) => ({ label: labels[i]!, summary: readSummaryFile(f) }));
    writeFileSync(args.out, renderReport(runs, args.title ?? `Load runs: ${labels.join(" vs ")}`));
    return 0;
  } catch (err) {
    if (err instanceof ReportInputError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const code = (err as { code?: string }).code;
    if (code !== undefined) {
      process.stderr.write(`error: --out ${args.out}: cannot write (${code})\n`);
      return 1;
    }
    throw err;
  }
}
