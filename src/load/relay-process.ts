// The relay as a child process for --spawn-server, and any process's CPU time for "CPU per delivery".

import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** A relay this run started. */
export interface SpawnedRelay {
  readonly port: number;
  readonly pid: number;
  /** Its admin endpoint (`--admin HOST:0`), for --relay-metrics. */
  readonly adminUrl: string;
  /** SIGINT, then SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

const serverScript = resolve(import.meta.dir, "../server.ts");

/** Starts `src/server.ts` on a free loopback port, its admin endpoint on another, and waits (bounded) for both lines. */
export async function spawnRelay(host = "127.0.0.1", timeoutMs = 10_000): Promise<SpawnedRelay> {
  // A load run measures fan-out, not the limiter: every per-source limit off, and no global cap on joins or
  // first datagrams (a 10 000-client join storm is part of what it measures).
  const unlimited = ["--rate-limit", "0", "--join-rate-total", "0", "--unknown-rate-total", "0"];
  const proc = Bun.spawn([process.execPath, "run", serverScript, "--host", host, "--port", "0", "--quiet", "--admin", `${host.includes(":") ? `[${host}]` : host}:0`, ...unlimited], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = performance.now() + timeoutMs;
  let port = 0;
  let adminUrl = "";
  while (port === 0 || adminUrl === "") {
    const left = deadline - performance.now();
    const chunk = left > 0 ? await Promise.race([reader.read(), Bun.sleep(left).then(() => undefined)]) : undefined;
    if (chunk === undefined || chunk.done) {
      proc.kill("SIGKILL");
      const err = await new Response(proc.stderr).text();
      throw new Error(`the relay did not start${err ? `: ${err.trim().split("\n")[0]}` : ""}`);
    }
    text += decoder.decode(chunk.value, { stream: true });
    const m = /\[SERVER\] Running on .*:(\d+)\s*$/m.exec(text);
    if (m) port = Number(m[1]);
    const a = /\[SERVER\] Admin on (\S+)/.exec(text);
    if (a) adminUrl = a[1]!;
  }
  // Keep reading so a chatty relay never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  void new Response(proc.stderr).text().catch(() => "");
  return {
    port,
    adminUrl,
    pid: proc.pid,
    async stop(stopTimeoutMs = 5000) {
      proc.kill("SIGINT");
      const timer = setTimeout(() => proc.kill("SIGKILL"), stopTimeoutMs);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** User + system CPU seconds of process `pid` so far (Linux /proc), or null if it cannot be read. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may contain spaces, so split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux Bun runs on. */
const CLOCK_TICKS_PER_S = 100;
