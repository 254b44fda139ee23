import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvidenceAnalyzer } from '../src/analysis/evidence/index.js';
import { defaultConfig } from '../src/config/index.js';
import type { Analysis, Decision, IncidentContext, SignalSnapshot } from '../src/core/index.js';
import { DecisionEngine, type SiteInput } from '../src/decision/index.js';
import { HEALTHY_SIGNALS } from './helpers/decisions.js';

// Which cloud is "the cloud" the evidence blames depends on which site serves users: the site state
// (CycleInput.site) and the topology (primary: AWS us-east-1, DR: Azure eastus2) say so, not the wording.
// The probes that follow the serving site ({{active.<key>}} in probes.sites, as the loader records them): the
// app checks, users' view and the cluster. dr_site and cross_cloud name the standby; replication names both.
const config = {
  ...defaultConfig(),
  serving_signals: ['internal_services', 'external_uptime', 'eks_nodes'],
};
const DR_SERVES: SiteInput = { active_site: 'dr', state: 'dr_active' };
const PRIMARY_SERVES: SiteInput = { active_site: 'primary', state: 'primary_active' };

const HEALTHY = HEALTHY_SIGNALS;

/** The serving site's own probes fail: its cluster loses nodes, users everywhere fail, nothing of ours changed. */
const SERVING_SITE_DOWN: SignalSnapshot = {
  ...HEALTHY,
  internal_services: { status: 'error', healthy: 1, total: 10 },
  external_uptime: { status: 'error', up: 0, total: 3 },
  eks_nodes: { status: 'error', ready: 3, total: 9 },
};

/** The serving site answers everywhere; only the standby (the site that would take over) fails. */
const STANDBY_DOWN: SignalSnapshot = {
  ...HEALTHY,
  dr_site: { status: 'error', up: 0, total: 3 },
  cross_cloud: { status: 'error' },
};

const AZURE_EASTUS2_INCIDENT: IncidentContext = {
  azure_status: {
    available: true,
    incidents: [
      {
        name: 'Virtual Machines and AKS - East US 2 - connectivity issues',
        status: 'investigating',
        impact: 'major',
        components: ['Virtual Machines', 'Azure Kubernetes Service'],
      },
    ],
  },
  aws_health: { available: true, events: [] },
};

const AWS_USEAST1_ISSUE: IncidentContext = {
  aws_health: {
    available: true,
    events: [
      {
        service: 'EC2',
        region: 'us-east-1',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        statusCode: 'open',
        startTime: 1_000,
      },
    ],
  },
  azure_status: { available: true, incidents: [] },
};

/**
 * Ten healthy cycles, then `failing` until it has lasted twenty minutes; the last cycle's analysis. Users see
 * errors (`error_rate`) when the serving site fails, not when only the standby does.
 */
async function analyse(
  site: SiteInput,
  failing: SignalSnapshot,
  context: IncidentContext,
  using: typeof config = config,
): Promise<Analysis & { decision: Decision }> {
  const usersFail = failing.external_uptime?.status !== 'ok';
  const engine = new DecisionEngine(using, new EvidenceAnalyzer());
  let last: Analysis | undefined;
  let decision: Decision | undefined;
  for (let i = 0; i < 50; i++) {
    const now = 1_000 + i * 30;
    const result = await engine.cycle({
      now,
      signals: i < 10 ? HEALTHY : failing,
      context: {
        ...(i < 10 ? {} : context),
        metrics: { error_rate: i >= 10 && usersFail ? 0.9 : 0.01, request_rate: 500 },
      },
      site,
    });
    last = result.analysis;
    decision = result.decision;
  }
  assert.ok(last && decision, 'the last cycle was analysed');
  return { ...last, decision };
}

const blames = (a: Analysis, source: string) => a.evidence.some((e) => e.source === source && e.weight > 0);

test('while DR serves, an Azure status incident at the DR region is a cloud fault of the serving site', async () => {
  const analysis = await analyse(DR_SERVES, SERVING_SITE_DOWN, AZURE_EASTUS2_INCIDENT);
  assert.equal(analysis.root_cause_category, 'azure_infrastructure', analysis.reasoning);
  assert.ok(blames(analysis, 'context:azure_status'), 'the Azure incident weighs for the serving cloud');
  assert.match(analysis.root_cause, /azure/i);
  assert.doesNotMatch(analysis.root_cause, /\bAWS\b/);
  // It is the serving site's cloud failing, not a reason the site that would take over is not ready.
  assert.ok(!(analysis.dr_ready?.reasons ?? []).some((r) => /DR cloud reports/.test(r)));
});

test('while DR serves, an AWS Health issue in the old primary region is no cloud fault of the serving site', async () => {
  const analysis = await analyse(DR_SERVES, SERVING_SITE_DOWN, AWS_USEAST1_ISSUE);
  assert.ok(!blames(analysis, 'context:aws_health'), 'AWS Health does not weigh for the serving site');
  assert.notEqual(analysis.root_cause_category, 'aws_infrastructure', analysis.reasoning);
  assert.doesNotMatch(analysis.reasoning, /AWS Health reports/);
});

test('while DR serves and answers, a failing old primary with an AWS issue is no fault of the serving site', async () => {
  // The old primary's probes (dr_site, cross_cloud name the standby) are recorded, not scored: it is the site
  // to fence and reprotect, watched by the fence watch and failback readiness, not a reason to act on DR.
  const analysis = await analyse(DR_SERVES, STANDBY_DOWN, AWS_USEAST1_ISSUE);
  assert.equal(analysis.recommended_action, 'none');
  assert.notEqual(analysis.root_cause_category, 'azure_infrastructure', analysis.reasoning);
  assert.ok(!blames(analysis, 'context:aws_health'), 'AWS Health does not weigh for the serving site');
  assert.doesNotMatch(analysis.root_cause, /DR site/);
});

test('while the primary serves, the same facts keep their meaning: AWS Health blames the serving cloud, Azure is DR', async () => {
  const aws = await analyse(PRIMARY_SERVES, SERVING_SITE_DOWN, AWS_USEAST1_ISSUE);
  assert.equal(aws.root_cause_category, 'aws_infrastructure');
  assert.ok(blames(aws, 'context:aws_health'));
  const azure = await analyse(PRIMARY_SERVES, SERVING_SITE_DOWN, AZURE_EASTUS2_INCIDENT);
  assert.ok(!blames(azure, 'context:azure_status'));
  assert.ok(
    (azure.dr_ready?.reasons ?? []).some((r) => /DR cloud reports/.test(r)),
    azure.reasoning,
  );
  const standby = await analyse(PRIMARY_SERVES, STANDBY_DOWN, AZURE_EASTUS2_INCIDENT);
  assert.equal(standby.root_cause_category, 'azure_infrastructure');
});

test('while DR serves and its own cloud fails, the analysis escalates: there is no further site to fail over to, and the reason names the serving site', async () => {
  // The topology declares the primary and DR only; the primary is the site traffic left (fenced, to reprotect):
  // moving back is the way back (reprotect, failback), a person's call, never a failover the analyzer recommends.
  const analysis = await analyse(DR_SERVES, SERVING_SITE_DOWN, AZURE_EASTUS2_INCIDENT);
  assert.equal(analysis.recommended_action, 'escalate', analysis.reasoning);
  assert.equal(analysis.root_cause_category, 'azure_infrastructure', 'the cause is still said as it is');
  assert.match(analysis.reasoning, /no further site/);
  assert.match(analysis.reasoning, /\bdr\b.*Azure eastus2/);
  assert.equal(analysis.decision.action, 'escalate', analysis.decision.reason);
  assert.match(analysis.decision.reason, /no further site/);
});

test('while DR serves and the topology declares a secondary region, the analysis recommends the failover to it and says what is not known of it; the policy holds it for a person', async () => {
  const withSecondary = {
    ...config,
    topology: { ...config.topology, secondary: { cloud: 'aws', region: 'us-west-2' } },
  };
  const analysis = await analyse(DR_SERVES, SERVING_SITE_DOWN, AZURE_EASTUS2_INCIDENT, withSecondary);
  assert.equal(analysis.recommended_action, 'region_failover', analysis.reasoning);
  assert.match(analysis.reasoning, /secondary region \(AWS us-west-2\)/);
  // No probe that reaches the analyzer while DR serves describes the secondary region: not shown ready.
  assert.equal(analysis.dr_ready?.ready, false, JSON.stringify(analysis.dr_ready));
  assert.equal(analysis.decision.action, 'escalate');
  assert.ok(
    analysis.decision.blocked_by.some((b) => /dr serves \(site state dr_active\)/.test(b)),
    analysis.decision.blocked_by.join('; '),
  );
});
