// The C reference relay and load driver (bench/reference/relay.c and load.c), compiled with gcc into a fresh
// temporary folder, and the harness every comparison script runs relays and the C load driver with.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { decimal, integer, text } from "../src/flags.ts";

/** bench/reference in this checkout, where the project keeps the C measuring stick. */
export const defaultReferenceDir = resolve(import.meta.dir, "../bench/reference");

/**
 * An expected failure before anything is measured: a tool that is not installed, a C file that does not build.
 * Scripts print its message as one line and exit 1 (`exitOnSetupError`), never with a stack trace.
 */
export class SetupError extends Error {
  override readonly name = "SetupError";
}

/** The external programs the scripts run, and the Debian/Ubuntu package that has each. */
const packages = { gcc: "gcc", taskset: "util-linux" } as const;
export type Tool = keyof typeof packages;

/** Throws SetupError naming the first of `tools` that is not on PATH and the package to install. */
export function requireTools(...tools: readonly Tool[]): void {
  for (const tool of tools) {
    if (Bun.which(tool) === null) throw new SetupError(`${tool} not found: install it (Debian/Ubuntu: apt-get install ${packages[tool]})`);
  }
}

/** `run()`, or, on a SetupError, its message on stderr as `error: …` and exit 1. */
export async function exitOnSetupError<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  }
}

/** Paths of the built reference relay and load driver. */
export interface Reference {
  readonly cRelay: string;
  readonly cLoad: string;
}

/** Builds relay.c and load.c from `dir` (default bench/reference). Throws SetupError: gcc missing, or its first complaint. */
export function buildReference(dir: string = defaultReferenceDir): Reference {
  requireTools("gcc");
  const work = mkdtempSync(join(tmpdir(), "reference-"));
  // The binaries live as long as the script: removed at exit, also when a build fails.
  process.on("exit", () => rmSync(work, { recursive: true, force: true }));
  const build = (name: string, ...libs: string[]): string => {
    const source = resolve(dir, `${name}.c`);
    const shown = displayPath(source);
    if (!existsSync(source)) throw new SetupError(`building ${shown} failed: no such file`);
    const out = join(work, name);
    const r = Bun.spawnSync(["gcc", "-O2", "-o", out, source, ...libs], { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new SetupError(`building ${shown} failed: ${firstComplaint(r.stderr.toString())}`);
    return out;
  };
  return { cRelay: build("relay"), cLoad: build("load", "-lm") };
}

/** gcc's first line that says `error`, else its first line: "In function 'main':" context lines say nothing. */
function firstComplaint(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.find((l) => /\berror\b/.test(l)) ?? lines[0] ?? "gcc failed and said nothing";
}

/** A path as the user would type it from here: relative when under the current folder. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** The longest --duration the C load driver is given: runCLoad stops it after 3 minutes, registration and drain included. */
const MAX_DURATION_S = 60;

/** The flag rows of every script that drives a relay with the C load driver, with their defaults. */
export const cLoadFlags = {
  rounds: integer({ section: "Options:", flag: "rounds", default: 5, min: 1, max: 1000, help: "measurements of each relay, interleaved" }),
  clients: integer({ flag: "clients", default: 1000, min: 1, max: 65_536, help: "clients the C load driver registers" }),
  senders: integer({ flag: "senders", default: 10, min: 1, max: 65_536, help: "how many of them send, at most --clients" }),
  rate: decimal({ flag: "rate", arg: "R", default: 1000, min: 0, max: 1e8, help: "lines per second over all senders; deliveries = R × clients" }),
  durationS: decimal({ flag: "duration", arg: "SECONDS", default: 3, min: 0.1, max: MAX_DURATION_S, help: "how long each measurement sends" }),
  payloadBytes: integer({ flag: "payload", arg: "BYTES", default: 32, min: 1, max: 2048, help: "bytes per line (never shorter than its timestamp header)" }),
  reference: text({
    flag: "reference",
    arg: "DIR",
    default: defaultReferenceDir,
    nonEmpty: "a folder",
    defaultText: "default bench/reference",
    help: "folder with relay.c and load.c, built with gcc on every run",
  }),
} as const;

/** `argv` run on one core (`taskset -c core`), or as it is when `core` is undefined (left to float). */
export function pinned(core: number | undefined, argv: string[]): string[] {
  return core === undefined ? argv : ["taskset", "-c", String(core), ...argv];
}

/** How a measured process is run: on which core (none: floating), from where, and where its stderr goes. */
export interface RunOptions {
  readonly core?: number;
  readonly cwd?: string;
  readonly stderr?: "inherit" | "ignore";
}

/**
 * Spawns a relay (this one, the C reference, the naive one: all print `Running on`) and waits up to 10 s for that
 * line; its stdout is drained from then on so a chatty relay never blocks. Throws `${label} did not start`.
 */
export async function startRelayProcess(argv: string[], label: string, options: RunOptions = {}): Promise<Bun.Subprocess> {
  const proc = Bun.spawn(pinned(options.core, argv), { cwd: options.cwd, stdin: "ignore", stdout: "pipe", stderr: options.stderr ?? "inherit" });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = performance.now() + 10_000;
  while (!text.includes("Running on")) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - performance.now())).then(() => undefined)]);
    if (chunk === undefined || chunk.done) {
      proc.kill("SIGKILL");
      throw new Error(`${label} did not start`);
    }
    text += decoder.decode(chunk.value, { stream: true });
  }
  void (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  return proc;
}

/** SIGINT, then SIGKILL if the relay has not exited within `graceMs`; resolves once it has exited. */
export async function stopRelayProcess(proc: Bun.Subprocess, graceMs = 5000): Promise<void> {
  proc.kill("SIGINT");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** The fields of the C load driver's one JSON line that the scripts read (it has more). */
export type CLoadResult = {
  readonly deliveries_per_s: number;
  readonly relay_ns_per_delivery: number;
  /** Busy time of the core the relay is pinned to, per delivery (0 when unpinned): softirq work included. */
  readonly core_ns_per_delivery: number;
  readonly loss: number;
  readonly p50_us: number;
  readonly p99_us: number;
  /** Datagrams that were neither a line nor a registration (a late join summary): sent by the relay, not counted as deliveries. */
  readonly other: number;
  /** Seconds the clients took to register; the sending starts 1.5 s after that (QUIET_NS in load.c). */
  readonly register_s: number;
  readonly delivered: number;
};

/** A C load driver run against 127.0.0.1:`port`; `payloadBytes` left out means the driver's own default (32). */
export interface CLoadRun {
  readonly port: number;
  readonly clients: number | string;
  readonly senders: number | string;
  /** Lines a second, all senders together. */
  readonly rate: number | string;
  readonly durationS: number | string;
  readonly payloadBytes?: number | string;
  /** The relay whose CPU the driver charges per delivery (RELAY_PID). */
  readonly relayPid: number;
  /** The core the relay is pinned to, whose busy time the driver also charges per delivery (RELAY_CORE). */
  readonly relayCore?: number;
}

/** Runs the C load driver (3 min at most) and parses its JSON line. `onStart` gets the process, e.g. to sample its CPU. */
export async function runCLoad(cLoad: string, run: CLoadRun, options: RunOptions & { onStart?: (proc: Bun.Subprocess) => void } = {}): Promise<CLoadResult> {
  const args = [run.port, run.clients, run.senders, run.rate, run.durationS, ...(run.payloadBytes === undefined ? [] : [run.payloadBytes])].map(String);
  const proc = Bun.spawn(pinned(options.core, [cLoad, "127.0.0.1", ...args]), {
    cwd: options.cwd,
    env: { ...process.env, RELAY_PID: String(run.relayPid), ...(run.relayCore === undefined ? {} : { RELAY_CORE: String(run.relayCore) }) },
    stdout: "pipe",
    stderr: options.stderr ?? "inherit",
    timeout: 180_000,
  });
  options.onStart?.(proc);
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return JSON.parse(out.trim()) as CLoadResult;
}

/** A C load driver run without its target: what `measure` points at each relay it starts. */
export type CLoadLoad = Omit<CLoadRun, "port" | "relayPid" | "relayCore">;

/** The load `cLoadFlags` describe, for `measure`. */
export function loadFromFlags(values: { clients: number; senders: number; rate: number; durationS: number; payloadBytes: number }): CLoadLoad {
  return { clients: values.clients, senders: values.senders, rate: values.rate, durationS: values.durationS, payloadBytes: values.payloadBytes };
}

/**
 * One measurement: starts a relay (`relayArgv`, listening on `port`), runs the C load driver against it, stops it.
 * `cores` pins the relay and the load generator; left out, they float.
 */
export async function measure(cLoad: string, relayArgv: string[], label: string, port: number, load: CLoadLoad, cores: { relay?: number; load?: number } = {}): Promise<CLoadResult> {
  const relay = await startRelayProcess(relayArgv, label, { core: cores.relay });
  try {
    return await runCLoad(cLoad, { ...load, port, relayPid: relay.pid, relayCore: cores.relay }, { core: cores.load });
  } finally {
    await stopRelayProcess(relay);
  }
}
