// Liveness over loopback: idle clients time out, are told how to return, and come back under their old name.

import { expect, test } from "bun:test";
import type { RelayConfig } from "../src/config.ts";
import type { Peer } from "./support/peer.ts";
import { startTestRelay } from "./support/relays.ts";

const IDLE_MS = 300;
const relay = (overrides: Partial<RelayConfig> = {}) => startTestRelay({ idleTimeoutMs: IDLE_MS, ...overrides });

/** Keeps `p` alive with `data` every 50 ms until disposed (`r.track(keepAlive(p, "/ping"))`: until the test ends). */
function keepAlive(p: Peer, data: string | Uint8Array): Disposable {
  const timer = setInterval(() => p.send(data), 50);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}

test("a silent client times out: the others are told, it is told how to return, and it returns by speaking", async () => {
  await using r = await relay();
  const [quiet, pinger, blank] = await r.join(3);
  r.track(keepAlive(pinger!, "/ping"));
  r.track(keepAlive(blank!, new Uint8Array(0))); // any datagram refreshes, even one that is ignored
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
  await using r = await relay();
  const [quiet, other] = await r.join(2);
  r.track(keepAlive(other!, "/ping"));
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
  await using r = await relay();
  const [quiet, other] = await r.join(2);
  r.track(keepAlive(other!, "/ping"));
  await other!.until((l) => l === "[SERVER] p0 timed out.", 2000);
  await quiet!.next(2000);
  quiet!.send("/quit");
  expect(await other!.quiet(100)).not.toContain("[SERVER] p0 has joined the chat.");
  quiet!.send("newname");
  expect(await quiet!.next()).toBe("[SERVER] newname has joined the chat.");
});

test("a mass timeout names the first --notice-rate and summarises the rest in one notice", async () => {
  // The timer stays out of it (the test sweeps by hand); joins are named too, so every peer hears every join.
  await using r = await relay({ idleTimeoutMs: 60_000 });
  const ps = await r.join(21);
  const survivor = ps[20]!;
  await using quiet = await startTestRelay({ idleTimeoutMs: 60_000, noticesPerSecond: 3 });
  const [watcher] = await quiet.join(1, "w");
  // 20 more on the relay with the default rate: w0's join and the first two are named, the rest summed up once.
  const others: Peer[] = [];
  for (let i = 0; i < 20; i++) {
    const p = await quiet.stranger();
    p.send(`q${i}`);
    await p.until((l) => l === `[SERVER] q${i} has joined the chat.`);
    others.push(p);
  }
  expect(await watcher!.until((l) => l.includes("more have joined the chat"), 3000)).toMatch(/^\[SERVER\] 18 more have joined the chat: q2, q3, .*, q19\.$/);
  await Bun.sleep(1100); // that window is over
  for (const c of quiet.registry.all()) if (c.name !== "w0") c.lastSeenMs -= 120_000;
  quiet.chat.sweep(performance.now());
  const got = await watcher!.collect(4, 3000);
  expect(got.filter((l) => /^\[SERVER\] q\d+ timed out\.$/.test(l))).toHaveLength(3);
  expect(got[3]).toMatch(/^\[SERVER\] 17 more clients timed out: (q\d+, ){16}q\d+\.$/);
  expect(quiet.registry.size).toBe(1);
  expect(quiet.chat.rememberedCount).toBe(20);
  // With every notice named (the other relay), each timeout is its own line.
  for (const c of r.registry.all()) if (c.port !== survivor.port) c.lastSeenMs -= 120_000;
  r.chat.sweep(performance.now());
  expect((await survivor.collect(20, 2000)).filter((l) => /^\[SERVER\] p\d+ timed out\.$/.test(l))).toHaveLength(20);
});

test("--idle-timeout 0 never times anyone out", async () => {
  await using r = await relay({ idleTimeoutMs: 0 });
  const [a] = await r.join(1);
  for (const c of r.registry.all()) c.lastSeenMs -= 1e9;
  r.chat.sweep(performance.now());
  expect(await a!.quiet(100)).toEqual([]);
  expect(r.registry.size).toBe(1);
});
