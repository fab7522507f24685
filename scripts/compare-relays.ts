// The numbers in docs/stress-testing.md: three relays under this generator, and this generator against the C load driver.
//
// Every relay runs pinned to core 0 (`taskset -c 0`), every generator to core 1, runs are interleaved
// (A B C A B C …) and medians are quoted, because the machine is shared and single runs are noisy.
// The C reference relay and load driver are bench/reference/relay.c and load.c, built with gcc on every run.

import { resolve } from "node:path";
import { choice, integer, readFlags, text } from "../src/flags.ts";
import { processCpuSeconds } from "../src/load/relay-process.ts";
import { parseOrExit, usageText } from "../src/usage.ts";
import { buildReference, cLoadFlags, exitOnSetupError, pinned, requireTools, runCLoad, startRelayProcess, stopRelayProcess } from "./reference.ts";
import { medianOf } from "./stats.ts";

const compareFlags = {
  rounds: integer({ section: "Options:", flag: "rounds", default: 3, min: 1, max: 1000, help: "measurements of each case, interleaved" }),
  clients: integer({ flag: "clients", default: 1000, min: 1, max: 65_536, help: "clients in every run" }),
  only: choice({
    flag: "only",
    arg: "WHAT",
    choices: ["relays", "generators", "both"],
    default: "both",
    help: "relays (the three relays under this generator), generators (this generator against the C load driver) or both",
  }),
  out: text({ flag: "out", arg: "FILE", default: undefined, nonEmpty: "a file name", help: "also write every run's JSON to FILE" }),
  reference: cLoadFlags.reference,
} as const;
const usage = usageText(
  {
    command: "bun run scripts/compare-relays.ts",
    about: `The figures in docs/stress-testing.md: this relay, the C reference relay (bench/reference/relay.c)
and a naive relay (scripts/naive-relay.ts) under this load generator, saturated and at a moderate
load; then this generator against the C load driver (bench/reference/load.c). Relays on core 0,
generators on core 1 (taskset); runs interleaved, medians as Markdown tables on stdout, each run
on stderr. Loopback only; about 40 s a round at the defaults.`,
    footer: `Needs gcc and taskset (Debian/Ubuntu: apt-get install gcc util-linux).
Exit: 0 done, 1 a tool missing or a build failed, 2 bad flags.`,
  },
  compareFlags,
);
const { values } = parseOrExit(usage, () => readFlags(compareFlags, Bun.argv.slice(2)));
const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const { rounds, clients } = values;
/** Offered load no relay here can carry: 1000 msg/s (10 senders × 100/s) × 1000 clients = 1M deliveries/s. */
const saturated = { senders: 10, rate: 1000, duration: 3 };
/** A load every relay carries: 50 msg/s × 1000 clients = 50k deliveries/s. */
const moderate = { senders: 10, rate: 50, duration: 3 };

const reference = await exitOnSetupError(() => {
  requireTools("gcc", "taskset");
  return buildReference(values.reference);
});

async function freePort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1" });
  const port = s.port;
  s.close();
  return port;
}

type RelayKind = "this relay" | "C reference" | "naive relay";

interface Started {
  readonly port: number;
  readonly proc: Bun.Subprocess;
}

/** Starts a relay pinned to core 0 and waits for its `Running on` line. */
async function startRelay(kind: RelayKind): Promise<Started> {
  const port = await freePort();
  const argv =
    kind === "this relay"
      ? [bun, "run", "src/server.ts", "--port", String(port), "--quiet", "--rate-limit", "0"]
      : kind === "C reference"
        ? [reference.cRelay, String(port)]
        : [bun, "run", "scripts/naive-relay.ts", "--port", String(port)];
  return { port, proc: await startRelayProcess(argv, kind, { core: 0, cwd: root, stderr: "ignore" }) };
}

const stop = (s: Started) => stopRelayProcess(s.proc, 3000);

type Json = Record<string, unknown> & { latency_us?: Record<string, number> };

/** This generator, pinned to core 1, one worker. */
async function ourLoad(port: number, relayPid: number, load: typeof saturated): Promise<Json> {
  const argv = pinned(1, [bun, "run", "src/load.ts", "--port", String(port), "--clients", String(clients), "--senders", String(load.senders), "--rate", String(load.rate), "--duration", String(load.duration), "--relay-pid", String(relayPid), "--workers", "1", "--json", "--quiet"]);
  const proc = Bun.spawn(argv, { cwd: root, stdout: "pipe", stderr: "pipe", timeout: 180_000 });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = out.trim().split("\n").at(-1) ?? "";
  if (!line.startsWith("{")) throw new Error(`load.ts failed: ${err.trim()}`);
  return JSON.parse(line) as Json;
}

/** The C load driver, pinned to core 1; its CPU over the sending phase is sampled from /proc. */
async function cLoad(port: number, relayPid: number, load: typeof saturated): Promise<Json> {
  const startMs = performance.now();
  const samples: [number, number][] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  const watch = (proc: Bun.Subprocess) => {
    sampler = setInterval(() => {
      const cpu = processCpuSeconds(proc.pid);
      if (cpu !== null) samples.push([performance.now() - startMs, cpu]);
    }, 50);
  };
  const run = { port, clients, senders: load.senders, rate: load.rate, durationS: load.duration, relayPid };
  const c = await runCLoad(reference.cLoad, run, { core: 1, stderr: "ignore", onStart: watch });
  clearInterval(sampler);
  // The driver sends from register_s + 0.3 s (its quiet wait) after start; charge it the CPU from then on.
  const runStartMs = (c.register_s + 0.3) * 1000;
  const before = samples.filter(([t]) => t <= runStartMs).at(-1)?.[1] ?? 0;
  const after = samples.at(-1)?.[1] ?? 0;
  return { ...c, generator_cpu_ns_per_datagram: c.delivered > 0 ? Math.round(((after - before) * 1e9) / c.delivered) : null };
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");

const results: Record<string, Json[]> = {};
const record = (key: string, r: Json) => {
  (results[key] ??= []).push(r);
  process.stderr.write(`${key}: ${JSON.stringify(pick(r))}\n`);
};
const pick = (r: Json) => ({
  deliveries_per_s: r.deliveries_per_s,
  loss: r.loss,
  relay_ns: r.relay_cpu_ns_per_delivery ?? r.relay_ns_per_delivery,
  gen_ns: r.generator_cpu_ns_per_datagram,
  p50: r.latency_us?.p50 ?? r.p50_us,
  p99: r.latency_us?.p99 ?? r.p99_us,
});

const kinds: RelayKind[] = ["this relay", "C reference", "naive relay"];
for (let round = 1; round <= rounds; round++) {
  if (values.only !== "generators") {
    for (const kind of kinds) {
      for (const [name, load] of [["saturated", saturated], ["moderate", moderate]] as const) {
        const relay = await startRelay(kind);
        try {
          record(`${kind} ${name}`, await ourLoad(relay.port, relay.proc.pid, load));
        } finally {
          await stop(relay);
        }
      }
    }
  }
  if (values.only !== "relays") {
    for (const gen of ["this generator", "C load driver"] as const) {
      const relay = await startRelay("C reference");
      try {
        const r = gen === "C load driver" ? await cLoad(relay.port, relay.proc.pid, saturated) : await ourLoad(relay.port, relay.proc.pid, saturated);
        record(`${gen} vs C reference`, r);
      } finally {
        await stop(relay);
      }
    }
  }
}

const lines: string[] = [];
const m = (key: string, f: (r: Json) => number) => medianOf(results[key] ?? [], f);
if (values.only !== "generators") {
  lines.push(`Relays at ${clients} clients (medians of ${rounds}; relay on core 0, this generator on core 1)`, "");
  const at = `${fmt(moderate.rate * clients)} deliveries/s`;
  lines.push(`| relay | saturated deliveries/s | relay CPU per delivery | p50 at ${at} | p99 at ${at} |`, "|---|---:|---:|---:|---:|");
  for (const kind of kinds) {
    const sat = `${kind} saturated`;
    const mod = `${kind} moderate`;
    lines.push(`| ${kind} | ${fmt(m(sat, (r) => r.deliveries_per_s as number))} | ${fmt(m(sat, (r) => r.relay_cpu_ns_per_delivery as number))} ns | ${fmt(m(mod, (r) => r.latency_us!.p50!))} µs | ${fmt(m(mod, (r) => r.latency_us!.p99!))} µs |`);
  }
  lines.push("");
}
if (values.only !== "relays") {
  const ours = m("this generator vs C reference", (r) => r.deliveries_per_s as number);
  const theirs = m("C load driver vs C reference", (r) => r.deliveries_per_s as number);
  lines.push(`Generators against the C reference relay at ${clients} clients, saturated (medians of ${rounds})`, "");
  lines.push("| generator | deliveries/s | generator CPU per datagram received |", "|---|---:|---:|");
  lines.push(`| this generator | ${fmt(ours)} | ${fmt(m("this generator vs C reference", (r) => r.generator_cpu_ns_per_datagram as number))} ns |`);
  lines.push(`| C load driver | ${fmt(theirs)} | ${fmt(m("C load driver vs C reference", (r) => r.generator_cpu_ns_per_datagram as number))} ns |`);
  lines.push("", `ratio this generator / C load driver: ${(ours / theirs).toFixed(2)}`);
}
console.log(lines.join("\n"));
if (values.out !== undefined) await Bun.write(values.out, JSON.stringify(results, null, 1));
