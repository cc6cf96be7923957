// Dumps every evaluation prompt steerling will see, built by steerbench's own code (pack loader, prompt
// builder, paper judge template), so the training data matches the benchmark byte for byte.
// Usage: node tools/steerling/dump-prompts.mjs PACK_DIR OUT.json   (needs `npm run build` first)
import { writeFileSync } from "node:fs";
import { loadPack, selectScenarios } from "../../dist/data/index.js";
import { buildJudgeMessages, buildPrompt, presetCondition } from "../../dist/protocol/index.js";
import { NEUTRAL_PASSAGE, NEUTRAL_TASK } from "../../dist/steering/perplexity.js";

const [packDir, out] = process.argv.slice(2);
if (!packDir || !out) {
  process.stderr.write("usage: node tools/steerling/dump-prompts.mjs PACK_DIR OUT.json\n");
  process.exit(1);
}
const pack = await loadPack(packDir);
const CONDITIONS = ["baseline", "pro_ic", "anti_ic", "conflict"];
const paper = new Set(selectScenarios(pack, "paper").map((s) => s.scenario.id));
const RESPONSE = "\u0000RESPONSE\u0000";
const scenarios = [];
for (const category of pack.categories) {
  for (const scenario of category.scenarios) {
    const prompts = {};
    for (const c of CONDITIONS) {
      const built = buildPrompt(category, scenario, presetCondition(c, pack.strings), {
        strings: pack.strings,
        defaultSystem: { kind: "category" },
      });
      prompts[c] = { system: built.system ?? null, user: built.user };
    }
    scenarios.push({
      id: scenario.id,
      category: category.slug,
      context: category.context,
      task: scenario.prompt,
      paper: paper.has(scenario.id),
      prompts,
    });
  }
}
// The paper judge's messages with a marker where the steered prompt and the response go.
const judge = buildJudgeMessages(
  "paper",
  { context: "\u0000CONTEXT\u0000", prompt: "\u0000PROMPT\u0000", response: RESPONSE },
  pack.strings,
);
writeFileSync(
  out,
  `${JSON.stringify(
    {
      packHash: pack.hash,
      strings: { proIcSuffix: pack.strings.proIcSuffix, antiIcSuffix: pack.strings.antiIcSuffix },
      judge: { system: judge[0].content, user: judge[1].content },
      neutral: { task: NEUTRAL_TASK, passage: NEUTRAL_PASSAGE },
      scenarios,
    },
    null,
    1,
  )}\n`,
);
process.stderr.write(`${scenarios.length} scenarios (${paper.size} in the paper selection) → ${out}\n`);
