// SIGINT and SIGTERM counted natively as they arrive, so a relay whose event loop is flooded still notices them.

import { cc, toArrayBuffer } from "bun:ffi";

/**
 * Bun runs a `process.on("SIGINT")` listener from its event loop, and a relay whose socket is always readable
 * never gets back to it (measured: Ctrl+C handled 8.8 s late, when the flood and the kernel's receive buffer had
 * drained). A C handler wrapped around Bun's counts each signal and passes it on; the count is a typed array
 * over the C variable, read from the receive path once per OBSERVE_EVERY datagrams.
 */
export interface SignalCount {
  /** Signals arrived so far ([0]): written by the C handler, never by JavaScript. */
  readonly arrived: Int32Array;
}

const signalNumbers = { SIGINT: 2, SIGTERM: 15 } as const;

// Held for the life of the process: the count lives in the compiled code's memory.
let compiled: ReturnType<typeof compile> | undefined;

function compile() {
  return cc({
    source: new URL("./signals.c", import.meta.url).pathname,
    symbols: {
      count_signal: { args: ["i32", "i32"], returns: "i32" },
      signal_count: { args: [], returns: "ptr" },
    },
  });
}

/**
 * Counts `signals` (at most two) from now on. Call it after `process.on` has a listener for each: Bun installs
 * its handler then, and this wraps it. Undefined where it cannot be done (not Linux, no TinyCC in this Bun, no
 * handler to wrap): the listeners still run, from the event loop, as ever.
 */
export function countSignals(signals: readonly (keyof typeof signalNumbers)[]): SignalCount | undefined {
  if (process.platform !== "linux" || signals.length > 2) return undefined;
  try {
    compiled ??= compile();
    const { count_signal, signal_count } = compiled.symbols;
    for (let slot = 0; slot < signals.length; slot++) {
      if (count_signal(slot, signalNumbers[signals[slot]!]) !== 0) return undefined;
    }
    const at = signal_count();
    return at === null ? undefined : { arrived: new Int32Array(toArrayBuffer(at, 0, 4)) };
  } catch {
    return undefined;
  }
}
