import type { ScoreContribution, ScoreResult, SignalSnapshot, SignalStatus } from '../core/index.js';
import { levelFor, type ScoringConfig } from './weights.js';

const KNOWN_STATUSES = new Set<SignalStatus>(['ok', 'degraded', 'error', 'unknown']);

/** Sums the configured weight of every known signal's status and maps the sum to a level. */
export function scoreSnapshot(snapshot: SignalSnapshot, config: ScoringConfig): ScoreResult {
  const contributions: ScoreContribution[] = [];
  const notes: string[] = [];
  let score = 0;
  for (const [name, weights] of Object.entries(config.signals)) {
    const signal = snapshot[name];
    let status: SignalStatus = signal?.status ?? 'unknown';
    if (!KNOWN_STATUSES.has(status)) {
      notes.push(`signal ${name} has unknown status "${String(status)}"; counted as unknown`);
      status = 'unknown';
    }
    const weight = weights[status];
    score += weight;
    contributions.push({ signal: name, status, weight, max: weights.range[1] });
  }
  for (const name of Object.keys(snapshot)) {
    if (!(name in config.signals))
      notes.push(`signal ${name} is not scored (not in scoring.signals); ignored`);
  }
  return { score, level: levelFor(score, config.levels), contributions, notes };
}
