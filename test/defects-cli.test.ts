// Regressions for the CLI friction found by trying steerbench as a new user would (issue 11): silent
// no-ops, noise in the terminal, and errors without the valid values. Real CLI processes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packDir, repoRoot, runsDir } from "./paths.js";

let dir: string;
let store: string;
const bin = join(repoRoot, "bin", "steerbench.js");

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, STEERBENCH_STORE: "", STEERBENCH_DATA: "" },
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-defects-cli-"));
  store = join(dir, "paper.sqlite");
  expect(cli("import", runsDir, "--store", store).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("no silent no-ops", () => {
  it("refuses --pairs and --vs naming a condition the run does not have", () => {
    const pairs = cli("table", "--store", store, "--pairs", "foo:bar");
    expect(pairs.code).toBe(1);
    expect(pairs.err).toMatch(/--pairs: the run has no condition "foo", "bar"; conditions: .*pro_ic/);
    const vs = cli("table", "--store", store, "--vs", "nosuch");
    expect(vs.code).toBe(1);
    expect(vs.err).toMatch(/--vs: the run has no condition "nosuch"/);
    const report = cli("report", "--store", store, "--html", join(dir, "r.html"), "--pairs", "pro_ic:nosuch");
    expect(report.code).toBe(1);
    expect(report.err).toMatch(/--pairs: run .* has no condition "nosuch"/);
  });

  it("writes the CSV section asked for: --categories and --section gaps are no longer ignored", () => {
    const rows = cli("table", "--store", store, "--format", "csv");
    expect(rows.out.split("\r\n")[0]).toMatch(/^model,condition,total,valid/);
    const cats = cli("table", "--store", store, "--format", "csv", "--categories");
    expect(cats.out.split("\r\n")[0]).toMatch(/^model,condition,category,/);
    const gaps = cli("table", "--store", store, "--format", "csv", "--section", "gaps");
    expect(gaps.out.split("\r\n")[0]).toMatch(/^model,high,low,delta,/);
    expect(gaps.out.split("\r\n").filter((l) => l.length > 0)).toHaveLength(1 + 6);
    expect(cli("table", "--store", store, "--section", "gaps").err).toMatch(/--section is for --format csv/);
  });
});

describe("errors a user can act on", () => {
  it("suggests the value or key that was meant", () => {
    const sel = cli(
      "run",
      "--selection",
      "papr",
      "--model",
      "m",
      "--base-url",
      "http://127.0.0.1:9/v1",
      "--judge-model",
      "j",
    );
    expect(sel.code).toBe(1);
    expect(sel.err).toMatch(
      /--selection: unknown selection "papr" \(did you mean "paper"\?\): use full, paper, or max=N/,
    );
    const config = join(dir, "typo.json");
    writeFileSync(
      config,
      JSON.stringify({
        selecton: "paper",
        models: [{ model: "m", baseUrl: "http://127.0.0.1:9/v1" }],
        judges: [{ model: "j", baseUrl: "http://127.0.0.1:9/v1" }],
      }),
    );
    expect(cli("run", config, "--store", join(dir, "t.sqlite")).err).toMatch(
      /Unrecognized key: "selecton" \(did you mean "selection"\?\)/,
    );
    const preset = cli(
      "run",
      "--conditions",
      "pro-ic",
      "--model",
      "m",
      "--base-url",
      "http://127.0.0.1:9/v1",
      "--judge-model",
      "j",
      "--judge-base-url",
      "http://127.0.0.1:9/v1",
      "--data",
      packDir,
      "--store",
      join(dir, "p.sqlite"),
    );
    expect(preset.err).toMatch(/unknown preset "pro-ic"; valid presets: .* \(did you mean "pro_ic"\?\)/);
  });

  it("answers a missing required option with one line and a pointer, not the whole help", () => {
    const res = cli("report", "--store", store);
    expect(res.code).toBe(1);
    expect(res.err.trim().split("\n")).toEqual([
      "error: required option '--html <file>' not specified",
      "(add --help for usage)",
    ]);
  });

  it("ends quietly when the reader of its output goes away (export | head)", () => {
    const res = spawnSync(
      "bash",
      [
        "-c",
        `node ${JSON.stringify(bin)} export --store ${JSON.stringify(store)} | head -c 100 >/dev/null; echo "exit \${PIPESTATUS[0]}"`,
      ],
      {
        encoding: "utf8",
      },
    );
    expect(res.stderr).not.toMatch(/EPIPE|Error/);
    expect(res.stdout.trim()).toBe("exit 0");
  });
});

describe("one option vocabulary", () => {
  it("import takes --data as every verb does, the pack or its parent (regression: --pack ../shared/data failed)", () => {
    const parentOfPack = join(packDir, "..");
    const store2 = join(dir, "vocab.sqlite");
    const res = cli("import", runsDir, "--data", parentOfPack, "--store", store2);
    expect(res.code, res.err).toBe(0);
    expect(res.out).toMatch(/imported 18 run folders/);
    const old = cli("import", runsDir, "--pack", parentOfPack, "--store", join(dir, "vocab2.sqlite"));
    expect(old.code, old.err).toBe(0);
  });
});
