import type { Level, ScoredSignalName, SignalStatus } from '../core/index.js';

/** How one signal's status maps to a weight inside its range. */
export interface SignalWeights {
  range: [number, number];
  ok: number;
  degraded: number;
  error: number;
  unknown: number;
}

/** The lowest score at which each level starts; below `self_heal` the level is `none`. */
export interface LevelThresholds {
  self_heal: number;
  region_failover: number;
  dr_failover: number;
}

export interface ScoringConfig {
  signals: Record<string, SignalWeights>;
  levels: LevelThresholds;
}

function weightsFor(max: number): SignalWeights {
  // The seed's rule: ok 0, degraded 1-2 (2 where the range is wide), error at the top, unknown 0.
  return { range: [0, max], ok: 0, degraded: max >= 4 ? 2 : 1, error: max, unknown: 0 };
}

export const DEFAULT_SIGNAL_RANGES: Record<ScoredSignalName, number> = {
  internal_services: 5,
  external_uptime: 3,
  cross_cloud: 4,
  db_replication_lag: 3,
  eks_nodes: 4,
  aws_cross_region: 3,
};

export function defaultScoringConfig(): ScoringConfig {
  const signals: Record<string, SignalWeights> = {};
  for (const [name, max] of Object.entries(DEFAULT_SIGNAL_RANGES)) signals[name] = weightsFor(max);
  return { signals, levels: { self_heal: 4, region_failover: 8, dr_failover: 11 } };
}

/** Fills a partial weight entry from the defaults for that range. */
export function completeWeights(
  partial: Partial<SignalWeights> & { range?: [number, number] },
  name: string,
): SignalWeights {
  const base = DEFAULT_SIGNAL_RANGES[name as ScoredSignalName];
  const range = partial.range ?? [0, base ?? 3];
  const defaults = weightsFor(range[1]);
  return {
    range,
    ok: partial.ok ?? Math.max(range[0], defaults.ok),
    degraded: partial.degraded ?? Math.min(range[1], Math.max(range[0], defaults.degraded)),
    error: partial.error ?? range[1],
    unknown: partial.unknown ?? Math.max(range[0], defaults.unknown),
  };
}

export const WEIGHT_STATUSES: readonly SignalStatus[] = ['ok', 'degraded', 'error', 'unknown'];

export function levelFor(score: number, levels: LevelThresholds): Level {
  if (score >= levels.dr_failover) return 'dr_failover';
  if (score >= levels.region_failover) return 'region_failover';
  if (score >= levels.self_heal) return 'self_heal';
  return 'none';
}
