// The server as a real process under abuse: hundreds of junk sources, a flood during SIGINT; bounded memory, clean exit.

import { readFileSync } from "node:fs";
import { expect, test } from "bun:test";
import { challengeReply } from "../src/protocol/answer.ts";
import { type Peer, type PeerOwner, peer } from "./support/peer.ts";
import { endedOnDispose } from "./support/process.ts";
import { bun, root, spawnServer } from "./support/server-process.ts";

const JUNK_SOCKETS = 300;
const JUNK_MS = 2500;
/** Far above what the relay needs; a leak of even a few bytes per junk datagram (~400 000 of them) would cross it. */
const MAX_RSS_GROWTH_BYTES = 48 << 20;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb === null ? 0 : Number(kb[1]) * 1024;
}

/** Joins `name` through the challenge; the peer is closed with `relay`. */
async function joinVerified(relay: PeerOwner, name: string): Promise<Peer> {
  const p = await relay.stranger();
  p.send(name);
  const reply = challengeReply(await p.until((l) => challengeReply(l) !== undefined));
  p.send(reply!);
  await p.until((l) => l === `[SERVER] ${name} has joined the chat.`);
  return p;
}

// pauseMs 0 = as fast as the sender can; the junk test paces itself (256 every 2 ms, at most ~128 000 a second) because it is
// about hostile content, not overload: a sender faster than the relay fills its socket buffer, and then the
// kernel drops legit datagrams as blindly as junk. The flood test and the SIGINT test below are about overload.
// Disposing one SIGKILLs it.
function hostile(mode: "flood" | "junk", port: number, ms: number, pauseMs = 0) {
  return endedOnDispose(Bun.spawn([bun, "test/fixtures/flood.ts", mode, String(port), String(ms), String(JUNK_SOCKETS), String(pauseMs)], { cwd: root, stdout: "pipe", stderr: "pipe" }));
}

test("junk from hundreds of sources: memory stays bounded, legit clients are served, shutdown is clean", async () => {
  await using server = await spawnServer(["--quiet", "--verify-address", "on"]);
  await using junk = hostile("junk", server.port, JUNK_MS, 2);
  const alice = await joinVerified(server, "alice");
  const bob = await joinVerified(server, "bob");
  await Bun.sleep(300); // the junk senders are bound and sending
  const rssBefore = rssBytes(server.proc.pid);
  let peak = rssBefore;
  // Chat through the junk: every line arrives.
  for (let i = 0; i < 10; i++) {
    alice.send(`through the junk ${i}`);
    expect(await bob.until((l) => l.startsWith("alice ~"), 2000)).toBe(`alice ~ through the junk ${i}`);
    peak = Math.max(peak, rssBytes(server.proc.pid));
    await Bun.sleep(100);
  }
  const { sent } = JSON.parse(await new Response(junk.stdout).text()) as { sent: number };
  peak = Math.max(peak, rssBytes(server.proc.pid));
  // The junk spent --unknown-rate-total every second, so newcomers waited; once it stops they join at once.
  await Bun.sleep(1000);
  await joinVerified(server, "carol");
  expect(sent).toBeGreaterThan(20_000);
  expect(peak - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES);

  const { code, stderr } = await server.stop("SIGINT", 5000);
  expect(code).toBe(0);
  // Junk never registers: the only clients are the three that answered their challenge.
  expect(stderr).toMatch(/^\[SERVER\] Summary: clients=3 /m);
  expect(stderr).toMatch(/unknown_limited=\d+/);
  expect(stderr).toMatch(/bad_code=\d+/);
  expect(stderr).toMatch(/name_refused=\d+/);
});

test("SIGINT during a flood: the shutdown path runs at once, clients hear it, exit 0", async () => {
  await using server = await spawnServer(["--quiet"]);
  using alice = await peer(server.port);
  await using _flood = hostile("flood", server.port, 5000);
  await using _junk = hostile("junk", server.port, 5000);
  alice.send("alice");
  await alice.until((l) => l === "[SERVER] alice has joined the chat.");
  await Bun.sleep(800); // both floods are under way
  const t0 = performance.now();
  const { code, stderr } = await server.stop("SIGINT", 5000);
  const stopMs = performance.now() - t0;
  expect(code).toBe(0);
  expect(await alice.until((l) => l === "[SERVER] Server is shutting down.")).toBe("[SERVER] Server is shutting down.");
  expect(stderr).toMatch(/rate_limited=\d+/);
  // A hang bound, not a speed figure: the signal must not wait for the flood (5 s) to end.
  expect(stopMs).toBeLessThan(3000);
});
