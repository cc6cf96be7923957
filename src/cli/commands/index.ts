import type { Command } from "commander";
import { registerAgreement } from "./agreement.js";
import { registerCompare } from "./compare.js";
import { registerData } from "./data.js";
import { registerDoctor } from "./doctor.js";
import { registerExport } from "./export.js";
import { registerImport } from "./import.js";
import { registerJudgeCheck } from "./judge-check.js";
import { registerMerge } from "./merge.js";
import { registerQuickstart } from "./quickstart.js";
import { registerReport } from "./report.js";
import { registerRun } from "./run.js";
import { registerRuns } from "./runs.js";
import { registerSchema } from "./schema.js";
import { registerServe } from "./serve.js";
import { registerSweep } from "./sweep.js";
import { registerTable } from "./table.js";
import { registerTrainJudge } from "./train-judge.js";
import { registerVectors } from "./vectors.js";
import { registerView } from "./view.js";

/** Every verb, in the order `steerbench --help` lists them. */
export const COMMANDS: Array<(program: Command) => void> = [
  registerQuickstart,
  registerRun,
  registerTable,
  registerRuns,
  registerVectors,
  registerSweep,
  registerCompare,
  registerMerge,
  registerReport,
  registerView,
  registerExport,
  registerAgreement,
  registerJudgeCheck,
  registerTrainJudge,
  registerImport,
  registerServe,
  registerData,
  registerDoctor,
  registerSchema,
];
