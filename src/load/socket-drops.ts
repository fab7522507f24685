// Where loss happened: the kernel's per-socket drop counters (/proc/net/udp), for the clients' sockets and a local relay's.

import { readFileSync } from "node:fs";

/**
 * Sums the `drops` column of /proc/net/udp and /proc/net/udp6 over sockets bound to `ports`. A datagram
 * dropped there arrived but found the socket's receive buffer full: at a client that means the generator
 * fell behind; at the relay, that the relay did. Returns null off Linux or when the files cannot be read.
 */
export function socketDrops(ports: ReadonlySet<number>): number | null {
  let total = 0;
  let readAny = false;
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    readAny = true;
    const lines = text.split("\n");
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i]!.trim().split(/\s+/);
      const local = cols[1];
      if (local === undefined || cols.length < 13) continue;
      const port = Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
      if (ports.has(port)) total += Number(cols[cols.length - 1]);
    }
  }
  return readAny ? total : null;
}
