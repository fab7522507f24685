// `bun bench` as CI runs it: quick mode over one benchmark of every group, so the suite cannot rot; and its flags.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bun, root } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

const GROUPS = ["encode", "broadcast", "latency", "inbound", "bookkeeping"];
// One benchmark from each group, the cheapest: the whole run stays around ten seconds.
const SMOKE = "^(FanOut\\.frame|FanOut\\.broadcast|relay end-to-end|Bun\\.udpSocket data callback|frame \\+ broadcast, same length)";

async function bench(args: string[], timeoutMs: number) {
  const proc = Bun.spawn([bun, "bench", ...args], { cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

interface JsonRun {
  name: string;
  error?: unknown;
  stats?: { p50: number; p99: number };
}
interface JsonDoc {
  groups: { name: string; benchmarks: string[] }[];
  benchmarks: { alias: string; runs: JsonRun[] }[];
}

test("bun bench --quick runs a benchmark of every group and writes mitata's JSON", async () => {
  using dir = tempDir("udp-relay-bench-");
  const file = join(dir.path, "out.json");
  const { stdout, stderr, code } = await bench(["--quick", "--json", file, "--filter", SMOKE], 80_000);
  expect(stderr).not.toMatch(/error|failed/i);
  expect(code).toBe(0);
  expect(stdout).toContain("| group | benchmark | p50 | p99 | avg | p50 per unit |");

  const doc = JSON.parse(readFileSync(file, "utf8")) as JsonDoc;
  expect(doc.groups.map((g) => g.name)).toEqual(GROUPS);
  for (const group of doc.groups) {
    const runs = doc.benchmarks.filter((b) => group.benchmarks.includes(b.alias)).flatMap((b) => b.runs);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(run.error).toBeUndefined();
      expect(run.stats!.p50).toBeGreaterThan(0);
      expect(run.stats!.p99).toBeGreaterThanOrEqual(run.stats!.p50);
    }
  }
}, 90_000);

test("--group runs only the named groups; an unknown one is refused with exit 2", async () => {
  const bad = await bench(["--group", "encode,nope"], 10_000);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain(`unknown group "nope"`);
  expect(bad.stderr).toContain(GROUPS.join(", "));

  const one = await bench(["--quick", "--group", "bookkeeping", "--filter", "^LinePrinter"], 30_000);
  expect(one.code).toBe(0);
  expect(one.stdout).toContain("| bookkeeping | LinePrinter.line");
  expect(one.stdout).not.toContain("| encode |");
});

test("--help lists the flags and groups; a bad flag exits 2", async () => {
  const help = await bench(["--help"], 10_000);
  expect(help.code).toBe(0);
  for (const flag of ["--quick", "--group", "--filter", "--json"]) expect(help.stdout).toContain(flag);
  for (const g of GROUPS) expect(help.stdout).toContain(g);

  const bad = await bench(["--fast"], 10_000);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--fast");
});
