// Latency histograms: hdr-histogram-js, one per worker per interval, shipped as compressed base64 and merged on the main thread.
//
// Bun 1.4.5's `perf_hooks.createHistogram` was tried first: its histograms cannot be posted to another thread
// ("The object can not be cloned"), expose no buckets to rebuild one from, and silently drop values above
// `highest`. So per-worker histograms could not be merged; HdrHistogram's V2 encoding can.

import * as hdr from "hdr-histogram-js";

/** Largest latency recorded, in µs (60 s); larger ones are clamped to it, so they still count. */
export const MAX_TRACKABLE_US = 60_000_000;

export type Histogram = hdr.Histogram;

/** Percentiles of one histogram, in µs. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * A histogram of µs values, log-bucketed with 3 significant digits (0.1 % resolution) from 1 µs to 60 s.
 * Workers use 32-bit counts per interval; merged totals use 64-bit (float) counts, which cannot overflow.
 */
export function newHistogram(merged = false): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: merged ? 64 : 32,
    autoResize: false,
  });
}

/** Records one value in µs, clamped into the trackable range (the library throws outside it). */
// hot path: twice per delivery
export function recordUs(h: Histogram, us: number): void {
  h.recordValue(us < 0 ? 0 : us > MAX_TRACKABLE_US ? MAX_TRACKABLE_US : Math.floor(us));
}

/** The histogram as compressed base64 (HdrHistogram V2), for posting to another thread. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Adds an encoded histogram into `into`. */
export function mergeEncoded(into: Histogram, encoded: string): void {
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false);
  into.add(h);
  h.destroy();
}

/** Percentiles in whole µs (0 for an empty histogram). */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean),
  };
}

/** A histogram from its compressed base64 form, with 64-bit counts (a whole run's may exceed 32 bits). */
export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false);
}
