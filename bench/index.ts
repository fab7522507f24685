// `bun bench`: runs the selected benchmark groups in one mitata run, then prints one results table.

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { run } from "mitata";
import { bookkeepingGroup } from "./bookkeeping.ts";
import { broadcastGroup } from "./broadcast.ts";
import { encodeGroup } from "./encode.ts";
import { inboundGroup } from "./inbound.ts";
import { latencyGroup } from "./latency.ts";
import { byGroup, describeMachine, failures, type MitataResult, resultsTable, toJson } from "./report.ts";
import type { BenchGroup } from "./suite.ts";

const groups: readonly BenchGroup[] = [encodeGroup, broadcastGroup, latencyGroup, inboundGroup, bookkeepingGroup];

const usage = `Usage: bun bench [options]

Where broadcast fan-out time goes, measured with mitata on this machine.

Options:
  --quick            smaller sweeps (what CI runs; under a minute)
  --group NAMES      only these groups, comma-separated: ${groups.map((g) => g.name).join(", ")}
  --filter REGEX     only benchmarks whose name matches (mitata's filter)
  --json FILE        also write mitata's results (per group) as JSON to FILE
  -h, --help         this text

Groups:
${groups.map((g) => `  ${g.name.padEnd(12)} ${g.title}`).join("\n")}
`;

let values;
try {
  ({ values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      quick: { type: "boolean" },
      group: { type: "string", multiple: true },
      filter: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n\n${usage}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const wanted = (values.group ?? []).flatMap((g) => g.split(",")).map((g) => g.trim()).filter((g) => g !== "");
const unknown = wanted.filter((name) => !groups.some((g) => g.name === name));
if (unknown.length > 0) {
  process.stderr.write(`error: --group: unknown group ${unknown.map((u) => `"${u}"`).join(", ")} (one of ${groups.map((g) => g.name).join(", ")})\n`);
  process.exit(2);
}
let filter: RegExp | undefined;
try {
  filter = values.filter === undefined ? undefined : new RegExp(values.filter);
} catch (err) {
  process.stderr.write(`error: --filter: ${(err as Error).message}\n`);
  process.exit(2);
}

const quick = values.quick ?? false;
const selected = wanted.length === 0 ? groups : groups.filter((g) => wanted.includes(g.name));
const machine = describeMachine();
const started = performance.now();

console.log(`udp-relay benchmarks${quick ? " (quick)" : ""} · ${machine}\n`);
// One mitata run for all groups: its calibration costs seconds, once is enough. Setup happens lazily
// inside each benchmark; sockets and child processes are released after the run, even if it fails.
for (const group of selected) group.register(quick);
let result: MitataResult;
try {
  result = await run(filter ? { filter } : {});
} finally {
  for (const group of selected) await group.close();
}
const results = byGroup(result, selected);
for (const { group, notes } of results) for (const note of notes) console.log(`note (${group.name}): ${note}`);

console.log(`\n## Results (${quick ? "quick" : "full"} run, ${((performance.now() - started) / 1000).toFixed(0)} s) · ${machine}\n`);
console.log(resultsTable(results));
if (values.json !== undefined) {
  writeFileSync(values.json, toJson(machine, result, results));
  console.log(`\nJSON written to ${values.json}`);
}
const failed = failures(results);
if (failed.length > 0) {
  process.stderr.write(`\n${failed.length} benchmark run(s) failed:\n${failed.map((f) => `  ${f}`).join("\n")}\n`);
  process.exit(1);
}
