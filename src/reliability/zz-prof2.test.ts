import { test } from "vitest";
import { lossAndGradient, trainSoftmax } from "./classifier/softmax.js";
import { mulberry32 } from "../metrics/random.js";
test("prof2", () => {
  const r = mulberry32(1);
  const D = 65000, N = 1278, K = 4;
  const xs = Array.from({ length: N }, () => {
    const set = new Set<number>(); while (set.size < 600) set.add(Math.floor(r() * D));
    const idx = Int32Array.from([...set].sort((a, b) => a - b));
    return { idx, val: Float64Array.from(idx, () => r() / 20) };
  });
  const ys = xs.map(() => Math.floor(r() * K));
  const theta = new Float64Array(K * D + K);
  let t = performance.now();
  for (let i = 0; i < 10; i++) lossAndGradient(theta, xs, ys, K, D, 1e-3);
  console.log("per eval ms", (performance.now() - t) / 10);
  t = performance.now();
  const fit = trainSoftmax(xs, ys, K, D, { l2: 1e-3, maxIterations: 20 });
  console.log("20 iters ms", performance.now() - t, fit.iterations);
});
