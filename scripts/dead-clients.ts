// Benchmark: what clients that vanished (closed sockets, never said goodbye) cost a live conversation. For each
// N it registers N clients, keeps them (live) or closes them (dead), then times a live client's lines through the
// relay (send → arrival at the last-registered client) and reads the relay's CPU time per line.

import { parseArgs } from "node:util";
import { ensureFdLimit } from "../src/load/kernel.ts";
import { processCpuSeconds, spawnRelay } from "../src/load/relay-process.ts";

const usage = `Usage: bun run scripts/dead-clients.ts [options]

Spawns this project's relay (no per-source limits), registers N clients, then either keeps them (live) or
closes their sockets (dead), and measures a live line's latency and the relay's CPU time per line.

Options:
  --clients LIST   client counts, comma-separated (default 1000)
  --kinds LIST     live, dead or both, comma-separated (default live,dead)
  --lines N        timed lines per measurement, one every 10 ms (default 200)
  --rounds N       rounds; kinds are interleaved within each round (default 3)
  -h, --help       this text
`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\nTry 'bun run scripts/dead-clients.ts --help'.\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      clients: { type: "string", default: "1000" },
      kinds: { type: "string", default: "live,dead" },
      lines: { type: "string", default: "200" },
      rounds: { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const whole = (flag: string, v: string, min: number, max: number): number => {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!(n >= min && n <= max)) fail(`${flag}: "${v}" is not a whole number from ${min} to ${max}`);
  return n;
};
const counts = values.clients.split(",").map((v) => whole("--clients", v, 1, 50_000));
const kinds = values.kinds.split(",").map((k) => k.trim());
for (const k of kinds) if (k !== "live" && k !== "dead") fail(`--kinds: "${k}" is not live or dead`);
const lines = whole("--lines", values.lines, 1, 10_000);
const rounds = whole("--rounds", values.rounds, 1, 100);
const fd = ensureFdLimit(Math.max(...counts) + 64);
if (!fd.ok) fail(fd.advice ?? "too few file descriptors");

interface Result {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerLine: number;
  readonly setupS: number;
}

/** Resolves when `done()` holds, or rejects after `ms`. */
async function waitUntil(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await Bun.sleep(5);
  }
}

async function measure(count: number, kind: string): Promise<Result> {
  const relay = await spawnRelay();
  const sockets: Bun.udp.Socket<"buffer">[] = [];
  const t0 = performance.now();
  try {
    let joined = 0;
    // Each newcomer's first datagram is its own join notice (everyone before it has joined already).
    for (let i = 0; i < count; i++) {
      let first = true;
      const s = await Bun.udpSocket({
        hostname: "127.0.0.1",
        socket: {
          data(sock) {
            if (!first) return;
            first = false;
            joined++;
            if (kind === "dead") queueMicrotask(() => sock.close());
          },
          error() {},
        },
      });
      sockets.push(s);
      s.send(`ghost${i}`, relay.port, "127.0.0.1");
      if (i % 256 === 255) await waitUntil(() => joined === i + 1, 120_000, "joins");
    }
    await waitUntil(() => joined === count, 120_000, "joins");
    const sentAt: number[] = [];
    const latencies: number[] = [];
    let aliceIn = false;
    let bobIn = false;
    const alice = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: () => void (aliceIn = true), error() {} } });
    const bob = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: {
        data(_s, payload) {
          const text = payload.toString();
          if (!bobIn) bobIn = text === "[SERVER] bob has joined the chat.";
          const m = /^alice ~ (\d+)$/.exec(text);
          if (m) latencies.push(performance.now() - sentAt[Number(m[1])]!);
        },
        error() {},
      },
    });
    sockets.push(alice, bob);
    alice.send("alice", relay.port, "127.0.0.1");
    await waitUntil(() => aliceIn, 60_000, "alice's join");
    bob.send("bob", relay.port, "127.0.0.1");
    await waitUntil(() => bobIn, 60_000, "bob's join");
    const setupS = (performance.now() - t0) / 1000;
    const cpu0 = processCpuSeconds(relay.pid) ?? Number.NaN;
    for (let i = 0; i < lines; i++) {
      sentAt[i] = performance.now();
      alice.send(String(i), relay.port, "127.0.0.1");
      await Bun.sleep(10);
    }
    await waitUntil(() => latencies.length === lines, 30_000, "the last line").catch(() => {});
    const cpu1 = processCpuSeconds(relay.pid) ?? Number.NaN;
    const sorted = latencies.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    return { p50Ms: at(0.5), p99Ms: at(0.99), cpuMsPerLine: ((cpu1 - cpu0) * 1000) / lines, setupS };
  } finally {
    for (const s of sockets) s.close();
    await relay.stop();
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const results = new Map<string, Result[]>();
for (let r = 0; r < rounds; r++) {
  for (const count of counts) {
    for (const kind of kinds) {
      const res = await measure(count, kind);
      const key = `${count} ${kind}`;
      results.set(key, [...(results.get(key) ?? []), res]);
      process.stderr.write(`round ${r + 1}: ${key}: p50 ${res.p50Ms.toFixed(3)} ms, p99 ${res.p99Ms.toFixed(3)} ms, ${res.cpuMsPerLine.toFixed(3)} ms CPU/line (set-up ${res.setupS.toFixed(1)} s)\n`);
    }
  }
}
console.log(`| clients | kind | line latency p50 | p99 | relay CPU per line | rounds |`);
console.log(`|---:|---|---:|---:|---:|---:|`);
for (const [key, rs] of results) {
  const [count, kind] = key.split(" ");
  const f = (pick: (r: Result) => number) => median(rs.map(pick)).toFixed(3);
  console.log(`| ${count} | ${kind} | ${f((r) => r.p50Ms)} ms | ${f((r) => r.p99Ms)} ms | ${f((r) => r.cpuMsPerLine)} ms | ${rs.length} |`);
}
