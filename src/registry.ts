// The client registry: who is registered, looked up by source address, and the packet arrays fan-out sends over.

import { type Bucket, prefixKey } from "./limits.ts";
import { nameKey } from "./protocol/names.ts";
import { encodePrefix } from "./protocol/wire.ts";

/** One registered client. Everything the hot path needs is computed once, at join (or rename) time. */
export interface Client extends Bucket {
  /** Changed only by `Registry.rename`, which keeps the name index and the prefix in step. */
  name: string;
  readonly address: string;
  readonly port: number;
  /** `<name> ~ ` as UTF-8: the first bytes of every line this client sends. Re-encoded on rename. */
  prefix: Uint8Array;
  /** Index of this client's triple across `Registry.chunks` (in triples, not elements). */
  slot: number;
  /** Last time (ms, monotonic) any datagram arrived from this client. */
  lastSeenMs: number;
  /** The /24 (IPv4) or /64 (IPv6) the address is in, as `prefixKey` writes it: per-network counts. */
  readonly net: string;
  /** Rename pacing (GCRA): the earliest time the rename allowance is whole again. */
  renameAtMs: number;
  /** When it joined (ms, monotonic). */
  readonly joinedAtMs: number;
  /** Chat lines it had relayed: one increment per line (the admin endpoint's /clients). */
  lines: number;
  /** Datagrams of its dropped for its --rate-limit/--burst. */
  rateLimited: number;
}

/** A packet array element: payload, port or address, as `socket.sendMany` takes them. */
export type PacketSlot = Uint8Array | number | string;

/**
 * Something that keeps its own per-slot copy of each client's destination (sendmmsg.ts: sockaddrs in native
 * memory) and must follow the registry's slots exactly as the packet triples do.
 */
export interface SlotMirror {
  /** Slot `slot` is now `address`:`port` (a join). */
  set(slot: number, address: string, port: number): void;
  /** Slot `to` takes slot `from`'s destination (a leave's swap-remove). */
  move(from: number, to: number): void;
  /** Slots `a` and `b` trade destinations (`moveToEnd`). Hot path with --no-echo: once per line. */
  swap(a: number, b: number): void;
}

/**
 * Recipients per `sendMany` call by default (`--send-batch`): one `sendmmsg` for up to 1024, as the C reference batches. Smaller chunks let
 * the first recipients have a line sooner but cost throughput, because receivers woken more often cost the
 * sender more (measured in docs/benchmarks.md, `bun bench --group latency`).
 */
export const CHUNK_CLIENTS = 1024;

/**
 * Registered clients, keyed by (address, port) without building a key string per datagram,
 * plus the `sendMany` arrays of [payload, port, address] triples for all of them, `chunkClients` to an array.
 * Joins append a triple and leaves swap-remove one: the arrays are never rebuilt.
 */
export class Registry {
  /**
   * [payload, port, address] × up to `chunkClients`, every chunk full but the last. Client `slot` s sits in
   * chunk s / chunkClients. Fan-out writes the payload slots; only this class moves triples.
   */
  readonly chunks: PacketSlot[][] = [];
  private readonly clients: Client[] = [];
  // address → port → client: two map lookups per datagram and no string concatenation.
  private readonly byAddress = new Map<string, Map<number, Client>>();
  // nameKey(name) → client: names are unique ignoring case.
  private readonly byName = new Map<string, Client>();
  // prefixKey(address) → clients registered from that network.
  private readonly perNet = new Map<string, number>();
  private mirror: SlotMirror | undefined;

  /** `chunkClients`: recipients per `sendMany` call. */
  constructor(readonly chunkClients = CHUNK_CLIENTS) {}

  /** Has `mirror` follow every slot from now on, starting with the clients already registered. */
  attach(mirror: SlotMirror): void {
    this.mirror = mirror;
    const clients = this.clients;
    for (let i = 0; i < clients.length; i++) mirror.set(i, clients[i]!.address, clients[i]!.port);
  }

  get size(): number {
    return this.clients.length;
  }

  /** The client sending from `address`:`port`, if registered. */
  // hot path: once per inbound datagram
  lookup(address: string, port: number): Client | undefined {
    const ports = this.byAddress.get(address);
    return ports === undefined ? undefined : ports.get(port);
  }

  /** Clients registered from `address` (any port). Cold path: joins. */
  fromAddress(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /** Clients registered from the /24 or /64 that `address` is in. Cold path: joins. */
  fromNetwork(address: string): number {
    return this.perNet.get(prefixKey(address)) ?? 0;
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
      net: prefixKey(address),
      renameAtMs: nowMs,
      joinedAtMs: nowMs,
      lines: 0,
      rateLimited: 0,
      tokens: Number.POSITIVE_INFINITY,
      tokensAtMs: nowMs,
      slowNoticeMs: Number.NEGATIVE_INFINITY,
    };
    this.clients.push(client);
    const chunks = this.chunks;
    let last = chunks[chunks.length - 1];
    if (last === undefined || last.length === this.chunkClients * 3) {
      last = [];
      chunks.push(last);
    }
    // Every payload slot holds the same frame; a newcomer copies the first so that stays true.
    last.push(chunks[0]!.length > 0 ? chunks[0]![0]! : EMPTY, port, address);
    this.mirror?.set(client.slot, address, port);
    let ports = this.byAddress.get(address);
    if (ports === undefined) {
      ports = new Map();
      this.byAddress.set(address, ports);
    }
    ports.set(port, client);
    this.byName.set(nameKey(name), client);
    this.perNet.set(client.net, (this.perNet.get(client.net) ?? 0) + 1);
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
    const onNet = (this.perNet.get(client.net) ?? 1) - 1;
    if (onNet === 0) this.perNet.delete(client.net);
    else this.perNet.set(client.net, onNet);
    const last = this.clients.length - 1;
    const moved = this.clients[last]!;
    const at = client.slot;
    const tail = this.chunks[this.chunks.length - 1]!;
    const from = tail.length - 3;
    if (moved !== client) {
      this.clients[at] = moved;
      moved.slot = at;
      const chunk = this.chunks[(at / this.chunkClients) | 0]!;
      const to = (at % this.chunkClients) * 3;
      chunk[to] = tail[from]!;
      chunk[to + 1] = tail[from + 1]!;
      chunk[to + 2] = tail[from + 2]!;
      this.mirror?.move(last, at);
    }
    this.clients.pop();
    tail.length = from;
    if (from === 0) this.chunks.pop();
    return true;
  }

  /** Moves `client` to the last slot, so the chunks less the final triple are everyone else. */
  moveToEnd(client: Client): void {
    const last = this.clients.length - 1;
    const at = client.slot;
    if (at === last) return;
    const other = this.clients[last]!;
    this.clients[at] = other;
    this.clients[last] = client;
    other.slot = at;
    client.slot = last;
    const a = this.chunks[(at / this.chunkClients) | 0]!;
    const b = this.chunks[this.chunks.length - 1]!;
    const i = (at % this.chunkClients) * 3;
    const j = b.length - 3;
    for (let k = 0; k < 3; k++) {
      const tmp = a[i + k]!;
      a[i + k] = b[j + k]!;
      b[j + k] = tmp;
    }
    this.mirror?.swap(at, last);
  }

  /** All registered clients, in slot order. Do not hold on to the array. */
  all(): readonly Client[] {
    return this.clients;
  }
}

const EMPTY = new Uint8Array(0);
