import { describe, expect, it } from "vitest";
import { forEachConcurrent, Limiter } from "./limiter.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("Limiter", () => {
  it("never lets more than the limit run at once and releases waiters in order", async () => {
    const limiter = new Limiter(2);
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        limiter.run(async () => {
          peak = Math.max(peak, limiter.inFlight);
          await tick();
          order.push(n);
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.inFlight).toBe(0);
  });

  it("releases the slot when the task throws", async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    await expect(limiter.run(async () => 42)).resolves.toBe(42);
  });

  it("rejects a non-positive limit", () => {
    expect(() => new Limiter(0)).toThrow(/positive integer/);
  });
});

describe("forEachConcurrent", () => {
  it("visits every item once with bounded workers", async () => {
    const seen: number[] = [];
    let active = 0;
    let peak = 0;
    await forEachConcurrent(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (i) => {
        active++;
        peak = Math.max(peak, active);
        await tick();
        seen.push(i);
        active--;
      },
    );
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it("stops taking items once aborted", async () => {
    const ctrl = new AbortController();
    let count = 0;
    await forEachConcurrent(
      Array.from({ length: 100 }, (_, i) => i),
      2,
      async () => {
        count++;
        if (count === 5) ctrl.abort();
        await tick();
      },
      ctrl.signal,
    );
    expect(count).toBeLessThan(10);
  });
});
