// What a benchmark group module provides to the runner, and the sweeps it may shrink in quick mode.

/** One group of the suite (one file), selectable with `--group NAME`. */
export interface BenchGroup {
  /** Short lowercase name used by `--group`. */
  readonly name: string;
  /** One line for `--help` and the results table. */
  readonly title: string;
  /**
   * Divides a run's time by one of its arguments for the results table, e.g. time per recipient
   * from time per broadcast: `{ arg: "n", label: "per recipient" }`.
   */
  readonly per?: { readonly arg: string; readonly label: string };
  /** Registers the group's benchmarks with mitata (setup happens lazily, inside each benchmark). */
  register(quick: boolean): void;
  /** Facts the timings alone do not show (drops, short sends), printed after the group's run. */
  notes?(): string[];
  /** Releases sockets and processes the benchmarks opened. Called once after the run, even on failure. */
  close(): Promise<void> | void;
}

/** Picks the full sweep or its quick subset. */
export function sweep<T>(quick: boolean, full: readonly T[], short: readonly T[]): T[] {
  return [...(quick ? short : full)];
}

/** The generator argument mitata passes to a benchmark: its current `.args` values by name. */
export interface BenchState {
  get(name: string): unknown;
}
