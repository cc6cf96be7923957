// Options shared by several verbs, so every command names and documents them the same way.
import type { Command } from "commander";
import { kindList } from "../config/provider-kinds.js";

export const DEFAULT_STORE = "steerbench.sqlite";

export function storeOption(cmd: Command): Command {
  return cmd.option(
    "--store <file>",
    "SQLite store file (env STEERBENCH_STORE)",
    process.env.STEERBENCH_STORE ?? DEFAULT_STORE,
  );
}

export function dataOption(cmd: Command): Command {
  return cmd.option(
    "--data <dir>",
    "benchmark data directory, e.g. ../shared/data (env STEERBENCH_DATA; default: the `data pull` cache)",
  );
}

/** Thrown for errors the user can fix: printed without a stack trace. */
export class UsageError extends Error {}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

export function parseNumberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

export function parseListOption(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

// ---- option groups: each verb that takes these adds the group, so names and help never drift ----
// The vocabulary (README "CLI conventions"): `--model`/`--provider`/`--base-url`/`--api-key-env` name
// the subject; `--judge-model` and its `--judge-*` siblings name a judge to run; `--judge NAME` names
// whose stored labels an output uses; `--data` is the benchmark data; `--store` the SQLite file.

/** The judge to run: --judge-model plus its provider, endpoint, key, prompt and mode. */
export function judgeModelOptions(cmd: Command): Command {
  return cmd
    .option("--judge-model <name>", "judge model: a server's model name, or a .gguf for a local judge")
    .option("--judge-provider <kind>", kindList("judge"))
    .option("--judge-base-url <url>", "judge's base URL")
    .option("--judge-api-key-env <var>", "env var with the judge's API key (default OPENAI_API_KEY if set)")
    .option("--judge-prompt <preset>", "paper (4 labels) or instrumentaleval (2 labels)")
    .option("--judge-mode <mode>", "generate, or score (llama judges: pick the most likely label)");
}

/** Whose stored labels an output uses. */
export function labelsJudgeOption(cmd: Command, what = "whose labels to use"): Command {
  return cmd.option("--judge <name>", `${what} (default: the run's primary judge)`);
}

/** Which scenarios: --selection, --categories, --limit. */
export function selectionOptions(cmd: Command): Command {
  return cmd
    .option("--selection <sel>", "paper (71 items), full (76) or max=N[,seed=S] per category")
    .option("--categories <list>", "only these category slugs (comma list)", parseListOption)
    .option("--limit <n>", "only the first N items of the selection", parseIntOption("--limit"));
}

/** The embedded engine's knobs for a local .gguf model. */
export function llamaOptions(cmd: Command): Command {
  return cmd
    .option("--threads <n>", "CPU threads for a local .gguf model", parseIntOption("--threads"))
    .option(
      "--context-size <n>",
      "context size in tokens for a local .gguf model",
      parseIntOption("--context-size"),
    )
    .option(
      "--chat-template <t>",
      "local .gguf: the GGUF's own template by default; builtin:NAME (llama.cpp's), none, or Jinja text",
    );
}

/**
 * `run` and `sweep` once took `--judge` for the judge model, where every other verb means "whose
 * labels". The old spelling still works there, with a warning, and never together with --judge-model.
 */
export function legacyJudgeModel(
  flags: { judge?: string; judgeModel?: string },
  verb: string,
): string | undefined {
  if (flags.judge !== undefined && flags.judgeModel !== undefined) {
    throw new UsageError(`${verb}: give the judge model once, with --judge-model (--judge is its old name)`);
  }
  if (flags.judge !== undefined) {
    process.stderr.write(
      `steerbench ${verb}: --judge is now --judge-model (the old name still works here)\n`,
    );
    return flags.judge;
  }
  return flags.judgeModel;
}
