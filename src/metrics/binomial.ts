// Accurate binomial probabilities for large n, after Loader (2000), "Fast and accurate computation of
// binomial probabilities" (the algorithm behind R's dbinom). Each term is computed directly in log space
// from Stirling-error and deviance terms, so nothing cancels catastrophically and no error accumulates
// across terms, even for n in the hundreds of thousands.

const LN_2PI = Math.log(2 * Math.PI);

// ln(n!) for n ≤ 15 is exact enough from the double factorial itself (15! < 2^53).
const SMALL_STIRLERR: number[] = (() => {
  const out = [0];
  let fact = 1;
  for (let n = 1; n <= 15; n++) {
    fact *= n;
    out.push(Math.log(fact) - (n + 0.5) * Math.log(n) + n - 0.5 * LN_2PI);
  }
  return out;
})();

/** stirlerr(n) = ln(n!) − ln(√(2πn) (n/e)^n), for integer n ≥ 0. */
export function stirlerr(n: number): number {
  if (n <= 15) return SMALL_STIRLERR[n] ?? Number.NaN;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** Deviance term bd0(x, np) = x ln(x/np) + np − x, with a series near x ≈ np to avoid cancellation. */
export function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / np) + np - x;
}

/** ln P(X = x) for X ~ Binomial(n, p), 0 < p < 1, integers 0 ≤ x ≤ n. */
export function logBinomialPmf(x: number, n: number, p: number): number {
  const q = 1 - p;
  if (x === 0) return n * Math.log1p(-p);
  if (x === n) return n * Math.log(p);
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2) with k ≤ n/2 (the lower tail, where terms fall as x goes down). */
export function halfBinomialLowerTail(k: number, n: number): number {
  if (k >= n / 2) throw new RangeError(`halfBinomialLowerTail needs k < n/2, got k=${k}, n=${n}`);
  // Terms fall geometrically below k; stop once they cannot change the double sum.
  const terms: number[] = [];
  const top = Math.exp(logBinomialPmf(k, n, 0.5));
  for (let x = k; x >= 0; x--) {
    const t = Math.exp(logBinomialPmf(x, n, 0.5));
    terms.push(t);
    if (t < top * 1e-18) break;
  }
  // Sum smallest first.
  let sum = 0;
  for (let i = terms.length - 1; i >= 0; i--) sum += terms[i] ?? 0;
  return sum;
}
