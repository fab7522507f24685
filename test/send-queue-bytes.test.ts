// --send-queue-bytes, for real: the relay in a private network namespace whose loopback holds the relay's own
// datagrams to 1 Mbit/s (htb + tc tbf, by source port), so /msg lines pile up in its backlog as in issue 17.
// Needs root (unshare -n, tc with htb, tbf and u32); skipped, saying so, elsewhere.

import { describe, expect, test } from "bun:test";
import { bun, root } from "./support/server-process.ts";

// Two classes under htb: 1:10 (tbf, `$0`) for what the fixture's u32 filter sends there, 1:20 unshaped for the rest.
const shaping =
  "ip link set lo up && tc qdisc add dev lo root handle 1: htb default 20 && " +
  "tc class add dev lo parent 1: classid 1:10 htb rate 10gbit quantum 60000 && " +
  "tc class add dev lo parent 1: classid 1:20 htb rate 10gbit quantum 60000 && " +
  "tc qdisc add dev lo parent 1:10 handle 10: tbf rate $0 burst 32kb limit 4mb";
const probeFilter = "tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport 9 0xffff flowid 1:10";
const probe = Bun.spawnSync(["unshare", "-n", "sh", "-c", `${shaping} && ${probeFilter}`, "1mbit"], { stderr: "pipe" });
const available = probe.exitCode === 0;
if (!available) console.warn(`send-queue-bytes tests skipped: cannot shape a private loopback (${probe.stderr.toString().trim() || "unshare/tc unavailable"})`);

const clients = 200;
const lines = 200;
const queueBytes = 4 << 20;

describe.skipIf(!available)("--send-queue-bytes under a shaped link (1 Mbit/s out of the relay)", () => {
  test("1990-byte /msg lines to self from 200 clients: the backlog stays near its byte cap and the rest is queue_overflow", async () => {
    const proc = Bun.spawn(
      ["unshare", "-n", "sh", "-c", `${shaping} && exec "$1" test/fixtures/send-queue-bytes.ts ${clients} ${lines} --send-queue-bytes ${queueBytes}`, "1mbit", bun],
      { cwd: root, stdout: "pipe", stderr: "pipe", timeout: 28_000 },
    );
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`fixture exited ${code}: ${err}`);
    const r = JSON.parse(out.trim().split("\n").pop()!);
    expect(r.code).toBe(0);
    // The relay read nearly every line, and each one is accounted: delivered, refused by the cap, or abandoned at exit.
    const msgs = r.datagramsIn - clients;
    expect(msgs).toBeGreaterThan(0.9 * r.offered);
    const joinNotices = (clients * (clients + 1)) / 2;
    expect(r.deliveries - joinNotices + r.queueOverflow + r.shutdown).toBe(msgs + clients); // + the shutdown notice to each
    // At 1 Mbit/s a few hundred lines leave in the run; most of the rest meet the cap.
    expect(r.queueOverflow).toBeGreaterThan(msgs / 2);
    // The datagram cap alone (262 144) would have queued every line: msgs × ~2.3 KB, ~90 MiB here, measured +130 MiB
    // of RSS. With a 4 MiB byte cap the growth is the cap plus the garbage of reading (measured +14 MiB).
    const grownMiB = (r.peakRss - r.baselineRss) / 2 ** 20;
    expect(grownMiB).toBeLessThan(48);
  });
});
