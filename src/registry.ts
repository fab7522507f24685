// The client registry: who is registered, looked up by source address, and the packet array fan-out sends over.

import type { Bucket } from "./limits.ts";
import { nameKey } from "./names.ts";
import { encodePrefix } from "./protocol.ts";

/** One registered client. Everything the hot path needs is computed once, at join (or rename) time. */
export interface Client extends Bucket {
  /** Changed only by `Registry.rename`, which keeps the name index and the prefix in step. */
  name: string;
  readonly address: string;
  readonly port: number;
  /** `<name> ~ ` as UTF-8: the first bytes of every line this client sends. Re-encoded on rename. */
  prefix: Uint8Array;
  /** Index of this client's triple in `Registry.packets` (in triples, not elements). */
  slot: number;
  /** Last time (ms, monotonic) any datagram arrived from this client. */
  lastSeenMs: number;
}

/** A packet array element: payload, port or address, as `socket.sendMany` takes them. */
export type PacketSlot = Uint8Array | number | string;

/**
 * Registered clients, keyed by (address, port) without building a key string per datagram,
 * plus the `sendMany` array of [payload, port, address] triples for all of them.
 * Joins append a triple and leaves swap-remove one: the array is never rebuilt.
 */
export class Registry {
  /** [payload, port, address] × size. Fan-out writes the payload slots; only this class moves triples. */
  readonly packets: PacketSlot[] = [];
  private readonly clients: Client[] = [];
  // address → port → client: two map lookups per datagram and no string concatenation.
  private readonly byAddress = new Map<string, Map<number, Client>>();
  // nameKey(name) → client: names are unique ignoring case.
  private readonly byName = new Map<string, Client>();

  get size(): number {
    return this.clients.length;
  }

  /** The client sending from `address`:`port`, if registered. */
  // hot path: once per inbound datagram
  lookup(address: string, port: number): Client | undefined {
    const ports = this.byAddress.get(address);
    return ports === undefined ? undefined : ports.get(port);
  }

  /** The client called `name`, ignoring case. Cold path: commands and joins. */
  findByName(name: string): Client | undefined {
    return this.byName.get(nameKey(name));
  }

  /** Registers a client; the caller has checked that the address is new and the name acceptable and free. */
  add(name: string, address: string, port: number, nowMs: number): Client {
    // A newcomer's bucket is full (Infinity clamps to the burst on first use); it was never told to slow down.
    const client: Client = {
      name,
      address,
      port,
      prefix: encodePrefix(name),
      slot: this.clients.length,
      lastSeenMs: nowMs,
      tokens: Number.POSITIVE_INFINITY,
      tokensAtMs: nowMs,
      slowNoticeMs: Number.NEGATIVE_INFINITY,
    };
    this.clients.push(client);
    // Every payload slot holds the same frame; a newcomer copies slot 0 so that stays true.
    this.packets.push(this.packets.length > 0 ? this.packets[0]! : EMPTY, port, address);
    let ports = this.byAddress.get(address);
    if (ports === undefined) {
      ports = new Map();
      this.byAddress.set(address, ports);
    }
    ports.set(port, client);
    this.byName.set(nameKey(name), client);
    return client;
  }

  /**
   * Renames a client; the caller has checked that `name` is acceptable and not someone else's. The packet
   * array holds no names, so only the record and the name index change.
   */
  rename(client: Client, name: string): void {
    this.byName.delete(nameKey(client.name));
    client.name = name;
    client.prefix = encodePrefix(name);
    this.byName.set(nameKey(name), client);
  }

  /** Removes a client: the last triple moves into its slot. Returns false if it was not registered. */
  remove(client: Client): boolean {
    const ports = this.byAddress.get(client.address);
    if (ports === undefined || ports.get(client.port) !== client) return false;
    ports.delete(client.port);
    if (ports.size === 0) this.byAddress.delete(client.address);
    this.byName.delete(nameKey(client.name));
    const last = this.clients.length - 1;
    const moved = this.clients[last]!;
    const at = client.slot;
    if (moved !== client) {
      this.clients[at] = moved;
      moved.slot = at;
      const p = this.packets;
      p[at * 3] = p[last * 3]!;
      p[at * 3 + 1] = p[last * 3 + 1]!;
      p[at * 3 + 2] = p[last * 3 + 2]!;
    }
    this.clients.pop();
    this.packets.length = last * 3;
    return true;
  }

  /** Moves `client` to the last slot, so `packets` minus its final triple is everyone else. */
  moveToEnd(client: Client): void {
    const last = this.clients.length - 1;
    const at = client.slot;
    if (at === last) return;
    const other = this.clients[last]!;
    this.clients[at] = other;
    this.clients[last] = client;
    other.slot = at;
    client.slot = last;
    const p = this.packets;
    for (let k = 0; k < 3; k++) {
      const tmp = p[at * 3 + k]!;
      p[at * 3 + k] = p[last * 3 + k]!;
      p[last * 3 + k] = tmp;
    }
  }

  /** All registered clients, in slot order. Do not hold on to the array. */
  all(): readonly Client[] {
    return this.clients;
  }
}

const EMPTY = new Uint8Array(0);
