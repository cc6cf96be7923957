// Ctrl-C handling for long work: the first SIGINT/SIGTERM aborts cleanly (in-flight calls are
// dropped, everything finished is already committed, the run resumes later); a second one exits now.
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      process.stderr.write(`\n${sig}: stopping after the calls in flight are dropped; run again to resume\n`);
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
