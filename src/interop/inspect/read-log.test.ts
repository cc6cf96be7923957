// Reading the real logs written by inspect: both formats, lenient about fields added since 2025, and
// a log still being written (only the journal's start.json in its zip).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectLogsDir } from "../../../test/helpers/inspect-schema.js";
import { findInspectLogs, messageReasoning, messageText, readInspectLog } from "./read-log.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-inspect-read-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reading Inspect logs", () => {
  it("finds the three logs of a folder, and reads both formats", () => {
    const files = findInspectLogs(inspectLogsDir);
    expect(files.map((f) => f.split("/").pop())).toEqual([
      "2025-05-12T20-28-13-04-00_popularity.json",
      "2025-05-12T20-28-26-04-00_security-guide.json",
      "log_streaming.eval",
    ]);
    const [json, , zip] = files.map(readInspectLog);
    // This 2025 log stopped at its sample limit: inspect recorded it as cancelled.
    expect(json).toMatchObject({ format: "json", version: 2, status: "cancelled" });
    expect(json!.eval).toMatchObject({ task: "popularity", model: "openai/gpt-4o-mini" });
    expect(json!.samples).toHaveLength(3);
    expect(zip).toMatchObject({ format: "eval", version: 2 });
    expect(zip!.samples.map((s) => `${s.id}/${s.epoch}`)).toEqual(["1/1", "1/2", "2/1", "2/2"]);
    expect(zip!.samples[0]!.scores?.match?.value).toBe("I");
  });

  it("a log still being written (no header.json) reads from _journal/start.json", () => {
    const entries = unzipSync(readFileSync(join(inspectLogsDir, "log_streaming.eval")));
    delete entries["header.json"];
    const file = join(dir, "running.eval");
    writeFileSync(file, zipSync(entries));
    const log = readInspectLog(file);
    expect(log.eval.task).toBe("popularity");
    expect(log.samples).toHaveLength(4);
  });

  it("message text and reasoning from string and part contents", () => {
    expect(messageText({ role: "assistant", content: "plain" })).toBe("plain");
    const parts = {
      role: "assistant",
      content: [
        { type: "reasoning", reasoning: "think" },
        { type: "text", text: "a" },
        { type: "text", text: "b" },
      ],
    };
    expect(messageText(parts)).toBe("ab");
    expect(messageReasoning(parts)).toBe("think");
    expect(messageReasoning({ role: "assistant", content: "x" })).toBeUndefined();
  });

  it("a missing path, a folder with only a viewer manifest, and a sample file that is not JSON name the path", () => {
    expect(() => findInspectLogs(join(dir, "nope"))).toThrow(`${join(dir, "nope")} does not exist`);
    const only = mkdtempSync(join(dir, "manifest-"));
    writeFileSync(join(only, "listing.json"), "{}");
    expect(() => findInspectLogs(only)).toThrow(`import: no Inspect logs (.json or .eval) in ${only}`);
    const entries = unzipSync(readFileSync(join(inspectLogsDir, "log_streaming.eval")));
    entries["samples/1_epoch_1.json"] = strToU8("{oops");
    const bad = join(dir, "bad.eval");
    writeFileSync(bad, zipSync(entries));
    expect(() => readInspectLog(bad)).toThrow(`${bad}: samples/1_epoch_1.json is not valid JSON`);
  });
});
