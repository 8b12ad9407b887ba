// One exit's output for one input: a probability vector, and what the rules read off it.
import { BeemError } from "./errors.js";

/** What every exit rule reads from one exit's probability vector. */
export interface ExitSummary {
  /** argmax of the probabilities (the first index on ties). */
  readonly prediction: number;
  /** max of the probabilities. */
  readonly confidence: number;
  /** Shannon entropy in nats. */
  readonly entropy: number;
}

/** Sum of a probability vector may differ from 1 by this much (float32 rounding). */
export const PROBABILITY_SUM_TOLERANCE = 1e-3;

/** Soft-max of logits, computed stably. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Prediction, confidence and entropy of a probability vector (not checked: see `checkProbabilities`). */
export function summarize(probabilities: ArrayLike<number>): ExitSummary {
  let prediction = 0;
  let confidence = -Infinity;
  let entropy = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (p > confidence) {
      confidence = p;
      prediction = i;
    }
    if (p > 0) entropy -= p * Math.log(p);
  }
  return { prediction, confidence, entropy };
}

/**
 * Returns a message describing what is wrong with a probability vector, or undefined if it is
 * a valid one of `classes` entries (finite, in [0, 1], summing to 1 within tolerance).
 */
export function probabilityProblem(
  probabilities: ArrayLike<number>,
  classes?: number,
): string | undefined {
  if (probabilities.length === 0) return "is empty";
  if (classes !== undefined && probabilities.length !== classes) {
    return `has ${probabilities.length} values but ${classes} classes were expected`;
  }
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (typeof p !== "number" || !Number.isFinite(p)) return `has a non-finite value at index ${i}`;
    if (p < 0 || p > 1) return `has ${p} at index ${i}, outside [0, 1]`;
    sum += p;
  }
  if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) return `sums to ${sum}, not 1`;
  return undefined;
}

/** Returns a message if logits are not a non-empty vector of finite numbers. */
export function logitsProblem(logits: ArrayLike<number>, classes?: number): string | undefined {
  if (logits.length === 0) return "is empty";
  if (classes !== undefined && logits.length !== classes) {
    return `has ${logits.length} values but ${classes} classes were expected`;
  }
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (typeof v !== "number" || !Number.isFinite(v)) return `has a non-finite value at index ${i}`;
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT naming `name` when the vector is not a probability vector. */
export function checkProbabilities(
  name: string,
  probabilities: ArrayLike<number>,
  classes?: number,
): void {
  const problem = probabilityProblem(probabilities, classes);
  if (problem !== undefined) {
    throw new BeemError(
      "INVALID_ARGUMENT",
      `Expected ${name} to be a probability vector but it ${problem}`,
    );
  }
}
