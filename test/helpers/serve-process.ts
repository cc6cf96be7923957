// `steerbench serve` as a user starts it: the built CLI in its own process, on a free loopback port.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../paths.js";

/**
 * A sampled completion that runs for about 2,000 tokens (seconds) on the fixture with an 8192-token context
 * (seed 6 at temperature 2 reaches its end-of-generation token only after 2,104 tokens), for tests that need a
 * request in flight. If the engine's sampling ever changes, the tests that use it say so: pick another seed.
 */
export const LONG = { prompt: "Once", max_tokens: 6000, temperature: 2, seed: 6, stream: true };

export interface ServeProcess {
  child: ChildProcess;
  /** The API base, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startServeProcess(args: string[]): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, "bin", "steerbench.js"), "serve", "--port", "0", ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /steerbench serve: (http:\/\/\S+\/v1)/.exec(out);
      if (m) resolve(m[1]!);
    });
    exited.then(({ code }) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stderr: () => err,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
