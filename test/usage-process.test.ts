// Every tool as a real process: --help on stdout with exit 0; a bad flag as one line, a pointer to --help, exit 2.

import { describe, expect, test } from "bun:test";
import { runBun } from "./support/server-process.ts";

interface Tool {
  /** Arguments to bun before the tool's own (`--silent` keeps `bun bench` from echoing the script line). */
  readonly run: readonly string[];
  readonly command: string;
}

const tools = {
  server: { run: ["run", "src/server.ts"], command: "bun run src/server.ts" },
  load: { run: ["run", "src/load.ts"], command: "bun run src/load.ts" },
  client: { run: ["run", "src/client.ts"], command: "bun run src/client.ts" },
  bench: { run: ["--silent", "bench"], command: "bun bench" },
} satisfies Record<string, Tool>;
type ToolName = keyof typeof tools;

async function run(name: ToolName, args: string[], env: Record<string, string> = {}) {
  return runBun([...tools[name].run, ...args], 15_000, env);
}

describe("a bad flag: exactly two lines on stderr, the problem then a Try line, exit 2", () => {
  test.each<[ToolName, string[], Record<string, string>, string]>([
    ["server", ["--port", "x"], {}, 'error: --port: "x" is not a whole number from 0 to 65535'],
    ["server", ["--bogus"], {}, "error: Unknown option '--bogus'"],
    ["server", [], { RELAY_PORT: "not-a-port" }, 'error: --port: "not-a-port" is not a whole number from 0 to 65535'],
    ["server", ["--workers", "2", "--bus", "nats://127.0.0.1:4222"], {}, "error: --workers and --bus cannot be combined yet"],
    ["load", ["--clients", "-1"], {}, "error: Option '--clients' argument is ambiguous."],
    ["load", ["--clients", "0"], {}, 'error: --clients: "0" is not a whole number from 1 to 100000'],
    ["load", ["--clients", "2", "--workers", "3"], {}, 'error: --workers: "3" is more than --clients (2)'],
    ["client", ["--port", "99999"], {}, 'error: --port: "99999" is not a whole number from 1 to 65535'],
    ["client", ["--keepalive", "0"], {}, 'error: --keepalive: "0" is not a number of seconds from 0.001 to 86400'],
    ["bench", ["--group", "nope"], {}, 'error: --group: unknown group "nope" (one of encode, broadcast, latency, inbound, bookkeeping)'],
    ["bench", ["--fast"], {}, "error: Unknown option '--fast'"],
  ])("%s %p %p", async (name, args, env, problem) => {
    const res = await run(name, args, env);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    const lines = res.stderr.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toStartWith(problem);
    expect(lines.slice(1)).toEqual([`Try '${tools[name].command} --help'.`, ""]);
  });
});

describe("--help: the usage on stdout, nothing on stderr, exit 0", () => {
  test.each<[ToolName, string[]]>([
    ["server", ["--host", "--port", "--max-datagram", "--no-echo", "RELAY_NO_ECHO=1", "--verify-address M", "RELAY_MAX_FANOUT_RATE", "Abuse limits"]],
    ["load", ["--clients N", "(default 1000)", "--spawn-server", "Thresholds (breached → exit 1)", "Exit: 0 ok"]],
    ["client", ["--host HOST", "--join-timeout S", "(default 3)", "NO_COLOR=1"]],
    ["bench", ["--quick", "--group NAMES", "--filter REGEX", "Groups:"]],
  ])("%s", async (name, mentions) => {
    const res = await run(name, ["--help"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toStartWith(`Usage: ${tools[name].command} [options]\n`);
    expect(res.stdout).toContain("\n  -h, --help           this text\n");
    for (const m of mentions) expect(res.stdout).toContain(m);
    // The flag lines stay within 100 columns (bench's group list below them is the groups' own titles).
    const flagLines = res.stdout.slice(0, res.stdout.indexOf("-h, --help")).split("\n");
    for (const line of flagLines) expect(line.length).toBeLessThanOrEqual(100);
  });

  test("-h is --help", async () => {
    const res = await run("client", ["-h"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toStartWith("Usage: bun run src/client.ts");
  });
});
