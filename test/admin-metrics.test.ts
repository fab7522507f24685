// /metrics from a real relay process: valid exposition format (promtool), and counters that match the relay's own summary.

import { describe, expect, test } from "bun:test";
import { adminUrl, get, metricsUntil, parseSummary, promtoolPath } from "./support/admin.ts";
import type { Peer } from "./support/peer.ts";
import { type ServerProcess, spawnServer } from "./support/server-process.ts";

const skipReason = promtoolPath === undefined ? " [SKIPPED: promtool is not installed; apt-get install prometheus]" : "";
if (skipReason !== "") console.warn(`metrics format test${skipReason}`);

/** The summary field each drop reason and counter is printed under, against its /metrics series. */
const SUMMARY_SERIES: [string, string][] = [
  ["datagrams_in", "relay_datagrams_received_total"],
  ["lines", "relay_lines_relayed_total"],
  ["deliveries", "relay_deliveries_total"],
  ["send_errors", "relay_send_errors_total"],
  ["backpressure", "relay_backpressure_events_total"],
  ["challenges", "relay_challenges_total"],
  ["clients", "relay_clients"],
];

/** Joins a client as `name` and waits for its own join notice; the peer is closed with `server`. */
async function joinAs(server: ServerProcess, name: string): Promise<Peer> {
  const p = await server.stranger();
  p.send(name);
  await p.until((l) => l === `[SERVER] ${name} has joined the chat.`, 3000);
  return p;
}

describe("GET /metrics", () => {
  test("after joins, lines, a refused line, a rate-limited burst, a /quit and a vanished client, the counters are the summary's", async () => {
    await using server = await spawnServer(["--admin", "127.0.0.1:0", "--quiet", "--rate-limit", "2", "--burst", "3", "--idle-timeout", "2"]);
    const base = await adminUrl(server);
    const alice = await joinAs(server, "alice");
    const bob = await joinAs(server, "bob");
    const carol = await joinAs(server, "carol");
    alice.send("hello");
    await bob.until((l) => l === "alice ~ hello");
    alice.send("bell \x07 here"); // refused: a control character
    await alice.until((l) => l.startsWith("[SERVER]") && l.includes("control"));
    for (let i = 0; i < 10; i++) bob.send(`burst ${i}`); // 3 go through (the burst), the rest are rate limited
    await bob.until((l) => l === "bob ~ burst 2");
    carol.close(); // vanishes without /quit: fails sends until the idle sweep removes it
    alice.send("/quit");
    // Everyone left times out after 2 s of silence; then nothing moves and the summary must equal the scrape.
    const m = await metricsUntil(base, (s) => s.get("relay_clients") === 0 && s.get('relay_leaves_total{how="timeout"}') === 2, 10_000);
    const text = await (await get(base, "metrics")).text();
    const { code, stderr } = await server.stop();
    expect(code).toBe(0);
    const summary = parseSummary(stderr);

    for (const [field, series] of SUMMARY_SERIES) expect([field, m.get(series)]).toEqual([field, summary.get(field)]);
    for (const [series, value] of m) {
      const reason = /^relay_dropped_total\{reason="(\w+)"\}$/.exec(series)?.[1];
      if (reason !== undefined) expect([reason, value]).toEqual([reason, summary.get(reason) ?? 0]);
    }
    expect(m.get("relay_joins_total")).toBe(3);
    expect(m.get('relay_leaves_total{how="quit"}')).toBe(1);
    expect(m.get('relay_leaves_total{how="evicted"}')).toBe(0);
    expect(m.get('relay_dropped_total{reason="rate_limited"}')).toBe(7);
    expect(m.get('relay_dropped_total{reason="control_chars"}')).toBe(1);
    expect(m.get("relay_lines_relayed_total")).toBe(4);
    expect(m.get("relay_bytes_received_total")).toBeGreaterThan(0);
    // Every delivery so far was a whole frame: the bytes are at least one per delivery.
    expect(m.get("relay_bytes_sent_total")!).toBeGreaterThanOrEqual(m.get("relay_deliveries_total")!);
    expect(m.get('relay_fanout_seconds_bucket{le="+Inf"}')).toBe(m.get("relay_fanout_seconds_count"));
    expect(m.get("process_resident_memory_bytes")!).toBeGreaterThan(0);
    expect(text).toMatch(/^relay_build_info\{version="[^"]+",bun_version="\d+\.\d+\.\d+"\} 1$/m);
    expect(text).not.toMatch(/alice|bob|carol/); // no per-client labels

    if (promtoolPath !== undefined) {
      const check = Bun.spawn([promtoolPath, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe", timeout: 10_000 });
      const [out, err, status] = await Promise.all([new Response(check.stdout).text(), new Response(check.stderr).text(), check.exited]);
      expect(`${status} ${out}${err}`.trim()).toBe("0");
    }
  });

  test.skipIf(skipReason !== "")(`promtool accepts it on a fresh relay too (every family present, zeros included)${skipReason}`, async () => {
    await using server = await spawnServer(["--admin", "127.0.0.1:0"]);
    const res = await get(await adminUrl(server), "metrics");
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const check = Bun.spawn([promtoolPath!, "check", "metrics"], { stdin: new TextEncoder().encode(await res.text()), stdout: "pipe", stderr: "pipe", timeout: 10_000 });
    const [out, err, status] = await Promise.all([new Response(check.stdout).text(), new Response(check.stderr).text(), check.exited]);
    expect(`${status} ${out}${err}`.trim()).toBe("0");
  });
});
