import type { Command } from "commander";
import { registerImport } from "./import.js";
import { registerRun } from "./run.js";
import { registerTable } from "./table.js";

/** Every verb, in the order `steerbench --help` lists them. */
export const COMMANDS: Array<(program: Command) => void> = [registerRun, registerImport, registerTable];
