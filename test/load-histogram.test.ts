// Latency histograms merged across threads, and the shared-memory spread ring, exercised by real worker threads.

import { describe, expect, test } from "bun:test";
import { Worker } from "node:worker_threads";
import { encodeHistogram, MAX_TRACKABLE_US, mergeEncoded, newHistogram, recordUs, summarize } from "../src/load/histogram.ts";
import { newSpreadMemory, SpreadRing } from "../src/load/spread.ts";

describe("histograms", () => {
  test("two encoded halves merge to the percentiles of the whole", () => {
    const a = newHistogram();
    const b = newHistogram();
    for (let v = 1; v <= 10_000; v++) recordUs(v <= 5000 ? a : b, v);
    const merged = newHistogram(true);
    mergeEncoded(merged, encodeHistogram(a));
    mergeEncoded(merged, encodeHistogram(b));
    const s = summarize(merged);
    expect(s.count).toBe(10_000);
    // 3 significant digits: within 0.1 %.
    expect(Math.abs(s.p50 - 5000)).toBeLessThanOrEqual(5);
    expect(Math.abs(s.p99 - 9900)).toBeLessThanOrEqual(10);
    expect(Math.abs(s.max - 10_000)).toBeLessThanOrEqual(10);
  });

  test("out-of-range values are clamped, so every delivery counts", () => {
    const h = newHistogram();
    recordUs(h, -5);
    recordUs(h, 0.4);
    recordUs(h, MAX_TRACKABLE_US * 10);
    const s = summarize(h);
    expect(s.count).toBe(3);
    expect(Math.abs(s.max - MAX_TRACKABLE_US) / MAX_TRACKABLE_US).toBeLessThan(0.001);
  });

  test("an empty histogram summarizes to zeros", () => {
    expect(summarize(newHistogram())).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
  });
});

describe("spread ring", () => {
  test("the recipients-th delivery completes a message with max − min", () => {
    const ring = new SpreadRing(newSpreadMemory());
    const key = SpreadRing.key(3, 7, 10);
    ring.open(key);
    expect(ring.arrive(key, 500, 3)).toBe(-1);
    expect(ring.arrive(key, 200, 3)).toBe(-1);
    expect(ring.arrive(key, 900, 3)).toBe(700);
  });

  test("a delivery for a message whose slot was reused is ignored", () => {
    const ring = new SpreadRing(newSpreadMemory());
    const old = SpreadRing.key(0, 0, 1);
    ring.open(old);
    ring.open(old + (1 << 19)); // same slot, newer message
    expect(ring.arrive(old, 100, 1)).toBe(-1);
  });

  test("workers on other threads fold their deliveries into the same message", async () => {
    const memory = newSpreadMemory();
    const ring = new SpreadRing(memory);
    const keys = Array.from({ length: 200 }, (_, i) => SpreadRing.key(i % 10, Math.floor(i / 10), 10));
    for (const k of keys) ring.open(k);
    // Two threads each deliver every message to 50 recipients; latencies 1..50 and 51..100.
    const results = await Promise.all(
      [1, 51].map(
        (base) =>
          new Promise<number[]>((resolve, reject) => {
            const w = new Worker(new URL("./support/spread-worker.ts", import.meta.url), { workerData: { memory, keys, base, recipients: 100 } });
            const timer = setTimeout(() => reject(new Error("worker hung")), 10_000);
            w.on("message", (m: number[]) => {
              clearTimeout(timer);
              void w.terminate();
              resolve(m);
            });
            w.on("error", reject);
          }),
      ),
    );
    const spreads = results.flat();
    expect(spreads.length).toBe(200); // each message completed exactly once, by whichever thread came last
    for (const s of spreads) expect(s).toBe(99);
  });
});
