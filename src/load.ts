// Entry point of the load generator: parse flags, make room for the sockets, run, print, exit with a verdict.

import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { Agent } from "./load/agent.ts";
import { Coordinator, FleetError } from "./load/coordinator.ts";
import { agentLine } from "./load/fleet-summary.ts";
import { renderReport } from "./load/html-report.ts";
import { ensureFdLimit } from "./load/kernel.ts";
import { agentUsage, type LoadOptions, parseAgentFlags, parseLoadOptions, usage } from "./load/options.ts";
import { RelayScraper } from "./load/relay-metrics.ts";
import { processCpuSeconds, type SpawnedRelay, spawnRelay } from "./load/relay-process.ts";
import type { IntervalRecord } from "./load/intervals.ts";
import { type IntervalView, liveLine, summaryJson, summaryTable } from "./load/report.ts";
import { parseReportArgs, REPORT_COMMAND, REPORT_USAGE, runReportCommand } from "./load/report-command.ts";
import { LoadError, LoadRun } from "./load/run.ts";
import type { Summary } from "./load/summary.ts";
import { parseOrExit } from "./usage.ts";

/** File descriptors beyond one per client: Bun, stdio, worker plumbing. */
const FD_HEADROOM = 64;

// `report A.json B.json … --out FILE.html` is a subcommand: the one positional the generator takes, so it is read before the flags.
if (Bun.argv[2] === "report") {
  const args = parseOrExit({ command: REPORT_COMMAND, text: REPORT_USAGE }, () => parseReportArgs(Bun.argv.slice(3)));
  process.exit(runReportCommand(args));
}

// `agent --bus URL …`: a generator host of a fleet run, until Ctrl+C.
if (Bun.argv[2] === "agent") {
  const a = parseOrExit(agentUsage, () => parseAgentFlags(Bun.argv.slice(3))).options;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const name = a.name ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}-${process.pid}`;
  let agent: Agent;
  try {
    agent = await Agent.start({ bus: a.bus, name, bind: a.bind }, log);
  } catch (err) {
    log(`error: ${(err as Error).message}`);
    process.exit(1);
  }
  let leaving = false;
  const leave = async () => {
    if (leaving) process.exit(130);
    leaving = true;
    log(`agent ${name}: leaving`);
    await agent.leave();
    process.exit(0);
  };
  process.on("SIGINT", leave);
  process.on("SIGTERM", leave);
  await new Promise(() => {});
}

const parsed = parseOrExit(usage, () => parseLoadOptions(Bun.argv.slice(2)));
let options: LoadOptions = parsed.options;
const fleet = options.agents !== undefined;

const limit = fleet ? { ok: true as const, advice: "" } : ensureFdLimit(options.clients + FD_HEADROOM);
if (!limit.ok) {
  process.stderr.write(`error: ${limit.advice}\n`);
  process.exit(1);
}

let relay: SpawnedRelay | undefined;
if (options.spawnServer) {
  try {
    relay = await spawnRelay(options.host);
  } catch (err) {
    process.stderr.write(`error: --spawn-server: ${(err as Error).message}\n`);
    process.exit(1);
  }
  options = Object.freeze({ ...options, port: relay.port });
}
const relayPid = options.relayPid ?? relay?.pid;
const metricsUrl = options.relayMetrics ?? relay?.adminUrl;

const o = options;
const live = (line: string) => {
  if (!o.quiet) process.stderr.write(`${line}\n`);
};
const output = {
  live,
  interval(record: IntervalRecord, view?: IntervalView) {
    if (view !== undefined) live(liveLine(view, o.clients));
    // The live line's fields first (as before), then the interval record that --out keeps in intervals[].
    if (o.jsonStream) process.stdout.write(`${JSON.stringify({ interval: { ...view, ...record } })}\n`);
  },
};
const relayCpu = () => (relayPid === undefined ? null : processCpuSeconds(relayPid));
const run: { done: Promise<Summary>; interrupt(): void } =
  o.agents !== undefined && o.bus !== undefined
    ? new Coordinator({ ...o, bus: o.bus, agents: o.agents }, parsed.given.has("workers"), output, relayCpu)
    : new LoadRun(o, output, relayCpu, undefined, metricsUrl === undefined ? undefined : new RelayScraper(metricsUrl, o.relayMetricsToken, live));

let interrupts = 0;
process.on("SIGINT", () => {
  if (++interrupts > 1) process.exit(130);
  live("interrupted: stopping, draining, then the summary so far (Ctrl+C again to quit at once)");
  run.interrupt();
});

let code = 0;
try {
  const summary = await run.done;
  const json = summaryJson(summary);
  const table = [summaryTable(summary), ...(summary.fleet?.agents.map(agentLine) ?? [])].join("\n");
  // A stream consumer wants the final record too: --json-stream ends with the summary line, as --json prints it.
  if (o.json || o.jsonStream) process.stdout.write(`${json}\n`);
  if (o.json || o.jsonStream) process.stderr.write(`${table}\n`);
  else process.stdout.write(`${table}\n`);
  if (o.out !== undefined) writeFileSync(o.out, `${json}\n`);
  if (o.report !== undefined) writeFileSync(o.report, renderReport([{ label: "this run", summary }], `Load run against ${summary.target}: ${summary.clients} clients, ${summary.rate} msg/s`));
  code = summary.interrupted ? 130 : summary.breaches.length > 0 ? 1 : 0;
} catch (err) {
  if (!(err instanceof LoadError || err instanceof FleetError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  code = 1;
} finally {
  await relay?.stop();
}
// Let stdout finish what it holds, but never hang on a reader that went away.
await Promise.race([new Promise<void>((done) => process.stdout.write("", () => done())), Bun.sleep(1000)]);
process.exit(code);
