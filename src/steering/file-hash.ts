// sha256 of a file, streamed in chunks so a multi-GB model is never held in memory at once.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";

export function fileSha256(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}
