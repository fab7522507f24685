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

// No limits on either relay: --join-rate-total's 2000 joins a second would have the C driver retry names at 10 000
// clients, and a retried name that did get in is a line to everyone.
const thisRelay = (port: number) => [process.execPath, join(root, "src/server.ts"), "--port", String(port), "--quiet", "--rate-limit", "0", "--join-rate-total", "0"];
// The C relay announces each join to the joiner alone (REFERENCE_JOINS=joiner): registration is not measured, and
// otherwise costs it N²/2 notices (50 M at 10 000 clients) where this relay sends one summary a second.
const relays = {
  c: (port: number) => ["env", "REFERENCE_JOINS=joiner", cRelay, String(port)],
  mmsg: (port: number) => [...thisRelay(port), "--send-path", "sendmmsg"],
  bun: (port: number) => [...thisRelay(port), "--send-path", "bun"],
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
    console.error(
      `round ${round} ${kind}: ${Math.round(r.deliveries_per_s)} deliveries/s, ${Math.round(r.relay_ns_per_delivery)} ns relay CPU and ${Math.round(r.core_ns_per_delivery)} ns core 0 busy per delivery, loss ${r.loss}${r.other > 0 ? `, ${r.other} other datagrams (charged, not counted)` : ""}`,
    );
  }
}
const m = (kind: keyof typeof relays, key: keyof CLoadResult) => medianOf(results[kind], (r) => r[key]);
// Per-round ratios against that round's C run, then their median (and their range): rounds share the machine's noise.
const ratios = (kind: "mmsg" | "bun", key: keyof CLoadResult) => results[kind].map((r, i) => (r[key] as number) / (results.c[i]![key] as number));
const ratio = (kind: "mmsg" | "bun", key: keyof CLoadResult) => medianOf(ratios(kind, key), (x) => x);
const range = (kind: "mmsg" | "bun", key: keyof CLoadResult) => `${Math.min(...ratios(kind, key)).toFixed(2)}–${Math.max(...ratios(kind, key)).toFixed(2)}`;
const n = (x: number) => Math.round(x).toLocaleString("en-US");
const row = (label: string, kind: keyof typeof relays, bold: string) => {
  const r = (key: keyof CLoadResult) => (kind === "c" ? "1" : `${bold}${ratio(kind, key).toFixed(2)}×${bold}`);
  return `| ${label} | ${n(m(kind, "deliveries_per_s"))} | ${n(m(kind, "relay_ns_per_delivery"))} | ${m(kind, "loss").toFixed(3)} | ${r("deliveries_per_s")} | ${r("relay_ns_per_delivery")} |`;
};
// The relay core's busy time (from /proc/stat, tick-sampled) is only on stderr: at saturation it matched the relay's
// CPU within 1 % (so no work hid in ksoftirqd), and at a periodic moderate load ticks alias with the lines.
console.log(`| relay | deliveries/s (median of ${values.rounds}) | relay CPU ns/delivery | loss | rate / C | CPU / C |`);
console.log("|---|---:|---:|---:|---:|---:|");
console.log(row("C reference (recvmmsg/sendmmsg)", "c", ""));
console.log(row("this relay, `--send-path sendmmsg`", "mmsg", "**"));
console.log(row("this relay, `--send-path bun` (sendMany)", "bun", ""));
const ranges = (kind: "mmsg" | "bun") => `rate ${range(kind, "deliveries_per_s")}, CPU ${range(kind, "relay_ns_per_delivery")}`;
console.log(`\nratios are medians of per-round ratios to that round's C run; their range: sendmmsg ${ranges("mmsg")}; bun ${ranges("bun")}`);
console.log(`clients=${values.clients} senders=${values.senders} offered=${values.rate} lines/s duration=${values.durationS}s payload=${values.payloadBytes}B, relay on core 0, C load driver on core 1`);
