// Reference values were produced with CPython 3.11's `random` module, e.g.
//   random.Random(123).getrandbits(32); random.Random(42).sample(range(100), 10)
import { describe, expect, it } from "vitest";
import { PyRandom } from "./py-random.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("PyRandom (CPython random.Random)", () => {
  it("seeds MT19937 like random.Random(int): first outputs for seed 123", () => {
    const r = new PyRandom(123);
    expect(Array.from({ length: 5 }, () => r.getrandbits(32))).toEqual([
      224899942, 1149664691, 374463918, 3302642556, 1749090055,
    ]);
  });

  it("splits seeds above 2**32 into several key words (seed 2**70 + 3)", () => {
    const r = new PyRandom(2n ** 70n + 3n);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([
      701776502, 1422058157, 4284124921,
    ]);
  });

  it("uses abs() of negative seeds", () => {
    expect(new PyRandom(-123).getrandbits(32)).toBe(new PyRandom(123).getrandbits(32));
  });

  it("reproduces sample() with the pool strategy (n small relative to k)", () => {
    expect(new PyRandom(123).sample(range(20), 15)).toEqual([
      1, 8, 2, 13, 18, 19, 16, 0, 6, 15, 10, 5, 9, 11, 12,
    ]);
    expect(new PyRandom(0).sample(range(10), 3)).toEqual([6, 9, 0]);
    expect(new PyRandom(5).sample(range(3), 3)).toEqual([2, 1, 0]);
    expect(new PyRandom(7).sample(range(30), 30)).toEqual([
      10, 4, 12, 20, 1, 2, 17, 3, 11, 18, 25, 16, 6, 19, 24, 23, 14, 26, 22, 27, 8, 13, 0, 9, 28, 7, 29, 15,
      5, 21,
    ]);
    expect(new PyRandom(2 ** 40 + 5).sample(range(50), 12)).toEqual([
      32, 33, 17, 42, 1, 48, 2, 10, 5, 8, 15, 40,
    ]);
    const big = new PyRandom(1).sample(range(200), 100);
    expect(big.slice(0, 10)).toEqual([34, 145, 195, 16, 65, 30, 126, 115, 120, 166]);
    expect(big.slice(-5)).toEqual([82, 21, 132, 64, 29]);
  });

  it("reproduces sample() with the set strategy (large population)", () => {
    expect(new PyRandom(42).sample(range(100), 10)).toEqual([81, 14, 3, 94, 35, 31, 28, 17, 13, 86]);
    expect(new PyRandom(99).sample(range(1000), 5)).toEqual([413, 389, 204, 613, 183]);
  });

  it("samples items, not indices, and validates k", () => {
    expect(new PyRandom(0).sample(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], 3)).toEqual([
      "g",
      "j",
      "a",
    ]);
    expect(new PyRandom(0).sample([1, 2], 0)).toEqual([]);
    expect(() => new PyRandom(0).sample([1, 2], 3)).toThrow(RangeError);
    expect(() => new PyRandom(1.5)).toThrow(RangeError);
  });
});
