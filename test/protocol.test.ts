// The wire protocol's pure pieces: notices, prefixes and frames, byte for byte.

import { describe, expect, test } from "bun:test";
import { encodeJoin, encodePrefix, notice } from "../src/protocol/wire.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("protocol", () => {
  test("notices are the exact strings clients parse", () => {
    expect(notice.joined("alice")).toBe("[SERVER] alice has joined the chat.");
    expect(notice.shuttingDown).toBe("[SERVER] Server is shutting down.");
    expect(notice.running("127.0.0.1:65432")).toBe("[SERVER] Running on 127.0.0.1:65432");
    expect(notice.tooLong(2040)).toBe("[SERVER] Message too long (max 2040 bytes).");
    expect(text(encodeJoin("Zoë"))).toBe("[SERVER] Zoë has joined the chat.");
    expect(text(encodePrefix("Zoë"))).toBe("Zoë ~ ");
  });
});
