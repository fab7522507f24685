// Test helpers: a real UDP peer on loopback that records what it receives, with deadline-bound waits.

const utf8 = new TextDecoder();

/** A chat client for tests: a real socket on an ephemeral loopback port. */
export interface Peer {
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
  };
}

/** Opens `count` peers and registers each under `${prefix}${i}`, waiting for each one's own join notice. */
export async function joinAll(relayPort: number, count: number, prefix = "p", host = "127.0.0.1"): Promise<Peer[]> {
  const peers: Peer[] = [];
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
}
