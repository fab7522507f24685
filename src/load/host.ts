// The facts about the generator's host that a reader of a run needs to judge it: kernel, cores, Bun, socket buffers.

import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem, type } from "node:os";

/** Host facts, as the JSON's `host` object. A value that cannot be read is null. */
export interface HostFacts {
  kernel: string;
  cpu: string;
  cores: number;
  memory_gib: number;
  bun: string;
  /** net.core.rmem_max / wmem_max / rmem_default: the caps on what a socket may be granted. */
  rmem_max: number | null;
  wmem_max: number | null;
  rmem_default: number | null;
  /** Receive buffer each client socket asked for, and what the kernel granted (Linux reports twice the request). */
  client_rcvbuf_asked: number;
  client_rcvbuf_granted: number | null;
}

/** Reads the host facts now; `granted` is what a client socket reported after asking for `asked` bytes. */
export function readHostFacts(asked: number, granted: number | null): HostFacts {
  return {
    kernel: `${type()} ${release()}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    bun: Bun.version,
    rmem_max: sysctl("net/core/rmem_max"),
    wmem_max: sysctl("net/core/wmem_max"),
    rmem_default: sysctl("net/core/rmem_default"),
    client_rcvbuf_asked: asked,
    client_rcvbuf_granted: granted,
  };
}

function sysctl(name: string): number | null {
  try {
    const n = Number(readFileSync(`/proc/sys/${name}`, "utf8").trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
