// Entry point: parse config, start the relay, print, and shut down cleanly on SIGINT/SIGTERM.

import { ConfigError, parseConfig, usage } from "./config.ts";
import { LinePrinter, streamWriter } from "./printer.ts";
import { notice } from "./protocol.ts";
import { BindError, type Relay, startRelay } from "./relay.ts";

let parsed;
try {
  parsed = parseConfig(Bun.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`error: ${err.message}\n\n${usage}`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const printer = new LinePrinter(streamWriter(process.stdout));
let relay: Relay;
try {
  relay = await startRelay(parsed.config, printer);
} catch (err) {
  if (!(err instanceof BindError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
}
printer.text(notice.running(relay.endpoint));
printer.flush();
warnSmallBuffers(parsed.config.recvBufferBytes, parsed.config.sendBufferBytes);

/** Linux grants twice the request, capped by net.core.rmem_max/wmem_max: say so when the cap bit. */
function warnSmallBuffers(recvAsked: number, sendAsked: number): void {
  const got = relay.buffers;
  if (got === undefined) return;
  if (recvAsked > 0 && got.recvBytes < recvAsked) {
    process.stderr.write(`note: receive buffer is ${got.recvBytes} bytes (asked ${recvAsked}); raise net.core.rmem_max to allow more\n`);
  }
  if (sendAsked > 0 && got.sendBytes < sendAsked) {
    process.stderr.write(`note: send buffer is ${got.sendBytes} bytes (asked ${sendAsked}); raise net.core.wmem_max to allow more\n`);
  }
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) {
    process.stderr.write("[SERVER] Forced exit.\n");
    process.exit(130);
  }
  stopping = true;
  await relay.shutdown();
  printer.flush();
  process.stderr.write(`${relay.stats.summary(relay.registry.size)}${printer.dropped ? ` console_dropped=${printer.dropped}` : ""}\n`);
  // Let stdout finish what it holds, but never hang on a reader that went away.
  await Promise.race([new Promise<void>((done) => process.stdout.write("", () => done())), Bun.sleep(1000)]);
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
