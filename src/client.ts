// Entry point of the terminal client: parse options, run a session on this terminal (or pipe), exit with its code.

import { ConfigError } from "./config.ts";
import { useColour } from "./client/lines.ts";
import { clientUsage, parseClientOptions } from "./client/options.ts";
import { Screen } from "./client/screen.ts";
import { runSession } from "./client/session.ts";

let parsed;
try {
  parsed = parseClientOptions(Bun.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`error: ${err.message}\n\n${clientUsage}`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(clientUsage);
  process.exit(0);
}

const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const screen = new Screen(process.stdin, process.stdout, tty, useColour(Boolean(process.stdout.isTTY), process.env));
const code = await runSession(parsed.options, screen);
await screen.close();
process.exit(code);
