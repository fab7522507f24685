// The admin endpoint's view of a worker group: each worker's shared counters summed; the listing asked of them all.

import type { WorkerGroup } from "../scale/workers.ts";
import { mergeColumns } from "./columns.ts";
import { sharedSource, within } from "./shared-source.ts";
import type { AdminSource } from "./source.ts";

/** The listing waits at most this long for saturated workers. */
const CLIENTS_WITHIN_MS = 1000;

/** A worker group in this process, served from the main thread (which relays nothing itself). */
export function workersSource(group: WorkerGroup): AdminSource {
  return sharedSource(
    () => group.shared,
    group.sockopts,
    group.live,
    async () => {
      const reports = await within(group.reports(true), CLIENTS_WITHIN_MS);
      return { clients: mergeColumns(reports.flatMap((r) => (r.clientColumns === undefined ? [] : [r.clientColumns]))), originMs: 0 };
    },
  );
}
