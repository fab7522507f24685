// The load generator leaves at the end: back-to-back runs measure the same thing, and a mass leave is one summary.

import { expect, test } from "bun:test";
import { peer } from "./support/peer.ts";
import { runScript, spawnServer } from "./support/server-process.ts";

async function load(port: number, ...args: string[]) {
  const r = await runScript("load.ts", ["--json", "--quiet", "--port", String(port), ...args], 60_000);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, number>;
}

test("back-to-back runs against one relay: each sees only its own clients, and the relay holds none after", async () => {
  await using server = await spawnServer(["--quiet", "--rate-limit", "0"]);
  const small = ["--clients", "50", "--rate", "50", "--duration", "1"];
  const first = await load(server.port, ...small);
  const second = await load(server.port, ...small);
  for (const run of [first, second]) expect(run).toMatchObject({ registered: 50, expected: 50 * 50, delivered: 50 * 50, lost: 0 });
  const kept = await load(server.port, ...small, "--no-leave");
  expect(kept).toMatchObject({ registered: 50, delivered: 50 * 50 });
  const { code, stderr } = await server.stop("SIGINT");
  expect(code).toBe(0);
  // Only the --no-leave run's clients are still there.
  expect(stderr).toMatch(/^\[SERVER\] Summary: clients=50 /m);
}, 60_000);

test("a mass leave at the end of a run: a few leaves by name, then one summary; the relay stays responsive", async () => {
  const clients = 3000;
  await using server = await spawnServer(["--quiet", "--rate-limit", "0", "--join-rate-total", "0", "--notice-rate", "3"]);
  using watcher = await peer(server.port);
  watcher.send("watcher");
  await watcher.until((l) => l === "[SERVER] watcher has joined the chat.");
  // A registered client pings all through the run; each pong must come back (a generous bound, only against a hang).
  let worstMs = 0;
  let pings = 0;
  let pending: number | undefined;
  using pinger = await peer(server.port);
  pinger.send("pinger");
  await pinger.until((l) => l === "[SERVER] pinger has joined the chat.");
  const run = load(server.port, "--clients", String(clients), "--rate", "1", "--duration", "1");
  let done = false;
  void run.finally(() => (done = true));
  for (let i = 0; i < 3000 && !done; i++) {
    pending = performance.now();
    pinger.send("/ping");
    await pinger.until((l) => l === "[SERVER] pong", 5000);
    worstMs = Math.max(worstMs, performance.now() - pending);
    pings++;
    await Bun.sleep(20);
  }
  const summary = await run;
  expect(summary.registered).toBe(clients);
  expect(pings).toBeGreaterThan(10);
  expect(worstMs).toBeLessThan(1000);
  // The leaves: at most 3 by name a second, the rest in summaries; every leaver accounted for.
  await Bun.sleep(1200);
  const heard = watcher.inbox.filter((l) => l.includes("left the chat"));
  const named = heard.filter((l) => /^\[SERVER\] \S+ has left the chat\.$/.test(l)).length;
  const summed = heard.map((l) => /^\[SERVER\] (\d+) more have left the chat/.exec(l)?.[1]).filter((n) => n !== undefined).reduce((a, n) => a + Number(n), 0);
  expect(named + summed).toBe(clients);
  expect(heard.length).toBeLessThan(20);
  const { stderr } = await server.stop("SIGINT");
  expect(stderr).toMatch(/^\[SERVER\] Summary: clients=2 /m);
}, 90_000);
