// --state with worker threads (the main thread owns the file) and on a mesh node (the KV bucket still decides names).

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { notice } from "../src/protocol/wire.ts";
import { natsServerPath, startNats } from "./support/nats.ts";
import { type Peer, peer } from "./support/peer.ts";
import { spawnServer } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

async function joinAs(p: Peer, name: string): Promise<void> {
  p.send(name);
  await p.until((l) => l === notice.joined(name), 3000);
}

test("workers: the main thread writes the file; after a restart each client's next line goes out under its old name", async () => {
  using dir = tempDir("state-workers-");
  const file = join(dir.path, "relay.state");
  const first = await spawnServer(["--workers", "2", "--state", file]);
  // Several clients, so that both workers' sockets are likely to hold some.
  const peers = await Promise.all(Array.from({ length: 6 }, () => peer(first.port)));
  try {
    for (const [i, p] of peers.entries()) await joinAs(p, `w${i}`);
    await first.stop("SIGTERM");
    const saved = readFileSync(file, "utf8");
    for (const [i, p] of peers.entries()) expect(saved).toContain(`"name":"w${i}","address":"127.0.0.1","port":${p.port}`);

    await using second = await spawnServer(["--workers", "2", "--state", file, "--port", String(first.port)]);
    for (const [i, p] of peers.entries()) {
      p.send(`line ${i}`);
      expect(await p.until((l) => l.endsWith(`~ line ${i}`), 3000)).toBe(`w${i} ~ line ${i}`);
    }
    // Joins reach the other worker through the main thread: ask until the list is whole (bounded).
    const want = "[SERVER] Online (6): w0, w1, w2, w3, w4, w5";
    let who = "";
    for (const deadline = performance.now() + 3000; who !== want && performance.now() < deadline; ) {
      peers[0]!.send("/who");
      who = await peers[0]!.until((l) => l.startsWith("[SERVER] Online"), 1000);
    }
    expect(who).toBe(want);
    const { stderr } = await second.stop("SIGTERM");
    expect(stderr).toContain(`6 of 6 clients from ${file} remembered`);
    // The final write after the restart holds all six again.
    expect(readFileSync(file, "utf8").split("\n").filter((l) => l.includes('"seenMs"'))).toHaveLength(6);
  } finally {
    for (const p of peers) p.close();
  }
});

const skipReason = natsServerPath === undefined ? " [SKIPPED: nats-server is not installed]" : "";

describe.skipIf(skipReason !== "")(`mesh${skipReason}`, () => {
  test("a restarted node re-claims its clients' names when they return; a name taken elsewhere meanwhile stays taken", async () => {
    using dir = tempDir("state-mesh-");
    const file = join(dir.path, "a.state");
    await using nats = await startNats();
    const a = await spawnServer(["--bus", nats.url, "--quiet", "--state", file]);
    await using b = await spawnServer(["--bus", nats.url, "--quiet"]);
    using ann = await peer(a.port);
    using al = await peer(a.port);
    await joinAs(ann, "ann");
    await joinAs(al, "al");
    // Once B has heard of both claims (a claim still in flight at shutdown is not released), A stops and gives them up.
    using bea = await peer(b.port);
    await joinAs(bea, "bea");
    let who = "";
    for (const deadline = performance.now() + 3000; who !== "[SERVER] Online (3): al, ann, bea" && performance.now() < deadline; await Bun.sleep(50)) {
      bea.send("/who");
      who = await bea.until((l) => l.startsWith("[SERVER] Online"), 1000);
    }
    await a.stop("SIGTERM");

    // While A is away, "al" is taken on B.
    // (B hears of the release through the KV watch: try until it lets the name go, bounded.)
    using thief = await peer(b.port);
    let got = "";
    for (const deadline = performance.now() + 3000; got !== notice.joined("al") && performance.now() < deadline; await Bun.sleep(100)) {
      thief.send("al");
      got = await thief.next(1000).catch(() => "");
    }
    expect(got).toBe(notice.joined("al"));

    await using a2 = await spawnServer(["--bus", nats.url, "--quiet", "--state", file, "--port", String(a.port)]);
    ann.send("back");
    expect(await ann.until((l) => l.endsWith("~ back"), 3000)).toBe("ann ~ back");
    // ann's name is claimed again in the bucket: B lists it, and refuses it to a newcomer.
    who = "";
    for (const deadline = performance.now() + 3000; who !== "[SERVER] Online (3): al, ann, bea" && performance.now() < deadline; await Bun.sleep(50)) {
      bea.send("/who");
      who = await bea.until((l) => l.startsWith("[SERVER] Online"), 1000);
    }
    expect(who).toBe("[SERVER] Online (3): al, ann, bea");
    using copycat = await peer(b.port);
    copycat.send("ann");
    expect(await copycat.next(1000)).toBe("[SERVER] Name refused: ann is taken. Send another name.");
    al.send("me again");
    expect(await al.until((l) => l.includes("while you were away"), 3000)).toBe(notice.nameTakenWhileAway("al"));
    await a2.stop("SIGTERM");
  });
});
