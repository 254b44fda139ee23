import type { ImpactAssessment, SignalSnapshot } from '../../core/index.js';
import type { AnalysisInput } from '../analyzer.js';
import { crossRegionView, isBad } from './signal-views.js';

/**
 * Unknown is not ok: a probe that could not run or timed out is evidence of its own kind, and where the probe
 * runs decides what kind. The probes whose agents run inside the primary region (our internal checks, the
 * Kubernetes API, the path to the DR site) go silent with the region; probes outside it (vantage points,
 * cross-region API checks, the DR site's view) go on answering. So a silent inside probe while the outside
 * sees the region failing is the region's failure, and its last reading in this run stands; a silent inside
 * probe while the outside sees users served is our observer's isolation.
 */

/** Signals whose probe runs from inside the primary region. */
export const INSIDE_PROBES = ['internal_services', 'eks_nodes', 'cross_cloud'] as const;

export interface Blindness {
  /** Inside probes that report `unknown` this cycle. */
  inside: string[];
  /** Of those, the ones whose last failing reading in this run stands in for them. */
  carried: string[];
  /** The outside (vantage quorum, cross-region checks) sees the primary region failing. */
  regionFailing: boolean;
}

/** The snapshot the explanations read: silent inside probes keep their last failing reading while the region fails. */
export function readUnknowns(
  input: AnalysisInput,
  onset: number | undefined,
  impact: ImpactAssessment,
): { signals: SignalSnapshot; blind: Blindness } {
  const inside = INSIDE_PROBES.filter((name) => input.signals[name]?.status === 'unknown');
  const regionFailing = impact.users === 'total' || isBad(crossRegionView(input, onset).status);
  const signals = { ...input.signals };
  const carried: string[] = [];
  if (regionFailing && onset !== undefined) {
    for (const name of inside) {
      const last = [...input.history]
        .reverse()
        .find((h) => h.at >= onset && h.at < input.now && h.signals[name]?.status !== 'unknown');
      const reading = last?.signals[name];
      if (!reading || !isBad(reading.status)) continue;
      signals[name] = {
        ...reading,
        detail: `${reading.detail ?? ''} (last reading; the probe is silent now)`,
      };
      carried.push(name);
    }
  }
  return { signals, blind: { inside: [...inside], carried, regionFailing } };
}
