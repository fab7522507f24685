// Clients that vanish without a word (closed sockets) cost the relay one ordinary send each, never an error storm.

import { describe, expect, test } from "bun:test";
import { startTestRelay } from "./support/relays.ts";

const DEAD = 1000;
const LINES = 20;

/** Registers `count` sockets from 127.0.0.1 and closes them all once the relay holds them. */
async function leaveDebris(port: number, count: number, registered: () => number): Promise<void> {
  using sockets = new DisposableStack();
  for (let i = 0; i < count; i++) {
    const s = sockets.adopt(await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } }), (u) => u.close());
    s.send(`ghost${i}`, port, "127.0.0.1");
  }
  const deadline = performance.now() + 15_000;
  while (registered() < count && performance.now() < deadline) await Bun.sleep(10);
  expect(registered()).toBe(count);
}

describe("dead clients", () => {
  test.each(["127.0.0.1", "::1"])("ICMP error reporting is off on a relay bound to %s (fails if a Bun upgrade stops it)", async (host) => {
    await using relay = await startTestRelay({ host });
    if (process.platform !== "linux") return expect(relay.sockopts).toBeUndefined();
    expect(relay.sockopts?.icmpErrorsOff).toBe(true);
  });

  test(`${DEAD} clients that closed their sockets cost no send errors, and live lines still arrive in order`, async () => {
    await using relay = await startTestRelay({ rateLimitPerSecond: 0, joinsPerSecond: 0 });
    const alice = await relay.stranger();
    const bob = await relay.stranger();
    await leaveDebris(relay.port, DEAD, () => relay.registry.size);
    alice.send("alice");
    await alice.until((l) => l === "[SERVER] alice has joined the chat.", 5000);
    bob.send("bob");
    await bob.until((l) => l === "[SERVER] bob has joined the chat.", 5000);
    await alice.until((l) => l === "[SERVER] bob has joined the chat.", 5000);
    const errorsBefore = relay.stats.sendErrors;
    for (let i = 0; i < LINES; i++) {
      alice.send(`line ${i}`);
      // A generous bound, only to catch a hang: the figures live in scripts/dead-clients.ts and docs/hardening.md.
      expect(await bob.next(5000)).toBe(`alice ~ line ${i}`);
    }
    expect(relay.stats.sendErrors - errorsBefore).toBe(0);
    expect(relay.stats.drops.unsendable).toBe(0);
    expect(relay.registry.size).toBe(DEAD + 2);
  });
});
