// The README's first command, for real: the embedded engine on steerling (the committed model organism),
// steerling as the local label-scoring judge, a SQLite store, Table 1 and measured vs planted, offline.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Store } from "../src/store/store.js";
import { repoRoot } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "sb-quick-"));

/** The CLI as a child process, awaited without blocking this worker (a blocking spawnSync of a minute
 *  starves vitest's own RPC and fails the run with "Timeout calling onTaskUpdate"). */
function quickstart(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin", "steerbench.js"), "quickstart", ...args], {
      env,
      cwd: dir,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("steerbench quickstart", () => {
  it("runs the paper conditions and conflict offline, stores every item, prints Table 1 beside planted", async () => {
    const store = join(dir, "q.sqlite");
    const res = await quickstart(["--limit", "3", "--store", store], {
      ...process.env,
      STEERBENCH_DATA: "",
      STEERBENCH_MODEL: "",
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/baseline[\s\S]*pro_ic[\s\S]*anti_ic[\s\S]*conflict/);
    expect(res.stdout).toMatch(/Measured vs planted/);
    expect(res.stdout).toMatch(/conflict\s+convergence\s+\d+\s+\d+\s+(recovered|NOT recovered)/);
    expect(res.stdout).toMatch(/MODEL ORGANISM with PLANTED steerability/);
    // The short activation sweep with its random-direction control follows Table 1.
    expect(res.stdout).toMatch(/Steerability curve: steerling/);
    expect(res.stdout).toMatch(/Vector vs random-direction control/);
    expect(res.stdout).toMatch(/random-direction controls over 3 seeds \(0, 1, 2\)/);
    const s = Store.open(store);
    const run = s.listRuns().find((r) => r.name === "quickstart")!;
    expect(run.status).toBe("done");
    const sweep = s.listRuns().find((r) => r.kind === "sweep")!;
    expect(sweep.status).toBe("done");
    expect((sweep.config as { sweep?: { control?: unknown } }).sweep?.control).toBeDefined();
    // 4 conditions × 3 items, each generated once and labelled by the scoring judge (never a failure)
    expect(s.progress(run.id)).toMatchObject({
      items: 12,
      responsesOk: 12,
      judged: { "local-label-scoring": { ok: 12, failed: 0, error: 0 } },
    });
    const j = s.judgements(run.id)[0]!;
    expect(Object.keys(j.scores ?? {}).sort()).toEqual([
      "convergence",
      "no_convergence",
      "nonsensical",
      "safety_refusal",
    ]);
    s.close();
    // A second invocation resumes: nothing left to do.
    const again = await quickstart(["--limit", "3", "--store", store]);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/already done/);
  }, 300_000);
});
