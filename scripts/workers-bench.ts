// Deliveries/s against --workers: the relay without workers, with 1 and with 2, under the C load driver; runs interleaved, medians.

import { join, resolve } from "node:path";
import { ConfigError, custom, readFlags } from "../src/flags.ts";
import { parseOrExit, usageText } from "../src/usage.ts";
import { buildReference, cLoadFlags, type CLoadResult, exitOnSetupError, loadFromFlags, measure, requireTools } from "./reference.ts";
import { median, medianOf } from "./stats.ts";

/** A configuration: relay flags, and whether relay and load are pinned to one core each (`@0`) or float over both. */
interface Config {
  readonly label: string;
  readonly flags: string[];
  readonly pinned: boolean;
}
const known: Record<string, Config> = {
  single: { label: "no workers (default), unpinned", flags: [], pinned: false },
  w1: { label: "--workers 1, unpinned", flags: ["--workers", "1"], pinned: false },
  w2: { label: "--workers 2, unpinned", flags: ["--workers", "2"], pinned: false },
  "single@0": { label: "no workers, relay on core 0, load on core 1", flags: [], pinned: true },
  "w2@0": { label: "--workers 2, relay on core 0, load on core 1", flags: ["--workers", "2"], pinned: true },
};

/** `--configs`: names of `known`, comma-separated, at least one. */
function parseConfigs(value: string, flag: string): readonly (readonly [string, Config])[] {
  const names = value.split(",").map((n) => n.trim()).filter((n) => n !== "");
  if (names.length === 0) throw new ConfigError(`${flag}: "${value}" names no configuration (one or more of ${Object.keys(known).join(", ")})`);
  return names.map((name) => {
    const c = known[name];
    if (c === undefined) throw new ConfigError(`${flag}: unknown configuration "${name}" (one of ${Object.keys(known).join(", ")})`);
    return [name, c] as const;
  });
}

const benchFlags = {
  ...cLoadFlags,
  configs: custom({
    flag: "configs",
    arg: "LIST",
    default: parseConfigs("single,w1,w2,single@0,w2@0", "--configs"),
    defaultText: "default single,w1,w2,single@0,w2@0",
    parse: parseConfigs,
    help: "configurations, comma-separated, the first the baseline: single, w1, w2 (no workers, --workers 1, 2; relay and load float over all cores), single@0, w2@0 (relay on core 0, load on core 1)",
  }),
} as const;
const usage = usageText(
  {
    command: "bun run scripts/workers-bench.ts",
    about: `Deliveries/s of this relay without --workers, with 1 and with 2, under the C load driver
(bench/reference/load.c, built with gcc); runs interleaved, medians and per-round ratios to the
first configuration as a Markdown table on stdout, each run on stderr. Loopback only.`,
    footer: `Needs gcc, and taskset for the @0 configurations (Debian/Ubuntu: apt-get install gcc util-linux).
Exit: 0 done, 1 a tool missing or a build failed, 2 bad flags.`,
  },
  benchFlags,
);
const { values } = parseOrExit(usage, () => readFlags(benchFlags, Bun.argv.slice(2)));
const chosen = values.configs;
const root = resolve(import.meta.dir, "..");
const { cLoad } = await exitOnSetupError(() => {
  requireTools("gcc", ...(chosen.some(([, c]) => c.pinned) ? (["taskset"] as const) : []));
  return buildReference(values.reference);
});

const load = loadFromFlags(values);
function once(config: Config, port: number): Promise<CLoadResult> {
  const argv = [process.execPath, join(root, "src/server.ts"), "--port", String(port), "--quiet", "--rate-limit", "0", ...config.flags];
  return measure(cLoad, argv, `relay ${config.label}`, port, load, config.pinned ? { relay: 0, load: 1 } : {});
}

const results = new Map<string, CLoadResult[]>(chosen.map(([name]) => [name, []]));
let port = 42000 + Math.floor(Math.random() * 1000);
for (let round = 1; round <= values.rounds; round++) {
  for (const [name, config] of chosen) {
    const r = await once(config, port++);
    results.get(name)!.push(r);
    console.error(`round ${round} ${name}: ${Math.round(r.deliveries_per_s)} deliveries/s, ${Math.round(r.relay_ns_per_delivery)} ns CPU/delivery, loss ${r.loss.toFixed(4)}, p50 ${r.p50_us} µs`);
  }
}
// A shared machine swings between rounds by 2×: the ratio within each round (same minute, same neighbours) is
// the figure to read; its median is in the "vs" column.
const baseRuns = results.get(chosen[0]![0])!;
console.log(`| relay | deliveries/s (median of ${values.rounds}) | vs ${chosen[0]![0]}, median of per-round ratios | relay CPU ns/delivery | relay cores busy | loss | p50 ms |`);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [name, config] of chosen) {
  const rs = results.get(name)!;
  const m = (key: keyof CLoadResult) => medianOf(rs, (r) => r[key]);
  const rate = m("deliveries_per_s");
  const ratio = median(rs.map((r, i) => r.deliveries_per_s / baseRuns[i]!.deliveries_per_s));
  const cores = median(rs.map((r) => (r.deliveries_per_s * r.relay_ns_per_delivery) / 1e9));
  console.log(
    `| ${config.label} | ${Math.round(rate)} | ${ratio.toFixed(2)}× | ${Math.round(m("relay_ns_per_delivery"))} | ${cores.toFixed(2)} | ${m("loss").toFixed(3)} | ${(m("p50_us") / 1000).toFixed(0)} |`,
  );
}
console.log(`\nclients=${values.clients} senders=${values.senders} offered=${values.rate} lines/s duration=${values.durationS}s payload=${values.payloadBytes}B; the C load driver is one thread`);
