import type { CycleRecord, DrReadiness } from './ports.js';

/**
 * DR readiness for one cycle. The analysis's verdict (site health, replication
 * lag against the RPO budget, shared edge) is the full one; on quiet cycles the
 * analyzer does not run, and the `dr_site` signal, measured from outside the
 * primary, is what is known.
 */
export function drReadiness(record: CycleRecord | undefined): DrReadiness {
  if (!record) return { ready: false, reasons: ['no cycle has run yet'], source: 'unknown' };
  const verdict = record.analysis?.dr_ready;
  if (verdict) return { ready: verdict.ready, reasons: verdict.reasons, source: 'analysis' };
  const site = record.signals.dr_site;
  if (site && site.status !== 'unknown') {
    const detail = typeof site.detail === 'string' && site.detail ? `: ${site.detail}` : '';
    return {
      ready: site.status === 'ok',
      reasons: [`dr_site is ${site.status}${detail}`],
      source: 'signal',
    };
  }
  return { ready: false, reasons: ['no dr_site signal and no analysis this cycle'], source: 'unknown' };
}
