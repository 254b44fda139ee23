import type { CloudFinding, Finding } from './explanation.js';
import { primaryCloud, RIVALS } from './explanations/index.js';
import type { Features } from './features.js';

/** The arbiter's conclusion: which explanation the evidence favours, and by how much. */
export type Verdict =
  /** The primary cloud is failing, structurally, and more clearly than any rival explanation. */
  | { kind: 'cloud'; cloud: CloudFinding; rival?: Finding }
  /** A rival explanation (ours, the edge, planned work) is the stronger one. */
  | { kind: 'rival'; rival: Finding; cloud: CloudFinding }
  /** Some structural signs of the cloud failing, not enough to blame it yet. */
  | { kind: 'weak-cloud'; cloud: CloudFinding }
  | { kind: 'unclear'; cloud: CloudFinding; rivals: Finding[] };

/**
 * Findings of one category add up (two signs of our code are stronger than one); the root cause in words is
 * that of the strongest single finding. Strongest category first; ties keep the registry's order.
 */
export function mergeByCategory(findings: Finding[]): Finding[] {
  const merged = new Map<string, Finding & { lead: number }>();
  for (const f of findings) {
    const existing = merged.get(f.category);
    if (!existing) {
      merged.set(f.category, { ...f, evidence: [...f.evidence], lead: f.strength });
      continue;
    }
    existing.strength += f.strength;
    existing.evidence.push(...f.evidence);
    if (f.strength > existing.lead) {
      existing.root_cause = f.root_cause;
      existing.lead = f.strength;
    }
  }
  return [...merged.values()].map(({ lead: _lead, ...f }) => f).sort((a, b) => b.strength - a.strength);
}

/** Weighs every explanation and compares the primary cloud with the strongest rival. */
export function arbitrate(f: Features): Verdict {
  const cloud = primaryCloud.weigh(f);
  const rivals = mergeByCategory(RIVALS.flatMap((r) => r.weigh(f, cloud)));
  const best = rivals[0];
  if (cloud.structural && cloud.strength >= 4 && (!best || cloud.strength > best.strength))
    return { kind: 'cloud', cloud, rival: best };
  if (best && best.strength >= 2) return { kind: 'rival', rival: best, cloud };
  if (cloud.structural && cloud.strength >= 2) return { kind: 'weak-cloud', cloud };
  return { kind: 'unclear', cloud, rivals };
}
