// NOT THE PRODUCT. A deliberately naive relay for the stress-testing comparison: one send() per recipient, no batching.
//
// It speaks the same protocol (first datagram = name, join notice to everyone, `<name> ~ <text>` to
// everyone including the sender) the way a first attempt would: a Map keyed by "address:port", a string
// built per line, and a loop of socket.send calls. It exists only so docs/stress-testing.md can show what
// batched fan-out buys. Binds 127.0.0.1 only.

import { integer, readFlags } from "../src/flags.ts";
import { parseOrExit, usageText } from "../src/usage.ts";

const naiveFlags = {
  port: integer({ section: "Options:", flag: "port", default: 0, min: 0, max: 65535, help: "UDP port on 127.0.0.1 (0: one the OS picks)" }),
} as const;
const usage = usageText(
  {
    command: "bun run scripts/naive-relay.ts",
    about: `NOT THE PRODUCT: a deliberately naive relay (one send per recipient, no batching, no limits) that
scripts/compare-relays.ts measures against this relay. Ctrl+C stops it.`,
  },
  naiveFlags,
);
const { port } = parseOrExit(usage, () => readFlags(naiveFlags, Bun.argv.slice(2))).values;
const clients = new Map<string, { name: string; port: number; address: string }>();
const decoder = new TextDecoder();

const socket = await Bun.udpSocket({
  hostname: "127.0.0.1",
  port,
  socket: {
    data(s, data, fromPort, fromAddress) {
      const key = `${fromAddress}:${fromPort}`;
      const text = decoder.decode(data);
      const known = clients.get(key);
      let line: string;
      if (known === undefined) {
        const name = text.trim();
        clients.set(key, { name, port: fromPort, address: fromAddress });
        line = `[SERVER] ${name} has joined the chat.`;
      } else {
        line = `${known.name} ~ ${text}`;
      }
      for (const c of clients.values()) {
        try {
          s.send(line, c.port, c.address);
        } catch {
          // a vanished client: ignore, as a first attempt would
        }
      }
    },
  },
}).catch((err: Error) => {
  process.stderr.write(`error: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
  process.exit(1);
});
console.log(`[SERVER] Running on 127.0.0.1:${socket.port}`);
process.on("SIGINT", () => {
  socket.close();
  process.exit(0);
});
