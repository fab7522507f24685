// Table tests for the rate limits: the per-client token bucket, the delivery budget, per-second tables, source prefixes.

import { describe, expect, test } from "bun:test";
import { type Bucket, DeliveryBudget, prefixKey, takeToken, WindowCounter } from "../src/limits.ts";

function bucket(atMs = 0): Bucket {
  return { tokens: Number.POSITIVE_INFINITY, tokensAtMs: atMs, slowNoticeMs: Number.NEGATIVE_INFINITY };
}

describe("takeToken", () => {
  test("a new bucket allows exactly the burst at once", () => {
    const b = bucket();
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (takeToken(b, 0, 10 / 1000, 30)) allowed++;
    expect(allowed).toBe(30);
  });

  test("refills at the rate, never above the burst", () => {
    const b = bucket();
    for (let i = 0; i < 30; i++) takeToken(b, 0, 10 / 1000, 30);
    expect(takeToken(b, 0, 10 / 1000, 30)).toBe(false);
    expect(takeToken(b, 100, 10 / 1000, 30)).toBe(true); // 100 ms at 10/s = one token
    expect(takeToken(b, 100, 10 / 1000, 30)).toBe(false);
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (takeToken(b, 1_000_000, 10 / 1000, 30)) allowed++;
    expect(allowed).toBe(30);
  });

  test("a refused datagram does not spend a token", () => {
    const b = bucket();
    takeToken(b, 0, 1 / 1000, 1);
    for (let i = 0; i < 10; i++) expect(takeToken(b, 500, 1 / 1000, 1)).toBe(false);
    expect(takeToken(b, 1000, 1 / 1000, 1)).toBe(true);
  });
});

describe("DeliveryBudget", () => {
  test("lets broadcasts through until in debt, then refills at the rate", () => {
    const budget = new DeliveryBudget(100);
    expect(budget.take(60, 0)).toBe(true);
    expect(budget.take(60, 0)).toBe(true); // 40 left: not in debt yet
    expect(budget.take(60, 0)).toBe(false); // -20
    expect(budget.take(60, 100)).toBe(false); // -10
    expect(budget.take(60, 300)).toBe(true); // +10
  });

  test("a broadcast larger than a second's budget still goes out, at the average rate", () => {
    const budget = new DeliveryBudget(1000);
    let sent = 0;
    for (let t = 0; t <= 10_000; t += 10) if (budget.take(5000, t)) sent += 5000;
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(sent).toBeLessThanOrEqual(1000 * 10 + 5000 + 1000);
  });
});

describe("WindowCounter", () => {
  test("per key and in total, per window", () => {
    const c = new WindowCounter(2, 5);
    expect([c.allow("a", 0), c.allow("a", 0), c.allow("a", 0)]).toEqual([true, true, false]);
    expect([c.allow("b", 0), c.allow("b", 0), c.allow("c", 0), c.allow("d", 0)]).toEqual([true, true, true, false]);
    expect(c.allow("a", 1000)).toBe(true); // a new window
  });

  test("0 means no such limit", () => {
    const perKeyOnly = new WindowCounter(1, 0);
    for (let i = 0; i < 100; i++) expect(perKeyOnly.allow(`k${i}`, 0)).toBe(true);
    const totalOnly = new WindowCounter(0, 3);
    expect([totalOnly.allow("a", 0), totalOnly.allow("a", 0), totalOnly.allow("a", 0), totalOnly.allow("a", 0)]).toEqual([true, true, true, false]);
    expect(totalOnly.size).toBe(0); // no per-key table at all
  });

  test("the table is bounded: new keys beyond the capacity are refused until the window ends", () => {
    const c = new WindowCounter(10, 0, 4);
    for (let i = 0; i < 4; i++) expect(c.allow(`k${i}`, 0)).toBe(true);
    expect(c.allow("k4", 0)).toBe(false);
    expect(c.allow("k0", 0)).toBe(true); // known keys keep their budget
    expect(c.size).toBe(4);
    expect(c.allow("k4", 1000)).toBe(true);
    expect(c.size).toBe(1);
  });
});

describe("prefixKey", () => {
  const cases: [string, string][] = [
    ["192.168.1.20", "192.168.1"],
    ["192.168.1.255", "192.168.1"],
    ["10.0.0.1", "10.0.0"],
    ["::ffff:192.168.1.20", "192.168.1"],
    ["::1", "0:0:0:0::/64"],
    ["2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"],
    ["2001:db8:aa:bb::4", "2001:db8:aa:bb::/64"],
    ["2001:DB8:00AA:bb::", "2001:db8:aa:bb::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
  ];
  for (const [address, key] of cases) test(address, () => expect(prefixKey(address)).toBe(key));

  test("addresses of one /64 share a key, other /64s do not", () => {
    expect(prefixKey("2001:db8:1:2::1")).toBe(prefixKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(prefixKey("2001:db8:1:2::1")).not.toBe(prefixKey("2001:db8:1:3::1"));
  });
});
