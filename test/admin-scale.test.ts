// The admin endpoint of a worker group (the main thread sums the workers) and of mesh nodes (each serves its own).

import { describe, expect, test } from "bun:test";
import { adminUrl, get, metricsUntil, parseMetrics, parseSummary } from "./support/admin.ts";
import { natsServerPath, startNats } from "./support/nats.ts";
import type { Peer } from "./support/peer.ts";
import { type ServerProcess, spawnServer } from "./support/server-process.ts";

const natsSkip = natsServerPath === undefined ? " [SKIPPED: nats-server is not installed; apt-get install nats-server]" : "";

async function joinAs(server: ServerProcess, name: string): Promise<Peer> {
  const p = await server.stranger();
  p.send(name);
  await p.until((l) => l === `[SERVER] ${name} has joined the chat.`, 3000);
  return p;
}

describe("admin with --workers 2", () => {
  test("the totals are the sums over the workers, and equal the summary's", async () => {
    await using server = await spawnServer(["--workers", "2", "--admin", "127.0.0.1:0", "--quiet", "--rate-limit", "0"]);
    const base = await adminUrl(server);
    // Eight clients from eight ports: the kernel spreads them over both workers.
    const peers: Peer[] = [];
    for (let i = 0; i < 8; i++) peers.push(await joinAs(server, `k${i}`));
    // Membership spreads through the main thread: wait until both workers' registries hold all eight.
    const deadline = performance.now() + 3000;
    let shares: { clients: number }[] = [];
    while (performance.now() < deadline) {
      shares = ((await (await get(base, "stats")).json()) as { perWorker: { clients: number }[] }).perWorker;
      if (shares.length === 2 && shares.every((w) => w.clients === 8)) break;
      await Bun.sleep(20);
    }
    expect(shares.map((w) => w.clients)).toEqual([8, 8]);
    for (const [i, p] of peers.entries()) p.send(`hi from ${i}`);
    for (const p of peers) await p.until((l) => l === "k7 ~ hi from 7", 3000);
    const m = await metricsUntil(base, (s) => s.get("relay_lines_relayed_total") === 8 && s.get("relay_deliveries_total")! >= 64);
    const stats = (await (await get(base, "stats")).json()) as { workers: number; perWorker: { lines: number }[] };
    expect(stats.workers).toBe(2);
    expect(stats.perWorker.reduce((n, w) => n + w.lines, 0)).toBe(8);
    const clients = (await (await get(base, "clients?sort=name")).json()) as { total: number; clients: { name: string; lines: number }[] };
    expect(clients.total).toBe(8);
    expect(clients.clients.map((c) => [c.name, c.lines])).toEqual(peers.map((_, i) => [`k${i}`, 1]));
    const { stderr } = await server.stop();
    const summary = parseSummary(stderr);
    expect(summary.get("workers")!).toBe(2);
    expect(m.get("relay_workers")).toBe(2);
    expect(m.get("relay_joins_total")).toBe(8);
    expect(m.get("relay_lines_relayed_total")).toBe(summary.get("lines"));
    expect(m.get("relay_datagrams_received_total")).toBe(summary.get("datagrams_in"));
    // The summary also counts the goodbye, one delivery per client, sent after the scrape.
    expect(m.get("relay_deliveries_total")! + 8).toBe(summary.get("deliveries")!);
  });
});

describe.skipIf(natsSkip !== "")(`admin on a mesh${natsSkip}`, () => {
  test("each node serves its own figures; bus up in /healthz and /metrics; a line crosses once", async () => {
    await using nats = await startNats();
    await using a = await spawnServer(["--bus", nats.url, "--quiet", "--admin", "127.0.0.1:0"]);
    await using b = await spawnServer(["--bus", nats.url, "--quiet", "--admin", "127.0.0.1:0"]);
    const [baseA, baseB] = [await adminUrl(a), await adminUrl(b)];
    const ann = await joinAs(a, "ann");
    const bo = await joinAs(b, "bo");
    ann.send("across");
    await bo.until((l) => l === "ann ~ across", 3000);
    // Counters are published every 100 ms: wait (bounded) until B has received all A published, then let them settle.
    const deadline = performance.now() + 5000;
    for (;;) {
      const [a1, b1] = [parseMetrics(await (await get(baseA, "metrics")).text()), parseMetrics(await (await get(baseB, "metrics")).text())];
      if (a1.get("relay_lines_relayed_total") === 1 && a1.get("relay_bus_lines_published_total") === b1.get("relay_bus_lines_received_total")) break;
      if (performance.now() > deadline) throw new Error("the line never settled on both nodes");
      await Bun.sleep(50);
    }
    await Bun.sleep(300);
    const [ma, mb] = [parseMetrics(await (await get(baseA, "metrics")).text()), parseMetrics(await (await get(baseB, "metrics")).text())];
    expect(await (await get(baseA, "healthz")).text()).toBe("ok bus=up\n");
    expect([ma.get("relay_bus_connected"), mb.get("relay_bus_connected")]).toEqual([1, 1]);
    expect([ma.get("relay_bus_lines_lost_total"), mb.get("relay_bus_lines_lost_total")]).toEqual([0, 0]);
    expect([ma.get("relay_lines_relayed_total"), mb.get("relay_lines_relayed_total")]).toEqual([1, 0]);
    expect([ma.get("relay_clients"), mb.get("relay_clients")]).toEqual([1, 1]);
    // The line reached one client on each node: the mesh's deliveries of it are the sum of the two.
    const [sa, sb] = [parseSummary((await a.stop()).stderr), parseSummary((await b.stop()).stderr)];
    expect(ma.get("relay_deliveries_total")! + mb.get("relay_deliveries_total")! + 2).toBe(sa.get("deliveries")! + sb.get("deliveries")!);
  });
});
