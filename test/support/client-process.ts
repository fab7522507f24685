// Test helpers: the terminal client as a real child process, stdin and stdout piped, output read line by line.

import { endProcess, readLines } from "./process.ts";
import { bun, root } from "./server-process.ts";

/** A spawned `src/client.ts`; `await using c = spawnClient(…)` SIGKILLs it if it is still running and waits for the exit. */
export interface ClientProcess extends AsyncDisposable {
  readonly proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  /** Stdout lines so far. */
  readonly lines: string[];
  /** Writes a line to the client's stdin. */
  type(line: string): void;
  /** Waits (bounded) until a stdout line matches. */
  until(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Closes stdin and waits (bounded) for the exit code, stdout and stderr. */
  finish(timeoutMs?: number): Promise<{ code: number | null; stdout: string[]; stderr: string }>;
}

export function spawnClient(args: string[], env: Record<string, string> = {}): ClientProcess {
  const proc = Bun.spawn([bun, "run", "src/client.ts", ...args], {
    cwd: root,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  const stdoutDone = readLines(proc.stdout, lines);
  const stderrText = new Response(proc.stderr).text();
  let stdinOpen = true;
  return {
    proc,
    lines,
    type(line) {
      proc.stdin.write(`${line}\n`);
      proc.stdin.flush();
    },
    async until(predicate, timeoutMs = 5000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(predicate);
        if (hit !== undefined) return hit;
        if (performance.now() > deadline || proc.exitCode !== null) {
          throw new Error(`no matching client line within ${timeoutMs} ms; got ${JSON.stringify(lines)}`);
        }
        await Bun.sleep(10);
      }
    },
    async finish(timeoutMs = 5000) {
      if (stdinOpen) {
        stdinOpen = false;
        await proc.stdin.end();
      }
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const [code, stderr] = await Promise.all([proc.exited, stderrText, stdoutDone]);
      clearTimeout(timer);
      return { code, stdout: lines, stderr };
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) await endProcess(proc, "SIGKILL");
    },
  };
}
