// The chat: what a registered client's datagram means (a line or a command), admitting names, leaving, and the idle sweep.

import { isUtf8 } from "node:buffer";
import { Announcer } from "./announcer.ts";
import { perSourceLimits, type RelayConfig } from "./config.ts";
import type { FanOut } from "./fanout.ts";
import type { WindowCounter } from "./limits.ts";
import { type Lines, REFUSED } from "./lines.ts";
import type { Membership } from "./membership.ts";
import type { Periodic } from "./periodic.ts";
import { type Command, CommandKind, parseCommand, splitRecipient } from "./protocol/commands.ts";
import { cleanName, NameProblem, nameOrder, nameProblem, refusalText } from "./protocol/names.ts";
import { lineEnd } from "./protocol/text.ts";
import { COMMAND_BYTE, commandSyntax, encode, encodeJoin, nameRefusal, notice } from "./protocol/wire.ts";
import type { Client, Registry } from "./registry.ts";
import { type Binding, RememberedNames } from "./remembered.ts";
import type { RelayStats } from "./stats.ts";
import { StrangerReplies } from "./strangers.ts";

/** What the chat is built on: the relay's parts. */
export interface ChatDeps {
  readonly config: RelayConfig;
  readonly registry: Registry;
  readonly fanOut: FanOut;
  readonly stats: RelayStats;
  /** Checks text and sends lines to everyone (and to the console and bus). */
  readonly lines: Lines;
  /** Other workers or mesh nodes, told of joins, leaves and renames; absent for a stand-alone relay. */
  readonly membership?: Membership | undefined;
  /** Joins a second, per source IP and in total (--join-rate, --join-rate-total). */
  readonly joins: WindowCounter;
  /** The relay's periodic work: the notice summaries are scheduled on it. */
  readonly periodic: Periodic;
}

/** Between names in a /who list. */
const WHO_SEPARATOR = ", ";
/** Names a /who lists at most (in a few datagrams); beyond, it says how many more. Listing 65 536 cost 11 ms. */
export const WHO_MAX_NAMES = 256;
/** Renames a client may make at once, and then one per RENAME_EVERY_MS: each is a notice to everyone. */
export const RENAME_BURST = 3;
export const RENAME_EVERY_MS = 10_000;
/** An unknown command word is quoted back at most this long. */
const MAX_QUOTED_CHARS = 32;

/** Runs everything about the chat but checking and relaying a plain line, which `Lines` does. */
export class Chat {
  private readonly remembered: RememberedNames;
  private readonly lines: Lines;
  private readonly decoder = new TextDecoder();
  private readonly pong = encode(notice.pong);
  private readonly full = encode(notice.full);
  private readonly sourceFull = encode(notice.sourceFull);
  private readonly helpLines = notice.help.map(encode);
  /** Join, leave, rename and timeout notices: by name while few, summarised when many. */
  private readonly announcer: Announcer;
  /** Refusals, challenges and "full" to unregistered addresses: never to a server, one a second each. */
  private readonly strangers: StrangerReplies;
  private readonly perSource: boolean;
  /** Joins, leaves, renames and timeouts so far: with the remembered names' changes, what a state file tracks. */
  private membershipChanges = 0;

  constructor(private readonly deps: ChatDeps) {
    this.remembered = new RememberedNames(deps.config.rememberedNames, deps.config.rememberMs);
    this.lines = deps.lines;
    this.announcer = new Announcer(deps.lines, deps.fanOut, deps.config.maxDatagramBytes, deps.config.noticesPerSecond, deps.periodic);
    this.strangers = new StrangerReplies(deps.fanOut, deps.stats);
    this.perSource = perSourceLimits(deps.config);
  }

  /** Sends a notice summary still owed (shutdown), and schedules none. */
  flushNotices(): void {
    this.announcer.flush();
  }

  /** Schedules no more notice summaries. */
  close(): void {
    this.announcer.close();
  }

  /** A reply to an unregistered address (a challenge, a refusal): at most one a second to each. False: not sent. */
  replyToStranger(frame: Uint8Array, port: number, address: string, nowMs: number): boolean {
    return this.strangers.send(frame, port, address, nowMs);
  }

  /** Bumped by every change to who is who (registry or remembered names): a state file is rewritten only when it moved. */
  get changes(): number {
    return this.membershipChanges + this.remembered.changes;
  }

  /** Remembered bindings, oldest first (for a state file). Do not hold on to them. */
  rememberedBindings(): IterableIterator<Binding> {
    return this.remembered.all();
  }

  /** How long a timed-out client's name is remembered. */
  get rememberMs(): number {
    return this.remembered.ttlMs;
  }

  /**
   * Bindings from a state file, each with the time it has left: their next datagram re-admits them under the
   * name, as after a timeout. At start, before any datagram.
   */
  restore(bindings: readonly { readonly address: string; readonly port: number; readonly name: string; readonly leftMs: number }[], nowMs: number): void {
    this.remembered.restore(bindings, nowMs);
  }

  /** Timed-out clients whose names are remembered. */
  get rememberedCount(): number {
    return this.remembered.size;
  }

  /**
   * A datagram from an unregistered address. A client that timed out is re-admitted under its old name and
   * its datagram handled as usual; from anyone else, it is a name to try.
   */
  admit(payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void {
    const returning = this.remembered.take(address, port, nowMs);
    if (returning !== undefined) {
      this.readmit(returning, payload, port, address, truncated, nowMs);
      return;
    }
    const name = this.screenName(payload, port, address, truncated, nowMs);
    if (name !== undefined) this.join(name, port, address, nowMs);
  }

  /**
   * Whether a new address may join under the name in `payload`: the name, or undefined after telling the
   * sender why not (full, or a name rule; nothing for an empty datagram).
   */
  screenName(payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): string | undefined {
    const { config } = this.deps;
    if (this.noRoom(port, address, nowMs)) return undefined;
    if (truncated) return this.refuseName(nameRefusal.tooLong(config.maxNameChars), port, address, nowMs);
    if (!isUtf8(payload)) return this.refuseName(nameRefusal.invalidUtf8, port, address, nowMs);
    return this.screenText(this.decoder.decode(payload), port, address, nowMs);
  }

  /** `screenName` for a name already decoded. */
  screenText(raw: string, port: number, address: string, nowMs: number): string | undefined {
    const { stats, config } = this.deps;
    if (this.noRoom(port, address, nowMs)) return undefined;
    const name = cleanName(raw);
    const problem = nameProblem(name, config.maxNameChars);
    if (problem === NameProblem.empty) {
      stats.drops.empty++;
      return undefined;
    }
    const why = problem !== undefined ? refusalText(problem, config.maxNameChars) : this.isTaken(name) ? nameRefusal.taken(name) : undefined;
    if (why !== undefined) return this.refuseName(why, port, address, nowMs);
    if (encodeJoin(name).length > config.maxDatagramBytes) return this.refuseName(nameRefusal.tooLong(config.maxNameChars), port, address, nowMs);
    return name;
  }

  /** The name a timed-out client at this address would return under, without forgetting it. */
  rememberedName(address: string, port: number, nowMs: number): string | undefined {
    return this.remembered.peek(address, port, nowMs);
  }

  /** Joins an address that proved it receives there (address validation) under `name`, checked again here. */
  joinVerified(name: string, port: number, address: string, nowMs: number): void {
    const returning = this.remembered.take(address, port, nowMs);
    const checked = this.screenText(name, port, address, nowMs);
    if (checked === undefined) return;
    if (this.join(checked, port, address, nowMs) === undefined && returning !== undefined) this.remembered.remember(address, port, returning, nowMs);
  }

  /** A datagram from a registered client: a chat line, or a command. */
  // hot path: one byte tells a command from a chat line, before anything else is looked at
  receive(client: Client, payload: Uint8Array, truncated: boolean, nowMs: number): void {
    if (payload[0] === COMMAND_BYTE) this.command(client, payload, truncated, nowMs);
    else this.lines.relay(client, payload, truncated, nowMs);
  }

  // A datagram starting with "/": its text passes the same checks as a line's (it is not prefixed, though).
  private command(client: Client, payload: Uint8Array, truncated: boolean, nowMs: number): void {
    const lines = this.lines;
    const end = lines.check(client, payload, truncated, 0);
    if (end === REFUSED) return;
    const command = parseCommand(this.decoder.decode(payload.subarray(0, end)));
    if (command.kind === CommandKind.literal) {
      lines.relay(client, payload.subarray(1), false, nowMs);
      return;
    }
    this.deps.stats.commands++;
    this.execute(client, command, nowMs);
  }

  /** Removes every client silent for longer than the idle timeout; forgets expired remembered names. */
  sweep(nowMs: number): void {
    const { registry, fanOut, stats, config, membership } = this.deps;
    this.remembered.expire(nowMs);
    if (config.idleTimeoutMs === 0 || membership?.sweeps === false) return;
    const cutoff = nowMs - config.idleTimeoutMs;
    const clients = registry.all();
    const gone: Client[] = [];
    // Downwards: swap-remove moves the last client into slot i, and that one has been looked at already.
    for (let i = clients.length - 1; i >= 0; i--) {
      const client = clients[i]!;
      if (client.lastSeenMs > cutoff) continue;
      registry.remove(client);
      gone.push(client);
    }
    if (gone.length > 0) this.membershipChanges++;
    // Everyone is removed before anyone is told; the announcer names a few and summarises the rest.
    const seconds = config.idleTimeoutMs / 1000;
    for (const client of gone) {
      stats.timeouts++;
      this.remembered.remember(client.address, client.port, client.name, nowMs);
      membership?.left(client, true);
      fanOut.sendTo(encode(notice.timedOutYou(client.name, seconds)), client.port, client.address);
      this.announcer.timedOut(client.name, nowMs);
    }
  }

  private execute(client: Client, command: Command, nowMs: number): void {
    const { registry, fanOut, stats } = this.deps;
    switch (command.kind) {
      case CommandKind.quit:
        registry.remove(client);
        stats.leaves++;
        this.membershipChanges++;
        this.deps.membership?.left(client, false);
        this.announcer.left(client.name, nowMs);
        return;
      case CommandKind.nick:
        return this.rename(client, cleanName(command.name), nowMs);
      case CommandKind.who:
        return this.who(client);
      case CommandKind.msg:
        return this.privateMessage(client, command.args);
      case CommandKind.me:
        return this.action(client, command.action, nowMs);
      case CommandKind.ping:
        fanOut.sendTo(this.pong, client.port, client.address);
        return;
      case CommandKind.help:
        for (const line of this.helpLines) fanOut.sendTo(line, client.port, client.address);
        return;
      case CommandKind.usage:
        return this.tell(client, notice.usage(commandSyntax[command.command]));
      case CommandKind.unknown:
        return this.tell(client, notice.unknownCommand([...command.word].slice(0, MAX_QUOTED_CHARS).join("")));
      case CommandKind.literal:
        return; // handled before execute: it is a chat line, not a command
    }
  }

  private rename(client: Client, name: string, nowMs: number): void {
    const { registry, config } = this.deps;
    const problem = nameProblem(name, config.maxNameChars);
    if (problem !== undefined) return this.tell(client, notice.nickRefused(refusalText(problem, config.maxNameChars)));
    if (name === client.name) return this.tell(client, notice.alreadyNamed(name));
    const holder = registry.findByName(name);
    if ((holder !== undefined && holder !== client) || (holder === undefined && this.deps.membership?.heldElsewhere(name))) {
      return this.tell(client, notice.nickRefused(nameRefusal.taken(name)));
    }
    // GCRA: each rename pushes renameAtMs one interval on; a burst may run it ahead of now, no further.
    const at = Math.max(client.renameAtMs, nowMs);
    if (at - nowMs > (RENAME_BURST - 1) * RENAME_EVERY_MS) {
      this.deps.stats.drops.rename_limited++;
      const waitS = Math.ceil((at - nowMs - (RENAME_BURST - 1) * RENAME_EVERY_MS) / 1000);
      return this.tell(client, notice.nickRefused(nameRefusal.tooOften(waitS)));
    }
    client.renameAtMs = at + RENAME_EVERY_MS;
    const oldName = client.name;
    registry.rename(client, name);
    this.membershipChanges++;
    this.deps.membership?.renamed(client, oldName);
    this.announcer.renamed(oldName, name, nowMs);
  }

  private who(client: Client): void {
    const { registry, config } = this.deps;
    const everyone = registry.all();
    const elsewhere = this.deps.membership?.namesElsewhere() ?? [];
    const count = everyone.length + elsewhere.length;
    // Past WHO_MAX_NAMES the list is cut before sorting: the work is bounded, not the count it reports.
    const shown: string[] = [];
    for (let i = 0; i < everyone.length && shown.length < WHO_MAX_NAMES; i++) shown.push(everyone[i]!.name);
    for (let i = 0; i < elsewhere.length && shown.length < WHO_MAX_NAMES; i++) shown.push(elsewhere[i]!);
    const sorted = shown.map((name) => ({ name, key: nameOrder(name), bytes: Buffer.byteLength(name) }));
    sorted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const separatorBytes = WHO_SEPARATOR.length;
    // As many names as fit in each datagram; a continuation's header is longer than the first one's.
    let names: string[] = [];
    let continued = false;
    let used = Buffer.byteLength(notice.who(count, ""));
    for (const entry of sorted) {
      if (names.length > 0 && used + separatorBytes + entry.bytes > config.maxDatagramBytes) {
        this.sendWho(client, count, names, continued);
        names = [];
        continued = true;
        used = Buffer.byteLength(notice.whoContinued(count, ""));
      }
      used += (names.length > 0 ? separatorBytes : 0) + entry.bytes;
      names.push(entry.name);
    }
    this.sendWho(client, count, names, continued);
    if (count > shown.length) this.tell(client, notice.whoMore(count - shown.length));
  }

  private sendWho(client: Client, count: number, names: readonly string[], continued: boolean): void {
    const list = names.join(WHO_SEPARATOR);
    this.tell(client, continued ? notice.whoContinued(count, list) : notice.who(count, list));
  }

  private privateMessage(client: Client, args: string): void {
    const { registry, fanOut, config } = this.deps;
    const recipient = splitRecipient(args, (name) => registry.findByName(name) !== undefined, config.maxNameChars);
    if (!recipient.found) return this.tell(client, notice.noSuchName([...recipient.name].slice(0, MAX_QUOTED_CHARS).join("")));
    if (recipient.text === "") return this.tell(client, notice.usage(commandSyntax.msg));
    const target = registry.findByName(recipient.name)!;
    const frame = encode(notice.privateLine(client.name, recipient.text));
    if (frame.length > config.maxDatagramBytes) {
      const overhead = frame.length - encode(recipient.text).length;
      return this.tooLong(client, config.maxDatagramBytes - overhead);
    }
    fanOut.sendTo(frame, target.port, target.address);
    if (config.echo && target !== client) fanOut.sendTo(frame, client.port, client.address);
  }

  private action(client: Client, action: string, nowMs: number): void {
    const { config } = this.deps;
    const frame = encode(notice.action(client.name, action));
    if (frame.length > config.maxDatagramBytes) {
      const overhead = frame.length - encode(action).length;
      return this.tooLong(client, config.maxDatagramBytes - overhead);
    }
    this.lines.broadcast(client, frame, nowMs);
  }

  private readmit(name: string, payload: Uint8Array, port: number, address: string, truncated: boolean, nowMs: number): void {
    const { stats } = this.deps;
    // Leaving while away: just forget the name, nobody needs a join and a leave.
    if (payload[0] === COMMAND_BYTE && isUtf8(payload) && parseCommand(this.decoder.decode(payload.subarray(0, lineEnd(payload)))).kind === CommandKind.quit) return;
    if (this.noRoom(port, address, nowMs)) {
      this.remembered.remember(address, port, name, nowMs);
      return;
    }
    if (this.isTaken(name)) {
      stats.drops.name_refused++;
      this.strangers.send(encode(notice.nameTakenWhileAway(name)), port, address, nowMs);
      return;
    }
    const client = this.join(name, port, address, nowMs);
    if (client === undefined) this.remembered.remember(address, port, name, nowMs);
    else this.receive(client, payload, truncated, nowMs);
  }

  // Undefined when --join-rate or --join-rate-total is spent this second: dropped unanswered, the client retries.
  private join(name: string, port: number, address: string, nowMs: number): Client | undefined {
    const { registry, stats, joins } = this.deps;
    if (!joins.allow(address, nowMs)) {
      stats.drops.join_limited++;
      return undefined;
    }
    const client = registry.add(name, address, port, nowMs);
    stats.joins++;
    this.membershipChanges++;
    this.deps.membership?.joined(client);
    this.announcer.joined(client, nowMs);
    return client;
  }

  /**
   * Takes back a join that lost a name race decided elsewhere: the client is removed and told to send another
   * name, and everyone who heard it join hears it leave. Does nothing if it is no longer registered.
   */
  evict(client: Client): void {
    if (!this.deps.registry.remove(client)) return;
    this.membershipChanges++;
    this.deps.stats.drops.name_refused++;
    this.deps.stats.evictions++;
    this.tell(client, notice.nameRefused(nameRefusal.taken(client.name)));
    this.announcer.left(client.name, performance.now());
  }

  /**
   * Takes back a rename that lost a name race decided elsewhere: the client gets `oldName` back. That name
   * was never released outside, so anyone here who took it meanwhile holds it unconfirmed and is evicted.
   */
  revertRename(client: Client, oldName: string): void {
    const refused = client.name;
    const holder = this.deps.registry.findByName(oldName);
    if (holder !== undefined && holder !== client) this.evict(holder);
    this.deps.registry.rename(client, oldName);
    this.membershipChanges++;
    this.tell(client, notice.nickRefused(nameRefusal.taken(refused)));
    this.announcer.renamed(refused, oldName, performance.now());
  }

  /** A client timed out on another worker: it is re-admitted under `name` if it speaks here. */
  rememberTimedOut(address: string, port: number, name: string, nowMs: number): void {
    this.remembered.remember(address, port, name, nowMs);
  }

  /** A client came back elsewhere: its name is no longer this relay's to hand back. */
  forgetTimedOut(address: string, port: number): void {
    this.remembered.take(address, port, 0);
  }

  private isTaken(name: string): boolean {
    return this.deps.registry.findByName(name) !== undefined || this.deps.membership?.heldElsewhere(name) === true;
  }

  // The server is full, or this address's host or network has its share (--max-clients-per-ip/-net).
  private noRoom(port: number, address: string, nowMs: number): boolean {
    const { registry, config, stats } = this.deps;
    if (registry.size >= config.maxClients) {
      stats.drops.server_full++;
      this.strangers.send(this.full, port, address, nowMs);
      return true;
    }
    if (!this.perSource || (registry.fromAddress(address) < config.maxClientsPerIp && registry.fromNetwork(address) < config.maxClientsPerNet)) return false;
    stats.drops.source_full++;
    this.strangers.send(this.sourceFull, port, address, nowMs);
    return true;
  }

  private refuseName(why: string, port: number, address: string, nowMs: number): undefined {
    this.deps.stats.drops.name_refused++;
    this.strangers.send(encode(notice.nameRefused(why)), port, address, nowMs);
    return undefined;
  }

  private tooLong(client: Client, maxTextBytes: number): void {
    this.deps.stats.drops.too_long++;
    this.tell(client, notice.tooLong(Math.max(0, maxTextBytes)));
  }

  private tell(client: Client, text: string): void {
    this.deps.fanOut.sendTo(encode(text), client.port, client.address);
  }
}
