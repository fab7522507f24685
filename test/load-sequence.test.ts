// Per-(receiver, sender) sequence accounting: in order, late (reordered), duplicate, and the memory bound.

import { describe, expect, test } from "bun:test";
import { Arrival, SequenceTracker, WINDOW } from "../src/load/sequence.ts";

describe("sequence tracker", () => {
  test("in-order arrivals, and gaps that never fill, are all in order", () => {
    const t = new SequenceTracker(2, 3, 1 << 20);
    for (const seq of [0, 1, 2, 5, 9]) expect(t.record(1, 2, seq)).toBe(Arrival.inOrder);
    expect(t.duplicates + t.reordered).toBe(0);
  });

  test("a late arrival filling a gap is reordered; a second copy is a duplicate", () => {
    const t = new SequenceTracker(1, 1, 1 << 20);
    expect(t.record(0, 0, 0)).toBe(Arrival.inOrder);
    expect(t.record(0, 0, 2)).toBe(Arrival.inOrder);
    expect(t.record(0, 0, 1)).toBe(Arrival.reordered);
    expect(t.record(0, 0, 1)).toBe(Arrival.duplicate);
    expect(t.record(0, 0, 2)).toBe(Arrival.duplicate);
    expect(t.record(0, 0, 0)).toBe(Arrival.duplicate);
    expect([t.reordered, t.duplicates]).toEqual([1, 3]);
  });

  test("pairs are independent", () => {
    const t = new SequenceTracker(2, 2, 1 << 20);
    expect(t.record(0, 0, 0)).toBe(Arrival.inOrder);
    expect(t.record(0, 1, 0)).toBe(Arrival.inOrder);
    expect(t.record(1, 0, 0)).toBe(Arrival.inOrder);
    expect(t.record(1, 1, 0)).toBe(Arrival.inOrder);
  });

  test("the window is 32 deep; older arrivals count as reordered", () => {
    const t = new SequenceTracker(1, 1, 1 << 20);
    t.record(0, 0, 100);
    expect(t.record(0, 0, 100 - (WINDOW - 1))).toBe(Arrival.reordered);
    expect(t.record(0, 0, 100 - (WINDOW - 1))).toBe(Arrival.duplicate);
    expect(t.record(0, 0, 100 - WINDOW)).toBe(Arrival.reordered);
    // A jump of more than the window clears it.
    expect(t.record(0, 0, 200)).toBe(Arrival.inOrder);
    expect(t.record(0, 0, 199)).toBe(Arrival.reordered);
  });

  test("only as many receivers are tracked as the pair budget allows", () => {
    const t = new SequenceTracker(10, 100, 350);
    expect(t.trackedReceivers).toBe(3);
    expect(t.record(3, 0, 0)).toBe(Arrival.untracked);
    expect(t.record(2, 99, 0)).toBe(Arrival.inOrder);
  });
});
