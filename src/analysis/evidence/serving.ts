import type { RootCauseCategory } from '../../core/index.js';
import type { AnalysisInput } from '../analyzer.js';
import { errorRateNormal, item, type Finding } from './explanation.js';
import type { Features } from './features.js';
import { isBad } from './signal-views.js';

/** What to conclude when the primary still serves its users: whatever fails is no reason to move them. */
export interface ServingVerdict extends Finding {
  action: 'none' | 'self_heal';
  reasoning: string;
}

/** The primary serves: every outside vantage point reaches it with a normal error rate (or, without vantage
 * points, traffic and errors are normal while our own internal checks fail). */
export function primaryServing(f: Features): boolean {
  const traffic = f.metrics.trafficRatio;
  const metricsNormal =
    f.metrics.errorRate !== undefined &&
    errorRateNormal(f) &&
    traffic !== undefined &&
    traffic >= 0.7 &&
    traffic <= 1.5;
  return (
    (f.external.present && f.external.allUp && errorRateNormal(f)) ||
    (!f.external.present && metricsNormal && (f.internal.failingShare ?? 0) >= 0.8)
  );
}

function verdict(
  category: RootCauseCategory,
  action: 'none' | 'self_heal',
  root_cause: string,
  reasoning: string,
  evidence: Finding['evidence'],
): ServingVerdict {
  return { category, action, strength: 0, root_cause, reasoning, evidence };
}

/** Our monitoring, the DR side, or a partial internal failure, while users are served. */
export function whileServing(f: Features, input: AnalysisInput): ServingVerdict {
  const serving = item(
    'signal:external_uptime',
    'ok',
    -5,
    'every outside vantage point reaches the public endpoint and the error rate is normal',
  );
  // A probe that could not run (unknown) from our prober is as much the prober's trouble as one that failed.
  const proberWide =
    [f.internal.status, f.nodes.status, f.crossRegion.status].filter((s) => s === 'error' || s === 'unknown')
      .length >= 2;
  if (proberWide)
    return verdict(
      'monitoring_fault',
      'none',
      'our prober cannot reach what it checks; the system itself serves normally',
      'Probes from our own prober fail together while every external vantage point reaches the site and traffic and error rates are normal: the observer is partitioned, not the system. Fix the prober; do not fail over.',
      [
        serving,
        item(
          'signal:internal_services',
          f.internal.status,
          -3,
          'only probes that originate from our prober fail',
        ),
      ],
    );
  const standbyTrouble = f.standbyIncidents.length > 0 || f.health.standbyIssues.length > 0;
  if (isBad(f.drSite.status) || isBad(f.crossCloud.status) || standbyTrouble) {
    // The failing part is the site that would take over, on its own cloud: DR while the primary serves, the
    // old primary while another site serves.
    const { standby, standbyName, standbyCategory } = f.sites;
    if (standby === 'dr')
      return verdict(
        standbyCategory,
        'none',
        'the DR site or the path to it is impaired; the primary is healthy',
        'The primary serves users normally; only the DR site or the path to it fails. There is nothing to fail over from. DR readiness is reduced.',
        [serving, item('signal:dr_site', f.drSite.status, -3, 'the failing part is on the DR side')],
      );
    return verdict(
      standbyCategory,
      'none',
      `${standbyName} or the path to it is impaired; the serving site is healthy`,
      `The serving site (${f.sites.serving}) serves users normally; only ${standbyName} or the path to it fails: the way back (reprotect, failback) waits until it is healthy.`,
      [serving, item('signal:dr_site', f.drSite.status, -3, `the failing part is ${standbyName}`)],
    );
  }
  return verdict(
    'unknown',
    input.score.level === 'none' ? 'none' : 'self_heal',
    'a partial internal failure; the public endpoint is healthy',
    'The public endpoint answers everywhere and the error rate is normal; some internal checks fail. Self-healing (restarting the failing workloads) is enough.',
    [serving],
  );
}
