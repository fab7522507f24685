// Event-loop lag: a timer that measures how late it fires. Cold: one wake-up every LAG_PERIOD_MS.

/** How often the lag timer fires. */
export const LAG_PERIOD_MS = 100;

/**
 * Watches this thread's event loop: every LAG_PERIOD_MS a timer notes how much later than asked it ran. `seconds()`
 * is the worst lateness over the last second or so (the timer's own jitter, ~0.1-1 ms, included): a loop busy
 * relaying a burst shows here before anything else does.
 */
export class LagMonitor {
  private worstMs = 0;
  private previousWorstMs = 0;
  private ticks = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor() {
    let expected = performance.now() + LAG_PERIOD_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = Math.max(0, now - expected);
      expected = now + LAG_PERIOD_MS;
      if (late > this.worstMs) this.worstMs = late;
      // Two windows of ~1 s each, so a reading never sees a freshly emptied one.
      if (++this.ticks * LAG_PERIOD_MS >= 1000) {
        this.previousWorstMs = this.worstMs;
        this.worstMs = 0;
        this.ticks = 0;
      }
    }, LAG_PERIOD_MS);
    this.timer.unref();
  }

  /** The worst lateness seen in the last one to two seconds, in seconds. */
  seconds(): number {
    return Math.max(this.worstMs, this.previousWorstMs) / 1000;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
