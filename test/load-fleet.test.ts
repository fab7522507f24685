// A fleet run as real processes: a coordinator and agent processes on a local nats-server against one spawned relay.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as hdr from "hdr-histogram-js";
import { natsServerPath, startNats } from "./support/nats.ts";
import { endedOnDispose, readLines } from "./support/process.ts";
import { bun, root, runScript } from "./support/server-process.ts";

const skipReason = natsServerPath === undefined ? " [SKIPPED: nats-server is not installed; apt-get install nats-server]" : "";
if (skipReason !== "") console.warn(`fleet tests${skipReason}`);

interface AgentProcess extends AsyncDisposable {
  readonly proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  readonly lines: string[];
}

/** Starts `load agent` and waits (bounded) until it waits for work. */
async function agent(bus: string, name: string): Promise<AgentProcess> {
  const proc = endedOnDispose(Bun.spawn([bun, "run", "src/load.ts", "agent", "--bus", bus, "--name", name], { cwd: root, stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  const lines: string[] = [];
  void readLines(proc.stderr, lines);
  await until(() => lines.some((l) => l.includes("waiting for work")), 10_000, `agent ${name} did not start: ${lines.join("\n")}`);
  return { proc, lines, [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose]() };
}

async function until(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(what);
    await Bun.sleep(20);
  }
}

/** Runs the coordinator to completion (bounded) and parses its `--json` line. */
async function coordinate(bus: string, args: string[], timeoutMs = 40_000) {
  const r = await runScript("load.ts", ["--bus", bus, "--json", "--quiet", "--spawn-server", ...args], timeoutMs);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  return { ...r, summary: line.startsWith("{") ? (JSON.parse(line) as FleetSummary) : undefined };
}

interface FleetSummary {
  delivered: number;
  expected: number;
  sent: number;
  registered: number;
  loss: number;
  breaches: string[];
  latency_us: { p99: number; count: number };
  fleet: {
    cross_latency_included: boolean;
    incomplete: string[];
    agents: { name: string; complete: boolean; delivered: number; sent: number; histograms: { latency: string; cross: string } | null }[];
  };
}

/** The p99 of the union of the agents' recorded values, from their own histograms. */
function unionP99(s: FleetSummary): number {
  const union = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64, autoResize: false });
  for (const a of s.fleet.agents) {
    const parts = s.fleet.cross_latency_included ? [a.histograms!.latency, a.histograms!.cross] : [a.histograms!.latency];
    for (const p of parts) union.add(hdr.decodeFromCompressedBase64(p, 32, false));
  }
  return union.getValueAtPercentile(99);
}

const small = ["--clients", "20", "--rate", "200", "--workers", "1"];
const two = ["--agents", "2"];

describe.skipIf(skipReason !== "")("load from several hosts", () => {
  test("two agents: merged counts are the agents' sums, merged p99 is the union's, thresholds decide the exit code", async () => {
    await using nats = await startNats();
    await using a = await agent(nats.url, "alpha");
    await using b = await agent(nats.url, "beta");
    const dir = mkdtempSync(join(tmpdir(), "fleet-"));
    const ok = await coordinate(nats.url, [...small, ...two, "--duration", "2", "--max-loss", "0.5", "--report", join(dir, "r.html")]);
    expect(ok.code).toBe(0);
    const page = readFileSync(join(dir, "r.html"), "utf8");
    rmSync(dir, { recursive: true, force: true });
    expect(page).toContain("<h2>Agents</h2>");
    const s = ok.summary!;
    expect(s.fleet.agents.map((x) => x.name)).toEqual(["alpha", "beta"]);
    expect(s.fleet.agents.every((x) => x.complete)).toBe(true);
    expect(s.registered).toBe(20);
    expect(s.sent).toBe(400);
    expect(s.expected).toBe(400 * 20);
    expect(s.delivered).toBe(s.fleet.agents[0]!.delivered + s.fleet.agents[1]!.delivered);
    expect(s.sent).toBe(s.fleet.agents[0]!.sent + s.fleet.agents[1]!.sent);
    expect(s.latency_us.p99).toBe(unionP99(s));
    expect(ok.stderr).toContain("agent alpha");
    expect(ok.stderr).toContain("agent beta");

    // The same fleet, free again, with a p99 nobody meets: decided on the merged result, exit 1.
    const breached = await coordinate(nats.url, [...small, ...two, "--duration", "1", "--max-p99", "0.001"]);
    expect(breached.code).toBe(1);
    expect(breached.summary!.breaches.join("\n")).toContain("--max-p99");
    expect(breached.summary!.latency_us.p99).toBe(unionP99(breached.summary!));
    expect(a.lines.some((l) => l.includes("done"))).toBe(true);
    expect(b.lines.some((l) => l.includes("done"))).toBe(true);
  }, 90_000);

  test("an agent killed mid-run is named, its share incomplete, and the coordinator ends in bounded time with exit 1", async () => {
    await using nats = await startNats();
    await using a = await agent(nats.url, "alpha");
    await using b = await agent(nats.url, "beta");
    const started = performance.now();
    const run = coordinate(nats.url, [...small, ...two, "--duration", "8"], 40_000);
    await until(() => b.lines.some((l) => l.includes("clients from id")), 20_000, "beta got no work");
    await Bun.sleep(2000);
    b.proc.kill("SIGKILL");
    const r = await run;
    expect(r.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(30_000);
    const s = r.summary!;
    expect(s.fleet.incomplete.join("\n")).toContain("agent beta");
    expect(s.breaches.join("\n")).toContain("agent beta");
    expect(s.fleet.agents.find((x) => x.name === "beta")!.complete).toBe(false);
    expect(s.fleet.agents.find((x) => x.name === "alpha")!.complete).toBe(true);
    expect(r.stderr).toContain("INCOMPLETE");
    expect(a.lines.some((l) => l.includes("done"))).toBe(true);
  }, 60_000);

  test("no agents: one line naming the bus and the count, exit 1", async () => {
    await using nats = await startNats();
    const r = await coordinate(nats.url, [...small, "--agents", "2", "--agents-timeout", "1"], 15_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("error:"))).toEqual([expect.stringContaining(`2 agents wanted on ${nats.url}, 0 free within 1 s`)]);
  });

  test("a second coordinator does not take an agent that is busy", async () => {
    await using nats = await startNats();
    await using a = await agent(nats.url, "alpha");
    const first = coordinate(nats.url, [...small, "--agents", "1", "--duration", "3"]);
    await until(() => a.lines.some((l) => l.includes("clients from id")), 20_000, "alpha got no work");
    const second = await coordinate(nats.url, [...small, "--agents", "1", "--agents-timeout", "1", "--duration", "1"], 15_000);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("busy with another run");
    expect((await first).code).toBe(0);
  }, 60_000);
});
