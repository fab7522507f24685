// Property tests (fast-check) for issue 18: generated look-alikes of the server and of an online user never get through.

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { confusablesMap } from "../src/protocol/confusables.ts";
import { cleanName, isServerTagKey, nameKey, nameProblem } from "../src/protocol/names.ts";
import { checkText, TextCheck } from "../src/protocol/text.ts";
import { encode } from "../src/protocol/wire.ts";
import { Registry } from "../src/registry.ts";

// Bounded: the file runs in a few seconds; fast-check prints the seed on failure for replay.
const RUNS = { numRuns: 300 };
const MAX = 32;

// Every single character whose key is the key of `c`: the character itself, its other case, its fullwidth
// form, and each source in Unicode's confusables table that maps to it.
const table = confusablesMap();
const byPrototype = new Map<string, string[]>();
for (const [cp, target] of table) {
  const key = nameKey(target);
  const list = byPrototype.get(key) ?? [];
  list.push(String.fromCodePoint(cp));
  byPrototype.set(key, list);
}
function lookAlikes(c: string): string[] {
  const out = new Set([c, c.toUpperCase(), c.toLowerCase()]);
  const code = c.charCodeAt(0);
  if (code > 0x20 && code < 0x7f) out.add(String.fromCharCode(code + 0xfee0)); // fullwidth
  for (const alt of byPrototype.get(nameKey(c)) ?? []) if (nameKey(alt) === nameKey(c)) out.add(alt);
  return [...out];
}

// Invisible characters an attacker sprinkles in: they render as nothing, so the name still reads the same.
const invisible = fc.constantFrom("\u200d", "\u200c", "\u2060", "\u00ad", "\ufe0f", "\u{e0061}", "\u3164", "\u200b", "\u034f", "\u180e", "\ufeff");
const brackets = fc.constantFrom("[", "\uff3b", "\u3010", "\u2772", "\u3014", "(", "\u2039", "\u27e8", "{", "<");

/** A string that reads as `word` on screen: each character replaced by a look-alike, invisibles sprinkled in. */
function disguised(word: string, withInvisibles: boolean): fc.Arbitrary<string> {
  const parts = [...word].map((c) => fc.tuple(fc.constantFrom(...lookAlikes(c)), withInvisibles ? fc.option(invisible, { freq: 3 }) : fc.constant(null)).map(([ch, inv]) => ch + (inv ?? "")));
  return fc.tuple(...parts).map((cs) => cs.join(""));
}
const serverLike = fc.tuple(fc.option(invisible, { freq: 2 }), brackets, disguised("SERVER", true), fc.constantFrom("]", "\uff3d", "\u3011", ")", "")).map(([lead, open, word, close]) => `${lead ?? ""}${open}${word}${close}`);
const aliceLike = fc.tuple(disguised("alice", true), fc.option(invisible, { freq: 2 })).map(([word, tail]) => word + (tail ?? ""));
const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 }));

describe("names", () => {
  test("no look-alike of [SERVER] is accepted", () => {
    fc.assert(
      fc.property(serverLike, (name) => {
        expect(nameProblem(cleanName(name), MAX)).toBeDefined();
      }),
      RUNS,
    );
  });

  test("no accepted name has the key of an online user: every look-alike of alice is refused or taken", () => {
    const registry = new Registry();
    registry.add("alice", "127.0.0.1", 1, 0);
    fc.assert(
      fc.property(aliceLike, (raw) => {
        const name = cleanName(raw);
        const accepted = nameProblem(name, MAX) === undefined && registry.findByName(name) === undefined;
        expect(accepted).toBe(false);
      }),
      RUNS,
    );
  });

  test("an accepted random name holds nothing invisible, and its key is neither the server's nor an online user's", () => {
    const registry = new Registry();
    registry.add("alice", "127.0.0.1", 1, 0);
    fc.assert(
      fc.property(fc.oneof(anyText, serverLike, aliceLike), (raw) => {
        const name = cleanName(raw);
        if (nameProblem(name, MAX) !== undefined || registry.findByName(name) !== undefined) return;
        const key = nameKey(name);
        expect(key).not.toBe(nameKey("alice"));
        expect(key).not.toBe("server");
        expect(isServerTagKey(key)).toBe(false);
        expect(/[\p{Cc}\u2028\u2029\u3164\u115f\u1160\uffa0\u{e0000}-\u{e007f}\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u00ad\u2060]/u.test(name)).toBe(false);
        expect(`${name.replace(/\p{Zs}/gu, " ")} `.includes(" ~ ")).toBe(false);
      }),
      RUNS,
    );
  });

  test("the key is stable: a key keys to itself", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, serverLike, aliceLike), (name) => {
        const key = nameKey(name);
        expect(nameKey(key)).toBe(key);
      }),
      RUNS,
    );
  });
});

describe("text", () => {
  const space = fc.constantFrom(" ", "\t", "\u00a0", "\u3000", "\u2003", "\u202f");
  test("white space then a look-alike of [SERVER] is refused, at the start or after any word", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: fc.constantFrom("a", "b", "é", "日", "🦊"), minLength: 1, maxLength: 8 })), fc.array(space, { minLength: 1, maxLength: 80 }), serverLike, fc.string({ maxLength: 30 }), (word, spaces, tag, rest) => {
        const text = `${word ?? ""}${spaces.join("")}${tag} ${rest}`;
        const bytes = encode(text);
        const result = checkText(bytes, bytes.length);
        // A control or bidi character in `rest` wins; otherwise the tag is what refuses the line.
        expect<TextCheck[]>([TextCheck.server, TextCheck.control, TextCheck.invisible]).toContain(result);
      }),
      RUNS,
    );
  });

  test("the byte scan agrees with a reference that decodes: bidi controls, separators, tags at word starts", () => {
    const reference = (text: string): TextCheck => {
      if (/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(text)) return TextCheck.control;
      if (text.trim() === "") return TextCheck.blank;
      if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]/.test(text)) return TextCheck.invisible;
      // Word starts: the start, and after white space or a zero-width space.
      for (const m of text.matchAll(/(?:^|(?<=[\s\u200b]))(?=\S)/gu)) {
        const key = nameKey(text.slice(m.index, m.index + 60));
        if (/^[\p{Ps}\p{Pi}<]server(?![\p{L}\p{N}])/u.test(key)) return TextCheck.server;
      }
      return TextCheck.ok;
    };
    const mixed = fc.tuple(anyText, fc.option(serverLike), anyText).map(([a, tag, b]) => `${a}${tag === null ? "" : ` ${tag}`}${b}`);
    fc.assert(
      fc.property(mixed, (text) => {
        const bytes = encode(text);
        expect(checkText(bytes, bytes.length)).toBe(reference(text));
      }),
      RUNS,
    );
  });
});

describe("the ASCII fast path of nameKey", () => {
  test("an ASCII name's key is what the general rule gives (checked through a non-ASCII prefix that keys to itself)", () => {
    const prefix = "\u65e5"; // 日: its own key, and it combines with nothing
    expect(nameKey(prefix)).toBe(prefix);
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (name) => {
        expect(nameKey(name)).toBe(nameKey(prefix + name).slice(prefix.length));
      }),
      { numRuns: 2000 },
    );
  });
});
