import type { EvidenceItem, RootCauseCategory } from '../../core/index.js';
import type { Features } from './features.js';
import { firstOf, type TextFamily } from './text.js';

/**
 * One explanation's reading of the evidence: a category, how strongly the features support it, the root cause
 * in words, and the evidence items behind it (positive weights point at the primary cloud, negative away).
 */
export interface Finding {
  category: RootCauseCategory;
  strength: number;
  root_cause: string;
  evidence: EvidenceItem[];
}

/** The primary cloud's finding also says whether the failure is structural and confined to one zone. */
export interface CloudFinding extends Finding {
  structural: boolean;
  zonal: boolean;
}

/**
 * A rival explanation of a failure (our change, our code, our data, capacity, the edge, planned maintenance,
 * our monitoring, ...). It weighs the features and returns what it found; the arbiter compares the findings.
 * `cloud` is the primary cloud's finding: some evidence means something only while the cloud looks healthy.
 */
export interface Explanation {
  readonly name: string;
  weigh(f: Features, cloud: CloudFinding): Finding[];
}

export function item(source: string, itemText: string, weight: number, says: string): EvidenceItem {
  return { source, item: itemText, weight, says };
}

/** Lines of a family in the (trusted) probe details and the (unflagged) log lines. */
export function count(f: Features, family: TextFamily): number {
  return (f.logs.tally.get(family) ?? 0) + (f.details.tally.get(family) ?? 0);
}

export function example(f: Features, family: TextFamily): string {
  return firstOf(f.logs.lines, family) ?? firstOf([f.details.text], family) ?? family;
}

/** The origin's own error rate is within its usual range (or unknown). */
export function errorRateNormal(f: Features): boolean {
  const { errorRate, baseErrorRate } = f.metrics;
  if (errorRate === undefined) return true;
  return errorRate <= Math.max(0.02, 3 * (baseErrorRate ?? 0.005));
}

/** A finding with one piece of evidence, the common case. */
export function finding(
  category: RootCauseCategory,
  strength: number,
  root_cause: string,
  evidence: EvidenceItem[],
): Finding {
  return { category, strength, root_cause, evidence };
}

/** The common shape of a log-driven finding: lines of a family seen, weighing `weight` against the cloud. */
export function whenSeen(
  f: Features,
  family: TextFamily,
  category: RootCauseCategory,
  weight: number,
  root_cause: string,
  says: string,
): Finding[] {
  if (count(f, family) === 0) return [];
  return [finding(category, weight, root_cause, [item('context:logs', example(f, family), -weight, says)])];
}
