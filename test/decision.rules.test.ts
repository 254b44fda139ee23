import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeEvidence } from '../src/analysis/evidence/index.js';
import type { AnalysisInput, CycleObservation } from '../src/analysis/index.js';
import { defaultConfig } from '../src/config/index.js';
import { DEFAULT_TOPOLOGY, type IncidentContext, type SignalSnapshot } from '../src/core/index.js';
import { scoreSnapshot } from '../src/scoring/index.js';
import { HEALTHY_SIGNALS } from './helpers/decisions.js';

const config = defaultConfig();
const HEALTHY = HEALTHY_SIGNALS;

/** Analyses a failure that began at `onset` and is still in force at `now`, after healthy cycles every 30 s. */
function analyse(failing: SignalSnapshot, context: IncidentContext, onset = 300, now = 420) {
  const history: CycleObservation[] = [];
  for (let at = 0; at <= now; at += 30) {
    const signals = at < onset ? HEALTHY : { ...HEALTHY, ...failing };
    const score = scoreSnapshot(signals, config.scoring);
    history.push({ at, signals, score: score.score, level: score.level, metrics: context.metrics });
  }
  const signals = { ...HEALTHY, ...failing };
  const input: AnalysisInput = {
    now,
    signals,
    context,
    topology: structuredClone(DEFAULT_TOPOLOGY),
    score: scoreSnapshot(signals, config.scoring),
    history,
    decision: config.decision,
    interval_s: 30,
  };
  return analyzeEvidence(input);
}

test('an empty cluster (0 of 0 nodes) is never read as "every node is Ready"', () => {
  const analysis = analyse(
    {
      internal_services: { status: 'error', healthy: 0, total: 10 },
      external_uptime: { status: 'error', up: 0, total: 3 },
      eks_nodes: { status: 'error', ready: 0, total: 0, detail: 'the cluster lists no nodes' },
    },
    { metrics: { error_rate: 0.9, request_rate: 300 } },
  );
  const says = analysis.evidence.map((e) => e.says).join(' | ');
  assert.doesNotMatch(says, /every node is Ready/);
  assert.notEqual(analysis.root_cause_category, 'internal_application');
});

test('a change that disables something is a change of ours, not a rollback', () => {
  const analysis = analyse(
    {
      internal_services: { status: 'error', healthy: 4, total: 10 },
      external_uptime: { status: 'error', up: 0, total: 3 },
    },
    {
      metrics: { error_rate: 0.6, request_rate: 900 },
      changes: [
        {
          at: 240,
          kind: 'config',
          service: 'payments',
          description: 'disabled TLS verification for the card network client',
        },
      ],
    },
  );
  assert.ok(
    analysis.evidence.some((e) => e.source === 'context:changes' && e.weight < 0),
    'the change counts against AWS as a change of ours',
  );
});

test('a recorded revert is a rollback whatever its wording', () => {
  const failing: SignalSnapshot = {
    internal_services: { status: 'error', healthy: 2, total: 10 },
    external_uptime: { status: 'error', up: 0, total: 3 },
    eks_nodes: { status: 'error', ready: 2, total: 9 },
    aws_cross_region: { status: 'error' },
  };
  const analysis = analyse(
    failing,
    {
      metrics: { error_rate: 0.95, request_rate: 200 },
      changes: [
        { at: 240, kind: 'deploy', service: 'api', description: 'api v2.14.0' },
        { at: 330, kind: 'deploy', service: 'api', description: 'api v2.13.9 (previous release) redeployed' },
      ],
    },
    300,
    600,
  );
  assert.ok(analysis.evidence.some((e) => /rolled back/.test(e.says)));
});

test('cross-region calls refused with an access-denial code are answered calls, not a cloud failure', () => {
  const analysis = analyse(
    {
      internal_services: { status: 'error', healthy: 3, total: 10 },
      external_uptime: { status: 'error', up: 0, total: 3 },
      aws_cross_region: {
        status: 'error',
        checks: [{ from: 'us-west-2', service: 'ec2', ok: 0, total: 6, error: 'UnauthorizedOperation' }],
      },
    },
    { metrics: { error_rate: 0.8, request_rate: 700 } },
  );
  assert.ok(!analysis.evidence.some((e) => e.source === 'signal:aws_cross_region' && e.weight > 0));
  assert.notEqual(analysis.recommended_action, 'trigger_dr');
});

test('per-zone node counts win over prose that names every zone', () => {
  const failing: SignalSnapshot = {
    internal_services: { status: 'error', healthy: 6, total: 10 },
    external_uptime: { status: 'degraded', up: 2, total: 3 },
    eks_nodes: {
      status: 'error',
      ready: 6,
      total: 9,
      detail: 'nodes NotReady across all AZs',
      zones: {
        'use1-az1': { ready: 0, total: 3 },
        'use1-az2': { ready: 3, total: 3 },
        'use1-az6': { ready: 3, total: 3 },
      },
    },
    aws_cross_region: { status: 'degraded' },
  };
  const analysis = analyse(failing, { metrics: { error_rate: 0.2, request_rate: 900 } });
  assert.match(analysis.root_cause, /one Availability Zone/);
});

test('outside vantage points given only as structured results still make a quorum', () => {
  const down = {
    status: 'error' as const,
    vantages: [1, 2, 3, 4].map((i) => ({ name: `v${i}`, up: i === 1 })),
  };
  const analysis = analyse(
    {
      internal_services: { status: 'ok', healthy: 10, total: 10 },
      external_uptime: down,
      eks_nodes: { status: 'ok', ready: 9, total: 9 },
    },
    { metrics: { error_rate: 0.004, request_rate: 300 }, cloudflare: { available: false } },
  );
  // One of four vantage points up is "down everywhere": the primary does not count as serving.
  assert.doesNotMatch(analysis.reasoning, /public endpoint answers everywhere/);
});

test('the Kubernetes probe’s own "N/T nodes not Ready" wording gives the counts where they are missing', () => {
  const analysis = analyse(
    {
      internal_services: { status: 'error', healthy: 1, total: 10 },
      external_uptime: { status: 'error', up: 0, total: 3 },
      eks_nodes: {
        status: 'error',
        detail: '8/9 nodes not Ready: ip-10-1-2-3.ec2.internal, ip-10-1-2-4.ec2.internal',
      },
      aws_cross_region: { status: 'error' },
    },
    { metrics: { error_rate: 0.97, request_rate: 100 } },
  );
  assert.ok(analysis.evidence.some((e) => e.source === 'signal:eks_nodes' && e.item === '89% NotReady'));
});
