// Mesh presence: who is online on which node, in a NATS KV bucket with a TTL. The bucket is the single owner of names.

import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { nameKey } from "../protocol/names.ts";

/** The KV bucket holding one key per online name across the mesh. */
export const PRESENCE_BUCKET = "relay-presence";

/** A KV key for a name: keys allow only [-/_=.A-Za-z0-9], names are any Unicode, so the folded key is base64url. */
export function presenceKey(name: string): string {
  return `n.${Buffer.from(nameKey(name)).toString("base64url") || "_"}`;
}

/** What presence tells the node about its own names. */
export interface PresenceEvents {
  /** A claim went through: `name` is ours across the mesh. */
  granted(name: string): void;
  /** A name used here is another node's (a race, or a partition longer than the TTL): its local holder must give it up. */
  taken(name: string): void;
}

/** What a presence entry holds. */
interface Holding {
  readonly name: string;
  readonly node: string;
}

interface Remote extends Holding {
  /** When the watch last saw the entry written (it is rewritten every refresh). */
  seenMs: number;
}

interface Mine {
  readonly name: string;
  /** The KV revision of our entry; undefined until a claim has gone through. */
  revision: number | undefined;
}

/**
 * Names this node holds, claimed with an atomic KV create, rewritten every ttl/3 with a compare-and-set on the
 * revision; and names other nodes hold, as seen through a watch. Entries of a node that died expire with the
 * bucket's TTL (the server sends no event for that, so remote entries not rewritten within the TTL are ignored).
 */
export class Presence {
  private readonly remote = new Map<string, Remote>();
  private readonly mine = new Map<string, Mine>();
  private watching: { stop(): void } | undefined;
  private refresher: ReturnType<typeof setInterval>;

  private constructor(
    private readonly kvm: Kvm,
    private kv: KV,
    private readonly nodeId: string,
    private readonly ttlMs: number,
    private readonly events: PresenceEvents,
  ) {
    this.refresher = setInterval(() => void this.refresh(), Math.max(50, ttlMs / 3));
    this.refresher.unref();
  }

  /** Opens (creating if need be) the bucket and starts watching it. Throws if JetStream is not available. */
  static async open(nc: NatsConnection, nodeId: string, ttlMs: number, events: PresenceEvents): Promise<Presence> {
    const kvm = new Kvm(nc);
    const kv = await kvm.create(PRESENCE_BUCKET, { ttl: ttlMs, history: 1 });
    const presence = new Presence(kvm, kv, nodeId, ttlMs, events);
    await presence.watch();
    return presence;
  }

  /** Another node holds `name` (ignoring case), as far as the watch has seen. */
  heldElsewhere(name: string): boolean {
    return this.live(this.remote.get(presenceKey(name))) !== undefined;
  }

  /** Names held on other nodes. */
  namesElsewhere(): string[] {
    const names: string[] = [];
    for (const entry of this.remote.values()) if (this.live(entry) !== undefined) names.push(entry.name);
    return names;
  }

  /**
   * Claims `name` for a client here; the outcome comes only as an event (`granted` or `taken`, now or after
   * the bus is back; while it is down the claim waits for the next refresh). A name that differs only in case
   * from one we hold keeps its entry, rewritten with the new spelling.
   */
  claim(name: string): Promise<void> {
    const key = presenceKey(name);
    const held = this.mine.get(key);
    const mine: Mine = { name, revision: held?.revision };
    this.mine.set(key, mine);
    return this.settle(key, mine);
  }

  /** Gives `name` up, if this node holds it. Only our own revision is deleted, never a newer holder's. */
  release(name: string): Promise<void> {
    const key = presenceKey(name);
    const mine = this.mine.get(key);
    if (mine === undefined || mine.name !== name) return Promise.resolve();
    this.mine.delete(key);
    if (mine.revision === undefined) return Promise.resolve();
    return this.kv.delete(key, { previousSeq: mine.revision }).catch(() => {});
  }

  /** Gives every name up (shutdown), waiting at most `timeoutMs`. */
  async releaseAll(timeoutMs = 1000): Promise<void> {
    clearInterval(this.refresher);
    this.watching?.stop();
    const all = [...this.mine.values()].map((m) => this.release(m.name));
    await Promise.race([Promise.all(all), Bun.sleep(timeoutMs)]);
  }

  /** After a reconnect: reopen the bucket (the server may have lost it), watch again, and rewrite our names. */
  async resync(): Promise<void> {
    try {
      this.kv = await this.kvm.create(PRESENCE_BUCKET, { ttl: this.ttlMs, history: 1 });
      this.watching?.stop();
      this.remote.clear();
      await this.watch();
      await this.refresh();
    } catch {
      // Down again already: the next reconnect tries again, and the refresh timer meanwhile.
    }
  }

  /** Rewrites every name we hold, so it outlives the TTL; claims again those not yet granted. */
  private async refresh(): Promise<void> {
    const now = performance.now();
    for (const [key, entry] of this.remote) if (this.live(entry, now) === undefined) this.remote.delete(key);
    await Promise.all([...this.mine].map(([key, mine]) => this.settle(key, mine)));
  }

  // Creates or rewrites our entry; a failed compare-and-set tells whose the name is now. Bus down: try at the next refresh.
  private async settle(key: string, mine: Mine): Promise<void> {
    const value = JSON.stringify({ name: mine.name, node: this.nodeId } satisfies Holding);
    const first = mine.revision === undefined;
    try {
      const revision = first ? await this.kv.create(key, value) : await this.kv.update(key, value, mine.revision!);
      if (this.mine.get(key) !== mine) return;
      mine.revision = revision;
      if (first) this.events.granted(mine.name);
      return;
    } catch {
      // Either someone else's entry is there, or the bus is away: look.
    }
    let holder: Holding | undefined;
    let entry: KvEntry | null;
    try {
      entry = await this.kv.get(key);
      holder = parseHolding(entry);
    } catch {
      return;
    }
    if (holder === undefined) {
      mine.revision = undefined; // expired (we were away longer than the TTL): create it afresh next time
      return;
    }
    if (holder.node === this.nodeId) {
      // Ours from an earlier write (a reply lost in a disconnect): adopt its revision; the next refresh rewrites it.
      if (this.mine.get(key) === mine && entry !== null) mine.revision = entry.revision;
      if (first) this.events.granted(mine.name);
      return;
    }
    if (this.mine.get(key) === mine) {
      this.mine.delete(key);
      this.events.taken(mine.name);
    }
  }

  private async watch(): Promise<void> {
    const iterator = await this.kv.watch({ key: "n.>" });
    this.watching = iterator;
    void (async () => {
      for await (const entry of iterator) {
        if (entry.operation !== "PUT") {
          this.remote.delete(entry.key);
          continue;
        }
        const holder = parseHolding(entry);
        if (holder === undefined || holder.node === this.nodeId) continue;
        this.remote.set(entry.key, { ...holder, seenMs: performance.now() });
      }
    })();
  }

  private live(entry: Remote | undefined, now = performance.now()): Remote | undefined {
    // A rewrite is due every ttl/3; one missed TTL means the node is gone even if the server still has the entry.
    return entry !== undefined && now - entry.seenMs <= this.ttlMs ? entry : undefined;
  }
}

function parseHolding(entry: KvEntry | null): Holding | undefined {
  if (entry === null || entry.operation !== "PUT") return undefined;
  try {
    const value = entry.json<Holding>();
    return typeof value.name === "string" && typeof value.node === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
