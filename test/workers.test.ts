// Worker group over real loopback sockets: lines reach everyone whichever worker took them, membership is shared, rehash is harmless.

import { expect, test } from "bun:test";
import { defaults, type RelayConfig } from "../src/config.ts";
import type { WorkerReport } from "../src/scale/worker-messages.ts";
import { startWorkers, type WorkerGroup } from "../src/scale/workers.ts";
import { type Peer, type PeerOwner, withPeers } from "./support/peer.ts";
import { EVERY_NOTICE } from "./support/relays.ts";
import { spawnServer } from "./support/server-process.ts";

type TestGroup = WorkerGroup & PeerOwner & AsyncDisposable;

/** Two workers for one test: `await using g = await group()` closes the peers opened through it, then shuts it down. */
async function group(overrides: Partial<RelayConfig> = {}): Promise<TestGroup> {
  const g = await startWorkers({ ...defaults, port: 0, quiet: true, workers: 2, ...EVERY_NOTICE, ...overrides });
  return withPeers(g, g.host, () => g.shutdown(200));
}

const joinsByWorker = async (g: WorkerGroup) => (await g.reports()).map((r) => r.stats.joins as number);

/** Joins clients one by one, noting which worker admitted each, until every worker admitted `perWorker` (bounded). */
async function spread(g: TestGroup, perWorker: number): Promise<{ peers: Peer[]; home: number[] }> {
  const peers: Peer[] = [];
  const home: number[] = [];
  for (let i = 0; i < 48; i++) {
    const before = await joinsByWorker(g);
    const p = await g.stranger();
    p.send(`c${i}`);
    await p.until((line) => line === `[SERVER] c${i} has joined the chat.`);
    const after = await joinsByWorker(g);
    peers.push(p);
    home.push(after.findIndex((n, w) => n > before[w]!));
    if ([0, 1].every((w) => home.filter((h) => h === w).length >= perWorker)) return { peers, home };
  }
  throw new Error(`48 clients did not spread over both workers: ${home.join(",")}`);
}

/** Waits (bounded) until every worker's registry holds exactly `names`. */
async function replicas(g: WorkerGroup, names: string[]): Promise<WorkerReport[]> {
  const want = [...names].sort();
  const deadline = performance.now() + 2000;
  for (;;) {
    const reports = await g.reports();
    if (reports.every((r) => JSON.stringify(r.names) === JSON.stringify(want)) || performance.now() > deadline) return reports;
    await Bun.sleep(10);
  }
}

test("clients spread over two workers all receive every line, exactly once, and every worker knows every join", async () => {
  await using g = await group();
  const { peers, home } = await spread(g, 2);
  const names = peers.map((_, i) => `c${i}`);
  for (const report of await replicas(g, names)) expect(report.names).toEqual([...names].sort());
  for (const p of peers) await p.quiet(20); // drop the join notices
  for (const [i, p] of peers.entries()) p.send(`line ${i} from worker ${home[i]}`);
  for (const p of peers) {
    const got = await p.collect(peers.length, 2000);
    got.push(...(await p.quiet(50)));
    expect(got.sort()).toEqual(peers.map((_, i) => `c${i} ~ line ${i} from worker ${home[i]}`).sort());
  }
  // /who from a client of either worker lists everyone.
  for (const w of [0, 1]) {
    const asker = peers[home.indexOf(w)]!;
    asker.send("/who");
    expect(await asker.until((l) => l.startsWith("[SERVER] Online"))).toBe(`[SERVER] Online (${names.length}): ${[...names].sort().join(", ")}`);
  }
});

test("names are unique across workers: a taken name is refused on the other worker, and a race leaves one holder", async () => {
  await using g = await group();
  const { peers, home } = await spread(g, 2);
  const onA = peers[home.indexOf(0)]!;
  const onB = peers[home.indexOf(1)]!;
  onA.send("/nick Alice");
  await onB.until((l) => l.endsWith("is now known as Alice."));
  onB.send("/nick ALICE");
  expect(await onB.until((l) => l.startsWith("[SERVER] Name refused"))).toBe("[SERVER] Name refused: ALICE is taken.");

  // Both ask for the same new name at once, from different workers: whatever each saw, one holds it in the end.
  const racers = [peers[home.lastIndexOf(0)]!, peers[home.lastIndexOf(1)]!];
  for (const r of racers) r.send("/nick Zed");
  await Bun.sleep(300);
  const reports = await g.reports();
  for (const r of reports) expect(r.names.filter((n) => n === "Zed")).toHaveLength(1);
  expect(reports[0]!.names).toEqual(reports[1]!.names);
});

test("a worker gone: its clients are rehashed to the other, which knows them, and their lines still carry their names", async () => {
  await using g = await group();
  const { peers, home } = await spread(g, 1);
  await replicas(g, peers.map((_, i) => `c${i}`));
  const orphan = home.indexOf(1);
  await g.kill(1);
  expect(g.live).toBe(1);
  for (const p of peers) await p.quiet(20);
  peers[orphan]!.send("still here");
  for (const p of peers) expect(await p.until((l) => l.includes("still here"))).toBe(`c${orphan} ~ still here`);
});

test("liveness is shared: a client heard only by the non-sweeping worker stays, a silent one times out once", async () => {
  await using g = await group({ idleTimeoutMs: 400 });
  const { peers, home } = await spread(g, 2);
  const talker = home.indexOf(1); // worker 1 does not sweep: only gossip keeps this one alive
  const silent = home.lastIndexOf(1);
  const others = peers.filter((_, i) => i !== talker && i !== silent);
  const until = performance.now() + 1200;
  while (performance.now() < until) {
    peers[talker]!.send("/ping");
    for (const p of others) p.send("/ping");
    await Bun.sleep(100);
  }
  const heard = peers[talker]!.inbox.filter((l) => l.endsWith("timed out."));
  expect(heard).toEqual([`[SERVER] c${silent} timed out.`]);
  expect(heard.some((l) => l.includes(`c${talker} `))).toBe(false);
});

test("--workers 2 as a process: SIGINT says goodbye to each client once, exits 0, sums the workers' counters", async () => {
  await using server = await spawnServer(["--workers", "2", "--quiet"]);
  const peers: Peer[] = [];
  for (let i = 0; i < 4; i++) {
    const p = await server.stranger();
    peers.push(p);
    p.send(`w${i}`);
    await p.until((l) => l === `[SERVER] w${i} has joined the chat.`);
  }
  await Bun.sleep(50);
  for (const p of peers) await p.quiet(10);
  const { code, stderr } = await server.stop("SIGINT");
  expect(code).toBe(0);
  for (const p of peers) expect((await p.quiet(100)).filter((l) => l === "[SERVER] Server is shutting down.")).toHaveLength(1);
  expect(stderr).toMatch(/Summary: clients=4 .* workers=2/);
});
