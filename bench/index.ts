// `bun bench`: runs the selected benchmark groups in one mitata run, then prints one results table.

import { writeFileSync } from "node:fs";
import { run } from "mitata";
import { bookkeepingGroup } from "./bookkeeping.ts";
import { broadcastGroup } from "./broadcast.ts";
import { encodeGroup } from "./encode.ts";
import { inboundGroup } from "./inbound.ts";
import { latencyGroup } from "./latency.ts";
import { byGroup, describeMachine, failures, type MitataResult, resultsTable, toJson } from "./report.ts";
import type { BenchGroup } from "./suite.ts";
import { ConfigError, custom, readFlags, text, toggle } from "../src/flags.ts";
import { parseOrExit, usageText } from "../src/usage.ts";

const groups: readonly BenchGroup[] = [encodeGroup, broadcastGroup, latencyGroup, inboundGroup, bookkeepingGroup];

const groupNames = groups.map((g) => g.name);

const benchFlags = {
  quick: toggle({ section: "Options:", flag: "quick", help: "smaller sweeps (what CI runs; under a minute)" }),
  group: custom<readonly string[]>({
    flag: "group",
    arg: "NAMES",
    default: [],
    multiple: true,
    parse: parseGroups,
    help: `only these groups, comma-separated: ${groupNames.join(", ")}`,
  }),
  filter: custom<RegExp | undefined>({
    flag: "filter",
    arg: "REGEX",
    default: undefined,
    parse: (value, flag) => {
      try {
        return new RegExp(value);
      } catch (err) {
        throw new ConfigError(`${flag}: ${(err as Error).message}`);
      }
    },
    help: "only benchmarks whose name matches (mitata's filter)",
  }),
  json: text({ flag: "json", arg: "FILE", default: undefined, help: "also write mitata's results (per group) as JSON to FILE" }),
} as const;

/** `--group` values, comma-separated and repeatable; every name must be a group. */
function parseGroups(value: string, flag: string): readonly string[] {
  const wanted = value.split(",").map((g) => g.trim()).filter((g) => g !== "");
  const unknown = wanted.filter((name) => !groupNames.includes(name));
  if (unknown.length > 0) throw new ConfigError(`${flag}: unknown group ${unknown.map((u) => `"${u}"`).join(", ")} (one of ${groupNames.join(", ")})`);
  return wanted;
}

const usage = usageText(
  {
    command: "bun bench",
    about: "Where broadcast fan-out time goes, measured with mitata on this machine.",
    footer: `Groups:\n${groups.map((g) => `  ${g.name.padEnd(12)} ${g.title}`).join("\n")}`,
  },
  benchFlags,
);

const { values } = parseOrExit(usage, () => readFlags(benchFlags, Bun.argv.slice(2)));
const { quick, group: wanted, filter } = values;
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
