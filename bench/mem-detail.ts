// Where a process's RSS is, for the memory section: V8's heap spaces (committed and used) and the
// resident pages by kind of mapping, read from /proc/self/smaps (Linux; absent elsewhere).
import { copyFileSync, readFileSync } from "node:fs";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

export interface MemDetail {
  /** Per V8 heap space: MB committed (space_size) and MB in use. */
  spaces: Record<string, { committedMB: number; usedMB: number }>;
  /** Resident MB by mapping: malloc's brk heap, anonymous mmaps (V8 pages, malloc arenas, SQLite), files. */
  rss?: { brkHeapMB: number; anonMB: number; fileMB: number; largestAnonMB: number[] };
}

const MB = 2 ** 20;

function rssByMapping(): MemDetail["rss"] {
  let text: string;
  try {
    text = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return undefined;
  }
  let brk = 0;
  let file = 0;
  const anon: number[] = [];
  let kind: "brk" | "anon" | "file" = "anon";
  for (const line of text.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      kind = name === "[heap]" ? "brk" : name === "" || name.startsWith("[") ? "anon" : "file";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const bytes = Number(rss[1]) * 1024;
    if (kind === "brk") brk += bytes;
    else if (kind === "file") file += bytes;
    else anon.push(bytes);
  }
  anon.sort((a, b) => b - a);
  return {
    brkHeapMB: brk / MB,
    anonMB: anon.reduce((a, b) => a + b, 0) / MB,
    fileMB: file / MB,
    largestAnonMB: anon.slice(0, 5).map((b) => Math.round(b / MB)),
  };
}

export function memDetail(): MemDetail {
  const spaces: MemDetail["spaces"] = {};
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = { committedMB: s.space_size / MB, usedMB: s.space_used_size / MB };
  }
  return { spaces, rss: rssByMapping() };
}

/** With BENCH_HEAP_SNAPSHOT=DIR, a heap snapshot per sample (DIR/heap-<done>.heapsnapshot), for DevTools. */
export function maybeHeapSnapshot(done: number): void {
  const dir = process.env.BENCH_HEAP_SNAPSHOT;
  if (dir) writeHeapSnapshot(`${dir}/heap-${done}.heapsnapshot`);
  const smapsDir = process.env.BENCH_SMAPS_DIR;
  if (smapsDir) copyFileSync("/proc/self/smaps", `${smapsDir}/smaps-${done}.txt`);
}
