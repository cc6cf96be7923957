// Every output format of the verbs that print results, and which verb accepts which: one list, so
// help texts, flag checks and formatters cannot drift apart.

/** Table 1 (`table`): human tables, spreadsheets, scripts and papers. */
export const TABLE_FORMATS = ["terminal", "md", "csv", "json", "latex"] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** Reliability reports (`agreement`, `judge-check`, `train-judge`): text tables or the report as JSON. */
export const REPORT_FORMATS = ["terminal", "md", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Steering outputs (`vectors extract`, `vectors info`, `sweep`, `compare`). */
export const STEERING_FORMATS = ["terminal", "md", "json"] as const;
export type SteeringFormat = (typeof STEERING_FORMATS)[number];

/** Every format some verb prints. */
export const OUTPUT_FORMATS = ["terminal", "md", "csv", "json", "latex"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The formats each verb's `--format` accepts (the first is the default). */
export const VERB_FORMATS = {
  table: TABLE_FORMATS,
  agreement: REPORT_FORMATS,
  "judge-check": REPORT_FORMATS,
  "train-judge": REPORT_FORMATS,
  "vectors extract": STEERING_FORMATS,
  "vectors info": STEERING_FORMATS,
  sweep: STEERING_FORMATS,
  compare: STEERING_FORMATS,
} as const satisfies Record<string, readonly OutputFormat[]>;

/** `--format` text checked against a verb's list; the error names the flag and the allowed values. */
export function parseFormat<F extends string>(formats: readonly F[], text: string): F {
  if (!(formats as readonly string[]).includes(text)) {
    throw new Error(`--format must be one of ${formats.join(", ")}, got "${text}"`);
  }
  return text as F;
}
