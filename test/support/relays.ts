// Test helpers: an in-process relay on an ephemeral loopback port that closes itself and its peers when disposed.

import { defaults, type RelayConfig } from "../../src/config.ts";
import { validateAddresses } from "../../src/defence/validation.ts";
import { type Relay, type RelayOptions, startRelay } from "../../src/relay.ts";
import { type PeerOwner, withPeers } from "./peer.ts";

/** A relay for one test: `await using r = await startTestRelay()`; `r.join(2)` and `r.stranger()` are closed with it. */
export type TestRelay = Relay & PeerOwner & AsyncDisposable;

/**
 * Tests that are not about notice storms see every join, leave, rename and timeout by name, as a small chat
 * does; test/notices.test.ts runs with the default --notice-rate.
 */
export const EVERY_NOTICE = { noticesPerSecond: 1_000_000 } as const;

/**
 * Starts a quiet relay on 127.0.0.1 port 0 (or as overridden), with the address validation the server entry
 * passes; its peers talk to it on its own host.
 */
export async function startTestRelay(overrides: Partial<RelayConfig> = {}, options?: RelayOptions): Promise<TestRelay> {
  const relay = await startRelay({ ...defaults, port: 0, quiet: true, ...EVERY_NOTICE, ...overrides }, undefined, { admission: validateAddresses, ...options });
  return withPeers(relay, relay.host, () => relay.close());
}
