// Benchmark: what clients that vanished (closed sockets, never said goodbye) cost a live conversation. For each
// N it registers N clients, keeps them (live) or closes them (dead), then times a live client's lines through the
// relay (send → arrival at the last-registered client) and reads the relay's CPU time per line.

import { ConfigError, custom, integer, parseInteger, readFlags } from "../src/flags.ts";
import { ensureFdLimit } from "../src/load/kernel.ts";
import { processCpuSeconds, spawnRelay } from "../src/load/relay-process.ts";
import { parseOrExit, usageText } from "../src/usage.ts";
import { median } from "./stats.ts";

/** Most clients one measurement registers: each is a socket in this process. */
const MAX_CLIENTS = 50_000;
const KINDS = ["live", "dead"] as const;
type Kind = (typeof KINDS)[number];

/** A comma-separated list, every item checked by `item`, at least one. */
function list<T>(value: string, flag: string, item: (text: string) => T): readonly T[] {
  const items = value.split(",").map((v) => v.trim());
  if (items.some((v) => v === "")) throw new ConfigError(`${flag}: "${value}" has an empty item (a comma-separated list)`);
  return items.map(item);
}

const deadFlags = {
  counts: custom<readonly number[]>({
    section: "Options:",
    flag: "clients",
    arg: "LIST",
    default: [1000],
    defaultText: "default 1000",
    parse: (value, flag) => list(value, flag, (v) => parseInteger(flag, v, 0, 1, MAX_CLIENTS)),
    help: `client counts, comma-separated, each 1 to ${MAX_CLIENTS}`,
  }),
  kinds: custom<readonly Kind[]>({
    flag: "kinds",
    arg: "LIST",
    default: KINDS,
    defaultText: "default live,dead",
    parse: (value, flag) =>
      list(value, flag, (v) => {
        const kind = KINDS.find((k) => k === v);
        if (kind === undefined) throw new ConfigError(`${flag}: "${v}" is not one of ${KINDS.join(", ")}`);
        return kind;
      }),
    help: "live (clients kept), dead (sockets closed) or both, comma-separated",
  }),
  lines: integer({ flag: "lines", default: 200, min: 1, max: 10_000, help: "timed lines per measurement, one every --interval" }),
  intervalMs: integer({
    flag: "interval",
    arg: "MS",
    default: 10,
    min: 1,
    max: 10_000,
    help: "milliseconds between timed lines, more than the relay spends on one (~75 ms at 10000 dead)",
  }),
  rounds: integer({ flag: "rounds", default: 3, min: 1, max: 100, help: "rounds; kinds are interleaved within each round" }),
} as const;
const usage = usageText(
  {
    command: "bun run scripts/dead-clients.ts",
    about: `Spawns this project's relay (no per-source limits), registers N clients, then either keeps them
(live) or closes their sockets (dead), and measures a live line's latency and the relay's CPU time
per line: each measurement on stderr, medians as a Markdown table on stdout. Loopback only.`,
    footer: "Exit: 0 done, 1 too few file descriptors for --clients, 2 bad flags.",
  },
  deadFlags,
);
const { counts, kinds, lines, intervalMs, rounds } = parseOrExit(usage, () => readFlags(deadFlags, Bun.argv.slice(2))).values;
const fd = ensureFdLimit(Math.max(...counts) + 64);
if (!fd.ok) {
  process.stderr.write(`error: ${fd.advice ?? "too few file descriptors"}\n`);
  process.exit(1);
}

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

async function measure(count: number, kind: Kind): Promise<Result> {
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
          data() {
            if (!first) return;
            first = false;
            joined++;
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
    // Only now do the dead ones close: closed earlier, their ports would be handed to later sockets (alice's, bob's,
    // other ghosts'), whose first datagram the relay then rightly takes as a line from the ghost that had the port.
    if (kind === "dead") for (const ghost of sockets.splice(0, count)) ghost.close();
    const setupS = (performance.now() - t0) / 1000;
    const cpu0 = processCpuSeconds(relay.pid) ?? Number.NaN;
    for (let i = 0; i < lines; i++) {
      sentAt[i] = performance.now();
      alice.send(String(i), relay.port, "127.0.0.1");
      await Bun.sleep(intervalMs);
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
