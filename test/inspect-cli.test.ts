// `steerbench export --format inspect` and `import --format inspect` as a user runs them: the paper's
// runs out to Inspect logs and back give the same Table 1 JSON; the real Inspect logs import and
// `table`, `agreement` and `report` work on them; bad flags and files fail with one clear line.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectLogsDir } from "./helpers/inspect-schema.js";
import { repoRoot, runsDir } from "./paths.js";

let dir: string;
let paper: string;

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [join(repoRoot, "bin", "steerbench.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, STEERBENCH_STORE: "", STEERBENCH_DATA: "" },
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-inspect-cli-"));
  paper = join(dir, "paper.sqlite");
  expect(cli("import", runsDir, "--store", paper).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("steerbench and Inspect logs", () => {
  it("export --format inspect, import --format inspect: the same Table 1 (json), and the 2-label protocol beside it", () => {
    const out = join(dir, "logs");
    const exp = cli("export", "--store", paper, "--format", "inspect", "--out", out);
    expect(exp.code, exp.err).toBe(0);
    expect(exp.err).toMatch(/wrote 18 Inspect logs \(1278 samples\) of run import-\S+ and listing\.json/);
    expect(readdirSync(out).filter((f) => f.endsWith(".eval"))).toHaveLength(18);
    const back = join(dir, "back.sqlite");
    const imp = cli("import", "--format", "inspect", out, "--store", back);
    expect(imp.code, imp.err).toBe(0);
    expect(imp.out).toMatch(
      /imported 18 Inspect logs, 1278 items judged by gpt-5\.2 \(steerbench\), as run inspect-/,
    );
    const t = (store: string, ...extra: string[]) =>
      cli("table", "--store", store, "--vs", "baseline", ...extra);
    expect(t(back, "--format", "json").out).toBe(t(paper, "--format", "json").out);
    // The human formats name the run first; the tables under that line are the same.
    const body = (r: { out: string }) => r.out.split("\n").slice(1);
    expect(body(t(back, "--format", "md"))).toEqual(body(t(paper, "--format", "md")));

    const cmp = JSON.parse(t(back, "--format", "json", "--protocol", "instrumentaleval").out) as {
      rows: {
        model: string;
        condition: string;
        paper: { convergence: number; total: number };
        instrumentaleval: { n: number; convergence: number; rate: number };
      }[];
    };
    expect(cmp.rows).toHaveLength(18);
    for (const r of cmp.rows) {
      expect(r.instrumentaleval.convergence).toBe(r.paper.convergence);
      expect(r.instrumentaleval.n).toBe(r.paper.total);
    }
    // Qwen3-4B-Base pro_ic: the paper's 65.91% is 29 of 44 valid; over all 71 answers it is 29/71.
    const base = cmp.rows.find((r) => r.model === "Qwen3-4B-Base" && r.condition === "pro_ic")!;
    expect(base.instrumentaleval.rate).toBeCloseTo((29 / 71) * 100, 10);
    const term = t(paper, "--protocol", "instrumentaleval");
    expect(term.code, term.err).toBe(0);
    expect(term.out).toMatch(/IR %/);
    expect(term.out).toMatch(/Δ IR pp/);
  });

  it("--inspect-format json writes .json logs", () => {
    const out = join(dir, "json-logs");
    const res = cli(
      "export",
      "--store",
      paper,
      "--format",
      "inspect",
      "--inspect-format",
      "json",
      "--out",
      out,
    );
    expect(res.code, res.err).toBe(0);
    const all = readdirSync(out);
    // The logs, and the folder manifest Inspect's static viewer reads.
    expect(all).toContain("listing.json");
    const files = all.filter((f) => f !== "listing.json");
    expect(files).toHaveLength(18);
    expect(files.every((f) => f.endsWith(".json"))).toBe(true);
    expect((JSON.parse(readFileSync(join(out, files[0]!), "utf8")) as { version: number }).version).toBe(2);
  });

  it("the three real Inspect logs import; table, agreement and report work on them", () => {
    const store = join(dir, "real.sqlite");
    const imp = cli("import", "--format", "inspect", inspectLogsDir, "--store", store);
    expect(imp.code, imp.err).toBe(0);
    expect(imp.out).toMatch(
      /imported 3 Inspect logs, 10 items judged by match \(cip\), model_graded_fact \(cip\)/,
    );
    const table = cli("table", "--store", store, "--judge", "match", "--format", "json");
    expect(table.code, table.err).toBe(0);
    const rows = (JSON.parse(table.out) as { rows: { model: string; convergence: number; total: number }[] })
      .rows;
    expect(rows.map((r) => [r.model, r.convergence, r.total])).toEqual([
      ["openai/gpt-4o-mini", 2, 3],
      ["azureai/Meta-Llama-3-1-405B-Instruct-jqf", 3, 4],
    ]);
    const agreement = cli("agreement", "--store", store, "--format", "json", "--replicates", "0");
    expect(agreement.code, agreement.err).toBe(0);
    const html = join(dir, "real.html");
    const report = cli("report", "--store", store, "--html", html);
    expect(report.code, report.err).toBe(0);
    expect(readFileSync(html, "utf8")).toContain("gpt-4o-mini");
  });

  it("bad flags and files: one clear line naming the flag or the file", () => {
    const one = (r: { code: number | null; err: string }) => {
      expect(r.code).toBe(1);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      return r.err;
    };
    expect(one(cli("export", "--store", paper, "--inspect-format", "json"))).toMatch(
      /--inspect-format applies only to --format inspect/,
    );
    expect(one(cli("export", "--store", paper, "--format", "inspect"))).toMatch(
      /--format inspect needs --out DIR/,
    );
    expect(
      one(cli("export", "--store", paper, "--format", "inspect", "--inspect-format", "zip", "--out", dir)),
    ).toMatch(/--inspect-format must be one of eval, json, got "zip"/);
    expect(
      one(
        cli("import", "--format", "inspect", inspectLogsDir, "--pack", dir, "--store", join(dir, "x.sqlite")),
      ),
    ).toMatch(/--data applies only/);
    expect(one(cli("import", runsDir, "--label-map", "m.json", "--store", join(dir, "x.sqlite")))).toMatch(
      /--label-map applies only to --format inspect/,
    );
    const broken = join(dir, "broken.eval");
    writeFileSync(broken, "PK\u0003\u0004 not really a zip");
    expect(one(cli("import", "--format", "inspect", broken, "--store", join(dir, "x.sqlite")))).toContain(
      `${broken}: malformed .eval zip`,
    );
    const map = join(dir, "map.json");
    writeFileSync(map, JSON.stringify({ match: { C: "correct" } }));
    expect(
      one(
        cli(
          "import",
          "--format",
          "inspect",
          inspectLogsDir,
          "--label-map",
          map,
          "--store",
          join(dir, "x.sqlite"),
        ),
      ),
    ).toMatch(/--label-map .*map\.json: match\.C: /);
    expect(
      one(cli("table", "--store", paper, "--protocol", "instrumentaleval", "--format", "latex")),
    ).toMatch(/--format latex is not supported/);
    expect(one(cli("table", "--store", paper, "--protocol", "ie"))).toMatch(
      /--protocol must be one of paper, instrumentaleval/,
    );
  });
});
