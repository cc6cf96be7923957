// Log-probabilities from raw logits, in float64 for a stable log-sum-exp over large vocabularies.

/** log softmax(logits)[token]. */
export function tokenLogProb(logits: Float32Array, token: number): number {
  if (!Number.isInteger(token) || token < 0 || token >= logits.length) {
    throw new RangeError(`token ${token} is outside the vocabulary (0..${logits.length - 1})`);
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[token]! - max - Math.log(sum);
}
