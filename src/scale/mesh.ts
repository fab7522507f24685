// The mesh: a relay joined to others over the bus: its lines published, theirs fanned out here, names unique across all.

import { randomUUID } from "node:crypto";
import type { AdmissionFactory } from "../admission.ts";
import type { Chat } from "../chat.ts";
import type { RelayConfig } from "../config.ts";
import type { Membership } from "../membership.ts";
import type { LinePrinter } from "../printer.ts";
import { nameKey } from "../protocol/names.ts";
import type { Client, Registry } from "../registry.ts";
import { type Relay, startRelay } from "../relay.ts";
import type { RestoredBinding } from "../state-file.ts";
import { Bus, BusError } from "./bus.ts";
import { Presence } from "./presence.ts";

/** A relay on the bus. */
export interface MeshRelay {
  readonly relay: Relay;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly nodeId: string;
  /** Tells local clients goodbye, gives this node's names up, and leaves the bus. */
  shutdown(graceMs?: number): Promise<void>;
  /** The relay's summary line plus the bus counters. */
  summary(): string;
}

/**
 * Ties the chat's membership changes to presence. Names are admitted optimistically (free here and not seen
 * elsewhere) and claimed in the bucket; a claim that loses takes the join back (evict) or the rename (revert).
 */
class MeshMembership implements Membership {
  sweeps = true;
  private chat: Chat | undefined;
  private registry: Registry | undefined;
  /** Renames whose new name is not granted yet: new name key → old name, released once it is. */
  private readonly renaming = new Map<string, string>();

  constructor(private readonly presence: () => Presence) {}

  attach(chat: Chat, registry: Registry): void {
    this.chat = chat;
    this.registry = registry;
  }

  joined(client: Client): void {
    void this.presence().claim(client.name);
  }
  left(client: Client): void {
    this.renaming.delete(nameKey(client.name));
    void this.presence().release(client.name);
  }
  renamed(client: Client, oldName: string): void {
    if (nameKey(client.name) !== nameKey(oldName)) this.renaming.set(nameKey(client.name), oldName);
    void this.presence().claim(client.name);
  }
  heldElsewhere(name: string): boolean {
    return this.presence().heldElsewhere(name);
  }
  namesElsewhere(): readonly string[] {
    return this.presence().namesElsewhere();
  }

  /** Presence: `name` is ours; a rename to it can let the old name go. */
  granted(name: string): void {
    const oldName = this.renaming.get(nameKey(name));
    if (oldName === undefined) return;
    this.renaming.delete(nameKey(name));
    void this.presence().release(oldName);
  }

  /** Presence: `name` belongs to another node; whoever has it here gives it up. */
  taken(name: string): void {
    const client = this.registry?.findByName(name);
    if (client === undefined || this.chat === undefined) return;
    const oldName = this.renaming.get(nameKey(name));
    this.renaming.delete(nameKey(name));
    if (oldName !== undefined) this.chat.revertRename(client, oldName);
    else this.chat.evict(client);
  }
}

/**
 * Connects to the bus, opens presence, and starts the relay; `admission` is the relay's (RelayOptions), needed
 * when addresses are verified, and so is `observe` (the admin endpoint's publisher). Throws BusError or BindError.
 */
export async function startMesh(
  config: RelayConfig,
  printer: LinePrinter | undefined,
  log: (line: string) => void,
  admission?: AdmissionFactory,
  restore?: readonly RestoredBinding[],
  observe?: () => void,
): Promise<MeshRelay> {
  const url = config.bus;
  if (url === undefined) throw new BusError("no bus configured");
  const nodeId = randomUUID().slice(0, 8);
  let relay: Relay | undefined;
  const bus = await Bus.open(url, nodeId, config.maxDatagramBytes, (frame) => relay?.deliverRemote(frame), log);
  let presence: Presence;
  const membership = new MeshMembership(() => presence);
  try {
    presence = await Presence.open(bus.connection, nodeId, config.presenceTtlMs, membership);
  } catch (err) {
    await bus.close();
    throw new BusError(`the bus at ${url} cannot keep presence (run nats-server with -js for JetStream): ${(err as Error).message}`);
  }
  try {
    // Restored names are not claimed now: the bucket decides when each holder returns (Chat.readmit, then claim).
    relay = await startRelay(config, printer, { membership, lines: bus, log, admission, observe, ...(restore === undefined ? {} : { restore }) });
  } catch (err) {
    await presence.releaseAll();
    await bus.close();
    throw err;
  }
  membership.attach(relay.chat, relay.registry);
  bus.onReconnect = () => void presence.resync();
  const running = relay;
  return {
    relay: running,
    bus,
    presence,
    nodeId,
    async shutdown(graceMs = 2000) {
      await running.shutdown(graceMs);
      await presence.releaseAll();
      await bus.close();
    },
    summary: () => running.stats.summary(running.registry.size) + bus.summary(),
  };
}
