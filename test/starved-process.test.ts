// A relay flooded past what it can handle (its socket always readable, so Bun runs no timer and no signal
// listener) still sweeps idle clients, writes its state file and stops on SIGINT, from its receive path.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { notice } from "../src/protocol/wire.ts";
import type { Peer } from "./support/peer.ts";
import { endedOnDispose } from "./support/process.ts";
import { bun, root, spawnServer } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

/** Registered clients that closed their sockets: every line costs the relay a send to each, so a modest flood saturates it. */
const DEAD = 200;
/** Longer than any bound below: without the receive path's help nothing happens before the flood ends. */
const FLOOD_MS = 12_000;

/**
 * Registers DEAD sockets, to be closed (disposed) by the caller once its own peers and the flooder are bound: closed
 * earlier, their ports could go to those sockets, whose first datagram the relay would rightly take as a line from
 * the dead client that had the port.
 */
async function registerDead(port: number): Promise<DisposableStack> {
  const sockets = new DisposableStack();
  const joined: Promise<void>[] = [];
  for (let i = 0; i < DEAD; i++) {
    const { promise, resolve } = Promise.withResolvers<void>();
    const mine = notice.joined(`dead${i}`);
    const s = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: (_s, d) => void (d.toString() === mine && resolve()), error() {} } });
    sockets.adopt(s, (u) => u.close());
    s.send(`dead${i}`, port, "127.0.0.1");
    joined.push(promise);
  }
  try {
    await Promise.race([Promise.all(joined), Bun.sleep(10_000).then(() => Promise.reject(new Error("dead clients did not all join")))]);
  } catch (err) {
    sockets.dispose();
    throw err;
  }
  return sockets;
}

/** test/fixtures/flood.ts, as its own process: joins as "flooder" and sends lines as fast as it can for FLOOD_MS. */
function flood(port: number) {
  return endedOnDispose(Bun.spawn([bun, "test/fixtures/flood.ts", "flood", String(port), String(FLOOD_MS)], { cwd: root, stdout: "ignore", stderr: "ignore" }));
}

/** Waits (bounded) until the flooder is registered and the flood is under way. */
async function floodUnderWay(watcher: Peer): Promise<void> {
  await watcher.until((l) => l === notice.joined("flooder"), 5000);
  await watcher.until((l) => l.startsWith("flooder ~ "), 5000);
}

test("a flooded relay still times out an idle client while the flood lasts", async () => {
  // --no-echo: the flooder hears no lines of its own, so its process spends itself on sending.
  await using server = await spawnServer(["--quiet", "--rate-limit", "0", "--no-echo", "--idle-timeout", "2"]);
  using dead = await registerDead(server.port);
  const idle = await server.stranger();
  idle.send("idle");
  await idle.until((l) => l === notice.joined("idle"));
  await using flooder = flood(server.port);
  await floodUnderWay(idle);
  dead.dispose();
  // Due 2-2.5 s after its join; the bound only catches a sweep that waits for the flood (12 s) to end.
  expect(await idle.until((l) => l.startsWith("[SERVER] You timed out"), 6000)).toBe(notice.timedOutYou("idle", 2));
  expect(flooder.exitCode).toBeNull();
});

test("a flooded relay still writes its state file every --state-interval while the flood lasts", async () => {
  using dir = tempDir("starved-");
  const file = join(dir.path, "relay.state");
  await using server = await spawnServer(["--quiet", "--rate-limit", "0", "--no-echo", "--state", file, "--state-interval", "1"]);
  using dead = await registerDead(server.port);
  const watcher = await server.stranger();
  watcher.send("watcher");
  await watcher.until((l) => l === notice.joined("watcher"));
  await using flooder = flood(server.port);
  await floodUnderWay(watcher);
  dead.dispose();
  // The flooder's join is a change; the write it is owed falls due (within 1 s) with the flood already on.
  const deadline = performance.now() + 4000;
  while (!readFileSync(file, "utf8").includes('"name":"flooder"') && performance.now() < deadline) await Bun.sleep(25);
  expect(readFileSync(file, "utf8")).toContain('"name":"flooder"');
  expect(flooder.exitCode).toBeNull();
});

test("a flooded relay still stops at once on SIGINT: clients hear the goodbye, exit 0", async () => {
  await using server = await spawnServer(["--quiet", "--rate-limit", "0", "--no-echo"]);
  using dead = await registerDead(server.port);
  const alice = await server.stranger();
  alice.send("alice");
  await alice.until((l) => l === notice.joined("alice"));
  await using flooder = flood(server.port);
  await floodUnderWay(alice);
  dead.dispose();
  await Bun.sleep(500); // the relay's receive buffer is full
  const t0 = performance.now();
  // A hang bound, not a speed figure: without the receive path's help the signal waits for the flood (12 s) to end.
  const { code } = await server.stop("SIGINT", 5000);
  const stopMs = performance.now() - t0;
  expect(code).toBe(0);
  expect(await alice.until((l) => l === notice.shuttingDown, 2000)).toBe(notice.shuttingDown);
  expect(stopMs).toBeLessThan(5000);
  expect(flooder.exitCode).toBeNull();
});
