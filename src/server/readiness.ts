import type { CycleRecord, DrReadiness } from './ports.js';

/**
 * DR readiness for one cycle. The analysis's verdict (site health, replication
 * lag against the RPO budget, shared edge) is the full one; on quiet cycles the
 * analyzer does not run, and the `dr_site` signal, measured from outside the
 * primary, is what is known.
 */
export function drReadiness(record: CycleRecord | undefined): DrReadiness {
  if (!record) return { ready: false, reasons: ['no cycle has run yet'], source: 'unknown' };
  // The cycle probed the serving site; the site that would take over is the other one (probes.sites).
  const standby: DrReadiness['standby'] = record.site && record.site !== 'primary' ? 'primary' : 'dr';
  // Said only when the cycle knew the serving site (a controller with a site state).
  const which = record.site ? { standby } : {};
  const about = (reasons: string[]) =>
    standby === 'dr'
      ? reasons
      : [`${record.site} serves; this is the old primary's readiness to take traffic back`, ...reasons];
  const verdict = record.analysis?.dr_ready;
  if (verdict) return { ready: verdict.ready, reasons: about(verdict.reasons), source: 'analysis', ...which };
  const site = record.signals.dr_site;
  if (site && site.status !== 'unknown') {
    const detail = typeof site.detail === 'string' && site.detail ? `: ${site.detail}` : '';
    return {
      ready: site.status === 'ok',
      reasons: about([`dr_site is ${site.status}${detail}`]),
      source: 'signal',
      ...which,
    };
  }
  return {
    ready: false,
    reasons: about(['no dr_site signal and no analysis this cycle']),
    source: 'unknown',
    ...which,
  };
}
