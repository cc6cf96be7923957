// Ctrl-C handling for long work: the first SIGINT/SIGTERM aborts cleanly (in-flight calls are
// dropped, everything finished is already committed, the run resumes later); a second one exits now.
import { setMaxListeners } from "node:events";
export async function withInterrupt<T>(
  work: (signal: AbortSignal) => Promise<T>,
  /** Where the "stopping" notice goes (a progress bar's log, so it does not land inside the bar). */
  say: (line: string) => void = (line) => process.stderr.write(`\n${line}\n`),
): Promise<T> {
  const controller = new AbortController();
  // Every in-flight request listens on this one signal: many more than Node's default of 10.
  setMaxListeners(0, controller.signal);
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(`${sig}: stopping after the calls in flight are dropped; run again to resume`);
      controller.abort(new Error(`interrupted by ${sig}`));
    } else {
      process.stderr.write(`${sig} again: exiting now\n`);
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
