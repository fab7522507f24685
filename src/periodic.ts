// Periodic work (the idle sweep, notice summaries, the state file) run by one timer and, while timers starve, from the receive path.

/**
 * How late a job must be before the receive path runs it. A relay that keeps up fires its timers within a
 * millisecond or two; one this late is starved: its socket is always readable, and Bun 1.4.5 then dispatches
 * datagrams back to back and runs no timer, no immediate, no I/O completion and no signal handler until the
 * socket is drained (docs/admin.md). Below this the timer has the job to itself, so a relay that is not
 * saturated behaves exactly as it would with timers alone.
 */
export const LATE_MS = 50;

/** What a job does. `starved`: run from the receive path; async work it starts will not progress until the flood ends. */
export type JobRun = (nowMs: number, starved: boolean) => void;

/** A job of a `Periodic`: a function and when it is next due. */
export interface PeriodicJob {
  /** Next due (performance.now() ms); Infinity while nothing is scheduled. */
  readonly dueMs: number;
}

interface Job extends PeriodicJob {
  dueMs: number;
  /** 0: runs only when `at` schedules it. */
  readonly everyMs: number;
  readonly run: JobRun;
}

/**
 * A small set of jobs and the one timer that runs them. Both the timer and the receive path (`runLate`, after one
 * compare with `lateAtMs` per OBSERVE_EVERY datagrams) run a job only when it is due, and move its due time on
 * before it runs, so whichever comes first runs it and the other finds nothing to do: never twice for one period.
 */
export class Periodic {
  private readonly jobs: Job[] = [];
  /** When the earliest job becomes LATE_MS overdue: the receive path calls `runLate` from then on. */
  lateAtMs = Number.POSITIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;
  private closed = false;

  /** Runs `run` every `everyMs` (> 0), the first time `everyMs` from now. */
  every(everyMs: number, run: JobRun, nowMs = performance.now()): PeriodicJob {
    const job: Job = { dueMs: Number.POSITIVE_INFINITY, everyMs, run };
    this.jobs.push(job);
    this.at(job, nowMs + everyMs);
    return job;
  }

  /** A job that runs once each time `at` schedules it. */
  once(run: JobRun): PeriodicJob {
    const job: Job = { dueMs: Number.POSITIVE_INFINITY, everyMs: 0, run };
    this.jobs.push(job);
    return job;
  }

  /** Moves `job`'s next run to `dueMs` (a time past runs it at the next chance; Infinity: not until scheduled again). */
  at(job: PeriodicJob, dueMs: number): void {
    (job as Job).dueMs = dueMs;
    if (this.closed || dueMs === Number.POSITIVE_INFINITY) return;
    if (dueMs + LATE_MS < this.lateAtMs) this.lateAtMs = dueMs + LATE_MS;
    this.arm(dueMs);
  }

  /** Drops `job`: it never runs again. */
  remove(job: PeriodicJob): void {
    (job as Job).dueMs = Number.POSITIVE_INFINITY;
    const i = this.jobs.indexOf(job as Job);
    if (i >= 0) this.jobs.splice(i, 1);
  }

  /** Receive path, once `nowMs >= lateAtMs`: runs every job LATE_MS overdue, telling it it is starved. */
  runLate(nowMs: number): void {
    this.run(nowMs - LATE_MS, nowMs, true);
  }

  /** Stops the timer and drops every job. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const job of this.jobs) job.dueMs = Number.POSITIVE_INFINITY;
    this.jobs.length = 0;
    this.lateAtMs = Number.POSITIVE_INFINITY;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = performance.now();
    this.run(nowMs, nowMs, false);
  };

  // Cold path: runs the jobs due by `dueByMs`, then finds the next due time and arms the timer for it.
  private run(dueByMs: number, nowMs: number, starved: boolean): void {
    for (let i = 0; i < this.jobs.length; i++) {
      const job = this.jobs[i]!;
      if (job.dueMs > dueByMs) continue;
      job.dueMs = job.everyMs > 0 ? nextDue(job.dueMs, job.everyMs, nowMs) : Number.POSITIVE_INFINITY;
      job.run(nowMs, starved);
      if (this.jobs[i] !== job) i--; // it removed itself
    }
    let next = Number.POSITIVE_INFINITY;
    for (const job of this.jobs) if (job.dueMs < next) next = job.dueMs;
    this.lateAtMs = next + LATE_MS;
    if (!this.closed && next !== Number.POSITIVE_INFINITY) this.arm(next);
  }

  // One timer for all jobs, at the earliest due time; one already set earlier fires, finds nothing, and re-arms.
  private arm(dueMs: number): void {
    if (this.timer !== undefined && this.timerAtMs <= dueMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAtMs = dueMs;
    this.timer = setTimeout(this.fire, Math.max(0, dueMs - performance.now()));
    this.timer.unref();
  }
}

// Keeps the cadence (a run LATE_MS late does not push every later one back), but a run a whole period late starts afresh: no catching up.
function nextDue(dueMs: number, everyMs: number, nowMs: number): number {
  const next = dueMs + everyMs;
  return next > nowMs ? next : nowMs + everyMs;
}
