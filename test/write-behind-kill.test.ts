// The write-behind's promise to the runner, tested on a real process: every answer whose write was
// acknowledged (its promise resolved) is in the store after kill -9. The child writes answers as fast
// as it can, many per batch, and reports each acknowledged item id over IPC; it is killed mid-stream.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Store } from "../src/store/store.js";
import { repoRoot } from "./paths.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-wb-kill-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ITEMS = 20_000;

// Runs on dist/ (npm run build), as the CLI tests do.
const childSource = (storeModule: string, writeBehindModule: string) => `
import { Store } from ${JSON.stringify(storeModule)};
import { WriteBehind } from ${JSON.stringify(writeBehindModule)};
const store = Store.open(process.env.WB_STORE);
const items = store.items("r");
const wb = new WriteBehind(store);
let next = 0;
// 64 writers in flight, like a run at concurrency 64: each waits for its ack, reports it, goes on.
const worker = async () => {
  while (next < items.length) {
    const it = items[next++];
    await wb.saveResponse({ itemId: it.id, status: "ok", response: "answer " + it.id, thinking: null,
      promptTokens: 1, completionTokens: 1, latencyMs: 1, finishReason: "stop", requestJson: null, error: null });
    process.send(it.id);
  }
};
await Promise.all(Array.from({ length: 64 }, worker));
process.send("done");
`;

describe("write-behind under kill -9", () => {
  it("loses no acknowledged answer", async () => {
    const path = join(dir, "s.sqlite");
    const setup = Store.open(path);
    setup.createRun({ id: "r", name: "r", kind: "live", config: {}, versions: {} });
    setup.addItems(
      "r",
      Array.from({ length: ITEMS }, (_, i) => ({
        model: "m",
        condition: "baseline",
        scenarioId: `s-${i}`,
        category: "s",
        epoch: 0,
        seed: null,
        context: "ctx",
        systemPrompt: undefined,
        userPrompt: `prompt ${i}`,
      })),
    );
    setup.close();
    const script = join(dir, "child.mjs");
    const dist = (p: string) => pathToFileURL(join(repoRoot, "dist", "store", p)).href;
    writeFileSync(script, childSource(dist("store.js"), dist("write-behind.js")));

    const child = fork(script, [], { env: { ...process.env, WB_STORE: path }, stdio: "ignore" });
    const acked = new Set<number>();
    let finished = false;
    await new Promise<void>((resolve, reject) => {
      child.on("message", (m: number | "done") => {
        if (m === "done") finished = true;
        else acked.add(m);
        // Killed mid-stream, once a few batches are acknowledged.
        if (acked.size === 2_000) child.kill("SIGKILL");
      });
      child.on("exit", () => resolve());
      child.on("error", reject);
    });
    expect(finished).toBe(false); // really killed before the end
    expect(acked.size).toBeGreaterThanOrEqual(2_000);

    const s = Store.open(path);
    const stored = s.responseStates("r");
    const lost = [...acked].filter((id) => stored.get(id)?.status !== "ok");
    expect(lost).toEqual([]);
    expect(stored.size).toBeLessThan(ITEMS);
    s.close();
  }, 60_000);
});
