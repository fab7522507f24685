// Line sinks: where every line said to everyone goes besides the fan-out (the console, the bus), and a tee of two.

/** Takes a copy of each line said to everyone: a chat line, `/me`, or a join/leave/rename/timeout notice. */
export interface LineSink {
  /** `bytes` is only valid during the call (it may be the fan-out's reused buffer): copy what you keep. */
  line(bytes: Uint8Array): void;
}

/**
 * One sink from two optional ones. With one of them absent it returns the other itself, not a wrapper, so a
 * relay without a bus pays exactly what it paid before for its console.
 */
export function teeLines(first: LineSink | undefined, second: LineSink | undefined): LineSink | undefined {
  if (second === undefined) return first;
  if (first === undefined) return second;
  return {
    line(bytes) {
      first.line(bytes);
      second.line(bytes);
    },
  };
}
