import type { ImpactAssessment, Signal, SignalSnapshot, VantageResult } from '../../core/index.js';
import type { AnalysisInput, CycleObservation } from '../analyzer.js';
import { isBad, num } from './signal-views.js';

/**
 * The impact assessment beside the score: what users lose, read from the facts that see the site from outside
 * (FORMAT v1.1's `external_uptime.vantages` first, then the vantage counts) and from what the origin serves
 * (request rate against its healthy baseline, error rate). The score measures symptoms our probes report; this
 * measures users. A probe that could not run says nothing about users: `unknown`, never "served".
 */

/** Share of the healthy request rate under which traffic has collapsed: users no longer get through. */
const COLLAPSED_TRAFFIC = 0.2;
/** Error share at which nearly every request fails although requests still arrive. */
const NEARLY_ALL_ERRORS = 0.9;
/** Error share that, with collapsed traffic, means the few requests that arrive fail too. */
const MOSTLY_ERRORS = 0.5;

interface Vantages {
  known: boolean;
  down: number;
  total: number;
}

/** Outside vantage points: each named vantage is its own failure domain; duplicates of one name count once. */
function vantagesOf(signal: Signal | undefined): Vantages {
  if (!signal || signal.status === 'unknown') return { known: false, down: 0, total: 0 };
  const list = Array.isArray(signal.vantages) ? (signal.vantages as VantageResult[]) : undefined;
  if (list && list.length > 0) {
    const byName = new Map<string, boolean>();
    for (const v of list) byName.set(String(v.name), (byName.get(String(v.name)) ?? true) && v.up === true);
    const total = byName.size;
    return { known: true, down: [...byName.values()].filter((up) => !up).length, total };
  }
  const total = num(signal, 'total');
  const up = num(signal, 'up');
  if (total !== undefined && up !== undefined) return { known: true, down: Math.max(0, total - up), total };
  // A status with no counts: down or up as one vantage, not a quorum of independent ones.
  return { known: true, down: isBad(signal.status) ? 1 : 0, total: 1 };
}

/** Every outside vantage point, in at least two independent failure domains, fails (a quarter may answer). */
export function vantageQuorumDown(signals: SignalSnapshot): boolean {
  const v = vantagesOf(signals.external_uptime);
  return v.known && v.total >= 2 && v.down >= 2 && v.down / v.total >= 0.75;
}

/**
 * A cycle counts as impaired when its level calls for any action, or when users everywhere fail whatever the
 * score says (the outside vantage quorum is down: the insides may look green because nothing reaches them).
 */
export function isImpaired(observation: Pick<CycleObservation, 'level' | 'signals'>): boolean {
  return observation.level !== 'none' || vantageQuorumDown(observation.signals);
}

type Metrics = Record<string, number> | undefined;

/** One cycle's loss, with the facts that say so. */
function lossOf(
  signals: SignalSnapshot,
  metrics: Metrics,
  base: Metrics,
): { users: ImpactAssessment['users']; basis: string[] } {
  const v = vantagesOf(signals.external_uptime);
  const errorRate = metrics?.error_rate;
  const rate = metrics?.request_rate;
  const baseRate = base?.request_rate;
  const ratio = rate !== undefined && baseRate ? rate / baseRate : undefined;
  const collapsed = ratio !== undefined && ratio <= COLLAPSED_TRAFFIC;
  const basis: string[] = [];
  if (v.known) basis.push(`${v.down} of ${v.total} outside vantage points fail`);
  if (ratio !== undefined) basis.push(`request rate at ${Math.round(ratio * 100)}% of its healthy level`);
  if (errorRate !== undefined) basis.push(`${Math.round(errorRate * 100)}% of requests fail`);
  if (errorRate !== undefined && errorRate >= NEARLY_ALL_ERRORS) return { users: 'total', basis };
  if (vantageQuorumDown(signals)) {
    // Traffic and errors at their healthy levels contradict the vantage points: someone is served.
    const servedByMetrics =
      ratio !== undefined && ratio >= 0.7 && (errorRate === undefined || errorRate < MOSTLY_ERRORS);
    return { users: servedByMetrics ? 'partial' : 'total', basis };
  }
  if (!v.known) {
    if (collapsed && errorRate !== undefined && errorRate >= MOSTLY_ERRORS) return { users: 'total', basis };
    return { users: collapsed || (errorRate ?? 0) >= MOSTLY_ERRORS ? 'partial' : 'unknown', basis };
  }
  return { users: v.down > 0 || collapsed ? 'partial' : 'none', basis };
}

/** Live cycles drift by their jitter: a window of exactly N intervals must not need N + 1 cycles. */
export function heldFor(input: Pick<AnalysisInput, 'now' | 'interval_s'>, since: number): number {
  return input.now - since + 0.1 * input.interval_s;
}

/** What users lose now, and since when the loss has been total, walking the history back from now. */
export function assessImpact(input: AnalysisInput): ImpactAssessment {
  const base = input.baseline?.metrics;
  const now = lossOf(input.signals, input.context?.metrics, base);
  if (now.users !== 'total') return { users: now.users, held_s: 0, basis: now.basis };
  let since = input.now;
  for (let i = input.history.length - 1; i >= 0; i--) {
    const h = input.history[i];
    if (h.at >= input.now) continue;
    if (lossOf(h.signals, h.metrics, base).users !== 'total') break;
    since = h.at;
  }
  return { users: 'total', total_since: since, held_s: heldFor(input, since), basis: now.basis };
}
