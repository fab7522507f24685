// Test helpers: the relay as a real child process, with its output read line by line, stopped when disposed.

import { resolve } from "node:path";
import { type PeerOwner, withPeers } from "./peer.ts";
import { endProcess, readLines } from "./process.ts";

export const root = resolve(import.meta.dir, "../..");
export const bun = process.execPath;

/**
 * A spawned `src/server.ts`. `await using server = await spawnServer()` closes the peers opened through it
 * and stops it: SIGINT, SIGKILL after 2 s, waiting for the exit.
 */
export interface ServerProcess extends PeerOwner, AsyncDisposable {
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
  return runBun(["run", `src/${script}`, ...args], timeoutMs, env);
}

/** Runs `bun ARGS…` in the checkout to completion (bounded): exit code, stdout and stderr. */
export async function runBun(args: string[], timeoutMs = 10_000, env: Record<string, string> = {}) {
  const proc = Bun.spawn([bun, ...args], {
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
export async function spawnServer(args: string[] = [], timeoutMs = 10_000, env: Record<string, string> = {}): Promise<ServerProcess> {
  // Every notice by name, as test/support/relays.ts's EVERY_NOTICE; a later --notice-rate in `args` wins.
  const proc = Bun.spawn([bun, "run", "src/server.ts", "--port", "0", "--notice-rate", "1000000", ...args], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  const stdoutDone = readLines(proc.stdout, lines);
  let port = 0;
  const deadline = performance.now() + timeoutMs;
  while (port === 0) {
    const running = lines.find((l) => l.startsWith("[SERVER] Running on "));
    if (running) port = Number(running.slice(running.lastIndexOf(":") + 1));
    else if (proc.exitCode !== null || performance.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start: ${await new Response(proc.stderr).text()}`);
    } else await Bun.sleep(10);
  }
  let stopped: Promise<{ code: number | null; stdout: string; stderr: string }> | undefined;
  // Idempotent: a test may stop its server and its dispose stop it again.
  const stop = (signal: NodeJS.Signals = "SIGINT", stopTimeoutMs = 10_000) =>
    (stopped ??= (async () => {
      const [code, stderr] = await Promise.all([endProcess(proc, signal, stopTimeoutMs), new Response(proc.stderr).text(), stdoutDone]);
      return { code, stdout: lines.join("\n"), stderr };
    })());
  return withPeers({ proc, port, lines, stop }, "127.0.0.1", () => stop("SIGINT", 2000));
}
