import type { EvidenceItem, Topology } from '../../../core/index.js';
import { item } from '../explanation.js';
import type { Features } from '../features.js';

export interface Readiness {
  ready: boolean;
  reasons: string[];
  evidence: EvidenceItem[];
}

/**
 * DR readiness: whether moving to the DR site would help and is safe right now. The DR site must serve (seen
 * from outside the primary), its cloud must report nothing that touches it, and the replica must be within the
 * RPO budget. Where the primary is unreachable, the replica holds what it had when the failure began.
 */
export function drReadiness(f: Features, topology: Topology, primaryUnreachable: boolean): Readiness {
  const reasons: string[] = [];
  const evidence: EvidenceItem[] = [];
  const no = (reason: string, e: EvidenceItem): void => {
    reasons.push(reason);
    evidence.push(e);
  };
  if (f.drSite.present) {
    if (f.drSite.status === 'error' || (f.drSite.status === 'degraded' && f.drIncidents.length > 0))
      no(
        `the DR site fails from outside (dr_site ${f.drSite.status})`,
        item('signal:dr_site', f.drSite.status, -4, 'the DR site itself cannot serve'),
      );
  } else if (f.crossCloud.status === 'error') {
    no(
      'the DR site is unreachable from the primary and no outside view of it (dr_site) confirms it is healthy',
      item('signal:cross_cloud', 'error', -2, 'the DR site does not answer and its health is unconfirmed'),
    );
  }
  const incident = f.drIncidents[0];
  if (incident)
    no(
      `the DR cloud reports a ${incident.impact} incident: ${incident.name}`,
      item(
        'context:azure_status',
        incident.name,
        -4,
        'the DR cloud has an open incident touching the DR site',
      ),
    );
  const budget = topology.dr.rpo_budget_s;
  const behind = f.db.dataBehind ?? (primaryUnreachable ? f.db.preOnsetLag : f.db.seconds) ?? f.db.seconds;
  if (budget !== undefined && behind !== undefined && behind > budget)
    no(
      `the DR replica is ${behind}s behind, over the RPO budget of ${budget}s`,
      item(
        'signal:db_replication_lag',
        `${behind}s behind`,
        -3,
        'failing over now would lose more data than the RPO budget allows',
      ),
    );
  return { ready: reasons.length === 0, reasons, evidence };
}
