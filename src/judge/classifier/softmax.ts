// Multinomial logistic (softmax) regression on sparse features with an L2 penalty, fitted by full-batch
// L-BFGS. Written here because the maintained JS options do not fit: ml-logistic-regression is
// one-vs-rest on dense matrices (a 1,278 × 2^20 dense design does not fit in memory) and has no L2.
// Full-batch L-BFGS on a convex objective needs no random numbers, so training is deterministic: the
// same data always gives the same weights.
//
// Objective: (1/W) Σ_i w_i · (−log p(y_i | x_i)) + (λ/2) ‖weights‖², with W = Σ_i w_i; biases unpenalised.
import type { SparseVector } from "./features.js";

export interface SoftmaxModel {
  classes: number;
  dim: number;
  /** weights[j * classes + k]: feature-major, so one feature's class weights sit together in memory. */
  weights: Float64Array;
  bias: Float64Array;
}

export interface TrainOptions {
  /** L2 strength λ (default 1e-4). */
  l2?: number;
  /** L-BFGS iterations at most (default 50: on the published runs the predicted labels no longer
   * change after about 40, while the loss keeps creeping down on separable data). */
  maxIterations?: number;
  /** Stop when the gradient's max-norm falls below this (default 1e-6). */
  tolerance?: number;
  /** Per-example weights (default 1 each), e.g. for class balancing. */
  sampleWeights?: readonly number[];
  /** L-BFGS history size (default 10). */
  memory?: number;
}

export interface TrainResult {
  model: SoftmaxModel;
  iterations: number;
  /** Loss evaluations, line-search trials included. */
  evaluations: number;
  loss: number;
  gradientNorm: number;
  converged: boolean;
}

/** Class scores (logits) of one example into `z`. `theta` = weights (dim × classes) then bias (classes). */
function logits(
  theta: Float64Array,
  biasAt: number,
  x: SparseVector,
  classes: number,
  z: Float64Array,
): void {
  for (let k = 0; k < classes; k++) z[k] = theta[biasAt + k]!;
  const { idx, val } = x;
  for (let t = 0; t < idx.length; t++) {
    const base = idx[t]! * classes;
    const v = val[t]!;
    for (let k = 0; k < classes; k++) z[k]! += theta[base + k]! * v;
  }
}

/** Class probabilities of one example (numerically stable softmax). */
export function predictProba(model: SoftmaxModel, x: SparseVector): Float64Array {
  const { classes, weights, bias } = model;
  const z = Float64Array.from(bias);
  for (let t = 0; t < x.idx.length; t++) {
    const base = x.idx[t]! * classes;
    const v = x.val[t]!;
    for (let k = 0; k < classes; k++) z[k]! += weights[base + k]! * v;
  }
  let m = -Infinity;
  for (const v of z) if (v > m) m = v;
  let sum = 0;
  for (let k = 0; k < classes; k++) {
    z[k] = Math.exp(z[k]! - m);
    sum += z[k]!;
  }
  for (let k = 0; k < classes; k++) z[k]! /= sum;
  return z;
}

/**
 * Loss and gradient at parameters `theta` = [weights (dim × classes, feature-major), bias (classes)],
 * written into `grad`. Exported for the gradient check in the tests.
 */
export function lossAndGradient(
  theta: Float64Array,
  xs: readonly SparseVector[],
  ys: readonly number[],
  classes: number,
  dim: number,
  l2: number,
  sampleWeights?: readonly number[],
  grad: Float64Array = new Float64Array(theta.length),
): { loss: number; grad: Float64Array } {
  const nW = classes * dim;
  grad.fill(0);
  const z = new Float64Array(classes);
  let total = 0;
  let loss = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const w = sampleWeights?.[i] ?? 1;
    total += w;
    logits(theta, nW, x, classes, z);
    let m = -Infinity;
    for (const v of z) if (v > m) m = v;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(z[k]! - m);
    const logSum = m + Math.log(sum);
    const y = ys[i]!;
    loss += w * (logSum - z[y]!);
    // z becomes the residual w · (p − onehot(y)).
    for (let k = 0; k < classes; k++) z[k] = w * (Math.exp(z[k]! - logSum) - (k === y ? 1 : 0));
    const { idx, val } = x;
    for (let t = 0; t < idx.length; t++) {
      const base = idx[t]! * classes;
      const v = val[t]!;
      for (let k = 0; k < classes; k++) grad[base + k]! += z[k]! * v;
    }
    for (let k = 0; k < classes; k++) grad[nW + k]! += z[k]!;
  }
  const inv = total > 0 ? 1 / total : 0;
  let reg = 0;
  for (let j = 0; j < nW; j++) {
    const t = theta[j]!;
    reg += t * t;
    grad[j] = grad[j]! * inv + l2 * t;
  }
  for (let j = nW; j < theta.length; j++) grad[j]! *= inv;
  return { loss: loss * inv + 0.5 * l2 * reg, grad };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
  }
  return m;
}

/** Fits the model. `ys[i]` is the class index (0 ≤ y < classes) of `xs[i]`, whose indices are < dim. */
export function trainSoftmax(
  xs: readonly SparseVector[],
  ys: readonly number[],
  classes: number,
  dim: number,
  options: TrainOptions = {},
): TrainResult {
  const l2 = options.l2 ?? 1e-4;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-6;
  const memory = options.memory ?? 10;
  if (xs.length !== ys.length) throw new Error(`${xs.length} examples but ${ys.length} labels`);
  if (xs.length === 0) throw new Error("cannot train on no examples");
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`need at least 2 classes, got ${classes}`);
  if (!(l2 >= 0)) throw new Error(`l2 must be ≥ 0, got ${l2}`);
  if (options.sampleWeights && options.sampleWeights.length !== xs.length) {
    throw new Error(`${xs.length} examples but ${options.sampleWeights.length} sample weights`);
  }
  ys.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || y >= classes)
      throw new Error(`example ${i}: class ${y} out of range`);
  });
  xs.forEach((x, i) => {
    for (const j of x.idx) if (j < 0 || j >= dim) throw new Error(`example ${i}: feature ${j} out of range`);
  });

  const size = classes * dim + classes;
  let evaluations = 0;
  const f = (theta: Float64Array, grad: Float64Array) => {
    evaluations++;
    return lossAndGradient(theta, xs, ys, classes, dim, l2, options.sampleWeights, grad).loss;
  };
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let loss = f(theta, grad);
  let candidate = new Float64Array(size);
  let candidateGrad = new Float64Array(size);
  const dir = new Float64Array(size);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  const alpha = new Float64Array(memory);
  let iterations = 0;
  let converged = maxAbs(grad) < tolerance;

  while (!converged && iterations < maxIterations) {
    iterations++;
    // Two-loop recursion: dir = −H·grad, H the L-BFGS inverse-Hessian estimate.
    for (let j = 0; j < size; j++) dir[j] = -grad[j]!;
    for (let h = sHist.length - 1; h >= 0; h--) {
      const a = rhoHist[h]! * dot(sHist[h]!, dir);
      alpha[h] = a;
      const yh = yHist[h]!;
      for (let j = 0; j < size; j++) dir[j]! -= a * yh[j]!;
    }
    const last = sHist.length - 1;
    // First step: scaled steepest descent; later: the usual γ = s·y / y·y initial scaling.
    const gamma =
      last < 0
        ? 1 / Math.max(1, Math.sqrt(dot(grad, grad)))
        : dot(sHist[last]!, yHist[last]!) / dot(yHist[last]!, yHist[last]!);
    for (let j = 0; j < size; j++) dir[j]! *= gamma;
    for (let h = 0; h < sHist.length; h++) {
      const b = rhoHist[h]! * dot(yHist[h]!, dir);
      const sh = sHist[h]!;
      const c = alpha[h]! - b;
      for (let j = 0; j < size; j++) dir[j]! += sh[j]! * c;
    }
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): forget the history, go downhill.
      sHist.length = 0;
      yHist.length = 0;
      rhoHist.length = 0;
      for (let j = 0; j < size; j++) dir[j] = -grad[j]!;
      slope = dot(grad, dir);
    }
    // Backtracking line search with the Armijo condition.
    let step = 1;
    let nextLoss = Number.NaN;
    for (let tries = 0; tries < 40; tries++) {
      for (let j = 0; j < size; j++) candidate[j] = theta[j]! + step * dir[j]!;
      const l = f(candidate, candidateGrad);
      if (l <= loss + 1e-4 * step * slope) {
        nextLoss = l;
        break;
      }
      step *= 0.5;
    }
    if (Number.isNaN(nextLoss)) break; // no decrease possible at machine precision: at the optimum
    // Reuse the oldest history buffers once the history is full.
    const s = sHist.length === memory ? sHist.shift()! : new Float64Array(size);
    const y = yHist.length === memory ? yHist.shift()! : new Float64Array(size);
    if (rhoHist.length === memory) rhoHist.shift();
    for (let j = 0; j < size; j++) {
      s[j] = candidate[j]! - theta[j]!;
      y[j] = candidateGrad[j]! - grad[j]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      sHist.push(s);
      yHist.push(y);
      rhoHist.push(1 / sy);
    }
    const previous = loss;
    [theta, candidate] = [candidate, theta];
    [grad, candidateGrad] = [candidateGrad, grad];
    loss = nextLoss;
    converged = maxAbs(grad) < tolerance || Math.abs(previous - loss) <= 1e-12 * Math.max(1, Math.abs(loss));
  }

  const nW = classes * dim;
  return {
    model: { classes, dim, weights: theta.slice(0, nW), bias: theta.slice(nW) },
    iterations,
    evaluations,
    loss,
    gradientNorm: maxAbs(grad),
    converged,
  };
}
