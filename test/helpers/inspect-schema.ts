// Validates objects against Inspect's published log schema (../shared/data/inspect/log-schema.json,
// JSON Schema 2020-12 with $defs) with ajv, for the export tests.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { dataDir } from "../paths.js";

export const inspectDir = resolve(dataDir, "inspect");
export const inspectLogsDir = resolve(inspectDir, "logs");

let ajv: Ajv2020 | undefined;
const SCHEMA_ID = "inspect-log-schema";

function instance(): Ajv2020 {
  if (!ajv) {
    const schema = JSON.parse(readFileSync(resolve(inspectDir, "log-schema.json"), "utf8")) as Record<
      string,
      unknown
    >;
    // The schema comes from pydantic: its OpenAPI-style `discriminator` (with `mapping`, which ajv's
    // discriminator keyword refuses) only annotates a oneOf that ajv checks in full anyway.
    ajv = new Ajv2020({ allErrors: true, strict: false });
    // The schema's only format; RFC 3339 date-time, checked by Date.parse after the shape.
    ajv.addFormat("date-time", {
      type: "string",
      validate: (s: string) =>
        /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
        !Number.isNaN(Date.parse(s)),
    });
    ajv.addSchema({ ...schema, $id: SCHEMA_ID });
  }
  return ajv;
}

/** A validator for the whole EvalLog, or for one of its $defs (e.g. "EvalSample"). */
export function inspectValidator(def?: string): ValidateFunction {
  const ref = def === undefined ? SCHEMA_ID : `${SCHEMA_ID}#/$defs/${def}`;
  const v = instance().getSchema(ref);
  if (!v) throw new Error(`no schema ${ref}`);
  return v;
}

/** Errors of `value` against the schema (empty when valid), as short `path: message` lines. */
export function inspectErrors(value: unknown, def?: string): string[] {
  const validate = inspectValidator(def);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.message ?? "invalid"}`);
}
