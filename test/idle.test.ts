// Liveness over loopback: idle clients time out, are told how to return, and come back under their old name.

import { afterEach, expect, test } from "bun:test";
import { defaults, type RelayConfig } from "../src/config.ts";
import { type Relay, startRelay } from "../src/relay.ts";
import { joinAll, type Peer } from "./support/peer.ts";

const open: { relays: Relay[]; peers: Peer[]; timers: ReturnType<typeof setInterval>[] } = { relays: [], peers: [], timers: [] };
afterEach(() => {
  for (const t of open.timers.splice(0)) clearInterval(t);
  for (const p of open.peers.splice(0)) p.close();
  for (const r of open.relays.splice(0)) r.close();
});

const IDLE_MS = 300;
async function relay(overrides: Partial<RelayConfig> = {}): Promise<Relay> {
  const r = await startRelay({ ...defaults, port: 0, quiet: true, idleTimeoutMs: IDLE_MS, ...overrides });
  open.relays.push(r);
  return r;
}
async function clients(r: Relay, count: number): Promise<Peer[]> {
  const ps = await joinAll(r.port, count);
  open.peers.push(...ps);
  return ps;
}
/** Keeps `p` alive with `data` every 50 ms until the test ends. */
function keepAlive(p: Peer, data: string | Uint8Array): void {
  open.timers.push(setInterval(() => p.send(data), 50));
}

test("a silent client times out: the others are told, it is told how to return, and it returns by speaking", async () => {
  const r = await relay();
  const [quiet, pinger, blank] = await clients(r, 3);
  keepAlive(pinger!, "/ping");
  keepAlive(blank!, new Uint8Array(0)); // any datagram refreshes, even one that is ignored
  expect(await pinger!.until((l) => l.endsWith("timed out."), 2000)).toBe("[SERVER] p0 timed out.");
  expect(await quiet!.next(2000)).toBe(`[SERVER] You timed out after ${IDLE_MS / 1000} s without a datagram. Send any line to rejoin as p0.`);
  expect(await quiet!.quiet(50)).toEqual([]);
  expect(r.registry.size).toBe(2);
  expect(r.stats.timeouts).toBe(1);

  quiet!.send("back again");
  expect(await quiet!.next()).toBe("[SERVER] p0 has joined the chat.");
  expect(await quiet!.next()).toBe("p0 ~ back again");
  expect(await blank!.until((l) => l.startsWith("p0 ~"))).toBe("p0 ~ back again");
  expect(r.registry.size).toBe(3);
});

test("a returning client whose name was taken meanwhile is asked for a new one", async () => {
  const r = await relay();
  const [quiet, other] = await clients(r, 2);
  keepAlive(other!, "/ping");
  await other!.until((l) => l === "[SERVER] p0 timed out.", 2000);
  await quiet!.next(2000);
  other!.send("/nick p0");
  await other!.until((l) => l === "[SERVER] p1 is now known as p0.");
  quiet!.send("hello?");
  expect(await quiet!.next()).toBe("[SERVER] p0 was taken while you were away. Send a new name.");
  quiet!.send("p0b");
  expect(await quiet!.next()).toBe("[SERVER] p0b has joined the chat.");
});

test("/quit while timed out just forgets the name", async () => {
  const r = await relay();
  const [quiet, other] = await clients(r, 2);
  keepAlive(other!, "/ping");
  await other!.until((l) => l === "[SERVER] p0 timed out.", 2000);
  await quiet!.next(2000);
  quiet!.send("/quit");
  expect(await other!.quiet(100)).not.toContain("[SERVER] p0 has joined the chat.");
  quiet!.send("newname");
  expect(await quiet!.next()).toBe("[SERVER] newname has joined the chat.");
});

test("a mass timeout names the first 16 and summarises the rest", async () => {
  const r = await relay({ idleTimeoutMs: 60_000 }); // the timer stays out of it: the test sweeps by hand
  const ps = await clients(r, 21);
  const survivor = ps[20]!;
  for (const c of r.registry.all()) if (c.port !== survivor.port) c.lastSeenMs -= 120_000;
  r.chat.sweep(performance.now());
  const got = await survivor.collect(17, 2000);
  expect(got.filter((l) => /^\[SERVER\] p\d+ timed out\.$/.test(l)).length).toBe(16);
  expect(got).toContain("[SERVER] 4 more clients timed out.");
  expect(r.registry.size).toBe(1);
  expect(r.chat.rememberedCount).toBe(20);
});

test("--idle-timeout 0 never times anyone out", async () => {
  const r = await relay({ idleTimeoutMs: 0 });
  const [a] = await clients(r, 1);
  for (const c of r.registry.all()) c.lastSeenMs -= 1e9;
  r.chat.sweep(performance.now());
  expect(await a!.quiet(100)).toEqual([]);
  expect(r.registry.size).toBe(1);
});
