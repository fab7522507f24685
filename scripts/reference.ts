// The C reference relay and load driver from shared/reference, compiled with gcc into a fresh temporary folder.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** shared/reference beside the checkout, where the project keeps the C measuring stick. */
export const defaultReferenceDir = resolve(import.meta.dir, "../../shared/reference");

/** Paths of the built `c_relay` and `c_load` binaries. */
export interface Reference {
  readonly cRelay: string;
  readonly cLoad: string;
}

/** Builds both programs from `dir` (default: shared/reference beside the checkout). Throws with gcc's complaint. */
export function buildReference(dir: string = defaultReferenceDir): Reference {
  const work = mkdtempSync(join(tmpdir(), "reference-"));
  const build = (name: string, ...libs: string[]): string => {
    const out = join(work, name);
    const r = Bun.spawnSync(["gcc", "-O2", "-o", out, join(dir, `${name}.c`), ...libs], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`gcc failed for ${join(dir, `${name}.c`)}: ${r.stderr.toString().trim()}`);
    return out;
  };
  return { cRelay: build("c_relay"), cLoad: build("c_load", "-lm") };
}
