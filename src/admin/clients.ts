// GET /clients: registered clients sorted and paged. Cold: a sort of references, then one page of rows built.

import type { ClientList, ClientView } from "./source.ts";

export const ClientSort = { idle: "idle", lines: "lines", name: "name" } as const;
export type ClientSort = (typeof ClientSort)[keyof typeof ClientSort];

/** Most rows one page may ask for. */
export const MAX_CLIENTS_PAGE = 1000;
export const DEFAULT_CLIENTS_PAGE = 100;

/** What a /clients request asks for, checked. */
export interface ClientQuery {
  readonly sort: ClientSort;
  readonly limit: number;
  readonly offset: number;
}

/** One row of the answer; times in ms since the epoch. */
export interface ClientRow {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly joinedAt: string;
  readonly lastSeen: string;
  readonly idleSeconds: number;
  readonly lines: number;
  readonly rateLimited: number;
}

export interface ClientPage {
  readonly total: number;
  readonly sort: ClientSort;
  readonly offset: number;
  readonly limit: number;
  readonly clients: readonly ClientRow[];
}

/** The query string read into a ClientQuery, or a one-line complaint for a 400. */
export function readClientQuery(params: URLSearchParams): ClientQuery | string {
  const sort = params.get("sort") ?? ClientSort.idle;
  if (!(sort in ClientSort)) return `sort: "${sort}" is not one of idle, lines, name`;
  const limit = whole(params.get("limit"), DEFAULT_CLIENTS_PAGE);
  const offset = whole(params.get("offset"), 0);
  if (limit === undefined) return "limit: not a whole number";
  if (offset === undefined) return "offset: not a whole number";
  return { sort: sort as ClientSort, limit: Math.min(limit, MAX_CLIENTS_PAGE), offset };
}

function whole(text: string | null, fallback: number): number | undefined {
  if (text === null || text === "") return fallback;
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

const bySort: Record<ClientSort, (a: ClientView, b: ClientView) => number> = {
  // Longest silent first.
  idle: (a, b) => a.lastSeenMs - b.lastSeenMs || byName(a, b),
  // Most lines first.
  lines: (a, b) => b.lines - a.lines || byName(a, b),
  name: (a, b) => byName(a, b),
};

function byName(a: ClientView, b: ClientView): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port;
}

/** One page of `list`, sorted as asked. Sorts a copy of the references: O(n log n) compares, rows only for the page. */
export function pageClients(list: ClientList, query: ClientQuery, nowMs = Date.now()): ClientPage {
  const sorted = list.clients.slice().sort(bySort[query.sort]);
  const page = sorted.slice(query.offset, query.offset + query.limit);
  const origin = list.originMs;
  return {
    total: sorted.length,
    sort: query.sort,
    offset: query.offset,
    limit: query.limit,
    clients: page.map((c) => ({
      name: c.name,
      address: c.address,
      port: c.port,
      joinedAt: new Date(origin + c.joinedAtMs).toISOString(),
      lastSeen: new Date(origin + c.lastSeenMs).toISOString(),
      idleSeconds: Math.max(0, Math.round(nowMs - (origin + c.lastSeenMs)) / 1000),
      lines: c.lines,
      rateLimited: c.rateLimited,
    })),
  };
}
