// Metrics for comparing next-token distributions of the project against llama.cpp.
//
// Inputs are per-position rows of log-probabilities (Float64Array or plain arrays, length
// n_vocab). Raw logits from the project are turned into log-probabilities with logSoftmax().
import fs from "node:fs";

/** log-softmax of one row of logits, computed in double precision. */
export function logSoftmax(logits) {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/**
 * Reads the `r1 logits` output: raw little-endian float32, row-major [n_positions][n_vocab].
 * Throws if the file size is not n_positions * n_vocab * 4 bytes.
 */
export function readLogitsBin(file, nPositions, nVocab) {
  const buf = fs.readFileSync(file);
  const want = nPositions * nVocab * 4;
  if (buf.length !== want) {
    throw new Error(`${file}: ${buf.length} bytes, expected ${nPositions} x ${nVocab} x 4 = ${want}`);
  }
  const rows = [];
  for (let i = 0; i < nPositions; i++) {
    const row = new Float32Array(nVocab);
    for (let t = 0; t < nVocab; t++) row[t] = buf.readFloatLE((i * nVocab + t) * 4);
    rows.push(row);
  }
  return rows;
}

/** Indices of the k largest entries of row, largest first (ties: lower index first). */
export function topK(row, k) {
  const idx = Array.from(row.keys());
  idx.sort((a, b) => (row[b] - row[a]) || (a - b));
  return idx.slice(0, k);
}

export function argmax(row) {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** KL(p || q) = sum p (log p - log q) from log-probabilities; terms with p == 0 contribute 0. */
export function klDivergence(refLogp, ourLogp) {
  let kl = 0;
  for (let i = 0; i < refLogp.length; i++) {
    const lp = refLogp[i];
    if (lp === -Infinity) continue;
    kl += Math.exp(lp) * (lp - ourLogp[i]);
  }
  return kl;
}

/**
 * Compares two sequences of per-position log-distributions.
 * Returns:
 *   maxAbsTopK   max over positions of max |ref - ours| log-prob over the reference's top-k tokens
 *   worstPos     position where maxAbsTopK occurs
 *   meanKL       mean over positions of KL(ref || ours) over the full vocabulary
 *   maxKL        largest per-position KL
 *   top1Agree    fraction of positions whose argmax agrees
 *   top1Decisive the same over positions where the reference's top-1 beats its top-2 by at least
 *                `margin` in log-prob (near-ties flip under any rounding change; this separates
 *                real disagreements from them); nDecisive = how many such positions
 *   nPositions
 */
export function compareDistributions(refRows, ourRows, {k = 10, margin = 0.05} = {}) {
  if (refRows.length !== ourRows.length) {
    throw new Error(`position count differs: reference ${refRows.length}, ours ${ourRows.length}`);
  }
  let maxAbsTopK = 0, worstPos = -1, klSum = 0, maxKL = 0, agree = 0, nDecisive = 0, agreeDecisive = 0;
  for (let i = 0; i < refRows.length; i++) {
    const ref = refRows[i], ours = ourRows[i];
    if (ref.length !== ours.length) {
      throw new Error(`position ${i}: vocab size differs (reference ${ref.length}, ours ${ours.length})`);
    }
    const top = topK(ref, Math.max(k, 2));
    for (const t of top.slice(0, k)) {
      const d = Math.abs(ref[t] - ours[t]);
      if (!(d <= maxAbsTopK)) { maxAbsTopK = d; worstPos = i; }   // NaN counts as worst
    }
    const kl = klDivergence(ref, ours);
    klSum += kl;
    if (!(kl <= maxKL)) maxKL = kl;
    const same = argmax(ref) === argmax(ours);
    if (same) agree++;
    if (ref[top[0]] - ref[top[1]] >= margin) {
      nDecisive++;
      if (same) agreeDecisive++;
    }
  }
  const n = refRows.length;
  return {maxAbsTopK, worstPos, meanKL: n ? klSum / n : 0, maxKL, top1Agree: n ? agree / n : 1,
          top1Decisive: nDecisive ? agreeDecisive / nDecisive : 1, nDecisive, nPositions: n};
}

/** First index where two id arrays differ, or -1 if equal (length mismatch counts). */
export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
