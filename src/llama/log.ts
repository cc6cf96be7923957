// llama.cpp's log sink. By default llama.cpp prints every load detail to stderr; we keep the lines in a small
// ring instead, so a failed load can say *why* (llama.cpp only returns NULL), and echo them to stderr only when
// STEERBENCH_LLAMA_LOG asks for it (debug | info | warn | error).
//
// The log callback is process-global in llama.cpp. It is a koffi-registered JS function, so it must be called
// on the main JS thread: all our llama.cpp calls are synchronous on that thread, which is where llama.cpp logs
// from. A line logged from another thread would be queued to the main thread and block its sender until the
// current synchronous call returns — a deadlock if that call waits for the sender. ggml's CPU worker threads
// do not log in the code paths we use.

// enum ggml_log_level
const LEVELS = ["none", "debug", "info", "warn", "error", "cont"] as const;
export type LlamaLogLevel = "debug" | "info" | "warn" | "error";

export interface LlamaLogLine {
  level: LlamaLogLevel;
  text: string;
}

const RING_SIZE = 200;
const ring: LlamaLogLine[] = [];
let lastLevel: LlamaLogLevel = "info";

function rank(level: LlamaLogLevel): number {
  return LEVELS.indexOf(level);
}

function echoLevel(): LlamaLogLevel | undefined {
  const v = process.env.STEERBENCH_LLAMA_LOG;
  return v === "debug" || v === "info" || v === "warn" || v === "error" ? v : undefined;
}

/** The JS side of llama.cpp's log callback (ffi.ts registers it before anything can log). */
export function onLlamaLog(levelNum: number, text: string | null): void {
  const name = LEVELS[levelNum] ?? "info";
  // GGML_LOG_LEVEL_CONT continues the previous line at its level.
  const level: LlamaLogLevel = name === "cont" || name === "none" ? lastLevel : name;
  lastLevel = level;
  const line = text ?? "";
  const last = ring[ring.length - 1];
  if (name === "cont" && last) last.text += line;
  else {
    ring.push({ level, text: line });
    if (ring.length > RING_SIZE) ring.shift();
  }
  const echo = echoLevel();
  if (echo !== undefined && rank(level) >= rank(echo)) process.stderr.write(line);
}

/** Warnings and errors llama.cpp logged since the last `clearLog`, joined for an error message. */
export function recentProblems(max = 5): string {
  return ring
    .filter((l) => rank(l.level) >= rank("warn"))
    .slice(-max)
    .map((l) => l.text.trim())
    .filter((t) => t.length > 0)
    .join("; ");
}

export function clearLog(): void {
  ring.length = 0;
}

/** A copy of the retained lines (for diagnostics and tests). */
export function logLines(): LlamaLogLine[] {
  return ring.map((l) => ({ ...l }));
}
