import { describe, expect, it } from "vitest";
import { Mutex } from "./mutex.js";

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("Mutex", () => {
  it("runs overlapping operations one at a time, in call order", async () => {
    const m = new Mutex();
    const events: string[] = [];
    let inside = 0;
    let maxInside = 0;
    const op = (name: string, ticks: number) =>
      m.run(async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        events.push(`${name}:start`);
        for (let i = 0; i < ticks; i++) await tick();
        events.push(`${name}:end`);
        inside--;
        return name;
      });
    const results = await Promise.all([op("a", 3), op("b", 1), op("c", 2)]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(maxInside).toBe(1);
    expect(events).toEqual(["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]);
  });

  it("keeps working after an operation throws", async () => {
    const m = new Mutex();
    const failed = m.run(async () => {
      await tick();
      throw new Error("boom");
    });
    const next = m.run(() => 42);
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe(42);
    expect(m.locked).toBe(false);
  });
});
