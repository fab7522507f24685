// Worker thread entry: one relay on the shared SO_REUSEPORT port, keeping a full replica of the registry.

import { parentPort, workerData } from "node:worker_threads";
import { toColumns } from "../admin/columns.ts";
import { Publisher } from "../admin/shared.ts";
// A thread's entry, so it composes like server.ts: the defence is passed in here, not imported by the core.
import { validateAddresses } from "../defence/validation.ts";
import type { Membership } from "../membership.ts";
import { LinePrinter } from "../printer.ts";
import type { Client } from "../registry.ts";
import { BindError } from "../bind.ts";
import { type Relay, startRelay } from "../relay.ts";
import type { FromWorker, ToWorker, WorkerData, WorkerReport } from "./worker-messages.ts";

const data = workerData as WorkerData;
const parent = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => parent.postMessage(message, transfer);

/**
 * Reports this worker's membership changes to the main thread, which owns the name index and passes them on.
 * The registry here holds every client of every worker, so no name is ever held "elsewhere".
 */
class WorkerMembership implements Membership {
  sweeps = data.sweeper;
  /** Renames the main thread has not granted yet, with the name to go back to should one lose. */
  readonly renaming = new Map<Client, string>();
  joined(client: Client): void {
    post({ t: "join", name: client.name, address: client.address, port: client.port });
  }
  left(client: Client, timedOut: boolean): void {
    post({ t: "leave", name: client.name, address: client.address, port: client.port, timedOut });
  }
  renamed(client: Client, oldName: string): void {
    if (!this.renaming.has(client)) this.renaming.set(client, oldName);
    post({ t: "rename", name: client.name, address: client.address, port: client.port });
  }
  heldElsewhere(): boolean {
    return false;
  }
  namesElsewhere(): readonly string[] {
    return [];
  }
}

// The console goes to the main thread, one chunk of whole lines per event-loop turn: lines never interleave.
const printer = new LinePrinter({
  write(chunk) {
    post({ t: "console", chunk }, [chunk.buffer as ArrayBuffer]);
    return true;
  },
  onDrain() {},
});
const membership = new WorkerMembership();

/** `holder` has, unconfirmed, a name just granted to someone else: a rename is taken back, a join undone. */
function loseName(holder: Client): void {
  const oldName = membership.renaming.get(holder);
  membership.renaming.delete(holder);
  if (oldName !== undefined) chat.revertRename(holder, oldName);
  else chat.evict(holder);
}

// Only with an admin endpoint to read them: this worker's counters, shared with the main thread.
const publisher = data.shared === undefined ? undefined : new Publisher(data.shared);
let relay: Relay;
try {
  relay = await startRelay(data.config, printer, {
    reusePort: true,
    membership,
    admission: validateAddresses,
    restore: data.restore,
    observe: publisher?.observe,
    log: (line) => post({ t: "log", line: `${line} (worker ${data.index})` }),
  });
} catch (err) {
  post({ t: "failed", message: err instanceof BindError ? err.message : String(err) });
  process.exit(1);
}
const { registry, chat } = relay;
publisher?.attach(relay);
post({ t: "bound", port: relay.port, sockopts: relay.sockopts });

// Liveness gossip. Only this worker hears a client whose 4-tuple hashes here, but the sweeping worker must know
// it is alive: every period, the clients whose last-seen time moved since the last round are sent round. The
// time each was last reported (or stamped from others' gossip) is kept aside, so nothing is gossiped back.
const reported = new WeakMap<Client, number>();
const gossip = setInterval(() => {
  const heard: (string | number)[] = [];
  for (const client of registry.all()) {
    if (reported.get(client) === client.lastSeenMs) continue;
    reported.set(client, client.lastSeenMs);
    heard.push(client.address, client.port);
  }
  if (heard.length > 0) post({ t: "seen", clients: heard });
}, data.gossipMs);

function report(withClients = false): WorkerReport {
  const names = registry.all().map((c) => c.name);
  names.sort();
  return {
    index: data.index,
    clients: registry.size,
    names,
    stats: { ...relay.stats, drops: { ...relay.stats.drops } },
    backlog: relay.backlog,
    clientColumns: withClients ? toColumns(registry.all(), performance.timeOrigin) : undefined,
  };
}

parent.on("message", (message: ToWorker) => {
  const nowMs = performance.now();
  switch (message.t) {
    case "join": {
      chat.forgetTimedOut(message.address, message.port);
      const existing = registry.lookup(message.address, message.port);
      if (existing !== undefined) registry.remove(existing); // an unconfirmed join of ours from the same address: superseded
      const holder = registry.findByName(message.name);
      if (holder !== undefined) loseName(holder); // granted elsewhere first: ours was unconfirmed and lost
      registry.add(message.name, message.address, message.port, nowMs);
      return;
    }
    case "leave": {
      const client = registry.lookup(message.address, message.port);
      if (client === undefined || client.name !== message.name) return;
      registry.remove(client);
      if (message.timedOut) chat.rememberTimedOut(message.address, message.port, message.name, nowMs);
      return;
    }
    case "rename": {
      const client = registry.lookup(message.address, message.port);
      if (client === undefined) return;
      const holder = registry.findByName(message.name);
      if (holder !== undefined && holder !== client) loseName(holder);
      registry.rename(client, message.name);
      return;
    }
    case "evict": {
      const client = registry.lookup(message.address, message.port);
      if (client !== undefined && client.name === message.name) chat.evict(client);
      return;
    }
    case "revert": {
      const client = registry.lookup(message.address, message.port);
      if (client === undefined || client.name !== message.name) return;
      membership.renaming.delete(client);
      chat.revertRename(client, message.oldName);
      return;
    }
    case "granted": {
      const client = registry.lookup(message.address, message.port);
      if (client !== undefined && client.name === message.name) membership.renaming.delete(client);
      return;
    }
    case "seen": {
      const heard = message.clients;
      for (let i = 0; i + 1 < heard.length; i += 2) {
        const client = registry.lookup(heard[i] as string, heard[i + 1] as number);
        if (client === undefined || client.lastSeenMs >= nowMs) continue;
        client.lastSeenMs = nowMs;
        reported.set(client, nowMs);
      }
      return;
    }
    case "sweeper":
      membership.sweeps = true;
      return;
    case "report":
      post({ t: "report", id: message.id, report: report(message.clients === true) });
      return;
    case "shutdown":
      void stop(message.announce, message.graceMs);
      return;
  }
});

async function stop(announce: boolean, graceMs: number): Promise<void> {
  clearInterval(gossip);
  publisher?.stop();
  // Every socket in the group can reach every client, so one worker says goodbye; the others only drain.
  await relay.shutdown(graceMs, announce);
  printer.flush();
  post({ t: "closed", report: report() });
}
