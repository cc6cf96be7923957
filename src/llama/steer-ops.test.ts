// The row operations of per-sequence steering, on random rows (no model): add is exact float32 addition,
// ablation removes the v̂ component and keeps the rest, rotation keeps the norm and sets the angle.
import { describe, expect, it } from "vitest";
import { prepareSteering, steerRows } from "./steer-ops.js";

const N = 32;
function rand(seed: number, n = N): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  });
}
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

describe("steer-ops", () => {
  const v = rand(1);
  const rows = Float32Array.from([...rand(2), ...rand(3), ...rand(4)]);
  const spec = (extra: object) => ({ data: new Map([[1, v]]), ...extra });

  it("add: h + s·v in float32, on every row", () => {
    const s = prepareSteering(spec({ strength: 3 }), N, 4);
    const out = rows.slice();
    steerRows(out, N, s, 1);
    for (let i = 0; i < out.length; i++)
      expect(out[i]).toBe(Math.fround(rows[i]! + Math.fround(3 * v[i % N]!)));
    const other = rows.slice();
    steerRows(other, N, s, 2); // no direction at layer 2
    expect(other).toEqual(rows);
  });

  it("add with normPreserving keeps each row's norm", () => {
    const s = prepareSteering(spec({ strength: 3, normPreserving: true }), N, 4);
    const out = rows.slice();
    steerRows(out, N, s, 1);
    for (let r = 0; r < 3; r++) {
      const a = rows.subarray(r * N, (r + 1) * N);
      const b = out.subarray(r * N, (r + 1) * N);
      expect(norm(b)).toBeCloseTo(norm(a), 5);
    }
  });

  it("ablate: no component along v̂ is left, the orthogonal part is kept (strength ignored)", () => {
    const s = prepareSteering(spec({ strength: 99, mode: "ablate" }), N, 4);
    const u = Float32Array.from(v, (x) => x / norm(v));
    const out = rows.slice();
    steerRows(out, N, s, 1);
    for (let r = 0; r < 3; r++) {
      const h = rows.subarray(r * N, (r + 1) * N);
      const o = out.subarray(r * N, (r + 1) * N);
      expect(Math.abs(dot(o, u))).toBeLessThan(1e-6 * norm(h));
      const d = dot(h, u);
      for (let i = 0; i < N; i++) expect(o[i]!).toBeCloseTo(h[i]! - d * u[i]!, 6);
    }
  });

  it("ablate: one direction (directionLayer, else the middle key) for blocks 0..n−1 by default, embedding included", () => {
    const w = rand(9);
    const data = new Map([
      [1, v],
      [2, w],
      [3, rand(10)],
    ]);
    const s = prepareSteering({ data, mode: "ablate" }, N, 4);
    expect([s.layerStart, s.layerEnd, s.embedding, s.directionLayer]).toEqual([0, 3, true, 2]);
    const uw = Float32Array.from(w, (x) => x / norm(w));
    for (const il of [0, 1, 2, 3]) expect(s.layers.get(il)).toEqual(uw);
    const part = prepareSteering(
      { data, mode: "ablate", directionLayer: 1, layerStart: 2, layerEnd: 3 },
      N,
      4,
    );
    expect([part.embedding, [...part.layers.keys()]]).toEqual([false, [2, 3]]);
    expect(part.layers.get(2)).toEqual(Float32Array.from(v, (x) => x / norm(v)));
    expect(() => prepareSteering({ data, mode: "ablate", directionLayer: 0 }, N, 4)).toThrow(
      /no direction at layer 0/,
    );
    expect(() => prepareSteering({ data, mode: "ablate", layerEnd: 4 }, N, 4)).toThrow(/within 0\.\.3/);
    expect(() => prepareSteering({ data, directionLayer: 1 }, N, 4)).toThrow(/directionLayer is for ablate/);
  });

  it("rotate: ‖h‖ is kept and h turns by α toward v̂ (away for α < 0), stopping at ±v̂; 0 changes nothing", () => {
    const u = Float32Array.from(v, (x) => x / norm(v));
    for (const alpha of [0, 0.3, -0.3, 1, -1, Math.PI, -Math.PI]) {
      const s = prepareSteering(spec({ strength: alpha, mode: "rotate" }), N, 4);
      const out = rows.slice();
      steerRows(out, N, s, 1);
      for (let r = 0; r < 3; r++) {
        const h = rows.subarray(r * N, (r + 1) * N);
        const o = out.subarray(r * N, (r + 1) * N);
        if (alpha === 0) expect(o).toEqual(h);
        expect(Math.abs(norm(o) - norm(h)) / norm(h)).toBeLessThan(1e-6);
        const phi = Math.acos(dot(h, u) / norm(h));
        const want = Math.min(Math.PI, Math.max(0, phi - alpha));
        expect(dot(o, u) / norm(o)).toBeCloseTo(Math.cos(want), 5);
      }
    }
  });

  it("refuses bad modes, angles and normPreserving outside add, by name", () => {
    expect(() => prepareSteering(spec({ mode: "spin" }), N, 4)).toThrow(/steering mode "spin"/);
    expect(() => prepareSteering(spec({ mode: "rotate", strength: -5 }), N, 4)).toThrow(/−π…π/);
    expect(() => prepareSteering(spec({ mode: "ablate", normPreserving: true }), N, 4)).toThrow(
      /normPreserving is for add/,
    );
    expect(() => prepareSteering({ data: new Map([[0, v]]) }, N, 4)).toThrow(/layer 0/);
  });
});
