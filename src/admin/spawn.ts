// Starts the admin thread for a relay on this thread, and answers its requests for the client listing.

import { Worker } from "node:worker_threads";
import type { AdminAddress, RelayConfig } from "../config.ts";
import type { Relay } from "../relay.ts";
import { toColumns } from "./columns.ts";
import { type Admin, AdminBindError } from "./server.ts";
import type { Publisher } from "./shared.ts";
import type { AdminThreadData, FromAdmin, ToAdmin } from "./thread.ts";

/**
 * Serves the admin endpoint from its own thread for `relay`, whose counters `publisher` (attached to it) shares.
 * Throws AdminBindError when the address cannot be bound.
 */
export async function startAdminThread(address: AdminAddress, config: RelayConfig, relay: Relay, publisher: Publisher): Promise<Admin> {
  const data: AdminThreadData = { address, config, buffer: publisher.buffer, sockopts: relay.sockopts, startTimeSeconds: performance.timeOrigin / 1000 };
  const worker = new Worker(new URL("./thread.ts", import.meta.url), { workerData: data });
  worker.unref();
  return new Promise<Admin>((resolve, reject) => {
    worker.on("message", (message: FromAdmin) => {
      switch (message.t) {
        case "listening":
          return resolve({
            url: message.url,
            port: message.port,
            async stop() {
              await worker.terminate();
            },
          });
        case "failed":
          void worker.terminate();
          return reject(new AdminBindError(message.message));
        case "clients": {
          // Cold, on this (the relay's) thread: the listing as columns, times made epoch here where the clock is.
          const reply: ToAdmin = { t: "clients", id: message.id, columns: toColumns(relay.registry.all(), performance.timeOrigin) };
          return worker.postMessage(reply);
        }
      }
    });
    worker.on("error", (err) => reject(err));
    worker.on("exit", (code) => reject(new Error(`the admin thread exited with code ${code} before listening`)));
  });
}
