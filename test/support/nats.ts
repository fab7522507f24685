// Test helpers: a real nats-server with JetStream on an ephemeral loopback port, which can be killed and restarted.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The nats-server binary, or undefined where it is not installed (the mesh tests then skip, saying so). */
export const natsServerPath: string | undefined =
  Bun.which("nats-server") ?? ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p));

/** A nats-server process whose port and JetStream store survive a restart; disposing kills it and removes the store. */
export interface NatsServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** SIGKILL, waiting for the exit. */
  kill(): Promise<void>;
  /** Starts again on the same port and store. */
  restart(): Promise<void>;
}

/** Starts nats-server with JetStream; port -1 lets it pick a free one, which it writes to a ports file. */
export async function startNats(timeoutMs = 5000): Promise<NatsServer> {
  if (natsServerPath === undefined) throw new Error("nats-server is not installed");
  const dir = mkdtempSync(join(tmpdir(), "relay-nats-"));
  let proc: Bun.Subprocess | undefined;

  async function launch(port: number): Promise<number> {
    const portsDir = mkdtempSync(join(dir, "ports-"));
    proc = Bun.spawn([natsServerPath!, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "store"), "--ports_file_dir", portsDir], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const file = readdirSync(portsDir).find((f) => f.endsWith(".ports"));
      if (file !== undefined) {
        const text = readFileSync(join(portsDir, file), "utf8");
        const m = /:(\d+)"/.exec(text);
        if (m !== null) return Number(m[1]);
      }
      if (proc.exitCode !== null || performance.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`nats-server did not start (exit ${proc.exitCode})`);
      }
      await Bun.sleep(10);
    }
  }

  const port = await launch(-1);
  const kill = async () => {
    if (proc === undefined) return;
    proc.kill("SIGKILL");
    await proc.exited;
    proc = undefined;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill();
      await launch(port);
    },
    async [Symbol.asyncDispose]() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
