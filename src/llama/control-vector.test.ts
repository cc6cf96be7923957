import { describe, expect, it } from "vitest";
import { controlVectorFromFlat, prepareControlVector } from "./control-vector.js";

describe("prepareControlVector", () => {
  it("lays rows out from layer 1 and folds in the strength", () => {
    const v2 = Float32Array.from([1, 2, 3]);
    const p = prepareControlVector({ data: new Map([[2, v2]]), strength: 0.5 }, 3, 4);
    expect(Array.from(p.buffer)).toEqual([0, 0, 0, 0.5, 1, 1.5, 0, 0, 0]);
    expect([p.layerStart, p.layerEnd]).toEqual([2, 2]);
    expect(Array.from(p.applied.get(2)!)).toEqual([0.5, 1, 1.5]);
    expect(p.normPreserving).toBe(false);
  });

  it("only lists layers inside the range as applied", () => {
    const data = new Map([
      [1, Float32Array.from([1, 0])],
      [3, Float32Array.from([0, 1])],
    ]);
    const p = prepareControlVector({ data, layerStart: 2, layerEnd: 3 }, 2, 4);
    expect([...p.applied.keys()]).toEqual([3]);
  });

  it("rejects layer 0, wrong widths, non-finite values and bad ranges with clear errors", () => {
    const ok = Float32Array.from([1, 1]);
    expect(() => prepareControlVector({ data: new Map([[0, ok]]) }, 2, 4)).toThrow(/layer 0 is outside 1..3/);
    expect(() => prepareControlVector({ data: new Map([[4, ok]]) }, 2, 4)).toThrow(/layer 4 is outside/);
    expect(() => prepareControlVector({ data: new Map([[1, Float32Array.from([1])]]) }, 2, 4)).toThrow(
      /layer 1 has 1 values, the model's n_embd is 2/,
    );
    expect(() =>
      prepareControlVector({ data: new Map([[1, Float32Array.from([1, Number.NaN])]]) }, 2, 4),
    ).toThrow(/layer 1 value 1 is NaN/);
    expect(() =>
      prepareControlVector({ data: new Map([[1, ok]]), layerStart: 3, layerEnd: 2 }, 2, 4),
    ).toThrow(/after layerEnd/);
    expect(() => prepareControlVector({ data: new Map() }, 2, 4)).toThrow(/no layers/);
    expect(() => prepareControlVector({ data: new Map([[1, ok]]), strength: Infinity }, 2, 4)).toThrow(
      /strength/,
    );
  });
});

describe("controlVectorFromFlat", () => {
  it("maps row k to layer k + 1", () => {
    const m = controlVectorFromFlat(Float32Array.from([1, 2, 3, 4]), 2);
    expect([...m.keys()]).toEqual([1, 2]);
    expect(Array.from(m.get(2)!)).toEqual([3, 4]);
    expect(() => controlVectorFromFlat(Float32Array.from([1, 2, 3]), 2)).toThrow(/whole number/);
  });
});
