#!/usr/bin/env node
import { main } from "../dist/cli/main.js";

// `steerbench export | head`: the reader went away; that is the end of the output, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err && err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`steerbench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
