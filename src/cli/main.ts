// The CLI: a thin layer over the library. Each verb lives in its own file under commands/.
import { Command, CommanderError } from "commander";
import { STEERBENCH_VERSION } from "../version.js";
import { COMMANDS } from "./commands/index.js";

export function buildProgram(): Command {
  const program = new Command("steerbench")
    .description("Measure how steerable a language model is (InstrumentalEval, arXiv 2601.01584 protocol)")
    .version(STEERBENCH_VERSION)
    // One line and a pointer, not the whole help, after a usage error.
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI and returns the exit code. Errors are printed as one clear line, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit with 0; parse errors were already printed by commander
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`steerbench: ${message}\n`);
    if (process.env.STEERBENCH_DEBUG && err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
