// The registry's name index and rename: names unique ignoring case, prefixes re-encoded, packet array untouched.

import { expect, test } from "bun:test";
import { Registry } from "../src/registry.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

test("names are found ignoring case, and forgotten on remove", () => {
  const r = new Registry();
  const a = r.add("Alice", "127.0.0.1", 1, 0);
  r.add("bob", "127.0.0.1", 2, 0);
  expect(r.findByName("ALICE")).toBe(a);
  expect(r.findByName("carol")).toBeUndefined();
  r.remove(a);
  expect(r.findByName("alice")).toBeUndefined();
  expect(r.findByName("BOB")?.port).toBe(2);
});

test("rename re-encodes the prefix and moves the index entry; the packet array keeps its triples", () => {
  const r = new Registry();
  r.add("a", "127.0.0.1", 1, 0);
  const b = r.add("b", "127.0.0.1", 2, 0);
  const before = [...r.packets];
  r.rename(b, "Bee 🐝");
  expect(text(b.prefix)).toBe("Bee 🐝 ~ ");
  expect(b.name).toBe("Bee 🐝");
  expect(r.findByName("bee 🐝")).toBe(b);
  expect(r.findByName("b")).toBeUndefined();
  expect(r.packets).toEqual(before);
  expect(r.lookup("127.0.0.1", 2)).toBe(b);
});

test("swap-remove keeps slots, packets and the name index consistent", () => {
  const r = new Registry();
  const cs = Array.from({ length: 5 }, (_, i) => r.add(`c${i}`, "127.0.0.1", 100 + i, 0));
  r.remove(cs[1]!);
  r.remove(cs[4]!);
  expect(r.size).toBe(3);
  for (const [slot, c] of r.all().entries()) {
    expect(c.slot).toBe(slot);
    expect(r.packets[slot * 3 + 1]).toBe(c.port);
    expect(r.findByName(c.name)).toBe(c);
  }
});
