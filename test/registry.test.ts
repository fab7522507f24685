// Registry: lookups by (address, port) and a packet array kept consistent through joins and swap-removes.

import { describe, expect, test } from "bun:test";
import { type Client, Registry } from "../src/registry.ts";

/** The chunks must hold exactly one [payload, port, address] triple per client, at the client's slot, all full but the last. */
function consistent(r: Registry): void {
  const packets = r.chunks.flat();
  expect(packets.length).toBe(r.size * 3);
  r.chunks.forEach((chunk, k) => {
    expect(chunk.length).toBeGreaterThan(0);
    if (k < r.chunks.length - 1) expect(chunk.length).toBe(r.chunkClients * 3);
  });
  r.all().forEach((c, i) => {
    expect(c.slot).toBe(i);
    expect(packets[i * 3 + 1]).toBe(c.port);
    expect(packets[i * 3 + 2]).toBe(c.address);
    expect(r.lookup(c.address, c.port)).toBe(c);
  });
}

describe("Registry", () => {
  test("lookup tells addresses and ports apart", () => {
    const r = new Registry();
    const a = r.add("a", "127.0.0.1", 1000, 0);
    const b = r.add("b", "127.0.0.1", 1001, 0);
    const c = r.add("c", "::1", 1000, 0);
    expect(r.lookup("127.0.0.1", 1000)).toBe(a);
    expect(r.lookup("127.0.0.1", 1001)).toBe(b);
    expect(r.lookup("::1", 1000)).toBe(c);
    expect(r.lookup("127.0.0.2", 1000)).toBeUndefined();
    expect(r.lookup("::1", 1001)).toBeUndefined();
    consistent(r);
  });

  test("the prefix is the name and separator in UTF-8", () => {
    const r = new Registry();
    expect(new TextDecoder().decode(r.add("Zoë", "127.0.0.1", 1, 0).prefix)).toBe("Zoë ~ ");
  });

  test("a new client's payload slot matches the others, so fan-out can skip rewriting them", () => {
    const r = new Registry();
    r.add("a", "127.0.0.1", 1, 0);
    const frame = new Uint8Array(3);
    r.chunks[0]![0] = frame;
    r.add("b", "127.0.0.1", 2, 0);
    expect(r.chunks[0]![3]).toBe(frame);
  });

  test("removing first, middle and last keeps every slot consistent", () => {
    const r = new Registry();
    const cs: Client[] = [];
    for (let i = 0; i < 10; i++) cs.push(r.add(`c${i}`, "127.0.0.1", 2000 + i, 0));
    for (const i of [0, 5, 9, 3]) {
      expect(r.remove(cs[i]!)).toBe(true);
      expect(r.lookup("127.0.0.1", 2000 + i)).toBeUndefined();
      consistent(r);
    }
    expect(r.size).toBe(6);
    expect(r.remove(cs[0]!)).toBe(false);
    for (const c of [...r.all()]) r.remove(c);
    expect(r.size).toBe(0);
    expect(r.chunks.length).toBe(0);
  });

  test("many clients span chunks; removals anywhere keep every chunk full but the last", () => {
    const r = new Registry(8);
    const n = 8 * 3 + 5;
    const cs: Client[] = [];
    for (let i = 0; i < n; i++) cs.push(r.add(`c${i}`, "127.0.0.1", 10_000 + i, 0));
    consistent(r);
    expect(r.chunks.length).toBe(4);
    for (const i of [0, 8, 8 * 2 + 7, n - 1, 3, 4, 5, 6, 7]) {
      r.remove(cs[i]!);
      consistent(r);
    }
    expect(r.chunks.length).toBe(3);
    r.moveToEnd(r.all()[1]!);
    consistent(r);
  });

  test("moveToEnd swaps a client into the last slot", () => {
    const r = new Registry();
    const cs = [0, 1, 2, 3].map((i) => r.add(`c${i}`, "::1", 3000 + i, 0));
    r.moveToEnd(cs[1]!);
    expect(r.all().at(-1)).toBe(cs[1]!);
    consistent(r);
    r.moveToEnd(cs[1]!);
    consistent(r);
  });
});

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
  const before = r.chunks.flat();
  r.rename(b, "Bee 🐝");
  expect(text(b.prefix)).toBe("Bee 🐝 ~ ");
  expect(b.name).toBe("Bee 🐝");
  expect(r.findByName("bee 🐝")).toBe(b);
  expect(r.findByName("b")).toBeUndefined();
  expect(r.chunks.flat()).toEqual(before);
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
    expect(r.chunks.flat()[slot * 3 + 1]).toBe(c.port);
    expect(r.findByName(c.name)).toBe(c);
  }
});
