// Directional ablation validated on steerling, the model organism with a planted pro−anti gap. A direction
// is extracted from the built-in pro/anti pairs (`vectors extract --pairs builtin`), then, on the known-answer
// test's selection (paper, 71 items), greedy, 64 tokens, steerling as its own label-scoring judge:
// - ablating it at run time (`activation: { mode: ablate }`, all blocks) shrinks Table 1's Δ conv%(pro_ic) −
//   conv%(anti_ic): the ablated gap's 95% interval lies wholly below the unablated gap's;
// - the baked file (`vectors bake --mode ablate`, run unsteered) reproduces runtime ablation's Table 1 count
//   for count, and its responses but for float-level near-ties (at most 2 of 142).
// Properties, not steerling's numbers: another steerling may be trained in its place (docs/activation-steering.md
// has the numbers measured on the committed one).
//
// Serial decoding (concurrency 1): batched decoding is not bit-identical to serial decoding (ggml's kernels
// and the shared KV cache sum in other orders), and ablated steerling has near-ties that such differences
// flip: the same runtime ablation at concurrency 8 and 16 differed on 6 of 142 responses, baked vs runtime at
// 16 on 5, at 1 on none. Serial is also faster here (26 s vs 38 s per 142 items on the 2-core machine).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunConfig } from "../src/config/run-config.js";
import { readControlVector } from "../src/gguf/vector-file.js";
import { buildTable1, type GapRow, type Table1Row } from "../src/metrics/table1.js";
import { STEERLING_GGUF } from "../src/organism/steerling.js";
import { runEvaluation } from "../src/runner/run.js";
import { bakeModel } from "../src/steering/bake.js";
import { Store } from "../src/store/store.js";
import { cliInProcess } from "./helpers/cli-in-process.js";
import { packDir } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "sb-steerling-ablation-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vector = join(dir, "ic.gguf");
const baked = join(dir, "steerling-ablated.gguf");
const judge = { model: STEERLING_GGUF, provider: "llama", mode: "score", threads: 1 };

interface Measured {
  rows: Map<string, Table1Row>;
  gap: GapRow;
  /** condition/scenario → response text. */
  responses: Map<string, string>;
}

async function measure(
  name: string,
  model: string,
  conditions: unknown[],
  high: string,
  low: string,
): Promise<Measured> {
  const store = Store.open(join(dir, `${name}.sqlite`));
  try {
    const config = parseRunConfig({
      selection: "paper",
      concurrency: 1,
      conditions,
      models: [{ model, provider: "llama", threads: 1 }],
      judges: [judge],
      decoding: { maxTokens: 64, temperature: 0 },
      retry: { retries: 0 },
    });
    const { run } = await runEvaluation({ config, store, packDir });
    const table = buildTable1(store.outcomes(run.id, store.judges(run.id)[0]!), { pairs: [{ high, low }] });
    const responses = new Map(
      store
        .items(run.id)
        .map((i) => [`${i.condition}/${i.scenarioId}`, store.response(i.id)?.response ?? ""]),
    );
    return { rows: new Map(table.rows.map((r) => [r.condition, r])), gap: table.gaps[0]!, responses };
  } finally {
    store.close();
  }
}

const ablate = (preset: string) => ({
  name: `${preset}+ablate`,
  preset,
  activation: { vector, mode: "ablate" },
});

let plain: Measured;
let runtime: Measured;
let weights: Measured;

beforeAll(async () => {
  await cliInProcess([
    "vectors",
    "extract",
    "--model",
    STEERLING_GGUF,
    "--pairs",
    "builtin",
    "--data",
    packDir,
    "--out",
    vector,
    "--threads",
    "1",
    "--quiet",
  ]);
  bakeModel(STEERLING_GGUF, readControlVector(vector), baked, { mode: "ablate", vectorPath: vector });
  plain = await measure("plain", STEERLING_GGUF, ["pro_ic", "anti_ic"], "pro_ic", "anti_ic");
  runtime = await measure(
    "runtime",
    STEERLING_GGUF,
    [ablate("pro_ic"), ablate("anti_ic")],
    "pro_ic+ablate",
    "anti_ic+ablate",
  );
  weights = await measure("baked", baked, ["pro_ic", "anti_ic"], "pro_ic", "anti_ic");
  const show = (label: string, g: GapRow) =>
    `${label}: Δ ${g.delta?.toFixed(2)} pp [${g.deltaCI?.map((x) => x.toFixed(1)).join(", ")}] (${g.ciMethod})`;
  process.stdout.write(
    `steerling pro−anti gap: ${show("no ablation", plain.gap)}; ${show("runtime ablation", runtime.gap)}; ${show("baked ablation", weights.gap)}\n`,
  );
}, 300_000);

describe("directional ablation on steerling", () => {
  it("shrinks the planted pro−anti gap: the ablated gap's interval lies below the unablated one's", () => {
    // There is a planted gap to shrink.
    expect(plain.gap.deltaCI![0]).toBeGreaterThan(0);
    expect(runtime.gap.delta!).toBeLessThan(plain.gap.delta!);
    expect(runtime.gap.deltaCI![1]).toBeLessThan(plain.gap.deltaCI![0]);
    // Every item was judged and most answers stay valid, so the gap is not shrunk by broken output alone.
    for (const c of ["pro_ic+ablate", "anti_ic+ablate"]) {
      const r = runtime.rows.get(c)!;
      expect(r.total + r.judgeFailed).toBe(71);
      expect(r.judgeFailed).toBe(0);
      expect(r.valid).toBeGreaterThanOrEqual(0.8 * 71);
    }
  });

  it("the baked file reproduces runtime ablation's Table 1, count for count, and (near-ties aside) its responses", () => {
    for (const [bakedCondition, runtimeCondition] of [
      ["pro_ic", "pro_ic+ablate"],
      ["anti_ic", "anti_ic+ablate"],
    ] as const) {
      const b = weights.rows.get(bakedCondition)!;
      const r = runtime.rows.get(runtimeCondition)!;
      const counts = (x: Table1Row) => [
        x.total,
        x.nonsensical,
        x.convergence,
        x.noConvergence,
        x.safetyRefusal,
        x.judgeFailed,
      ];
      expect(counts(b), bakedCondition).toEqual(counts(r));
    }
    expect(weights.gap.delta).toBe(runtime.gap.delta);
    let same = 0;
    for (const [key, text] of weights.responses) {
      const [condition, scenario] = key.split("/");
      if (runtime.responses.get(`${condition}+ablate/${scenario}`) === text) same++;
    }
    expect(weights.responses.size).toBe(142);
    process.stdout.write(`baked vs runtime ablation: ${same}/142 responses identical\n`);
    // Table 1 is asserted count for count above (the criterion). Responses are near-identical, not
    // always identical: the baked weights differ from the runtime projection at float level (≤ 5e-5·‖h‖, see
    // test/steering-bake.test.ts), which can flip a greedy near-tie later in an answer. Measured on the
    // committed steerling: 142/142 identical with direction.1, 141/142 with direction.2 (the default once
    // the ablation direction prefers discriminative layers). A missing hook point differs on most answers.
    expect(same).toBeGreaterThanOrEqual(140);
  });
});
