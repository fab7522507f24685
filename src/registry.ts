// The client registry: who is registered, looked up by source address, and the packet array fan-out sends over.

import { encodePrefix } from "./protocol.ts";

/** One registered client. Everything the hot path needs is computed once, at join time. */
export interface Client {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** `<name> ~ ` as UTF-8: the first bytes of every line this client sends. */
  readonly prefix: Uint8Array;
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

  get size(): number {
    return this.clients.length;
  }

  /** The client sending from `address`:`port`, if registered. */
  // hot path: once per inbound datagram
  lookup(address: string, port: number): Client | undefined {
    const ports = this.byAddress.get(address);
    return ports === undefined ? undefined : ports.get(port);
  }

  /** Registers a client; the caller has checked that the address is new and the name acceptable. */
  add(name: string, address: string, port: number, nowMs: number): Client {
    const client: Client = { name, address, port, prefix: encodePrefix(name), slot: this.clients.length, lastSeenMs: nowMs };
    this.clients.push(client);
    // Every payload slot holds the same frame; a newcomer copies slot 0 so that stays true.
    this.packets.push(this.packets.length > 0 ? this.packets[0]! : EMPTY, port, address);
    let ports = this.byAddress.get(address);
    if (ports === undefined) {
      ports = new Map();
      this.byAddress.set(address, ports);
    }
    ports.set(port, client);
    return client;
  }

  /** Removes a client: the last triple moves into its slot. Returns false if it was not registered. */
  remove(client: Client): boolean {
    const ports = this.byAddress.get(client.address);
    if (ports === undefined || ports.get(client.port) !== client) return false;
    ports.delete(client.port);
    if (ports.size === 0) this.byAddress.delete(client.address);
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
