// Membership hooks: how a relay tells the rest of a deployment (other workers, other mesh nodes) who joined, left or was renamed.

import type { Client } from "./registry.ts";

/**
 * Told of every membership change the chat makes on its own clients, and asked about names held elsewhere.
 * Cold path only: joins, leaves, renames, timeouts and name checks, never a chat line. A stand-alone relay
 * has none, and then the chat behaves exactly as it always did.
 *
 * Name uniqueness across a deployment is optimistic: the chat admits a name that is free as far as it knows
 * (its registry, plus `heldElsewhere`), and the membership confirms it with the single owner of the name index
 * (the main thread for workers, the KV bucket for a mesh). A name that lost a race is taken back with
 * `Chat.evict` or `Chat.revertRename`.
 */
export interface Membership {
  /** A client was admitted here (a new join or a return after a timeout). */
  joined(client: Client): void;
  /** A client left with /quit (`timedOut` false) or was removed by the idle sweep (`timedOut` true). */
  left(client: Client, timedOut: boolean): void;
  /** A client took a new name; `oldName` is the one it had. */
  renamed(client: Client, oldName: string): void;
  /** Someone not in this relay's registry holds `name` (ignoring case), as far as is known here. */
  heldElsewhere(name: string): boolean;
  /** Names held elsewhere, for `/who`. */
  namesElsewhere(): readonly string[];
  /** Whether this relay's idle sweep may time clients out now (with workers exactly one does, and that can pass to another). */
  sweeps: boolean;
}
