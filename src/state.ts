// The registry's state file format: who is who, as JSON lines, written and read without touching a disk.

import { isIP } from "node:net";
import { cleanName, nameKey, nameProblem } from "./protocol/names.ts";
import { encodeJoin } from "./protocol/wire.ts";

/** The format's name in every header, and its version; a file of another version is refused, never guessed at. */
export const STATE_FORMAT = "udp-relay-state";
export const STATE_VERSION = 1;

/**
 * Longest line a valid file can hold: a 64-character name is at most 256 UTF-8 bytes (names hold no characters
 * JSON escapes), an address at most 45, the keys and numbers under 100. The file's size is refused above
 * (entries + 1) × this before a byte of it is parsed.
 */
export const MAX_LINE_BYTES = 512;

/** A registered client when the file was written. Times are wall-clock (epoch ms): they outlive the process. */
export interface SavedClient {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** When its last datagram arrived. */
  readonly seenMs: number;
}

/** A timed-out client whose name was remembered for its return. */
export interface SavedAway {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** When the idle sweep removed it: the remember window counts from here. */
  readonly timedOutMs: number;
}

/** Everything a state file holds. */
export interface RelayState {
  /** When it was written: a saved client's remember window counts from here. */
  readonly writtenMs: number;
  readonly clients: readonly SavedClient[];
  readonly away: readonly SavedAway[];
}

/** What a file must agree with to be loaded: the relay reading it. */
export interface StateLimits {
  readonly maxNameChars: number;
  readonly maxDatagramBytes: number;
  readonly maxClients: number;
  readonly rememberedNames: number;
}

/** The header line: the first line of every file. */
interface Header {
  readonly format: typeof STATE_FORMAT;
  readonly version: number;
  readonly maxName: number;
  readonly written: string;
  readonly writtenMs: number;
  readonly clients: number;
  readonly away: number;
}

/** Largest file a relay with these limits accepts, in bytes. */
export function maxStateBytes(limits: StateLimits): number {
  return (limits.maxClients + limits.rememberedNames + 1) * MAX_LINE_BYTES;
}

/** Lines per piece `encodeStatePieces` yields: well under a millisecond of work each on an idle core, so a writer can let datagrams in between. */
export const LINES_PER_PIECE = 1024;

/** The file's text: a header line, then one line per client and one per remembered binding. */
export function encodeState(state: RelayState, maxNameChars: number): string {
  return [...encodeStatePieces(state, maxNameChars)].join("");
}

/**
 * `encodeState` in pieces of LINES_PER_PIECE lines. Cold path, but over up to 131 072 entries every few seconds
 * (100-200 ms in one go on the test machine): one template string a line, no intermediate objects.
 */
export function* encodeStatePieces(state: RelayState, maxNameChars: number): Generator<string> {
  const header: Header = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    maxName: maxNameChars,
    written: new Date(state.writtenMs).toISOString(),
    writtenMs: state.writtenMs,
    clients: state.clients.length,
    away: state.away.length,
  };
  let piece = `${JSON.stringify(header)}\n`;
  let lines = 1;
  // Only the name can need escaping; addresses are IP literals and the rest numbers.
  for (const c of state.clients) {
    piece += `{"name":${JSON.stringify(c.name)},"address":"${c.address}","port":${c.port},"seenMs":${Math.round(c.seenMs)}}\n`;
    if (++lines % LINES_PER_PIECE === 0) {
      yield piece;
      piece = "";
    }
  }
  for (const a of state.away) {
    piece += `{"name":${JSON.stringify(a.name)},"address":"${a.address}","port":${a.port},"timedOutMs":${Math.round(a.timedOutMs)}}\n`;
    if (++lines % LINES_PER_PIECE === 0) {
      yield piece;
      piece = "";
    }
  }
  yield piece;
}

/** The file read back, or what is wrong with it (one phrase, for one line on stderr). */
export type DecodedState = { readonly ok: true; readonly state: RelayState } | { readonly ok: false; readonly problem: string };

const bad = (problem: string): DecodedState => ({ ok: false, problem });

/**
 * Parses and checks a whole file. Nothing in it is trusted: the header must match this relay (format, version,
 * --max-name), the counts must match the lines (a file cut at a line boundary is caught here), every name must
 * pass the rules a live join passes, every address be an IP literal and port a port, no address:port appear
 * twice and no two clients share a name. Any fault refuses the whole file.
 */
export function decodeState(text: string, limits: StateLimits): DecodedState {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const first = lines[0];
  if (first === undefined) return bad("empty");
  const header = parseLine(first);
  if (header === undefined || header.format !== STATE_FORMAT) return bad("not a relay state file (no header line)");
  if (header.version !== STATE_VERSION) return bad(`version ${String(header.version)}, this relay reads version ${STATE_VERSION}`);
  if (header.maxName !== limits.maxNameChars) return bad(`written with --max-name ${String(header.maxName)}, this relay runs with --max-name ${limits.maxNameChars}`);
  const writtenMs = header.writtenMs;
  const nClients = header.clients;
  const nAway = header.away;
  if (!isTime(writtenMs) || !isCount(nClients) || !isCount(nAway)) return bad("header fields missing or malformed");
  if (nClients > limits.maxClients) return bad(`${nClients} clients, more than --max-clients ${limits.maxClients}`);
  if (nAway > limits.rememberedNames) return bad(`${nAway} remembered names, more than the ${limits.rememberedNames} remembered at most`);
  if (lines.length - 1 !== nClients + nAway) return bad(`truncated or padded: the header announces ${nClients + nAway} entries, ${lines.length - 1} follow`);

  const clients: SavedClient[] = [];
  const away: SavedAway[] = [];
  const addresses = new Set<string>();
  const names = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const entry = parseLine(lines[i]!);
    const isClient = i <= nClients;
    const timeField = isClient ? "seenMs" : "timedOutMs";
    if (entry === undefined) return bad(`line ${i + 1} is not JSON`);
    const keys = Object.keys(entry);
    if (keys.length !== 4) return bad(`line ${i + 1}: expected name, address, port and ${timeField}`);
    const { name, address, port } = entry;
    const time = entry[timeField];
    if (typeof name !== "string" || typeof address !== "string" || typeof port !== "number" || !isTime(time)) {
      return bad(`line ${i + 1}: expected name, address, port and ${timeField}`);
    }
    const why = nameFault(name, limits);
    if (why !== undefined) return bad(`line ${i + 1}: ${why}`);
    if (address.length > 45 || isIP(address) === 0) return bad(`line ${i + 1}: address is not an IP address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`line ${i + 1}: port is not 1-65535`);
    const at = `${address}|${port}`;
    if (addresses.has(at)) return bad(`line ${i + 1}: ${address} port ${port} appears twice`);
    addresses.add(at);
    if (isClient) {
      // Two registered clients never share a name; a remembered one may share a live client's (taken while away).
      const key = nameKey(name);
      if (names.has(key)) return bad(`line ${i + 1}: two clients with the same name`);
      names.add(key);
      clients.push({ name, address, port, seenMs: time });
    } else away.push({ name, address, port, timedOutMs: time });
  }
  return { ok: true, state: { writtenMs, clients, away } };
}

// The rules a live join's name passes (chat.ts screenText), less uniqueness, which decodeState checks.
function nameFault(name: string, limits: StateLimits): string | undefined {
  if (cleanName(name) !== name) return "a name with surrounding white space";
  if (nameProblem(name, limits.maxNameChars) !== undefined) return "a name a client could not join with";
  if (encodeJoin(name).length > limits.maxDatagramBytes) return "a name too long for --max-datagram";
  return undefined;
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (line.length > MAX_LINE_BYTES) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// Epoch ms from 2000 to 2200: anything else is not a time this format writes.
function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 946_684_800_000 && value <= 7_258_118_400_000;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
