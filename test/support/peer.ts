// Test helpers: a real UDP peer on loopback that records what it receives, with deadline-bound waits.

const utf8 = new TextDecoder();

/** A chat client for tests: a real socket on an ephemeral loopback port; `using p = await peer(port)` closes it. */
export interface Peer extends Disposable {
  readonly port: number;
  /** Sends text (UTF-8) or raw bytes to the relay. */
  send(data: string | Uint8Array): void;
  /** The next datagram as text; rejects if none arrives within `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  /** Waits until `predicate` matches a datagram (skipping others) or the deadline passes. */
  until(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Collects datagrams until `count` arrived or `timeoutMs` passed; returns what arrived. */
  collect(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves with whatever arrives within `ms` (used to show that nothing does). */
  quiet(ms: number): Promise<string[]>;
  /** Everything received so far and not yet consumed. */
  readonly inbox: string[];
  close(): void;
}

/** Opens a peer talking to `relayPort` on `host` (127.0.0.1 or ::1). */
export async function peer(relayPort: number, host = "127.0.0.1"): Promise<Peer> {
  const inbox: string[] = [];
  let wake: (() => void) | undefined;
  const socket = await Bun.udpSocket({
    hostname: host,
    socket: {
      data(_s, data) {
        inbox.push(utf8.decode(data));
        wake?.();
      },
      // ICMP port unreachable (nobody listening yet, or any more) surfaces here; a test asserts on what arrives.
      error() {},
    },
  });

  async function waitFor(timeoutMs: number, done: () => boolean): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return true;
  }

  return {
    port: socket.port,
    inbox,
    send(data) {
      socket.send(data, relayPort, host);
    },
    async next(timeoutMs = 2000) {
      if (!(await waitFor(timeoutMs, () => inbox.length > 0))) throw new Error(`no datagram within ${timeoutMs} ms`);
      return inbox.shift()!;
    },
    async until(predicate, timeoutMs = 2000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const at = inbox.findIndex(predicate);
        if (at >= 0) return inbox.splice(0, at + 1).pop()!;
        inbox.length = 0;
        const left = deadline - performance.now();
        if (left <= 0 || !(await waitFor(left, () => inbox.length > 0))) {
          throw new Error(`no matching datagram within ${timeoutMs} ms`);
        }
      }
    },
    async collect(count, timeoutMs = 2000) {
      await waitFor(timeoutMs, () => inbox.length >= count);
      return inbox.splice(0, inbox.length);
    },
    async quiet(ms) {
      await Bun.sleep(ms);
      return inbox.splice(0, inbox.length);
    },
    close() {
      socket.close();
    },
    [Symbol.dispose]() {
      socket.close();
    },
  };
}

/** Opens `count` peers and registers each under `${prefix}${i}`, waiting for each one's own join notice; closes them if that fails. */
export async function joinAll(relayPort: number, count: number, prefix = "p", host = "127.0.0.1"): Promise<Peer[]> {
  const peers: Peer[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const p = await peer(relayPort, host);
      peers.push(p);
      p.send(`${prefix}${i}`);
      await p.until((line) => line === `[SERVER] ${prefix}${i} has joined the chat.`);
    }
    // Every peer hears the last join; once each has, earlier notices are behind it and can be dropped.
    const last = `[SERVER] ${prefix}${count - 1} has joined the chat.`;
    for (const p of peers.slice(0, -1)) await p.until((line) => line === last);
    return peers;
  } catch (err) {
    for (const p of peers) p.close(); // the caller never sees them, so cannot close them
    throw err;
  }
}

/** What every relay fixture offers: peers that talk to it and are closed when it is disposed. */
export interface PeerOwner {
  /** Registers `count` peers named `${prefix}0…` and waits until every one has heard every join. */
  join(count: number, prefix?: string, host?: string): Promise<Peer[]>;
  /** An unregistered peer. */
  stranger(host?: string): Promise<Peer>;
  /** Disposes `resource` with the owner, before the owner itself. */
  track<T extends Disposable>(resource: T): T;
}

/**
 * Gives `target` (a relay listening on `target.port`) the `PeerOwner` methods, its peers talking to it on `host`,
 * and an async dispose that closes those peers, newest first, and then runs `close`.
 */
export function withPeers<T extends { readonly port: number }>(target: T, host: string, close: () => unknown): T & PeerOwner & AsyncDisposable {
  const owned = new DisposableStack();
  const owner: PeerOwner & AsyncDisposable = {
    async join(count, prefix = "p", on = host) {
      const ps = await joinAll(target.port, count, prefix, on);
      for (const p of ps) owned.use(p);
      return ps;
    },
    async stranger(on = host) {
      return owned.use(await peer(target.port, on));
    },
    track(resource) {
      return owned.use(resource);
    },
    async [Symbol.asyncDispose]() {
      try {
        owned.dispose();
      } finally {
        await close();
      }
    },
  };
  for (const key of Reflect.ownKeys(owner)) if (key in target) throw new Error(`withPeers would hide the target's own ${String(key)}`);
  return Object.assign(target, owner);
}
