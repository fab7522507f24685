// Ctrl+C on a running load generator: it stops sending, drains, prints the summary so far and exits 130.

import { expect, test } from "bun:test";
import { endedOnDispose, endProcess } from "./support/process.ts";
import { bun, root } from "./support/server-process.ts";

test("SIGINT prints the summary so far", async () => {
  await using proc = endedOnDispose(
    Bun.spawn([bun, "run", "src/load.ts", "--spawn-server", "--clients", "10", "--rate", "100", "--duration", "30", "--json"], {
      cwd: root,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  // Wait (bounded) for the first live line: the run is sending.
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  let stderr = "";
  const deadline = performance.now() + 15_000;
  while (!stderr.includes("[   1 s]")) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`no live line within 15 s: ${stderr}`);
    const chunk = await Promise.race([reader.read(), Bun.sleep(left).then(() => undefined)]);
    if (chunk === undefined || chunk.done) throw new Error(`generator ended early: ${stderr}`);
    stderr += decoder.decode(chunk.value, { stream: true });
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), endProcess(proc, "SIGINT", 10_000), rest]);
  expect(code).toBe(130);
  const summary = JSON.parse(stdout.trim()) as { interrupted: boolean; sent: number; expected: number; delivered: number; duration_s: number };
  expect(summary.interrupted).toBe(true);
  expect(summary.sent).toBeGreaterThan(50);
  expect(summary.sent).toBeLessThan(2000); // far from the 3000 of a full 30 s run
  // Lines sent just before the interrupt get a short drain; on a loaded machine a few may miss it.
  expect(summary.delivered).toBeGreaterThan(0.9 * summary.expected);
  expect(summary.delivered).toBeLessThanOrEqual(summary.expected);
  expect(stderr).toContain("interrupted: summary so far");
});
