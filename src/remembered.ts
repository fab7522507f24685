// Remembered names: the address→name bindings of clients that timed out, bounded in count and age.

/** One remembered binding: who was at `address`:`port`, and until when (monotonic ms) the name is kept. */
export interface Binding {
  readonly address: string;
  readonly port: number;
  readonly name: string;
  readonly expiresMs: number;
}

/**
 * Lets a client that went quiet come back under its old name by simply speaking again. A Map keeps
 * insertion order and every binding lives equally long, so the oldest binding is always the first:
 * expiry and eviction both work from the front, never by scanning.
 */
export class RememberedNames {
  private readonly bindings = new Map<string, Binding>();
  /** Bumped by every change: a state file is rewritten only when this (or the registry) moved. */
  changes = 0;

  constructor(
    private readonly capacity: number,
    /** How long a binding is kept. */
    readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.bindings.size;
  }

  /** Remembers that `address`:`port` was `name`; the oldest binding goes when full. */
  remember(address: string, port: number, name: string, nowMs: number): void {
    if (this.capacity === 0) return;
    const key = addressKey(address, port);
    this.bindings.delete(key); // re-insert at the back: order stays the order of expiry
    while (this.bindings.size >= this.capacity) this.dropOldest();
    this.bindings.set(key, { address, port, name, expiresMs: nowMs + this.ttlMs });
    this.changes++;
  }

  /**
   * Puts back bindings read from a state file, each with the time it has left. Sorted here, so the oldest stays
   * first. Not capped: the file's reader bounds them (clients plus remembered), and later `remember` calls
   * evict down to the capacity, oldest first. Call before any `remember`.
   */
  restore(bindings: readonly { readonly address: string; readonly port: number; readonly name: string; readonly leftMs: number }[], nowMs: number): void {
    const sorted = bindings.filter((b) => b.leftMs > 0).sort((a, b) => a.leftMs - b.leftMs);
    for (const b of sorted) {
      const key = addressKey(b.address, b.port);
      this.bindings.delete(key);
      this.bindings.set(key, { address: b.address, port: b.port, name: b.name, expiresMs: nowMs + Math.min(b.leftMs, this.ttlMs) });
    }
    this.changes++;
  }

  /** Every binding, oldest first. Do not change the set while iterating. */
  all(): IterableIterator<Binding> {
    return this.bindings.values();
  }

  /** The name remembered for `address`:`port`, forgotten as it is handed out; undefined if none or expired. */
  take(address: string, port: number, nowMs: number): string | undefined {
    if (this.bindings.size === 0) return undefined;
    const key = addressKey(address, port);
    const binding = this.bindings.get(key);
    if (binding === undefined) return undefined;
    this.bindings.delete(key);
    this.changes++;
    return binding.expiresMs > nowMs ? binding.name : undefined;
  }

  /** The name remembered for `address`:`port`, still remembered; undefined if none or expired. */
  peek(address: string, port: number, nowMs: number): string | undefined {
    if (this.bindings.size === 0) return undefined;
    const binding = this.bindings.get(addressKey(address, port));
    return binding !== undefined && binding.expiresMs > nowMs ? binding.name : undefined;
  }

  /** Forgets bindings whose time is up. */
  expire(nowMs: number): void {
    for (const [key, binding] of this.bindings) {
      if (binding.expiresMs > nowMs) return;
      this.bindings.delete(key);
      this.changes++;
    }
  }

  private dropOldest(): void {
    for (const key of this.bindings.keys()) {
      this.bindings.delete(key);
      this.changes++;
      return;
    }
  }
}

/** A map key for `address`:`port`. "|" cannot occur in an IP literal, so the two cannot run together ambiguously. */
export function addressKey(address: string, port: number): string {
  return `${address}|${port}`;
}
