// Group 1: the cost of building one outbound `name ~ text` frame, the relay's preallocated way and the usual ways.

import { bench, do_not_optimize, group, summary } from "mitata";
import { FanOut } from "../src/fanout.ts";
import { Registry } from "../src/registry.ts";
import { RelayStats } from "../src/stats.ts";
import { encodePrefix, SEPARATOR } from "../src/protocol/wire.ts";
import { type BenchGroup, type BenchState, sweep } from "./suite.ts";

const NAME = "alice";
const utf8 = new TextEncoder();
const utf8Text = new TextDecoder();

/** Payload bytes as they arrive from a client: short and ~1 KB, ASCII and multi-byte. */
const payloads: Record<string, Record<string, Uint8Array>> = {
  short: {
    ascii: utf8.encode("hello, world! how are you?"),
    utf8: utf8.encode("héllo wörld ✓ 日本 🙂"),
  },
  "1k": {
    ascii: utf8.encode(fill("the quick brown fox jumps over the lazy dog. ", 1024)),
    utf8: utf8.encode(fill("naïve café 日本語 🙂 ", 1024)),
  },
};

// Repeats `unit` up to `bytes` UTF-8 bytes, never cutting a character.
function fill(unit: string, bytes: number): string {
  let text = "";
  for (const ch of unit.repeat(Math.ceil(bytes / unit.length))) {
    if (utf8.encode(text + ch).length > bytes) break;
    text += ch;
  }
  return text;
}

let socket: Bun.udp.Socket<"buffer"> | undefined;

export const encodeGroup: BenchGroup = {
  name: "encode",
  title: "Encoding one outbound frame (`name ~ text`)",
  register(quick) {
    const sizes = sweep(quick, ["short", "1k"], ["1k"]);
    const texts = sweep(quick, ["ascii", "utf8"], ["utf8"]);
    // Collecting before every sample keeps one run's garbage out of the next; quick mode skips it to halve the time.
    const gc = quick ? "once" : "inner";
    const prefix = encodePrefix(NAME);
    const reused = new Uint8Array(2048);

    group("encode: one outbound frame", () => {
      summary(() => {
        bench("FanOut.frame: prefix + bytes into reused buffer ($size $text)", async function* (state: BenchState) {
          // The relay's own encoder over a real socket (frame() never touches it, but this is the object the relay builds).
          socket ??= await Bun.udpSocket({ hostname: "127.0.0.1" });
          const fan = new FanOut(socket, new Registry(), new RelayStats(), 2048, 0);
          const payload = payloads[state.get("size") as string]![state.get("text") as string]!;
          yield {
            [0]: () => payload,
            bench: (p: Uint8Array) => do_not_optimize(fan.frame(prefix, p)),
          };
        })
          .args({ size: sizes, text: texts })
          .baseline();

        bench("encodeInto(template) into reused buffer ($size $text)", function* (state: BenchState) {
          const payload = payloads[state.get("size") as string]![state.get("text") as string]!;
          yield {
            [0]: () => payload,
            bench: (p: Uint8Array) => do_not_optimize(utf8.encodeInto(`${NAME}${SEPARATOR}${utf8Text.decode(p)}`, reused)),
          };
        })
          .args({ size: sizes, text: texts })
          .gc(gc);

        bench("TextEncoder.encode(template) ($size $text)", function* (state: BenchState) {
          const payload = payloads[state.get("size") as string]![state.get("text") as string]!;
          yield {
            [0]: () => payload,
            bench: (p: Uint8Array) => do_not_optimize(utf8.encode(`${NAME}${SEPARATOR}${utf8Text.decode(p)}`)),
          };
        })
          .args({ size: sizes, text: texts })
          .gc(gc);

        bench("Buffer.concat(Buffer.from(name), payload) ($size $text)", function* (state: BenchState) {
          const payload = payloads[state.get("size") as string]![state.get("text") as string]!;
          yield {
            [0]: () => payload,
            bench: (p: Uint8Array) => do_not_optimize(Buffer.concat([Buffer.from(`${NAME}${SEPARATOR}`), p])),
          };
        })
          .args({ size: sizes, text: texts })
          .gc(gc);
      });
    });
  },
  close() {
    socket?.close();
    socket = undefined;
  },
};
