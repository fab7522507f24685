// Every runnable script in scripts/ as a real process: --help, a bad flag, a bad number; a missing tool or a C
// file that does not build is one line and exit 1. Nothing here measures: each run stops before its first relay.

import { describe, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBun } from "./support/server-process.ts";
import { tempDir } from "./support/temp-dir.ts";

const scripts = ["compare-relays", "vs-reference", "workers-bench", "soak", "naive-relay", "dead-clients", "gen-confusables", "starved", "send-socket-ab"] as const;
type Script = (typeof scripts)[number];
const command = (name: Script) => `bun run scripts/${name}.ts`;
const gcc = Bun.which("gcc");

async function run(name: Script, args: string[], env: Record<string, string> = {}) {
  return runBun(["run", `scripts/${name}.ts`, ...args], 15_000, env);
}

describe("--help: the usage on stdout, nothing on stderr, exit 0", () => {
  test.each(scripts)("%s", async (name) => {
    const res = await run(name, ["--help"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toStartWith(`Usage: ${command(name)} [options]\n`);
    expect(res.stdout).toContain("\n  -h, --help           this text\n");
    for (const line of res.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
  });
});

describe("a bad flag: exactly two lines on stderr, the problem then a Try line, exit 2", () => {
  const cases: [Script, string[], string][] = [
    ...scripts.map((name): [Script, string[], string] => [name, ["--bogus"], "error: Unknown option '--bogus'"]),
    ["compare-relays", ["--rounds", "0"], 'error: --rounds: "0" is not a whole number from 1 to 1000'],
    ["compare-relays", ["--only", "both-ish"], 'error: --only: "both-ish" is not one of relays, generators, both'],
    ["vs-reference", ["--clients", "many"], 'error: --clients: "many" is not a whole number from 1 to 65536'],
    ["vs-reference", ["--duration", "0"], 'error: --duration: "0" is not a number from 0.1 to 60'],
    ["workers-bench", ["--rate", "-5"], "error: Option '--rate' argument is ambiguous."],
    ["workers-bench", ["--payload", "4096"], 'error: --payload: "4096" is not a whole number from 1 to 2048'],
    ["workers-bench", ["--configs", "w1,w9"], 'error: --configs: unknown configuration "w9" (one of single, w1, w2, single@0, w2@0)'],
    ["soak", ["--minutes", "ten"], 'error: --minutes: "ten" is not a number from 0.05 to 10080'],
    ["soak", ["--clients", "0"], 'error: --clients: "0" is not a whole number from 1 to 10000'],
    ["naive-relay", ["--port", "65536"], 'error: --port: "65536" is not a whole number from 0 to 65535'],
    ["naive-relay", ["4000"], "error: Unexpected argument '4000'"],
    ["dead-clients", ["--clients", "100,0"], 'error: --clients: "0" is not a whole number from 1 to 50000'],
    ["dead-clients", ["--rounds", "1.5"], 'error: --rounds: "1.5" is not a whole number from 1 to 100'],
    ["dead-clients", ["--kinds", "live,zombie"], 'error: --kinds: "zombie" is not one of live, dead'],
    ["gen-confusables", [], "error: --from FILE is required"],
    ["starved", ["--flood", "0"], 'error: --flood: "0" is not a number from 0.5 to 60'],
  ];
  test.each(cases)("%s %p", async (name, args, problem) => {
    const res = await run(name, args);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    const lines = res.stderr.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toStartWith(problem);
    expect(lines.slice(1)).toEqual([`Try '${command(name)} --help'.`, ""]);
  });
});

describe("the C reference: a missing tool or a failed build is one line, exit 1", () => {
  test.each(["compare-relays", "vs-reference", "workers-bench"] as const)("%s without gcc on PATH", async (name) => {
    using dir = tempDir("no-gcc-");
    const res = await run(name, [], { PATH: dir.path });
    expect(res).toEqual({ code: 1, stdout: "", stderr: "error: gcc not found: install it (Debian/Ubuntu: apt-get install gcc)\n" });
  });

  test.skipIf(gcc === null).each(["compare-relays", "vs-reference"] as const)("%s with gcc but without taskset", async (name) => {
    using dir = tempDir("no-taskset-");
    symlinkSync(gcc!, join(dir.path, "gcc"));
    const res = await run(name, [], { PATH: dir.path });
    expect(res).toEqual({ code: 1, stdout: "", stderr: "error: taskset not found: install it (Debian/Ubuntu: apt-get install util-linux)\n" });
  });

  test.skipIf(gcc === null)("a relay.c that does not compile: gcc's first complaint, naming the file", async () => {
    using dir = tempDir("bad-reference-");
    writeFileSync(join(dir.path, "relay.c"), "int main(void) { return undeclared_thing; }\n");
    // Unpinned, so taskset is not needed for this one.
    const res = await run("workers-bench", ["--reference", dir.path, "--configs", "single"]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    const lines = res.stderr.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toStartWith(`error: building ${join(dir.path, "relay.c")} failed: `);
    expect(lines[0]).toContain("undeclared_thing");
  });
});
