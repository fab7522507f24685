// Summary figures for the measuring scripts: the machine is shared and single runs are noisy, so they quote medians.

/** The middle value of `xs` (the mean of the middle two for an even count); NaN when there are none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of `value` over `rows`. */
export function medianOf<T>(rows: readonly T[], value: (row: T) => number): number {
  return median(rows.map(value));
}
