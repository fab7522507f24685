// Test helper: a fresh temporary directory that is removed, with whatever the test left in it, on dispose.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A directory under the OS temp dir, named `${prefix}…`; `using dir = tempDir("x-")` removes it at the end of the scope. */
export function tempDir(prefix: string): { readonly path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    [Symbol.dispose]() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
