// Two relay processes on one real nats-server: lines cross exactly once, names are unique mesh-wide, a bus outage is survived.

import { describe, expect, test } from "bun:test";
import { natsServerPath, startNats } from "./support/nats.ts";
import type { Peer, PeerOwner } from "./support/peer.ts";
import { spawnServer } from "./support/server-process.ts";

const skipReason = natsServerPath === undefined ? " [SKIPPED: nats-server is not installed; apt-get install nats-server]" : "";
if (skipReason !== "") console.warn(`mesh tests${skipReason}`);

/** Joins a client as `name` and waits for its own join notice; the peer is closed with `relay`. */
async function joinAs(relay: PeerOwner, name: string): Promise<Peer> {
  const p = await relay.stranger();
  p.send(name);
  await p.until((l) => l === `[SERVER] ${name} has joined the chat.`, 3000);
  return p;
}

/** Asks `/who` until the list is `names` (presence travels through the KV watch), bounded. */
async function whoUntil(p: Peer, names: string[], timeoutMs = 3000): Promise<string> {
  const want = `[SERVER] Online (${names.length}): ${[...names].sort((a, b) => a.localeCompare(b)).join(", ")}`;
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    p.send("/who");
    last = await p.until((l) => l.startsWith("[SERVER] Online"), 1000).catch(() => "");
    if (last === want) return last;
    await Bun.sleep(50);
  }
  return last;
}

/** Everything each peer receives within `ms`, once at least `count` arrived (or the time is up). */
async function drain(peers: Peer[], count: number, ms = 2000): Promise<string[][]> {
  const got = await Promise.all(peers.map((p) => p.collect(count, ms)));
  const late = await Promise.all(peers.map((p) => p.quiet(100)));
  return got.map((lines, i) => [...lines, ...late[i]!]);
}

describe.skipIf(skipReason !== "")(`mesh over NATS${skipReason}`, () => {
  test("a line sent on A reaches every client on A and B exactly once; names are unique across both; a NATS restart is survived", async () => {
    await using nats = await startNats();
    await using a = await spawnServer(["--bus", nats.url, "--quiet"]);
    await using b = await spawnServer(["--bus", nats.url, "--quiet"]);
    // The startup's second line on stdout says the bus is in force.
    for (const node of [a, b]) {
      const deadline = performance.now() + 5000;
      while (node.lines.length < 2 && performance.now() < deadline) await Bun.sleep(10);
      expect(node.lines[0]).toBe(`[SERVER] Running on 127.0.0.1:${node.port}`);
      expect(node.lines[1]).toMatch(/^\[SERVER\] Bus: \S+ as node [0-9a-f]{8}$/);
      expect(node.lines[1]).toStartWith(`[SERVER] Bus: ${nats.url} as node `);
    }

    const a1 = await joinAs(a, "ann");
    const a2 = await joinAs(a, "al");
    const b1 = await joinAs(b, "bea");
    const b2 = await joinAs(b, "bo");
    const everyone = [a1, a2, b1, b2];
    // /who on either node shows the whole mesh once presence has gone round.
    expect(await whoUntil(b1, ["al", "ann", "bea", "bo"])).toBe("[SERVER] Online (4): al, ann, bea, bo");
    expect(await whoUntil(a1, ["al", "ann", "bea", "bo"])).toBe("[SERVER] Online (4): al, ann, bea, bo");
    await Promise.all(everyone.map((p) => p.quiet(50)));

    a1.send("hello from A");
    b2.send("hello from B");
    for (const lines of await drain(everyone, 2)) expect(lines.sort()).toEqual(["ann ~ hello from A", "bo ~ hello from B"]);

    // A name held on A is refused on B, ignoring case, as a join and as a rename.
    const stranger = await b.stranger();
    stranger.send("ANN");
    expect(await stranger.next(2000)).toBe("[SERVER] Name refused: ANN is taken. Send another name.");
    b2.send("/nick Al");
    expect(await b2.until((l) => l.startsWith("[SERVER] Name refused"), 2000)).toBe("[SERVER] Name refused: Al is taken.");
    // A rename is announced mesh-wide, and the old name is free again everywhere.
    a2.send("/nick alf");
    for (const p of everyone) expect(await p.until((l) => l.includes("is now known as"), 2000)).toBe("[SERVER] al is now known as alf.");
    expect(await whoUntil(b1, ["alf", "ann", "bea", "bo"])).toBe("[SERVER] Online (4): alf, ann, bea, bo");

    // Two newcomers ask for the same name at the same moment on A and B: one holds it in the end.
    const racers = [await a.stranger(), await b.stranger()];
    for (const r of racers) r.send("zed");
    await Bun.sleep(500);
    expect(await whoUntil(b1, ["alf", "ann", "bea", "bo", "zed"])).toBe("[SERVER] Online (5): alf, ann, bea, bo, zed");
    const kept = racers.filter((r) => {
      const lines = r.inbox.splice(0);
      return lines.includes("[SERVER] zed has joined the chat.") && !lines.some((l) => l.startsWith("[SERVER] Name refused"));
    });
    expect(kept).toHaveLength(1);
    kept[0]!.send("/quit");
    expect(await whoUntil(a1, ["alf", "ann", "bea", "bo"])).toBe("[SERVER] Online (4): alf, ann, bea, bo");

    // The bus goes away: local chat goes on.
    await nats.kill();
    await Promise.all(everyone.map((p) => p.quiet(50)));
    a1.send("while the bus is down");
    for (const lines of await drain([a1, a2], 1, 1000)) expect(lines).toEqual(["ann ~ while the bus is down"]);
    expect(await b1.quiet(200)).toEqual([]);

    // It comes back on the same port: the relays reconnect by themselves and lines cross again.
    await nats.restart();
    const deadline = performance.now() + 10_000;
    let crossed = false;
    for (let i = 0; !crossed && performance.now() < deadline; i++) {
      a1.send(`probe ${i}`);
      crossed = (await b1.collect(1, 300)).some((l) => l.startsWith("ann ~ probe"));
    }
    expect(crossed).toBe(true);
    await Promise.all(everyone.map((p) => p.quiet(300)));
    b1.send("after the restart");
    for (const lines of await drain(everyone, 1)) expect(lines).toEqual(["bea ~ after the restart"]);
    expect(await whoUntil(a1, ["alf", "ann", "bea", "bo"], 5000)).toBe("[SERVER] Online (4): alf, ann, bea, bo");

    const stopped = await a.stop("SIGINT");
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain("Bus: reconnected");
    expect(stopped.stderr).toMatch(/bus_lost=[1-9]/);
    if (process.env.MESH_DEBUG) console.log(stopped.stderr, (await b.stop("SIGINT")).stderr);
  }, 40_000);
});
