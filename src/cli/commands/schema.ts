import type { Command } from "commander";
import { runConfigJsonSchema } from "../../config/run-config.js";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description(
      "print the JSON Schema of the run config file (also published as schema/run-config.schema.json)",
    )
    .action(() => {
      process.stdout.write(`${JSON.stringify(runConfigJsonSchema(), null, 2)}\n`);
    });
}
