// Runs steerbench verbs in this process on a real commander program and captures what they print.
import { Command } from "commander";
import { COMMANDS } from "../../src/cli/commands/index.js";

export async function cliInProcess(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command("steerbench").exitOverride();
  for (const register of COMMANDS) register(program);
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await program.parseAsync(["node", "steerbench", ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { stdout, stderr };
}
