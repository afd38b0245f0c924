// From per-image classifier features and discriminator scores to the numbers in the evaluation:
// Fréchet distances per class and overall (with the real-vs-real floor), diversity, and the
// distribution of D's scores with the acceptance rates of the real-threshold filter.

import { fitGaussian, frechetDistance, meanPairwiseDistance } from './metrics.ts';

/** Rows of a [count, dim] feature matrix picked by a predicate on their position. */
function pickRows(features: Float64Array, dim: number, keep: readonly boolean[]): { rows: Float64Array; count: number } {
  const count = keep.filter(Boolean).length;
  const rows = new Float64Array(count * dim);
  let next = 0;
  keep.forEach((take, i) => {
    if (take) rows.set(features.subarray(i * dim, (i + 1) * dim), dim * next++);
  });
  return { rows, count };
}

export interface FeatureSet {
  features: Float64Array;
  labels: ArrayLike<number>;
  dim: number;
}

function distance(a: { rows: Float64Array; count: number }, b: { rows: Float64Array; count: number }, dim: number): number {
  return frechetDistance(fitGaussian(a.rows, a.count, dim), fitGaussian(b.rows, b.count, dim));
}

/**
 * The real images split into two halves by alternating position within each class, so that both
 * halves hold every class in proportion: their distance is what sampling noise alone gives at
 * (about) this size, the floor a perfect generator would sit near.
 */
function halves(labels: ArrayLike<number>, label: number | null): [boolean[], boolean[]] {
  const first: boolean[] = [];
  const second: boolean[] = [];
  const seen = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const inClass = label === null || labels[i] === label;
    const position = seen.get(labels[i]) ?? 0;
    seen.set(labels[i], position + 1);
    first.push(inClass && position % 2 === 0);
    second.push(inClass && position % 2 === 1);
  }
  return [first, second];
}

export interface FrechetScore {
  /** generated vs real held-out */
  generated: number;
  /** real held-out half vs the other half */
  floor: number;
  generatedCount: number;
  realCount: number;
}

export interface FeatureScores {
  perClass: FrechetScore[];
  overall: FrechetScore;
  /** mean pairwise feature distance within each class */
  diversity: { generated: number[]; real: number[] };
}

export function featureScores(generated: FeatureSet, real: FeatureSet, numClasses: number): FeatureScores {
  const dim = generated.dim;
  const score = (label: number | null): FrechetScore => {
    const generatedRows = pickRows(generated.features, dim, Array.from(generated.labels, (l) => label === null || l === label));
    const realRows = pickRows(real.features, dim, Array.from(real.labels, (l) => label === null || l === label));
    const [first, second] = halves(real.labels, label);
    return {
      generated: distance(generatedRows, realRows, dim),
      floor: distance(pickRows(real.features, dim, first), pickRows(real.features, dim, second), dim),
      generatedCount: generatedRows.count,
      realCount: realRows.count,
    };
  };
  const diversity = (set: FeatureSet) => Array.from({ length: numClasses }, (_, label) => {
    const rows = pickRows(set.features, dim, Array.from(set.labels, (l) => l === label));
    return meanPairwiseDistance(rows.rows, rows.count, dim);
  });
  return {
    perClass: Array.from({ length: numClasses }, (_, label) => score(label)),
    overall: score(null),
    diversity: { generated: diversity(generated), real: diversity(real) },
  };
}

export interface ScoreSummary {
  count: number;
  mean: number;
  median: number;
  /** fraction with sigmoid(D) >= 0.5 and >= 0.9: what the real-threshold filter would keep */
  acceptance05: number;
  acceptance09: number;
}

export interface DiscriminatorScores {
  perClass: ScoreSummary[];
  overall: ScoreSummary;
  /** counts in HISTOGRAM_BINS equal bins over [0, 1] */
  histogram: number[];
}

export const HISTOGRAM_BINS = 20;

function summarize(scores: number[]): ScoreSummary {
  const sorted = [...scores].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  const share = (threshold: number) => (scores.length ? scores.filter((s) => s >= threshold).length / scores.length : NaN);
  return { count: scores.length, mean: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : NaN, median, acceptance05: share(0.5), acceptance09: share(0.9) };
}

export function discriminatorScores(scores: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): DiscriminatorScores {
  const all = Array.from(scores);
  const histogram = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const score of all) histogram[Math.min(HISTOGRAM_BINS - 1, Math.floor(score * HISTOGRAM_BINS))]++;
  return {
    perClass: Array.from({ length: numClasses }, (_, label) => summarize(all.filter((_, i) => labels[i] === label))),
    overall: summarize(all),
    histogram,
  };
}
