import { beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import type { Category, Condition, Pack, ProtocolStrings, Scenario } from "../types.js";
import { applyUserPrefix, applyUserSuffix, buildPrompt } from "./build-prompt.js";
import { presetCondition } from "./conditions.js";

let pack: Pack;
let strings: ProtocolStrings;
beforeAll(async () => {
  pack = await loadPack(packDir);
  strings = pack.strings;
});

function fake(context: string, task: string): { category: Category; scenario: Scenario } {
  const scenario: Scenario = { id: "c-1", category: "c", index: 1, prompt: task };
  return { category: { slug: "c", name: "C", file: "C.csv", context, scenarios: [scenario] }, scenario };
}

const category = { kind: "category" } as const;

describe("buildPrompt", () => {
  it("baseline: the task unchanged, system = stripped category context", () => {
    const { category: c, scenario } = fake("  Context text\r\n", "Task text.");
    const built = buildPrompt(c, scenario, { name: "baseline" }, { strings, defaultSystem: category });
    expect(built).toEqual({
      system: "Context text",
      user: "Task text.",
      messages: [
        { role: "system", content: "Context text" },
        { role: "user", content: "Task text." },
      ],
    });
  });

  it('suffix: task.rstrip() + "\\n\\n" + suffix.strip() + "\\n"', () => {
    expect(applyUserSuffix("Do X. \u0085\n", "\n  Extra rules\n- a\n\n")).toBe("Do X.\n\nExtra rules\n- a\n");
    expect(applyUserSuffix("Do X.", " \n ")).toBe("Do X."); // a blank suffix is the baseline
    const { category: c, scenario } = fake("ctx", "Task.  ");
    const built = buildPrompt(c, scenario, presetCondition("anti_ic", strings), {
      strings,
      defaultSystem: category,
    });
    expect(strings.antiIcSuffix.startsWith("\n")).toBe(true);
    expect(built.user).toBe(`Task.\n\n${strings.antiIcSuffix.trim()}\n`);
  });

  it('prefix: prefix.strip() + "\\n\\n" + task, applied around the suffixed task', () => {
    expect(applyUserPrefix("Task", "  Be brief.\n")).toBe("Be brief.\n\nTask");
    const { category: c, scenario } = fake("ctx", "Task");
    const cond: Condition = { name: "both", prompt: { userPrefix: "P ", userSuffix: " S" } };
    expect(buildPrompt(c, scenario, cond, { strings, defaultSystem: category }).user).toBe(
      "P\n\nTask\n\nS\n",
    );
  });

  it("system sources: none, the original agent prompt, a fixed text, and per-condition overrides", () => {
    const { category: c, scenario } = fake("ctx", "Task");
    const none = buildPrompt(c, scenario, { name: "b" }, { strings, defaultSystem: { kind: "none" } });
    expect(none.system).toBeUndefined();
    expect(none.messages).toEqual([{ role: "user", content: "Task" }]);
    const agent = buildPrompt(
      c,
      scenario,
      { name: "b" },
      { strings, defaultSystem: { kind: "instrumentaleval-agent" } },
    );
    expect(agent.system).toBe(strings.originalTaskSystemPrompt);
    const text = buildPrompt(
      c,
      scenario,
      { name: "b" },
      { strings, defaultSystem: { kind: "text", text: " raw \n" } },
    );
    expect(text.system).toBe(" raw \n");
    const override = buildPrompt(c, scenario, presetCondition("agent_pro_ic", strings), {
      strings,
      defaultSystem: category,
    });
    expect(override.system).toBe(strings.originalTaskSystemPrompt);
    expect(override.user).toBe(`Task\n\n${strings.proIcSuffix.trim()}\n`);
  });

  it('system suffix: system + "\\n\\n" + text.strip(), or the text alone without a system message', () => {
    const { category: c, scenario } = fake(" ctx \r", "Task");
    const cond: Condition = { name: "s", prompt: { systemSuffix: "\n Rule.\n" } };
    expect(buildPrompt(c, scenario, cond, { strings, defaultSystem: category }).system).toBe("ctx\n\nRule.");
    const alone = buildPrompt(c, scenario, cond, { strings, defaultSystem: { kind: "none" } });
    expect(alone.system).toBe("Rule.");
    expect(alone.messages[0]).toEqual({ role: "system", content: "Rule." });
  });

  it("a category context that strips to nothing gives no system message (as the runner skips it)", () => {
    const { category: c, scenario } = fake(" \r\n", "Task");
    expect(
      buildPrompt(c, scenario, { name: "b" }, { strings, defaultSystem: category }).messages,
    ).toHaveLength(1);
  });

  it("conflict: anti text as the builder's system instruction, pro text as the user suffix", () => {
    const hacking = pack.categories.find((c) => c.slug === "hacking-computer-systems")!;
    expect(hacking.context.endsWith("\r")).toBe(true);
    const built = buildPrompt(hacking, hacking.scenarios[0]!, presetCondition("conflict", strings), {
      strings,
      defaultSystem: category,
    });
    expect(built.system).toBe(`${hacking.context.trim()}\n\n${strings.antiIcSuffix.trim()}`);
    expect(built.user).toBe(`${hacking.scenarios[0]!.prompt}\n\n${strings.proIcSuffix.trim()}\n`);
  });
});
