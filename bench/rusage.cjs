// Preloaded (node --require) into a benchmarked child process: writes its resource usage (peak RSS,
// CPU) to $BENCH_RUSAGE_FILE when it exits, so any program can be measured the same way.
const { writeFileSync } = require("node:fs");
const file = process.env.BENCH_RUSAGE_FILE;
if (file) {
  process.on("exit", () => {
    writeFileSync(file, JSON.stringify(process.resourceUsage()));
  });
}
