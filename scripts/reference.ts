// The C reference relay and load driver from shared/reference, compiled with gcc into a fresh temporary folder,
// and the harness every comparison script runs relays and c_load with.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** shared/reference beside the checkout, where the project keeps the C measuring stick. */
export const defaultReferenceDir = resolve(import.meta.dir, "../../shared/reference");

/** Paths of the built `c_relay` and `c_load` binaries. */
export interface Reference {
  readonly cRelay: string;
  readonly cLoad: string;
}

/** Builds both programs from `dir` (default: shared/reference beside the checkout). Throws with gcc's complaint. */
export function buildReference(dir: string = defaultReferenceDir): Reference {
  const work = mkdtempSync(join(tmpdir(), "reference-"));
  const build = (name: string, ...libs: string[]): string => {
    const out = join(work, name);
    const r = Bun.spawnSync(["gcc", "-O2", "-o", out, join(dir, `${name}.c`), ...libs], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`gcc failed for ${join(dir, `${name}.c`)}: ${r.stderr.toString().trim()}`);
    return out;
  };
  return { cRelay: build("c_relay"), cLoad: build("c_load", "-lm") };
}

/** The flags of every script that drives a relay with c_load (`parseArgs` options), with their defaults. */
export const cLoadFlags = {
  rounds: { type: "string", default: "5" },
  clients: { type: "string", default: "1000" },
  senders: { type: "string", default: "10" },
  rate: { type: "string", default: "1000" },
  duration: { type: "string", default: "3" },
  payload: { type: "string", default: "32" },
  /** Where c_relay.c and c_load.c are: shared/reference beside the checkout. */
  reference: { type: "string", default: defaultReferenceDir },
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

/** The fields of c_load's one JSON line that the scripts read (it has more). */
export type CLoadResult = {
  readonly deliveries_per_s: number;
  readonly relay_ns_per_delivery: number;
  readonly loss: number;
  readonly p50_us: number;
  readonly p99_us: number;
  /** Seconds the clients took to register; the sending starts 0.3 s after that. */
  readonly register_s: number;
  readonly delivered: number;
};

/** A c_load run against 127.0.0.1:`port`; `payloadBytes` left out means c_load's own default (32). */
export interface CLoadRun {
  readonly port: number;
  readonly clients: number | string;
  readonly senders: number | string;
  /** Lines a second, all senders together. */
  readonly rate: number | string;
  readonly durationS: number | string;
  readonly payloadBytes?: number | string;
  /** The relay whose CPU c_load charges per delivery (RELAY_PID). */
  readonly relayPid: number;
}

/** Runs c_load (3 min at most) and parses its JSON line. `onStart` gets the process, e.g. to sample its CPU. */
export async function runCLoad(cLoad: string, run: CLoadRun, options: RunOptions & { onStart?: (proc: Bun.Subprocess) => void } = {}): Promise<CLoadResult> {
  const args = [run.port, run.clients, run.senders, run.rate, run.durationS, ...(run.payloadBytes === undefined ? [] : [run.payloadBytes])].map(String);
  const proc = Bun.spawn(pinned(options.core, [cLoad, "127.0.0.1", ...args]), {
    cwd: options.cwd,
    env: { ...process.env, RELAY_PID: String(run.relayPid) },
    stdout: "pipe",
    stderr: options.stderr ?? "inherit",
    timeout: 180_000,
  });
  options.onStart?.(proc);
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return JSON.parse(out.trim()) as CLoadResult;
}

/** A c_load run without its target: what `measure` points at each relay it starts. */
export type CLoadLoad = Omit<CLoadRun, "port" | "relayPid">;

/** The load `cLoadFlags` describe, for `measure`. */
export function loadFromFlags(values: { clients: string; senders: string; rate: string; duration: string; payload: string }): CLoadLoad {
  return { clients: values.clients, senders: values.senders, rate: values.rate, durationS: values.duration, payloadBytes: values.payload };
}

/**
 * One measurement: starts a relay (`relayArgv`, listening on `port`), runs c_load against it, stops it.
 * `cores` pins the relay and the load generator; left out, they float.
 */
export async function measure(cLoad: string, relayArgv: string[], label: string, port: number, load: CLoadLoad, cores: { relay?: number; load?: number } = {}): Promise<CLoadResult> {
  const relay = await startRelayProcess(relayArgv, label, { core: cores.relay });
  try {
    return await runCLoad(cLoad, { ...load, port, relayPid: relay.pid }, { core: cores.load });
  } finally {
    await stopRelayProcess(relay);
  }
}
