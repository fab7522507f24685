// Side-by-side measurement against the C reference relay: same load (the C load driver), relay pinned to
// core 0 and load to core 1, runs interleaved A B A B, medians and ratios printed as a Markdown table.
// usage: bun run scripts/vs-reference.ts [--rounds 5] [--clients 1000] [--senders 10] [--rate 1000] [--duration 3] [--reference DIR]

import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildReference, defaultReferenceDir } from "./reference.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    clients: { type: "string", default: "1000" },
    senders: { type: "string", default: "10" },
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "3" },
    payload: { type: "string", default: "32" },
    reference: { type: "string", default: defaultReferenceDir },
  },
});
const root = resolve(import.meta.dir, "..");
const { cRelay, cLoad } = buildReference(values.reference);

interface Result {
  deliveries_per_s: number;
  relay_ns_per_delivery: number;
  loss: number;
  p50_us: number;
  p99_us: number;
}

const relays = {
  c: (port: number) => [cRelay, String(port)],
  bun: (port: number) => [process.execPath, join(root, "src/server.ts"), "--port", String(port), "--quiet", "--rate-limit", "0"],
} as const;

async function once(kind: keyof typeof relays, port: number): Promise<Result> {
  const relay = Bun.spawn(["taskset", "-c", "0", ...relays[kind](port)], { stdout: "pipe", stderr: "inherit" });
  const reader = relay.stdout.getReader();
  const first = await Promise.race([reader.read(), Bun.sleep(10_000).then(() => ({ value: undefined }))]);
  if (!first.value) throw new Error(`${kind} relay did not start`);
  void (async () => {
    while (!(await reader.read()).done); // keep draining
  })();
  const load = Bun.spawn(
    ["taskset", "-c", "1", cLoad, "127.0.0.1", String(port), values.clients, values.senders, values.rate, values.duration, values.payload],
    { env: { ...process.env, RELAY_PID: String(relay.pid) }, stdout: "pipe", stderr: "inherit", timeout: 180_000 },
  );
  const out = await new Response(load.stdout).text();
  await load.exited;
  relay.kill("SIGINT");
  await Promise.race([relay.exited, Bun.sleep(5000).then(() => relay.kill("SIGKILL"))]);
  return JSON.parse(out.trim()) as Result;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const results: Record<keyof typeof relays, Result[]> = { c: [], bun: [] };
let port = 41000 + Math.floor(Math.random() * 1000);
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const kind of ["c", "bun"] as const) {
    const r = await once(kind, port++);
    results[kind].push(r);
    console.error(`round ${round} ${kind}: ${Math.round(r.deliveries_per_s)} deliveries/s, ${Math.round(r.relay_ns_per_delivery)} ns CPU/delivery, loss ${r.loss}`);
  }
}
const m = (kind: keyof typeof relays, key: keyof Result) => median(results[kind].map((r) => r[key]));
const rate = { c: m("c", "deliveries_per_s"), bun: m("bun", "deliveries_per_s") };
const cpu = { c: m("c", "relay_ns_per_delivery"), bun: m("bun", "relay_ns_per_delivery") };
console.log(`| relay | deliveries/s (median of ${values.rounds}) | relay CPU ns/delivery | loss |`);
console.log("|---|---:|---:|---:|");
console.log(`| C reference (recvmmsg/sendmmsg) | ${Math.round(rate.c)} | ${Math.round(cpu.c)} | ${m("c", "loss").toFixed(3)} |`);
console.log(`| this relay (Bun, sendMany) | ${Math.round(rate.bun)} | ${Math.round(cpu.bun)} | ${m("bun", "loss").toFixed(3)} |`);
console.log(`| **ratio (Bun / C)** | **${(rate.bun / rate.c).toFixed(2)}×** | **${(cpu.bun / cpu.c).toFixed(2)}×** | |`);
console.log(`\nclients=${values.clients} senders=${values.senders} offered=${values.rate} lines/s duration=${values.duration}s payload=${values.payload}B, relay on core 0, c_load on core 1`);
