// --relay-metrics as real processes on loopback: the relay's own drops scraped from its admin endpoint, and the loss attributed.

import { expect, test } from "bun:test";
import { runScript, spawnServer } from "./support/server-process.ts";

/** Reads the admin URL from the relay's stdout lines, bounded. */
async function adminUrl(lines: readonly string[], timeoutMs = 5000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => l.startsWith("[SERVER] Admin on "));
    if (line) return line.slice("[SERVER] Admin on ".length).trim();
    if (performance.now() > deadline) throw new Error("no Admin line");
    await Bun.sleep(10);
  }
}

test("a relay whose --max-fanout-rate drops lines: the loss is attributed to fanout_limited", async () => {
  await using s = await spawnServer(["--quiet", "--rate-limit", "0", "--max-fanout-rate", "2000", "--admin", "127.0.0.1:0"]);
  const url = await adminUrl(s.lines);
  const args = ["--port", String(s.port), "--relay-metrics", url, "--clients", "50", "--rate", "200", "--duration", "2", "--json", "--quiet"];
  const r = await runScript("load.ts", args, 30_000);
  const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    loss: number;
    relay: { drops: Record<string, number>; clients_registered: number; attribution: { dominant: string; relay: Record<string, number> } };
  };
  expect(summary.loss).toBeGreaterThan(0);
  expect(summary.relay.drops.fanout_limited).toBeGreaterThan(0);
  expect(summary.relay.attribution.dominant).toBe("fanout_limited");
  expect(summary.relay.attribution.relay.fanout_limited).toBeGreaterThan(0);
  expect(summary.relay.clients_registered).toBe(50);
  expect(r.stderr).toContain("loss at    mostly at the relay (fanout_limited)");
}, 40_000);

test("--relay-metrics with a bad URL: one line, a Try line, exit 2", async () => {
  const r = await runScript("load.ts", ["--relay-metrics", "ftp://x"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--relay-metrics: "ftp://x" is not');
  expect(r.stderr).toMatch(/Try/);
});

test("an endpoint that does not answer: a warning, and the run goes on", async () => {
  await using s = await spawnServer(["--quiet", "--rate-limit", "0"]);
  const dead = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("no", { status: 503 }) });
  try {
    const r = await runScript("load.ts", ["--port", String(s.port), "--relay-metrics", `http://127.0.0.1:${dead.port}`, "--clients", "5", "--rate", "50", "--duration", "0.5", "--json", "--quiet"], 20_000);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { loss: number; relay: { error: string }; warnings: string[] };
    expect(summary.loss).toBe(0);
    expect(summary.relay.error).toContain("HTTP 503");
    expect(summary.warnings.join("\n")).toContain("scrapes of");
  } finally {
    dead.stop(true);
  }
});
