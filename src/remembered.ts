// Remembered names: the address→name bindings of clients that timed out, bounded in count and age.

interface Binding {
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

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
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
    this.bindings.set(key, { name, expiresMs: nowMs + this.ttlMs });
  }

  /** The name remembered for `address`:`port`, forgotten as it is handed out; undefined if none or expired. */
  take(address: string, port: number, nowMs: number): string | undefined {
    if (this.bindings.size === 0) return undefined;
    const key = addressKey(address, port);
    const binding = this.bindings.get(key);
    if (binding === undefined) return undefined;
    this.bindings.delete(key);
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
    }
  }

  private dropOldest(): void {
    for (const key of this.bindings.keys()) {
      this.bindings.delete(key);
      return;
    }
  }
}

/** A map key for `address`:`port`. "|" cannot occur in an IP literal, so the two cannot run together ambiguously. */
export function addressKey(address: string, port: number): string {
  return `${address}|${port}`;
}
