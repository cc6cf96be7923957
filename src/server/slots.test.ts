import { describe, expect, it } from "vitest";
import { QueueFullError, SlotScheduler } from "./slots.js";

const flush = () => new Promise((r) => setImmediate(r));

describe("SlotScheduler", () => {
  it("runs N at once and hands freed slots out in arrival order", async () => {
    const s = new SlotScheduler({ slots: 2, maxQueue: 3 });
    const tickets = s.admit(4);
    const order: number[] = [];
    const waits = tickets.map((t, i) => t.acquire().then(() => order.push(i)));
    await flush();
    expect(order).toEqual([0, 1]);
    expect(s.stats).toMatchObject({ active: 2, queued: 2 });
    tickets[1]!.release();
    await flush();
    expect(order).toEqual([0, 1, 2]);
    tickets[0]!.release();
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2, 3]);
    for (const t of tickets) t.release();
    expect(s.stats).toMatchObject({ active: 0, queued: 0 });
  });

  it("refuses what neither a slot nor the queue can hold, all or nothing, with a Retry-After", () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 2 });
    s.admit(2);
    expect(() => s.admit(2)).toThrow(QueueFullError);
    expect(s.stats.queued).toBe(2); // the refused request took nothing
    const one = s.admit(1);
    expect(one).toHaveLength(1);
    try {
      s.admit(1);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(QueueFullError);
      expect((err as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(Number.isInteger((err as QueueFullError).retryAfterSeconds)).toBe(true);
    }
  });

  it("estimates Retry-After from how long slots are held and the queue ahead", async () => {
    let t = 0;
    const s = new SlotScheduler({ slots: 2, maxQueue: 10, now: () => t });
    const [a] = s.admit(1);
    await a!.acquire();
    t += 10_000;
    a!.release();
    s.admit(6); // 6 waiting, 2 slots: 4 rounds of ~10 s before a newcomer runs
    expect(s.retryAfterSeconds()).toBe(40);
  });

  it("a waiter whose signal aborts leaves the queue at once and frees its place", async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 1 });
    const [running, waiting] = s.admit(2);
    await running!.acquire();
    const ac = new AbortController();
    const p = waiting!.acquire(ac.signal);
    expect(s.stats.queued).toBe(1);
    ac.abort(new Error("client went away"));
    await expect(p).rejects.toThrow("client went away");
    expect(s.stats.queued).toBe(0);
    waiting!.release(); // harmless after the abort
    expect(s.admit(1)).toHaveLength(1); // the place is free again
    running!.release();
    expect(s.stats.active).toBe(0);
  });

  it("an aborted signal never takes a slot", async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 0 });
    const [t] = s.admit(1);
    const ac = new AbortController();
    ac.abort(new Error("gone"));
    await expect(t!.acquire(ac.signal)).rejects.toThrow("gone");
    expect(s.stats).toMatchObject({ active: 0, queued: 0 });
  });

  it("release is idempotent and never frees a slot twice", async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 1 });
    const [a, b] = s.admit(2);
    await a!.acquire();
    const pb = b!.acquire();
    a!.release();
    a!.release();
    await pb;
    expect(s.stats).toMatchObject({ active: 1, queued: 0 });
    b!.release();
    expect(s.stats.active).toBe(0);
  });

  it("close refuses the waiting and every later admission", async () => {
    const s = new SlotScheduler({ slots: 1, maxQueue: 2 });
    const [a, b] = s.admit(2);
    await a!.acquire();
    const pb = b!.acquire();
    s.close(new Error("shutting down"));
    await expect(pb).rejects.toThrow("shutting down");
    expect(() => s.admit(1)).toThrow("shutting down");
    a!.release();
    expect(s.stats).toMatchObject({ active: 0, queued: 0 });
  });

  it("rejects nonsense sizes", () => {
    expect(() => new SlotScheduler({ slots: 0, maxQueue: 1 })).toThrow(/slots/);
    expect(() => new SlotScheduler({ slots: 1, maxQueue: -1 })).toThrow(/maxQueue/);
  });
});
