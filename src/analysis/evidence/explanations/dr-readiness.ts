import type { EvidenceItem } from '../../../core/index.js';
import { item } from '../explanation.js';
import type { Features } from '../features.js';
import { cloudName } from '../sites.js';

export interface Readiness {
  ready: boolean;
  reasons: string[];
  evidence: EvidenceItem[];
}

/** What the standby's cloud reports about it: status-page incidents, and AWS Health issues where it runs. */
function reportedTrouble(f: Features): Array<{ source: string; what: string; says: string }> {
  return [
    ...f.standbyIncidents.map(({ source, incident }) => ({
      source,
      what: incident.name,
      says: `a ${incident.impact} incident: ${incident.name}`,
    })),
    ...f.health.standbyIssues.map((e) => ({
      source: 'context:aws_health',
      what: e.eventTypeCode,
      says: `an open ${e.service} issue in ${e.region} (${e.eventTypeCode})`,
    })),
  ];
}

/**
 * Readiness of the standby (the site that would take over: DR while the primary serves, the old primary while
 * another site serves): whether moving to it would help and is safe right now. It must serve (seen from outside
 * the serving site), its cloud must report nothing that touches it, and the replica must be within its RPO
 * budget. Where the serving site is unreachable, the replica holds what it had when the failure began.
 */
export function drReadiness(f: Features, servingUnreachable: boolean): Readiness {
  const reasons: string[] = [];
  const evidence: EvidenceItem[] = [];
  const no = (reason: string, e: EvidenceItem): void => {
    reasons.push(reason);
    evidence.push(e);
  };
  const { standby, standbyName, standbySite } = f.sites;
  const trouble = reportedTrouble(f);
  if (f.drSite.present) {
    if (f.drSite.status === 'error' || (f.drSite.status === 'degraded' && trouble.length > 0))
      no(
        `${standbyName} fails from outside (dr_site ${f.drSite.status})`,
        item('signal:dr_site', f.drSite.status, -4, `${standbyName} itself cannot serve`),
      );
  } else if (f.crossCloud.status === 'error') {
    const from = standby === 'dr' ? 'the primary' : 'the serving site';
    no(
      `${standbyName} is unreachable from ${from} and no outside view of it (dr_site) confirms it is healthy`,
      item('signal:cross_cloud', 'error', -2, `${standbyName} does not answer and its health is unconfirmed`),
    );
  }
  const reported = trouble[0];
  const standbyCloud = standby === 'dr' ? 'the DR cloud' : cloudName(standbySite);
  if (reported)
    no(
      `${standbyCloud} reports ${reported.says}`,
      item(
        reported.source,
        reported.what,
        -4,
        `${standbyCloud} has an open incident touching ${standbyName}`,
      ),
    );
  const budget = standbySite.rpo_budget_s;
  const behind = f.db.dataBehind ?? (servingUnreachable ? f.db.preOnsetLag : f.db.seconds) ?? f.db.seconds;
  const replica = standby === 'dr' ? 'the DR replica' : `the replica at ${standbyName}`;
  if (budget !== undefined && behind !== undefined && behind > budget)
    no(
      `${replica} is ${behind}s behind, over the RPO budget of ${budget}s`,
      item(
        'signal:db_replication_lag',
        `${behind}s behind`,
        -3,
        'failing over now would lose more data than the RPO budget allows',
      ),
    );
  return { ready: reasons.length === 0, reasons, evidence };
}
