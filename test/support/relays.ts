// Test helpers: in-process relays on ephemeral loopback ports and registered peers, all closed after each test.

import { afterEach } from "bun:test";
import { defaults, type RelayConfig } from "../../src/config.ts";
import { validateAddresses } from "../../src/defence/validation.ts";
import { type Relay, startRelay } from "../../src/relay.ts";
import { joinAll, type Peer, peer } from "./peer.ts";

/** Relays and peers opened through these helpers; the test file's afterEach closes them. */
export interface Fixtures {
  /** Starts a quiet relay on 127.0.0.1 port 0 (or as overridden). */
  relay(overrides?: Partial<RelayConfig>): Promise<Relay>;
  /** Registers `count` peers named `${prefix}0…` and waits until every one has heard every join. */
  clients(r: Relay, count: number, prefix?: string, host?: string): Promise<Peer[]>;
  /** An unregistered peer. */
  stranger(r: Relay, host?: string): Promise<Peer>;
  /** Closes `p` after the test too. */
  track(p: Peer): Peer;
}

/** Call once at the top of a test file. */
export function useRelays(): Fixtures {
  const relays: Relay[] = [];
  const peers: Peer[] = [];
  afterEach(() => {
    for (const p of peers.splice(0)) p.close();
    for (const r of relays.splice(0)) r.close();
  });
  return {
    async relay(overrides = {}) {
      const r = await startRelay({ ...defaults, port: 0, quiet: true, ...overrides }, undefined, { admission: validateAddresses });
      relays.push(r);
      return r;
    },
    async clients(r, count, prefix = "p", host = "127.0.0.1") {
      const ps = await joinAll(r.port, count, prefix, host);
      peers.push(...ps);
      return ps;
    },
    async stranger(r, host = "127.0.0.1") {
      const p = await peer(r.port, host);
      peers.push(p);
      return p;
    },
    track(p) {
      peers.push(p);
      return p;
    },
  };
}
