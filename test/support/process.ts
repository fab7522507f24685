// Test helpers: child processes that end with the test that started them, and their output read line by line.

/** Sends `signal`, then SIGKILL if `proc` has not exited within `graceMs`; resolves with the exit code. */
export async function endProcess(proc: Bun.Subprocess, signal: NodeJS.Signals = "SIGINT", graceMs = 5000): Promise<number | null> {
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `proc`, made to end as `endProcess(proc, signal, graceMs)` does when disposed, so `await using` bounds its life.
 * (Bun's own dispose sends SIGTERM and waits without a deadline.)
 */
export function endedOnDispose<P extends Bun.Subprocess>(proc: P, signal: NodeJS.Signals = "SIGKILL", graceMs = 5000): P {
  Object.defineProperty(proc, Symbol.asyncDispose, { value: async () => void (await endProcess(proc, signal, graceMs)) });
  return proc;
}

/** Appends `stream`'s text to `lines`, a line at a time as it arrives; resolves once the stream ends. */
export async function readLines(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    partial += decoder.decode(chunk, { stream: true });
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  }
  if (partial) lines.push(partial);
}
