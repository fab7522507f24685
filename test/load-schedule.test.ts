// The open-loop schedule: due times follow the clock, senders interleave evenly, and the end is exact.

import { describe, expect, test } from "bun:test";
import { SendSchedule } from "../src/load/schedule.ts";

function drain(s: SendSchedule, max = 10_000): [number, number, number][] {
  const out: [number, number, number][] = [];
  while (s.dueUs !== Number.POSITIVE_INFINITY && out.length < max) {
    out.push([s.sender, s.seq, s.dueUs]);
    s.advance();
  }
  return out;
}

describe("send schedule", () => {
  test("one sender at 1000/s is due every millisecond from t0 until the end", () => {
    const due = drain(new SendSchedule([0], 1, 1000, 5_000, 15_000));
    expect(due).toEqual(Array.from({ length: 10 }, (_, k) => [0, k, 5_000 + k * 1000]));
  });

  test("senders are offset by their share of the period, in time order", () => {
    // 4 senders in all, this worker has 1 and 3; 100/s each: a 10 ms period, offsets of 2.5 ms per id.
    const due = drain(new SendSchedule([1, 3], 4, 100, 0, 25_000));
    expect(due).toEqual([
      [1, 0, 2_500],
      [3, 0, 7_500],
      [1, 1, 12_500],
      [3, 1, 17_500],
      [1, 2, 22_500],
    ]);
    const times = due.map((d) => d[2]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  test("the workers' schedules interleave into one even schedule", () => {
    const all = [...drain(new SendSchedule([0, 2], 4, 10, 0, 1e6)), ...drain(new SendSchedule([1, 3], 4, 10, 0, 1e6))];
    const times = all.map((d) => d[2]).sort((a, b) => a - b);
    expect(times.length).toBe(40); // 4 senders × 10/s × 1 s
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(25_000);
  });

  test("no senders, rate 0 or stop(): nothing is due", () => {
    expect(drain(new SendSchedule([], 4, 100, 0, 1e6))).toEqual([]);
    expect(drain(new SendSchedule([0], 1, 0, 0, 1e6))).toEqual([]);
    const s = new SendSchedule([0], 1, 1000, 0, 1e6);
    s.advance();
    s.stop();
    expect(drain(s)).toEqual([]);
  });
});
