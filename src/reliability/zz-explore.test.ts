import { test } from "vitest";
import { Store } from "../store/store.js";
import { importPublishedRuns } from "../importers/import-published.js";
import { runsDir } from "../../test/paths.js";
import { crossEvaluate } from "./classifier/train.js";

const M4 = ["Qwen3-4B-Base", "Qwen3-4B-Instruct-2507", "Qwen3-4B-Thinking-2507"];
const M30 = ["Qwen3-30B-A3B-Base", "Qwen3-30B-A3B-Instruct-2507", "Qwen3-30B-A3B-Thinking-2507"];

test("explore", async () => {
  const store = Store.open(":memory:");
  const res = await importPublishedRuns(store, runsDir);
  const cfgs = JSON.parse(process.env.CFGS ?? "[{}]");
  for (const cfg of cfgs) {
    const t = Date.now();
    const evs = crossEvaluate(store, res.run.id, "gpt-5.2", [{ train: M4, test: M30 }, { train: M30, test: M4 }], cfg);
    console.log("ms", Date.now() - t);
    for (const ev of evs) {
      const c = ev.comparison;
      console.log(JSON.stringify(cfg), ev.trainModels[0], "trainAcc", ev.trainAccuracy.toFixed(3),
        "acc", c.agreement.rate?.toFixed(3), c.agreement.ci?.map(x=>x.toFixed(3)), "maj", c.majorityRate?.toFixed(3), "kappa", c.kappa.kappa?.toFixed(3), c.kappa.ci?.map(x=>x.toFixed(3)),
        "convErr", c.error.meanAbsConvergence?.toFixed(2), c.error.maxAbsConvergence?.toFixed(2),
        "dErr", c.error.meanAbsDelta?.toFixed(2), c.error.maxAbsDelta?.toFixed(2), "macroF1", c.macroF1?.toFixed(3), "it", ev.model.training.iterations, ev.model.buckets.length);
      if (process.env.VERBOSE) {
        console.log(JSON.stringify(c.perLabel.map(l=>[l.label,l.support,l.predicted,l.truePositives])), JSON.stringify(c.confusion.counts));
        for (const r of c.rows) console.log(r.model, r.condition, r.reference.convergence?.toFixed(1), r.candidate.convergence?.toFixed(1), r.reference.refusal?.toFixed(1), r.candidate.refusal?.toFixed(1));
        for (const g of c.gaps) console.log(g.model, g.reference?.toFixed(1), g.candidate?.toFixed(1));
        console.log("size", JSON.stringify(ev.model).length);
      }
    }
  }
}, 600000);
