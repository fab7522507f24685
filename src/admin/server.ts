// The admin endpoint: Bun.serve in the relay's process, answering from counters the relay already keeps.

import { timingSafeEqual } from "node:crypto";
import type { AdminAddress, RelayConfig } from "../config.ts";
import { formatEndpoint } from "../protocol/endpoint.ts";
import { pageClients, readClientQuery } from "./clients.ts";
import { History } from "./history.ts";
import { DROP_REASONS, METRICS_CONTENT_TYPE, type ProcessInfo, renderMetrics } from "./metrics.ts";
import page from "./page/index.html";
import type { AdminSource, ClientList } from "./source.ts";
import { statsBody } from "./stats-body.ts";

/** How often the history (rates, charts) takes a sample. */
export const SAMPLE_EVERY_MS = 1000;

/** The admin endpoint could not listen. The message names host:port and the reason. */
export class AdminBindError extends Error {
  override readonly name = "AdminBindError";
}

/** A running admin endpoint. */
export interface Admin {
  /** `http://host:port/` with the port bound. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** What the operator sees once it listens. */
export function adminLine(url: string): string {
  return `[SERVER] Admin on ${url}`;
}

const bindReasons: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this host",
  EACCES: "permission denied",
};

/**
 * Serves /metrics, /stats, /clients, /series (the page's data), /healthz and the live page at `/`. Everything but
 * /healthz and the page itself (static files, no data) wants `Authorization: Bearer <token>` when a token is set.
 * Throws AdminBindError when the address cannot be bound.
 */
export async function startAdmin(address: AdminAddress, config: RelayConfig, source: AdminSource, startTimeSeconds = performance.timeOrigin / 1000): Promise<Admin> {
  const info: ProcessInfo = { version: await packageVersion(), startTimeSeconds };
  const history = new History();
  const expected = config.adminToken === undefined ? undefined : Buffer.from(`Bearer ${config.adminToken}`);
  let sampling = false;
  // Cold: one sample a second feeds the rates and the charts; a slow one (workers) is never stacked.
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    source
      .sample()
      .then((s) => history.add(s))
      .catch(() => {})
      .finally(() => (sampling = false));
  }, SAMPLE_EVERY_MS);
  sampler.unref();
  void source.sample().then((s) => history.add(s));

  const authorized = (req: Request): boolean => {
    if (expected === undefined) return true;
    const got = Buffer.from(req.headers.get("authorization") ?? "");
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  const guarded =
    (handler: (req: Request) => Response | Promise<Response>) =>
    (req: Request): Response | Promise<Response> =>
      authorized(req) ? handler(req) : new Response("401 unauthorized: send Authorization: Bearer <token>\n", { status: 401, headers: { "www-authenticate": 'Bearer realm="relay admin"' } });

  let server: Bun.Server<undefined>;
  try {
    server = Bun.serve({
      hostname: address.host,
      port: address.port,
      development: false,
      routes: {
        "/": page,
        "/healthz": async () => {
          const health = source.health();
          const bus = health.bus === undefined ? "" : ` bus=${health.bus ? "up" : "down"}`;
          return new Response(`${health.open ? "ok" : "closed"}${bus}\n`, { status: health.open ? 200 : 503 });
        },
        "/metrics": guarded(async () => new Response(renderMetrics(await source.sample(), info), { headers: { "content-type": METRICS_CONTENT_TYPE } })),
        "/stats": guarded(async () => Response.json(statsBody(await source.sample(), history, config, info))),
        "/series": guarded((req) => {
          const since = Number(new URL(req.url).searchParams.get("since") ?? 0);
          return Response.json({ points: history.since(Number.isFinite(since) ? since : 0), reasons: DROP_REASONS });
        }),
        "/clients": guarded(async (req) => {
          const query = readClientQuery(new URL(req.url).searchParams);
          if (typeof query === "string") return new Response(`400 ${query}\n`, { status: 400 });
          let list: ClientList;
          try {
            list = await source.clients();
          } catch (err) {
            return new Response(`503 ${(err as Error).message}\n`, { status: 503, headers: { "retry-after": "1" } });
          }
          return Response.json(pageClients(list, query));
        }),
      },
      fetch: () => new Response("404 not found: try /, /metrics, /stats, /clients or /healthz\n", { status: 404 }),
      error: (err) => new Response(`500 ${err.message}\n`, { status: 500 }),
    });
  } catch (err) {
    clearInterval(sampler);
    const code = (err as { code?: string }).code ?? "";
    throw new AdminBindError(`cannot serve admin on ${formatEndpoint(address.host, address.port)}: ${bindReasons[code] ?? ((err as Error).message || "bind failed")}`);
  }
  const port = server.port ?? address.port;
  return {
    url: `http://${formatEndpoint(address.host, port)}/`,
    port,
    async stop() {
      clearInterval(sampler);
      source.close();
      await server.stop(true);
    },
  };
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = (await Bun.file(new URL("../../package.json", import.meta.url)).json()) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
