// Admin thread entry: the admin endpoint served off the relay's thread, reading its shared counters, so a relay
// saturated with datagrams (whose event loop then runs nothing else) still answers /metrics, /stats and the page.

import { parentPort, workerData } from "node:worker_threads";
import type { AdminAddress, RelayConfig } from "../config.ts";
import type { SocketSetup } from "../sockopt.ts";
import type { ClientColumns } from "./columns.ts";
import { mergeColumns } from "./columns.ts";
import { AdminBindError, startAdmin } from "./server.ts";
import { sharedSource, within } from "./shared-source.ts";

/** What the admin thread is started with. */
export interface AdminThreadData {
  readonly address: AdminAddress;
  readonly config: RelayConfig;
  readonly buffer: SharedArrayBuffer;
  readonly sockopts: SocketSetup | undefined;
  readonly startTimeSeconds: number;
}

/** Admin thread → relay thread. */
export type FromAdmin =
  | { readonly t: "listening"; readonly url: string; readonly port: number }
  | { readonly t: "failed"; readonly message: string }
  | { readonly t: "clients"; readonly id: number };

/** Relay thread → admin thread. */
export type ToAdmin = { readonly t: "clients"; readonly id: number; readonly columns: ClientColumns };

/** The listing waits at most this long for a saturated relay thread. */
export const CLIENTS_WITHIN_MS = 1000;

const data = workerData as AdminThreadData;
const parent = parentPort!;
const waiting = new Map<number, (columns: ClientColumns) => void>();
let nextId = 1;
parent.on("message", (message: ToAdmin) => {
  waiting.get(message.id)?.(message.columns);
  waiting.delete(message.id);
});

const post = (message: FromAdmin) => parent.postMessage(message);
const source = sharedSource(
  () => [data.buffer],
  data.sockopts,
  0,
  async () => {
    const id = nextId++;
    const columns = await within(
      new Promise<ClientColumns>((resolve) => {
        waiting.set(id, resolve);
        post({ t: "clients", id });
      }),
      CLIENTS_WITHIN_MS,
    ).finally(() => waiting.delete(id));
    return { clients: mergeColumns([columns]), originMs: 0 };
  },
);

try {
  const admin = await startAdmin(data.address, data.config, source, data.startTimeSeconds);
  post({ t: "listening", url: admin.url, port: admin.port });
} catch (err) {
  post({ t: "failed", message: err instanceof AdminBindError ? err.message : String(err) });
}
