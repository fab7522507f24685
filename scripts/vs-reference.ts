// Side-by-side measurement against the C reference relay: same load (the C load driver), relay pinned to
// core 0 and load to core 1, runs interleaved A B A B, medians and ratios printed as a Markdown table.
// Both of this relay's send paths are run (--send-path sendmmsg and bun); the order rotates every round (C, sendmmsg,
// bun; sendmmsg, bun, C; bun, C, sendmmsg; …) so that no relay always follows the same one.

import { join, resolve } from "node:path";
import { readFlags } from "../src/flags.ts";
import { parseOrExit, usageText } from "../src/usage.ts";
import { buildReference, cLoadFlags, type CLoadResult, exitOnSetupError, loadFromFlags, measure, requireTools } from "./reference.ts";
import { medianOf } from "./stats.ts";

const usage = usageText(
  {
    command: "bun run scripts/vs-reference.ts",
    about: `This relay against the C reference relay (bench/reference/relay.c) under the C load driver
(bench/reference/load.c), both built with gcc; relay on core 0, load on core 1 (taskset), runs
interleaved, medians and ratios as a Markdown table on stdout, each run on stderr. Loopback only.`,
    footer: `Needs gcc and taskset (Debian/Ubuntu: apt-get install gcc util-linux).
Exit: 0 done, 1 a tool missing or a build failed, 2 bad flags.`,
  },
  cLoadFlags,
);
const { values } = parseOrExit(usage, () => readFlags(cLoadFlags, Bun.argv.slice(2)));
const root = resolve(import.meta.dir, "..");
const { cRelay, cLoad } = await exitOnSetupError(() => {
  requireTools("gcc", "taskset");
  return buildReference(values.reference);
});

const relays = {
  c: (port: number) => [cRelay, String(port)],
  mmsg: (port: number) => [process.execPath, join(root, "src/server.ts"), "--port", String(port), "--quiet", "--rate-limit", "0", "--send-path", "sendmmsg"],
  bun: (port: number) => [process.execPath, join(root, "src/server.ts"), "--port", String(port), "--quiet", "--rate-limit", "0", "--send-path", "bun"],
} as const;
const kinds = ["c", "mmsg", "bun"] as const;

const load = loadFromFlags(values);
const once = (kind: keyof typeof relays, port: number) => measure(cLoad, relays[kind](port), `${kind} relay`, port, load, { relay: 0, load: 1 });

const results: Record<keyof typeof relays, CLoadResult[]> = { c: [], mmsg: [], bun: [] };
let port = 41000 + Math.floor(Math.random() * 1000);
for (let round = 1; round <= values.rounds; round++) {
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[(k + round - 1) % kinds.length]!;
    const r = await once(kind, port++);
    results[kind].push(r);
    console.error(`round ${round} ${kind}: ${Math.round(r.deliveries_per_s)} deliveries/s, ${Math.round(r.relay_ns_per_delivery)} ns CPU/delivery, loss ${r.loss}`);
  }
}
const m = (kind: keyof typeof relays, key: keyof CLoadResult) => medianOf(results[kind], (r) => r[key]);
// Per-round ratios against that round's C run, then their median (and their range): rounds share the machine's noise.
const ratios = (kind: "mmsg" | "bun", key: keyof CLoadResult) => results[kind].map((r, i) => (r[key] as number) / (results.c[i]![key] as number));
const ratio = (kind: "mmsg" | "bun", key: keyof CLoadResult) => medianOf(ratios(kind, key), (x) => x);
const range = (kind: "mmsg" | "bun", key: keyof CLoadResult) => `${Math.min(...ratios(kind, key)).toFixed(2)}–${Math.max(...ratios(kind, key)).toFixed(2)}`;
const n = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(`| relay | deliveries/s (median of ${values.rounds}) | relay CPU ns/delivery | loss | rate / C (median of per-round) | CPU / C (median of per-round) |`);
console.log("|---|---:|---:|---:|---:|---:|");
console.log(`| C reference (recvmmsg/sendmmsg) | ${n(m("c", "deliveries_per_s"))} | ${n(m("c", "relay_ns_per_delivery"))} | ${m("c", "loss").toFixed(3)} | 1 | 1 |`);
console.log(`| this relay, \`--send-path sendmmsg\` | ${n(m("mmsg", "deliveries_per_s"))} | ${n(m("mmsg", "relay_ns_per_delivery"))} | ${m("mmsg", "loss").toFixed(3)} | **${ratio("mmsg", "deliveries_per_s").toFixed(2)}×** | **${ratio("mmsg", "relay_ns_per_delivery").toFixed(2)}×** |`);
console.log(`| this relay, \`--send-path bun\` (sendMany) | ${n(m("bun", "deliveries_per_s"))} | ${n(m("bun", "relay_ns_per_delivery"))} | ${m("bun", "loss").toFixed(3)} | ${ratio("bun", "deliveries_per_s").toFixed(2)}× | ${ratio("bun", "relay_ns_per_delivery").toFixed(2)}× |`);
console.log(`\nper-round ratios, lowest–highest: sendmmsg rate ${range("mmsg", "deliveries_per_s")}, CPU ${range("mmsg", "relay_ns_per_delivery")}; bun rate ${range("bun", "deliveries_per_s")}, CPU ${range("bun", "relay_ns_per_delivery")}`);
console.log(`clients=${values.clients} senders=${values.senders} offered=${values.rate} lines/s duration=${values.durationS}s payload=${values.payloadBytes}B, relay on core 0, C load driver on core 1`);
