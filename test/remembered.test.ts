// Remembered names: handed out once, bounded in count (oldest first), forgotten when expired.

import { expect, test } from "bun:test";
import { RememberedNames } from "../src/remembered.ts";

test("a remembered name is handed out once", () => {
  const r = new RememberedNames(10, 1000);
  r.remember("127.0.0.1", 5000, "alice", 0);
  expect(r.take("127.0.0.1", 5001, 10)).toBeUndefined();
  expect(r.take("127.0.0.1", 5000, 10)).toBe("alice");
  expect(r.take("127.0.0.1", 5000, 10)).toBeUndefined();
  expect(r.size).toBe(0);
});

test("an expired name is not handed out, and expire() forgets from the oldest", () => {
  const r = new RememberedNames(10, 1000);
  r.remember("::1", 1, "a", 0);
  r.remember("::1", 2, "b", 500);
  expect(r.take("::1", 1, 1000)).toBeUndefined();
  r.remember("::1", 3, "c", 600);
  r.expire(1500);
  expect(r.size).toBe(1);
  expect(r.take("::1", 3, 1500)).toBe("c");
});

test("at capacity the oldest binding goes", () => {
  const r = new RememberedNames(3, 1000);
  for (let i = 0; i < 5; i++) r.remember("10.0.0.1", i, `n${i}`, i);
  expect(r.size).toBe(3);
  expect(r.take("10.0.0.1", 0, 10)).toBeUndefined();
  expect(r.take("10.0.0.1", 1, 10)).toBeUndefined();
  expect(r.take("10.0.0.1", 4, 10)).toBe("n4");
});

test("remembering an address again moves it to the back", () => {
  const r = new RememberedNames(2, 1000);
  r.remember("h", 1, "a", 0);
  r.remember("h", 2, "b", 1);
  r.remember("h", 1, "a2", 2);
  r.remember("h", 3, "c", 3); // evicts port 2, the oldest now
  expect(r.take("h", 2, 4)).toBeUndefined();
  expect(r.take("h", 1, 4)).toBe("a2");
});

test("capacity 0 remembers nothing", () => {
  const r = new RememberedNames(0, 1000);
  r.remember("h", 1, "a", 0);
  expect(r.size).toBe(0);
});
