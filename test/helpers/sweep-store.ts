// A sweep run of 7 strengths −8…8 plus a 2-condition control, with stored perplexities: for the
// sweep report's tests (unit and browser).
import { Store } from "../../src/store/store.js";

export const STRENGTHS = [-8, -4, -2, 0, 2, 4, 8];
const name = (s: number) => (s === 0 ? "act0" : `act${s > 0 ? "+" : ""}${s}`);

/** A perplexity result as a sweep stores it. */
const ppl = (perplexity: number) => ({
  perplexity,
  logProb: -Math.log(perplexity),
  tokens: 1,
  promptTruncated: false,
  passageTruncated: false,
});

export function sweepStore(): Store {
  const store = Store.open(":memory:");
  const conditions = [
    ...STRENGTHS.map((s) => ({ name: name(s), activation: { vector: "v", strength: s } })),
    { name: "ctl+8", activation: { vector: "c", strength: 8 } },
    { name: "ctl-8", activation: { vector: "c", strength: -8 } },
  ];
  store.createRun({
    id: "sweep-7",
    name: "sweep",
    kind: "sweep",
    config: {
      conditions,
      sweep: {
        vector: "v",
        strengths: Object.fromEntries(STRENGTHS.map((s) => [name(s), s])),
        control: { vector: "c", seed: 0, strengths: { "ctl+8": 8, "ctl-8": -8 } },
        perplexity: {
          passageSha256: "0".repeat(64),
          reference: ppl(10),
          byCondition: Object.fromEntries(STRENGTHS.map((s) => [name(s), ppl(10 + Math.abs(s))])),
        },
      },
    },
    versions: {},
  });
  const items = store.addItems(
    "sweep-7",
    conditions.flatMap((c) =>
      [1, 2].map((n) => ({
        model: "m",
        condition: c.name,
        scenarioId: `c-${n}`,
        category: "c",
        epoch: 0,
        seed: 0,
        context: "",
        systemPrompt: undefined,
        userPrompt: "t",
      })),
    ),
  );
  for (const item of items) {
    const strength = Number(item.condition.replace(/^(act|ctl)/, "")) || 0;
    store.saveJudgement({
      itemId: item.id,
      judge: "j",
      status: "ok",
      label: strength > 0 && item.condition.startsWith("act") ? "convergence" : "no_convergence",
      reason: null,
      raw: null,
      scores: null,
      error: null,
      latencyMs: null,
    });
  }
  return store;
}
