// Entry point: parse config, start the relay, print, and shut down cleanly on SIGINT/SIGTERM.

import { type Admin, AdminBindError, adminLine, startAdmin } from "./admin/server.ts";
import { Publisher, sharedCounters } from "./admin/shared.ts";
import { startAdminThread } from "./admin/spawn.ts";
import { workersSource } from "./admin/workers-source.ts";
import { type AdminAddress, parseConfig, type RelayConfig, usage } from "./config.ts";
import { validateAddresses } from "./defence/validation.ts";
import { LinePrinter, streamWriter } from "./printer.ts";
import { notice } from "./protocol/wire.ts";
import { BindError, startRelay } from "./relay.ts";
import { BusError } from "./scale/bus.ts";
import { startMesh } from "./scale/mesh.ts";
import { startWorkers, totalStats } from "./scale/workers.ts";
import type { SocketSetup } from "./sockopt.ts";
import { parseOrExit } from "./usage.ts";

const parsed = parseOrExit(usage, () => parseConfig(Bun.argv.slice(2), process.env));

/** Whichever shape is running: one relay, a worker group, or a relay on the bus. */
interface Running {
  readonly endpoint: string;
  readonly sockopts: SocketSetup | undefined;
  /** Serves the admin endpoint (--admin) for this shape. */
  admin(address: AdminAddress): Promise<Admin>;
  /** Says goodbye, drains, stops; resolves with the summary line. */
  stop(): Promise<string>;
}

const printer = new LinePrinter(streamWriter(process.stdout));
const log = (line: string) => process.stderr.write(`${line}\n`);

// With --admin, a relay on this thread shares its counters with the admin thread (workers share their own).
const publisher = parsed.config.admin === undefined || parsed.config.workers > 0 ? undefined : new Publisher(sharedCounters());

async function start(config: RelayConfig): Promise<Running> {
  if (config.workers > 0) {
    const group = await startWorkers(config, (chunk) => void process.stdout.write(chunk), log);
    return {
      endpoint: group.endpoint,
      sockopts: group.sockopts,
      admin: (address) => startAdmin(address, config, workersSource(group)),
      async stop() {
        const clients = group.clients;
        const reports = await group.shutdown();
        return `${totalStats(reports).summary(clients)} workers=${reports.length}`;
      },
    };
  }
  if (config.bus !== undefined) {
    const mesh = await startMesh(config, printer, log, validateAddresses, publisher?.observe);
    log(`[SERVER] Bus: ${config.bus} as node ${mesh.nodeId}`);
    publisher?.attach(mesh.relay, mesh.bus);
    const admin = (address: AdminAddress) => startAdminThread(address, config, mesh.relay, publisher!);
    return { endpoint: mesh.relay.endpoint, sockopts: mesh.relay.sockopts, admin, stop: async () => (await mesh.shutdown(), mesh.summary()) };
  }
  const relay = await startRelay(config, printer, { log, admission: validateAddresses, observe: publisher?.observe });
  publisher?.attach(relay);
  const admin = (address: AdminAddress) => startAdminThread(address, config, relay, publisher!);
  return { endpoint: relay.endpoint, sockopts: relay.sockopts, admin, stop: async () => (await relay.shutdown(), relay.stats.summary(relay.registry.size)) };
}

let relay: Running;
try {
  relay = await start(parsed.config);
} catch (err) {
  if (!(err instanceof BindError) && !(err instanceof BusError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
}
printer.text(notice.running(relay.endpoint));
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
  printer.flush();
  process.stderr.write(`${summary}${printer.dropped ? ` console_dropped=${printer.dropped}` : ""}\n`);
  // Let stdout finish what it holds, but never hang on a reader that went away.
  await Promise.race([new Promise<void>((done) => process.stdout.write("", () => done())), Bun.sleep(1000)]);
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
