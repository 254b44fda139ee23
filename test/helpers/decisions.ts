import type { Decision, SignalSnapshot } from '../../src/core/index.js';

/** A decision as the controller hands it to its sink: an AWS outage (escalate: held back), or `none` once it clears. */
export function outageDecision(action: Decision['action'], at: number): Decision {
  return {
    at,
    action,
    score: action === 'none' ? 1 : 12,
    level: action === 'none' ? 'none' : 'dr_failover',
    category: action === 'none' ? 'unknown' : 'aws_infrastructure',
    confidence: 'high',
    reason: action === 'none' ? 'signals back to normal' : 'us-east-1 is failing',
    blocked_by: action === 'escalate' ? ['approval required'] : [],
  };
}

/** Every default signal within its normal range: the healthy cycles before a failure. */
export const HEALTHY_SIGNALS: SignalSnapshot = {
  internal_services: { status: 'ok', healthy: 10, total: 10 },
  external_uptime: { status: 'ok', up: 3, total: 3 },
  cross_cloud: { status: 'ok' },
  db_replication_lag: { status: 'ok', seconds: 0.5 },
  eks_nodes: { status: 'ok', ready: 9, total: 9 },
  aws_cross_region: { status: 'ok' },
  dr_site: { status: 'ok', up: 3, total: 3 },
};
