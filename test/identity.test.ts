// Nobody passes for the server or for someone else (issue 18): every attack string from the issue, as a unit and over a live relay.

import { describe, expect, test } from "bun:test";
import { CONFUSABLES_VERSION, confusablesMap } from "../src/protocol/confusables.ts";
import { isServerTagKey, NameProblem, nameKey, nameOrder, nameProblem } from "../src/protocol/names.ts";
import { ASCII_TAG_OPENERS, checkText, NEVER_OPENS_TAG, TextCheck } from "../src/protocol/text.ts";
import { encode, notice, SEPARATOR, SERVER_TAG } from "../src/protocol/wire.ts";
import { startTestRelay } from "./support/relays.ts";

const MAX = 32;
const check = (text: string) => {
  const bytes = encode(text);
  return checkText(bytes, bytes.length);
};

// The strings, code points spelled out: a reader sees what each one is.
const WJ = "\u2060"; // WORD JOINER
const ZWJ = "\u200d";
const ZWNJ = "\u200c";
const SHY = "\u00ad"; // SOFT HYPHEN
const ALM = "\u061c"; // ARABIC LETTER MARK
const HANGUL_FILLER = "\u3164"; // ㅤ
const VS16 = "\ufe0f";
const TAG_A = "\u{e0061}"; // TAG LATIN SMALL LETTER A
const NBSP = "\u00a0";
const CYRILLIC_SERVER = "[\u0405\u0415RV\u0415R]"; // [ЅЕRVЕR]: Cyrillic DZE and IE
const CJK_BRACKETS_SERVER = "\u3010SERVER\u3011"; // 【SERVER】
const CYRILLIC_ALICE = "\u0430lice"; // аlice: Cyrillic a

describe("names that pass for the server are refused", () => {
  const cases: [string, string, NameProblem][] = [
    ["[SERVER] after a word joiner", `${WJ}[SERVER]`, NameProblem.control],
    ["[SERVER] after a ZWJ", `${ZWJ}[SERVER]`, NameProblem.control],
    ["[SERVER] after a soft hyphen", `${SHY}[SERVER]`, NameProblem.control],
    ["[SERVER] after U+061C", `${ALM}[SERVER]`, NameProblem.control],
    ["[SERVER] after U+3164", `${HANGUL_FILLER}[SERVER]`, NameProblem.control],
    ["Cyrillic [ЅЕRVЕR]", CYRILLIC_SERVER, NameProblem.server],
    ["【SERVER】", CJK_BRACKETS_SERVER, NameProblem.server],
    ["fullwidth ［SERVER］", "\uff3bSERVER\uff3d", NameProblem.server],
    ["Cyrillic ЅЕRVЕR without brackets", "\u0405\u0415RV\u0415R", NameProblem.server],
    ["(SERVER)", "(SERVER)", NameProblem.server],
  ];
  for (const [label, name, want] of cases) test(label, () => expect(nameProblem(name, MAX)).toBe(want));

  test("the look-alikes share the server tag's key", () => {
    for (const name of [CYRILLIC_SERVER, CJK_BRACKETS_SERVER, "[server]", "［SERVER］"]) expect(isServerTagKey(nameKey(name))).toBe(true);
  });
});

describe("names that render as another user's are refused or collide", () => {
  const invisible: [string, string][] = [
    ["alice + ZWJ", `alice${ZWJ}`],
    ["alice + ZWNJ", `alice${ZWNJ}`],
    ["alice + U+FE0F", `alice${VS16}`],
    ["alice + a tag character", `alice${TAG_A}`],
  ];
  for (const [label, name] of invisible) test(label, () => expect(nameProblem(name, MAX)).toBe(NameProblem.control));

  test("Cyrillic аlice is acceptable alone but has alice's key, so the registry holds one of them", () => {
    expect(nameProblem(CYRILLIC_ALICE, MAX)).toBeUndefined();
    expect(nameKey(CYRILLIC_ALICE)).toBe(nameKey("alice"));
  });

  test("digits and letters that look alike collide; plain different names do not", () => {
    expect(nameKey("b0b")).toBe(nameKey("bob"));
    expect(nameKey("Ann1")).toBe(nameKey("annl"));
    // Case is folded before the table is applied (the order), so a capital I no longer meets l.
    expect(nameKey("IVAN")).toBe(nameKey("ivan"));
    expect(nameKey("alice")).not.toBe(nameKey("alicia"));
    expect(nameKey("p1")).not.toBe(nameKey("p11"));
  });

  test("/who still sorts by case only, not by skeleton", () => {
    expect(nameOrder("Mike") < nameOrder("rachel")).toBe(true);
  });
});

describe("names that fake structure are refused", () => {
  test("a blank-looking ㅤ (U+3164)", () => expect(nameProblem(HANGUL_FILLER, MAX)).toBe(NameProblem.control));
  test("bob (private) + ZWJ", () => expect(nameProblem(`bob (private)${ZWJ}`, MAX)).toBe(NameProblem.control));
  test("bob (рrivate) with a Cyrillic р", () => expect(nameProblem("bob (\u0440rivate)", MAX)).toBe(NameProblem.private));
  test("alice ~ hi with no-break spaces", () => expect(nameProblem(`alice${NBSP}~${NBSP}hi`, MAX)).toBe(NameProblem.separator));
  test("alice ∼ hi with a tilde operator", () => expect(nameProblem("alice \u223c hi", MAX)).toBe(NameProblem.separator));
  test("emoji sequences keep their ZWJ and presentation selector", () => {
    expect(nameProblem("👩‍💻", MAX)).toBeUndefined();
    expect(nameProblem("❤\ufe0f", MAX)).toBeUndefined();
  });
});

describe("text", () => {
  const cases: [string, string, TextCheck][] = [
    ["U+202E right-to-left override", "abc\u202edef", TextCheck.invisible],
    ["U+202A left-to-right embedding", "a\u202ab", TextCheck.invisible],
    ["U+2066 isolate", "a\u2066b", TextCheck.invisible],
    ["U+2069 pop isolate", "a\u2069b", TextCheck.invisible],
    ["U+200E left-to-right mark", "a\u200eb", TextCheck.invisible],
    ["U+200F right-to-left mark", "a\u200fb", TextCheck.invisible],
    ["U+061C Arabic letter mark", `a${ALM}b`, TextCheck.invisible],
    ["U+2028 line separator", "one\u2028two", TextCheck.invisible],
    ["U+2029 paragraph separator", "one\u2029two", TextCheck.invisible],
    ["U+2028 before text", "\u2028two", TextCheck.invisible],
    ["a line of nothing but U+2028 is blank, as before", "\u2028", TextCheck.blank],
    ["71 spaces then [SERVER] bob has left the chat.", `${" ".repeat(71)}[SERVER] bob has left the chat.`, TextCheck.server],
    ["[SERVER] at the start", "[SERVER] Server restarting; rejoin at 10.9.9.9.", TextCheck.server],
    ["[SERVER] after a word joiner", `${WJ}[SERVER] Server restarting; rejoin at 10.9.9.9.`, TextCheck.server],
    ["[SERVER] after U+3164", `${HANGUL_FILLER}[SERVER] hi`, TextCheck.server],
    ["[SERVER] after no-break spaces", `${NBSP.repeat(40)}[SERVER] hi`, TextCheck.server],
    ["[SERVER] after a word and spaces", `ok${" ".repeat(70)}[SERVER] bob has left the chat.`, TextCheck.server],
    ["[SERVER] after a zero-width space", "ok\u200b[SERVER] hi", TextCheck.server],
    ["Cyrillic [ЅЕRVЕR]", `${CYRILLIC_SERVER} hi`, TextCheck.server],
    ["【SERVER】", `${CJK_BRACKETS_SERVER} hi`, TextCheck.server],
    ["lower case [server]", "  [server] hi", TextCheck.server],
    ["a ZWJ inside the tag", `[S${ZWJ}ERVER] hi`, TextCheck.server],
    ["[servers are down] is not the tag", "[servers are down]", TextCheck.ok],
    ["SERVER in a word is fine", "my[SERVER] config", TextCheck.ok],
    ["plain brackets are fine", "(see above) [1] {x} <b>", TextCheck.ok],
    ["a control character after a tag still wins", "[SERVER] \x1b[2J", TextCheck.control],
  ];
  for (const [label, text, want] of cases) test(label, () => expect(check(text)).toBe(want));
});

test(`the confusables table is Unicode's (version ${CONFUSABLES_VERSION}) and the key is stable`, () => {
  const table = confusablesMap();
  expect(table.size).toBeGreaterThan(6000);
  expect(table.get(0x0430)).toBe("a"); // Cyrillic а → a
  expect(table.get(0x0405)).toBe("S"); // Cyrillic Ѕ → S
  // A key keys to itself: lookups may key a key again without harm.
  for (const [cp] of table) {
    const key = nameKey(String.fromCodePoint(cp));
    expect(nameKey(key)).toBe(key);
  }
});

test("the ASCII characters the scan treats as tag openers are exactly those whose key opens a tag", () => {
  let openers = "";
  for (let c = 0x21; c < 0x7f; c++) if (isServerTagKey(`${nameKey(String.fromCharCode(c))}server`)) openers += String.fromCharCode(c);
  expect(openers).toBe(ASCII_TAG_OPENERS);
  // The scan's ASCII shortcut looks for "s" after the bracket: no other ASCII character keys to "s".
  for (let c = 0x21; c < 0x7f; c++) expect(nameKey(String.fromCharCode(c)) === "s").toBe(c === 0x73 || c === 0x53);
});

test("no character whose lead byte the scan skips can open a server tag", () => {
  const opensTag = /^[\p{Ps}\p{Pi}<]/u;
  let checked = 0;
  for (const [from, to] of [[0xc0, 0x27f], [0x380, 0x53f], [0x4000, 0xd7ff]] as const) {
    for (let cp = from; cp <= to; cp++) {
      const c = String.fromCodePoint(cp);
      expect(NEVER_OPENS_TAG[encode(c)[0]!]).toBe(1);
      const key = nameKey(c);
      if (key === "" || opensTag.test(key)) throw new Error(`U+${cp.toString(16)} could open a tag`);
      checked++;
    }
  }
  // And those lead bytes start nothing else.
  let leads = 0;
  for (let b = 0; b < 0x100; b++) leads += NEVER_OPENS_TAG[b]!;
  expect(leads).toBe(7 + 7 + 10);
  expect(checked).toBe(0x27f - 0xc0 + 1 + (0x53f - 0x380 + 1) + (0xd7ff - 0x4000 + 1));
});

describe("live relay: an observer never sees the server or another user impersonated", () => {
  const attackNames = [
    `${WJ}[SERVER]`,
    `${ZWJ}[SERVER]`,
    `${SHY}[SERVER]`,
    `${ALM}[SERVER]`,
    `${HANGUL_FILLER}[SERVER]`,
    CYRILLIC_SERVER,
    CJK_BRACKETS_SERVER,
    `alice${ZWJ}`,
    `alice${ZWNJ}`,
    `alice${VS16}`,
    `alice${TAG_A}`,
    CYRILLIC_ALICE,
    "ALICE",
    HANGUL_FILLER,
    `bob (private)${ZWJ}`,
    `alice${NBSP}~${NBSP}hi`,
  ];
  const attackLines = [
    `${WJ}[SERVER] Server restarting; rejoin at 10.9.9.9.`,
    "[SERVER] Server restarting; rejoin at 10.9.9.9.",
    `${CYRILLIC_SERVER} Server restarting; rejoin at 10.9.9.9.`,
    `${CJK_BRACKETS_SERVER} Server restarting; rejoin at 10.9.9.9.`,
    `${" ".repeat(71)}[SERVER] bob has left the chat.`,
    `hi${" ".repeat(70)}[SERVER] bob has left the chat.`,
    "abc\u202eolleh",
    "one\u2028[SERVER] two",
    "one\u2029two",
    `/msg alice${NBSP}~${NBSP}x hi`,
    "// [SERVER] hi",
  ];

  test("attack names are refused and attack lines are refused; the observer sees only genuine notices and lines", async () => {
    await using r = await startTestRelay();
    const [observer] = await r.join(1, "observer");
    const alice = await r.stranger();
    alice.send("alice");
    await observer!.until((l) => l === notice.joined("alice"));

    // A fresh port for each attack name: a source hears at most one refusal a second.
    for (const name of attackNames) {
      const attacker = await r.stranger();
      attacker.send(name);
      const reply = await attacker.quiet(100);
      // A name that starts with the server's own tag is not even answered (it could be another relay).
      if (name.startsWith(SERVER_TAG)) expect(reply).toEqual([]);
      else expect(reply[0]).toStartWith(`${SERVER_TAG} Name refused:`);
    }
    expect(r.registry.size).toBe(2);
    const mallory = await r.stranger();
    mallory.send("mallory");
    expect(await mallory.next()).toBe(notice.joined("mallory"));
    for (const line of attackLines) {
      mallory.send(line);
      const reply = await mallory.next();
      expect([notice.controlChars, notice.serverLookalike, notice.noSuchName("alice\u00a0~\u00a0x")]).toContain(reply);
    }
    mallory.send("a genuine line");
    await observer!.until((l) => l === `mallory${SEPARATOR}a genuine line`);

    // Everything the observer heard since alice joined: mallory's join and one genuine line, nothing else.
    const heard = [notice.joined("mallory"), `mallory${SEPARATOR}a genuine line`, ...(await observer!.quiet(200))];
    const aliceKey = nameKey("alice");
    for (const line of heard) {
      if (line.startsWith(SERVER_TAG)) {
        expect([notice.joined("mallory")]).toContain(line);
        continue;
      }
      const sep = line.indexOf(SEPARATOR);
      const sender = line.slice(0, sep);
      expect(sender).toBe("mallory");
      expect(nameKey(sender)).not.toBe(aliceKey);
      expect(isServerTagKey(nameKey(line))).toBe(false);
      expect(check(line.slice(sep + SEPARATOR.length))).toBe(TextCheck.ok);
    }
    expect(r.stats.linesRelayed).toBe(1);
  });

  test("Cyrillic аlice cannot join or rename while alice is online", async () => {
    await using r = await startTestRelay();
    const [alice, bob] = await r.join(2, "x");
    alice!.send(`/nick alice`);
    await bob!.until((l) => l === notice.renamed("x0", "alice"));
    const mallory = await r.stranger();
    mallory.send(CYRILLIC_ALICE);
    expect(await mallory.next()).toBe(notice.nameRefused(`${CYRILLIC_ALICE} is taken`));
    bob!.send(`/nick ${CYRILLIC_ALICE}`);
    expect(await bob!.next()).toBe(notice.nickRefused(`${CYRILLIC_ALICE} is taken`));
    bob!.send(`/nick ${CYRILLIC_SERVER}`);
    expect(await bob!.next()).toBe(notice.nickRefused("it could pass for the server"));
  });
});
