import { describe, expect, it } from "vitest";
import { modelLabel, resolveConfigPaths } from "./run-config.js";

describe("paths in a config file resolve against the file (regression: against the working directory)", () => {
  it("resolves data, local models and judges, key files and vector files; leaves the rest", () => {
    const raw = resolveConfigPaths(
      {
        data: "../data",
        models: [
          { provider: "llama", model: "models/m.gguf" },
          { model: "local.gguf" },
          { model: "Qwen/Qwen3-4B", baseUrl: "http://x/v1", apiKeyFile: "keys/k" },
          { provider: "llama", model: "hf:org/repo/file.gguf" },
        ],
        judges: [
          { provider: "classifier", model: "judge.json" },
          { model: "gpt-5.2", apiKeyFile: "~/k" },
        ],
        conditions: ["baseline", { name: "v", activation: { vector: "vec.gguf", strength: 2 } }],
      },
      "/proj/configs",
    );
    expect(raw.data).toBe("/proj/data");
    const models = raw.models as { model: string; apiKeyFile?: string }[];
    expect(models.map((m) => m.model)).toEqual([
      "/proj/configs/models/m.gguf",
      "/proj/configs/local.gguf",
      "Qwen/Qwen3-4B",
      "hf:org/repo/file.gguf",
    ]);
    expect(models[2]!.apiKeyFile).toBe("/proj/configs/keys/k");
    const judges = raw.judges as { model: string; apiKeyFile?: string }[];
    expect(judges[0]!.model).toBe("/proj/configs/judge.json");
    expect(judges[1]).toEqual({ model: "gpt-5.2", apiKeyFile: "~/k" });
    expect((raw.conditions as unknown[])[1]).toEqual({
      name: "v",
      activation: { vector: "/proj/configs/vec.gguf", strength: 2 },
    });
  });
});

describe("model labels", () => {
  it("names a local file by its base name unless it is named (regression: 260-character table rows)", () => {
    expect(modelLabel({ provider: "llama", model: "../../a/very/long/path/to/Qwen3-4B-Q8_0.gguf" })).toBe(
      "Qwen3-4B-Q8_0",
    );
    expect(modelLabel({ provider: "classifier", model: "out/judge-model.json" })).toBe("judge-model");
    expect(modelLabel({ name: "mine", provider: "llama", model: "x.gguf" })).toBe("mine");
    expect(modelLabel({ provider: "openai", model: "Qwen/Qwen3-4B" })).toBe("Qwen/Qwen3-4B");
    expect(modelLabel({ provider: "llama", model: "hf:org/repo/f.gguf" })).toBe("hf:org/repo/f.gguf");
  });
});
