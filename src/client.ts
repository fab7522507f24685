// Entry point of the terminal client: parse options, run a session on this terminal (or pipe), exit with its code.

import { useColour } from "./client/lines.ts";
import { clientUsage, parseClientOptions } from "./client/options.ts";
import { Screen } from "./client/screen.ts";
import { runSession } from "./client/session.ts";
import { parseOrExit } from "./usage.ts";

const parsed = parseOrExit(clientUsage, () => parseClientOptions(Bun.argv.slice(2)));

const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const screen = new Screen(process.stdin, process.stdout, tty, useColour(Boolean(process.stdout.isTTY), process.env));
const code = await runSession(parsed.options, screen);
await screen.close();
process.exit(code);
