// Entry point: parse config, start the relay, print, and shut down cleanly on SIGINT/SIGTERM.

import { type Admin, AdminBindError, adminLine, startAdmin } from "./admin/server.ts";
import { Publisher, sharedCounters } from "./admin/shared.ts";
import { startAdminThread } from "./admin/spawn.ts";
import { workersSource } from "./admin/workers-source.ts";
import { type AdminAddress, parseConfig, type RelayConfig, usage } from "./config.ts";
import { validateAddresses } from "./defence/validation.ts";
import { Periodic } from "./periodic.ts";
import { LinePrinter, streamWriter } from "./printer.ts";
import { notice } from "./protocol/wire.ts";
import { BindError } from "./bind.ts";
import { startRelay } from "./relay.ts";
import { SendPathError } from "./sendmmsg.ts";
import { BusError } from "./scale/bus.ts";
import { startMesh } from "./scale/mesh.ts";
import { startWorkers, totalStats } from "./scale/workers.ts";
import { countSignals, type SignalCount } from "./signals.ts";
import type { SocketSetup } from "./sockopt.ts";
import { errorCode, loadStateFile, type RestoredBinding, relayStateSource, type StateSource } from "./state-file.ts";
import { StateKeeper } from "./state-keeper.ts";
import { parseOrExit } from "./usage.ts";

const parsed = parseOrExit(usage, () => parseConfig(Bun.argv.slice(2), process.env));

/** Whichever shape is running: one relay, a worker group, or a relay on the bus. */
interface Running {
  readonly endpoint: string;
  readonly sockopts: SocketSetup | undefined;
  /** The startup line after `Running on` saying --workers or --bus is in force; none for a plain relay. */
  readonly shape: string | undefined;
  /** Who is who, for --state. */
  readonly state: StateSource;
  /** Where the --state writes are scheduled: the relay's periodic work, run even while it is flooded. */
  readonly periodic: Periodic;
  /** Serves the admin endpoint (--admin) for this shape. */
  admin(address: AdminAddress): Promise<Admin>;
  /** Says goodbye, drains, stops; resolves with the summary line. */
  stop(): Promise<string>;
}

const printer = new LinePrinter(streamWriter(process.stdout));
// Start-up notes (the send path, restored state) wait until the Running line is out: it stays the first line.
// A start that fails prints its one error line alone.
let early: string[] | undefined = [];
const log = (line: string): void => {
  if (early !== undefined) early.push(line);
  else process.stderr.write(`${line}\n`);
};

// With --admin, a relay on this thread shares its counters with the admin thread (workers share their own).
const publisher = parsed.config.admin === undefined || parsed.config.workers > 0 ? undefined : new Publisher(sharedCounters());
// Set once the SIGINT/SIGTERM listeners are: then a flooded relay notices signals from its receive path (see onSignal).
let signals: SignalCount | undefined;
let signalsActedOn = 0;
const observe = (): void => {
  publisher?.observe();
  if (signals !== undefined && signals.arrived[0] !== signalsActedOn) onSignal();
};

async function start(config: RelayConfig, restore: readonly RestoredBinding[]): Promise<Running> {
  if (config.workers > 0) {
    const group = await startWorkers(config, (chunk) => void process.stdout.write(chunk), log, restore);
    return {
      endpoint: group.endpoint,
      sockopts: group.sockopts,
      shape: notice.workers(config.workers),
      state: group.state,
      // The main thread relays nothing: its timers never starve.
      periodic: new Periodic(),
      admin: (address) => startAdmin(address, config, workersSource(group)),
      async stop() {
        const clients = group.clients;
        const reports = await group.shutdown();
        return `${totalStats(reports).summary(clients)} workers=${reports.length}`;
      },
    };
  }
  if (config.bus !== undefined) {
    const mesh = await startMesh(config, printer, log, validateAddresses, restore, observe);
    publisher?.attach(mesh.relay, mesh.bus);
    return {
      endpoint: mesh.relay.endpoint,
      sockopts: mesh.relay.sockopts,
      shape: notice.bus(config.bus, mesh.nodeId),
      state: relayStateSource(mesh.relay.registry, mesh.relay.chat),
      periodic: mesh.relay.periodic,
      admin: (address) => startAdminThread(address, config, mesh.relay, publisher!),
      stop: async () => (await mesh.shutdown(), mesh.summary()),
    };
  }
  const relay = await startRelay(config, printer, { log, admission: validateAddresses, restore, observe });
  publisher?.attach(relay);
  return {
    endpoint: relay.endpoint,
    sockopts: relay.sockopts,
    shape: undefined,
    state: relayStateSource(relay.registry, relay.chat),
    periodic: relay.periodic,
    admin: (address) => startAdminThread(address, config, relay, publisher!),
    stop: async () => (await relay.shutdown(), relay.stats.summary(relay.registry.size)),
  };
}

const { stateFile } = parsed.config;
const loaded = stateFile === undefined ? undefined : loadStateFile(stateFile, parsed.config, parsed.config.rememberMs, log);
let relay: Running;
try {
  relay = await start(parsed.config, loaded?.bindings ?? []);
} catch (err) {
  if (!(err instanceof BindError) && !(err instanceof BusError) && !(err instanceof SendPathError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
}
// The file is written once before the relay says it runs: a directory that is missing or read-only shows now.
const keeper = stateFile === undefined ? undefined : new StateKeeper(stateFile, parsed.config.stateIntervalMs, relay.state, parsed.config.maxNameChars, log, relay.periodic);
if (keeper !== undefined && loaded !== undefined) {
  try {
    await keeper.start();
  } catch (err) {
    process.stderr.write(`error: cannot write state file ${stateFile}: ${errorCode(err)}\n`);
    await relay.stop();
    process.exit(1);
  }
  if (loaded.entries > 0) log(`[SERVER] State: ${loaded.bindings.length} of ${loaded.entries} clients from ${stateFile} remembered until they speak`);
}
printer.text(notice.running(relay.endpoint));
// On stdout beside the Running line: both say what is serving; stderr is for notes, events and the summary.
if (relay.shape !== undefined) printer.text(relay.shape);
if (parsed.config.admin !== undefined) {
  try {
    printer.text(adminLine((await relay.admin(parsed.config.admin)).url));
  } catch (err) {
    if (!(err instanceof AdminBindError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  }
}
printer.flush();
for (const line of early ?? []) process.stderr.write(`${line}\n`);
early = undefined;
warnSmallBuffers(parsed.config.recvBufferBytes, parsed.config.sendBufferBytes);
if (relay.sockopts?.icmpErrorsOff !== true) {
  process.stderr.write("note: could not turn off ICMP error reporting (IP_RECVERR) on the socket; each client that went away will fail one send per line until it times out\n");
}

/** Linux grants twice the request, capped by net.core.rmem_max/wmem_max: say so when the cap bit. */
function warnSmallBuffers(recvAsked: number, sendAsked: number): void {
  const got = relay.sockopts;
  if (got === undefined) return;
  if (recvAsked > 0 && got.recvBytes < recvAsked) {
    process.stderr.write(`note: receive buffer is ${got.recvBytes} bytes (asked ${recvAsked}); raise net.core.rmem_max to allow more\n`);
  }
  if (sendAsked > 0 && got.sendBytes < sendAsked) {
    process.stderr.write(`note: send buffer is ${got.sendBytes} bytes (asked ${sendAsked}); raise net.core.wmem_max to allow more\n`);
  }
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) {
    process.stderr.write("[SERVER] Forced exit.\n");
    process.exit(130);
  }
  stopping = true;
  const summary = await relay.stop();
  // After the goodbye: the file says who was here when the relay stopped.
  await keeper?.close();
  printer.flush();
  process.stderr.write(`${summary}${printer.dropped ? ` console_dropped=${printer.dropped}` : ""}\n`);
  // Let stdout finish what it holds, but never hang on a reader that went away.
  await Promise.race([new Promise<void>((done) => process.stdout.write("", () => done())), Bun.sleep(1000)]);
  process.exit(0);
}
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// Bun runs those listeners from its event loop, which a flooded relay does not get back to until the flood ends;
// counted natively as well, the signals are also seen from the receive path (`observe`).
signals = countSignals(["SIGINT", "SIGTERM"]);
if (signals === undefined && process.platform === "linux") {
  process.stderr.write("note: signals are not counted natively here (bun:ffi cc failed); under a flood the relay cannot keep up with, Ctrl+C waits for the flood to pass\n");
}

function onSignal(): void {
  // Each signal acted on once: by whichever of Bun's listener and the receive path sees it first.
  if (signals !== undefined) {
    if (signalsActedOn >= signals.arrived[0]!) return;
    signalsActedOn++;
  }
  void stop();
}
