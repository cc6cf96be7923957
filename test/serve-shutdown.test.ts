// SIGTERM on a busy `steerbench serve` process: the running generation is aborted (its stream ends with an
// error event, not [DONE]), the queued request gets 503, and the process exits 0 on its own — issue 11
// item 15 (it used to wait for the generation, and needed SIGKILL with a queue).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LONG, type ServeProcess, startServeProcess } from "./helpers/serve-process.js";
import { tinyModel } from "./paths.js";

let serve: ServeProcess;

beforeAll(async () => {
  serve = await startServeProcess([
    "--model",
    tinyModel,
    "--threads",
    "1",
    "--context-size",
    "8192",
    "--max-queue",
    "2",
  ]);
});
afterAll(async () => {
  await serve?.stop();
});

describe("serve shutdown", () => {
  it("SIGTERM aborts the generation in flight, refuses the queue with 503 and exits 0", async () => {
    const res = await fetch(`${serve.url}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(LONG),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let stream = decoder.decode((await reader.read()).value);
    const queued = fetch(`${serve.url}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "queued", max_tokens: 4 }),
    });
    for (;;) {
      const h = (await (await fetch(`http://127.0.0.1:${serve.port}/health`)).json()) as { queued: number };
      if (h.queued === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    serve.child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      stream += decoder.decode(value);
    }
    expect(
      stream,
      "the LONG generation ended before SIGTERM: pick another seed in helpers/serve-process.ts",
    ).not.toContain("[DONE]");
    expect(stream).toMatch(/"error":\{"message":"the server is shutting down"/);
    const q = await queued;
    expect(q.status).toBe(503);
    expect(await q.text()).toMatch(/shutting down/);
    const { code } = await serve.exited;
    expect(code).toBe(0);
    expect(serve.stderr()).toMatch(/SIGTERM: stopping/);
  });
});
