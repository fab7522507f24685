// Test helpers: the relay as a real child process, with its output read line by line.

import { resolve } from "node:path";

export const root = resolve(import.meta.dir, "../..");
export const bun = process.execPath;

/** A spawned `src/server.ts`. */
export interface ServerProcess {
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** The port from the `Running on` line. */
  readonly port: number;
  /** Stdout lines so far. */
  readonly lines: string[];
  /** Sends a signal and resolves with the exit code, stdout and stderr (bounded by `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Runs a script under `src/` to completion (bounded), for flag and error tests. */
export async function runScript(script: string, args: string[], timeoutMs = 10_000, env: Record<string, string> = {}) {
  const proc = Bun.spawn([bun, "run", `src/${script}`, ...args], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Starts the relay on an ephemeral loopback port and waits (bounded) for its `Running on` line. */
export async function spawnServer(args: string[] = [], timeoutMs = 10_000): Promise<ServerProcess> {
  const proc = Bun.spawn([bun, "run", "src/server.ts", "--port", "0", ...args], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const reader = proc.stdout.getReader();
  let partial = "";
  let port = 0;
  const stdoutDone = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      partial += decoder.decode(value, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
    }
    if (partial) lines.push(partial);
  })();
  let stopped: Promise<{ code: number | null; stdout: string; stderr: string }> | undefined;
  const deadline = performance.now() + timeoutMs;
  while (port === 0) {
    const running = lines.find((l) => l.startsWith("[SERVER] Running on "));
    if (running) port = Number(running.slice(running.lastIndexOf(":") + 1));
    else if (proc.exitCode !== null || performance.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start: ${await new Response(proc.stderr).text()}`);
    } else await Bun.sleep(10);
  }
  return {
    proc,
    port,
    lines,
    stop(signal = "SIGINT", stopTimeoutMs = 10_000) {
      // Idempotent: a test may stop its server and an afterEach stop it again.
      stopped ??= (async () => {
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill("SIGKILL"), stopTimeoutMs);
        const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text(), stdoutDone]);
        clearTimeout(timer);
        return { code, stdout: lines.join("\n"), stderr };
      })();
      return stopped;
    },
  };
}
