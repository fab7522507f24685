// Backpressure, for real: the relay runs in a private network namespace with a rate-limited loopback, so its
// socket buffer fills and the kernel answers EAGAIN. Needs root (unshare -n, tc); skipped, saying so, elsewhere.

import { describe, expect, test } from "bun:test";
import { bun, root } from "./support/server-process.ts";

const shaping = (rate = "40mbit") => `ip link set lo up && tc qdisc add dev lo root tbf rate ${rate} burst 32kb limit 4mb`;
const probe = Bun.spawnSync(["unshare", "-n", "sh", "-c", shaping()], { stderr: "pipe" });
const available = probe.exitCode === 0;
if (!available) console.warn(`backpressure tests skipped: cannot shape a private loopback (${probe.stderr.toString().trim() || "unshare/tc unavailable"})`);

async function scenario(mode: string, sendPath: string, rate?: string) {
  const proc = Bun.spawn(["unshare", "-n", "sh", "-c", `${shaping(rate)} && exec "$0" test/fixtures/backpressure.ts ${mode} ${sendPath}`, bun], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 25_000,
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`scenario ${mode} exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").pop()!);
}

// The same scenarios over both send paths: sendmmsg meets EAGAIN itself and hands the rest to the Bun backlog.
describe.skipIf(!available).each(["sendmmsg", "bun"])("backpressure (EAGAIN on a shaped loopback), send path %s", (sendPath) => {
  test("a burst that overruns the socket buffer is queued and delivered in full, in order", async () => {
    const r = await scenario("burst", sendPath);
    expect(r.sendPath).toBe(sendPath);
    expect(r.backpressureEvents).toBeGreaterThan(0);
    expect(r.deliveries).toBe(r.expected);
    expect(Object.values(r.drops as Record<string, number>).every((n) => n === 0)).toBe(true);
    for (const got of r.received as number[][]) expect(got).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  test("a full queue drops and counts; everything is accounted and what arrives is in order", async () => {
    const r = await scenario("overflow", sendPath);
    expect(r.sendPath).toBe(sendPath);
    expect(r.backpressureEvents).toBeGreaterThan(0);
    expect(r.drops.queue_overflow).toBeGreaterThan(0);
    expect(r.deliveries + r.drops.queue_overflow).toBe(r.expected);
    const received = (r.received as number[][]).reduce((n, got) => n + got.length, 0);
    expect(received).toBe(r.deliveries);
    for (const got of r.received as number[][]) expect(got).toEqual([...got].sort((a, b) => a - b));
  });

  test("a second Ctrl+C while the backlog drains exits at once", async () => {
    // 1 Mbit/s: the backlog of 20 KB-sized lines × 20 recipients takes seconds to leave.
    const r = await scenario("second-sigint", sendPath, "1mbit");
    expect(r.code).toBe(130);
    expect(r.ms).toBeLessThan(1500); // the first alone would wait out its 2 s grace for the backlog
  });
});
