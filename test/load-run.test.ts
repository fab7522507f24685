// The load generator as a real process against a spawned relay: exact accounting, echo, thresholds, output, errors.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { root, runScript, spawnServer } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

/** A relay as a load run wants it: no per-source limits (what --spawn-server starts too). */
const relay = (...args: string[]) => spawnServer(["--quiet", "--rate-limit", "0", ...args]);

/** Runs the generator to completion (bounded) and parses its `--json` line. */
async function load(args: string[], timeoutMs = 20_000) {
  const r = await runScript("load.ts", ["--json", "--quiet", ...args], timeoutMs);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  return { ...r, summary: line.startsWith("{") ? (JSON.parse(line) as Record<string, unknown>) : undefined };
}

/** A loopback UDP port nothing listens on: bound, read, closed. */
async function deadPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1" });
  const port = s.port;
  s.close();
  return port;
}

const small = ["--clients", "20", "--rate", "200", "--duration", "1"];

describe("load generator against a relay", () => {
  test("exact accounting with echo: every line reaches every client, the sender too", async () => {
    await using s = await relay();
    const { code, summary } = await load(["--port", String(s.port), ...small, "--workers", "2"]);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ clients: 20, registered: 20, senders: 20, echo: true, sent: 200, expected: 200 * 20, delivered: 200 * 20, lost: 0, loss: 0, duplicates: 0, send_errors: 0 });
    expect(summary!.client_socket_drops).toBe(0);
  });

  test("exact accounting without echo: the sender is not a recipient", async () => {
    await using s = await relay("--no-echo");
    const { code, summary } = await load(["--port", String(s.port), ...small, "--senders", "5"]);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ registered: 20, senders: 5, echo: false, sent: 200, expected: 200 * 19, delivered: 200 * 19, loss: 0, duplicates: 0 });
  });

  test("a relay that validates addresses: every client answers its challenge, joins, and is counted", async () => {
    await using s = await relay("--verify-address", "on");
    const { code, summary } = await load(["--port", String(s.port), ...small]);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ clients: 20, registered: 20, sent: 200, expected: 200 * 20, delivered: 200 * 20, loss: 0 });
    const { stderr } = await s.stop("SIGINT");
    expect(stderr).toMatch(/challenges=(\d+)/);
    expect(Number(/challenges=(\d+)/.exec(stderr)![1])).toBeGreaterThanOrEqual(20);
  });

  test("two runs against one relay: the second's names are its own, not taken", async () => {
    await using s = await relay();
    for (let run = 0; run < 2; run++) {
      const { code, summary } = await load(["--port", String(s.port), "--clients", "10", "--rate", "50", "--duration", "0.5"]);
      expect(code).toBe(0);
      expect(summary).toMatchObject({ registered: 10, loss: 0 });
    }
  });

  test("--json carries the documented fields", async () => {
    const { code, summary } = await load(["--spawn-server", "--clients", "10", "--rate", "50", "--duration", "0.5"]);
    expect(code).toBe(0);
    for (const key of ["clients", "registered", "sent", "expected", "delivered", "loss", "duplicates", "reordered", "deliveries_per_s", "late_sends", "generator_cpu_s", "relay_cpu_s", "relay_cpu_ns_per_delivery"]) {
      expect(summary).toHaveProperty(key);
    }
    for (const key of ["latency_us", "raw_latency_us", "spread_us"]) {
      const l = summary![key] as Record<string, number>;
      expect(Object.keys(l)).toEqual(expect.arrayContaining(["p50", "p90", "p99", "p999", "max"]));
      expect(l.p50).toBeLessThanOrEqual(l.p99!);
      expect(l.p99).toBeLessThanOrEqual(l.max!);
    }
    expect((summary!.latency_us as { count: number }).count).toBe(summary!.delivered as number);
    expect(summary!.relay_cpu_s).toBeGreaterThanOrEqual(0); // --spawn-server knows the relay's pid
  });

  test("--json-stream prints one line per second then the summary line, --out writes the summary", async () => {
    await using s = await relay();
    using dir = tempDir("load-out-");
    const out = join(dir.path, "summary.json");
    const r = await runScript("load.ts", ["--port", String(s.port), "--clients", "10", "--rate", "50", "--duration", "2.2", "--json-stream", "--out", out, "--quiet"], 20_000);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const intervals = lines.slice(0, -1).map((l) => JSON.parse(l) as { interval: { t_s: number; sent_per_s: number; drain: boolean } });
    // One line per second, then the drain record: the 0.2 s after the last full second, and what arrived after it.
    expect(intervals.filter((i) => !i.interval.drain).map((i) => i.interval.t_s)).toEqual([1, 2]);
    expect(intervals.at(-1)!.interval.drain).toBe(true);
    expect(intervals[1]!.interval.sent_per_s).toBe(50);
    const saved = await Bun.file(out).text();
    expect((JSON.parse(saved) as { sent: number }).sent).toBe(110);
    // The stream ends with the final record, the same line --json prints and --out writes; the table is on stderr.
    expect(`${lines.at(-1)}\n`).toBe(saved);
    expect(r.stderr).toContain("delivered");
  });

  test("a breached --max-p99 exits 1 and says why; a met one exits 0", async () => {
    await using s = await relay();
    const breached = await load(["--port", String(s.port), ...small, "--max-p99", "0.001"]);
    expect(breached.code).toBe(1);
    expect(breached.summary!.breaches).toEqual([expect.stringContaining("--max-p99")]);
    const met = await load(["--port", String(s.port), ...small, "--max-p99", "60000", "--max-loss", "0.5"]);
    expect(met.code).toBe(0);
  });

  test("a relay that dies mid-run breaches --max-loss: exit 1, loss counted, ICMP errors seen", async () => {
    await using s = await relay();
    const run = load(["--port", String(s.port), "--clients", "10", "--rate", "100", "--duration", "2", "--max-loss", "0.01"]);
    await Bun.sleep(1500); // start-up and join take a few hundred ms; kill in the middle of the sending
    await s.stop("SIGKILL");
    const { code, summary } = await run;
    expect(code).toBe(1);
    expect(summary!.loss as number).toBeGreaterThan(0.1);
    expect(summary!.icmp_errors as number).toBeGreaterThan(0);
    expect(summary!.breaches).toEqual([expect.stringContaining("--max-loss")]);
  });

  test("nothing listening: one line naming host:port, exit 1", async () => {
    const port = await deadPort();
    const r = await load(["--port", String(port), "--clients", "5", "--duration", "1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(`127.0.0.1:${port}`)]);
  });

  test("bad flags: one line naming the flag and a pointer to --help, exit 2", async () => {
    for (const args of [["--clients", "-3"], ["--rate", "lots"], ["--bogus"]]) {
      const r = await runScript("load.ts", args, 10_000);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: .*(clients|rate|bogus)/), "Try 'bun run src/load.ts --help'."]);
    }
  });

  test("a file-descriptor limit too low to raise is explained, exit 1", async () => {
    const proc = Bun.spawn(["sh", "-c", `ulimit -n 100 && exec "${process.execPath}" run src/load.ts --clients 500 --port 9`], { cwd: root, stdout: "pipe", stderr: "pipe", timeout: 10_000 });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("ulimit -n");
    expect(stderr).toContain("limit is 100");
  });
});
