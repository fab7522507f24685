// Registered clients as columns of plain values: how a worker thread hands its view of them to the main thread.

import type { ClientView } from "./source.ts";

/** One array per field, index i being one client; times in ms since the epoch. Structured clone copies these fast. */
export interface ClientColumns {
  readonly names: string[];
  readonly addresses: string[];
  readonly ports: number[];
  readonly joinedAtMs: number[];
  readonly lastSeenMs: number[];
  readonly lines: number[];
  readonly rateLimited: number[];
}

/** `clients` (times on the clock that `originMs` starts) as columns with epoch times. Cold: on request. */
export function toColumns(clients: readonly ClientView[], originMs: number): ClientColumns {
  const c: ClientColumns = { names: [], addresses: [], ports: [], joinedAtMs: [], lastSeenMs: [], lines: [], rateLimited: [] };
  for (const client of clients) {
    c.names.push(client.name);
    c.addresses.push(client.address);
    c.ports.push(client.port);
    c.joinedAtMs.push(originMs + client.joinedAtMs);
    c.lastSeenMs.push(originMs + client.lastSeenMs);
    c.lines.push(client.lines);
    c.rateLimited.push(client.rateLimited);
  }
  return c;
}

/**
 * Every worker's columns merged into one view per client. Every worker's registry holds every client, but only the one
 * the kernel hashes it to counts its lines: counts are summed, the latest last-seen and the earliest join kept.
 */
export function mergeColumns(all: readonly ClientColumns[]): ClientView[] {
  const byKey = new Map<string, { -readonly [K in keyof ClientView]: ClientView[K] }>();
  for (const c of all) {
    for (let i = 0; i < c.names.length; i++) {
      const key = `${c.addresses[i]} ${c.ports[i]}`;
      const seen = byKey.get(key);
      if (seen === undefined) {
        byKey.set(key, {
          name: c.names[i]!,
          address: c.addresses[i]!,
          port: c.ports[i]!,
          joinedAtMs: c.joinedAtMs[i]!,
          lastSeenMs: c.lastSeenMs[i]!,
          lines: c.lines[i]!,
          rateLimited: c.rateLimited[i]!,
        });
        continue;
      }
      seen.joinedAtMs = Math.min(seen.joinedAtMs, c.joinedAtMs[i]!);
      seen.lastSeenMs = Math.max(seen.lastSeenMs, c.lastSeenMs[i]!);
      seen.lines += c.lines[i]!;
      seen.rateLimited += c.rateLimited[i]!;
    }
  }
  return [...byKey.values()];
}
