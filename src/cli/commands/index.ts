import type { Command } from "commander";
import { registerData } from "./data.js";
import { registerExport } from "./export.js";
import { registerImport } from "./import.js";
import { registerRun } from "./run.js";
import { registerRuns } from "./runs.js";
import { registerSchema } from "./schema.js";
import { registerTable } from "./table.js";

/** Every verb, in the order `steerbench --help` lists them. */
export const COMMANDS: Array<(program: Command) => void> = [
  registerRun,
  registerTable,
  registerRuns,
  registerExport,
  registerImport,
  registerData,
  registerSchema,
];
