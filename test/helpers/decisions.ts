import type { Decision } from '../../src/core/index.js';

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
