// Periodic work: run by its timer, or by the receive path once LATE_MS overdue, and never twice for one period.

import { afterEach, expect, test } from "bun:test";
import { LATE_MS, Periodic } from "../src/periodic.ts";

const open: Periodic[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});
function periodic(): Periodic {
  const p = new Periodic();
  open.push(p);
  return p;
}

/** A job's runs, as [nowMs, starved]. */
function recorder() {
  const runs: [number, boolean][] = [];
  return { runs, run: (nowMs: number, starved: boolean) => void runs.push([nowMs, starved]) };
}

// The receive-path tests put the job's first run far in the real future, so its timer stays out of them.
const FAR_MS = 60_000;

test("a job runs on its timer, not starved, again and again", async () => {
  const p = periodic();
  const { runs, run } = recorder();
  p.every(10, run);
  const deadline = performance.now() + 5000; // a hang bound only
  while (runs.length < 3 && performance.now() < deadline) await Bun.sleep(5);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(runs.every(([, starved]) => !starved)).toBe(true);
});

test("the receive path runs only jobs LATE_MS overdue, at the time it gives, and says they are starved", () => {
  const p = periodic();
  const t = performance.now() + FAR_MS;
  const { runs, run } = recorder();
  p.every(1000, run, t - 1000); // due at t
  expect(p.lateAtMs).toBe(t + LATE_MS);
  p.runLate(t + LATE_MS - 1);
  expect(runs).toEqual([]);
  p.runLate(t + LATE_MS);
  expect(runs).toEqual([[t + LATE_MS, true]]);
  expect(p.lateAtMs).toBe(t + 1000 + LATE_MS);
});

test("never twice for one period: whichever path runs a job moves it on, and the other finds nothing due", () => {
  const p = periodic();
  const t = performance.now() + FAR_MS;
  const { runs, run } = recorder();
  const job = p.every(1000, run, t - 1000);
  p.runLate(t + 200);
  p.runLate(t + 200);
  p.runLate(t + 900);
  expect(runs.length).toBe(1);
  expect(job.dueMs).toBe(t + 1000); // the cadence holds: a late run does not push later ones back
  p.runLate(t + 1000 + LATE_MS);
  expect(runs.length).toBe(2);
});

test("a job a whole period late runs once and starts afresh: no catching up", () => {
  const p = periodic();
  const t = performance.now() + FAR_MS;
  const { runs, run } = recorder();
  const job = p.every(100, run, t - 100);
  p.runLate(t + 1000);
  p.runLate(t + 1000 + LATE_MS);
  expect(runs.length).toBe(1);
  expect(job.dueMs).toBe(t + 1100);
});

test("a one-off job runs once each time it is scheduled; Infinity unschedules it", () => {
  const p = periodic();
  const t = performance.now() + FAR_MS;
  const { runs, run } = recorder();
  const job = p.once(run);
  p.runLate(t + FAR_MS);
  expect(runs).toEqual([]);
  p.at(job, t);
  expect(p.lateAtMs).toBe(t + LATE_MS);
  p.runLate(t + LATE_MS);
  p.runLate(t + 10 * LATE_MS);
  expect(runs.length).toBe(1);
  p.at(job, t + 500);
  p.at(job, Number.POSITIVE_INFINITY);
  p.runLate(t + FAR_MS);
  expect(runs.length).toBe(1);
});

test("a job that removes itself as it runs does not make the next one wait", () => {
  const p = periodic();
  const t = performance.now() + FAR_MS;
  const order: string[] = [];
  const first = p.every(
    100,
    () => {
      order.push("first");
      p.remove(first);
    },
    t - 100,
  );
  p.every(100, () => void order.push("second"), t - 100);
  p.runLate(t + LATE_MS);
  p.runLate(t + 100 + LATE_MS);
  expect(order).toEqual(["first", "second", "second"]);
});

test("the timer runs a one-off job scheduled in the past at once; close stops everything", async () => {
  const p = periodic();
  const { runs, run } = recorder();
  const job = p.once(run);
  p.at(job, performance.now() - 1);
  const deadline = performance.now() + 5000;
  while (runs.length === 0 && performance.now() < deadline) await Bun.sleep(1);
  expect(runs.length).toBe(1);
  p.every(1, run);
  p.close();
  expect(p.lateAtMs).toBe(Number.POSITIVE_INFINITY);
  p.runLate(performance.now() + FAR_MS);
  await Bun.sleep(20);
  expect(runs.length).toBe(1);
});
