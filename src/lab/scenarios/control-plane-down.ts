import { dnsAdapter } from '../../actions/dns/dns.js';
import type { DrillSession } from '../drill-session.js';
import { FailoverRecordPair, HealthGlobalName } from '../../stand-ins/aws/dns.js';
import { fakeArcEndpoint, type FakeArcEndpoint, type RoutingControlState } from '../../stand-ins/aws/arc.js';
import { FakeAwsHealthServer } from '../../stand-ins/aws/health.js';
import { FakeRoute53 } from '../../stand-ins/aws/route53.js';
import type { Progress } from '../lab.js';
import { LAB_AWS_ACCESS_KEY_ID, LAB_AWS_SECRET_ACCESS_KEY, LAB_DNS_TTL_S } from '../names.js';
import type { LabState } from '../state.js';
import { ec2IssueEvent, regionalOutage } from './regional-outage.js';
import type { DrillScenarioModule, ScenarioStage } from './types.js';

const CONTROL_PANEL = 'arn:aws:route53-recovery-control::111122223333:controlpanel/lab/routingcontrol';
const PRIMARY_CONTROL = `${CONTROL_PANEL}/primary`;
const DR_CONTROL = `${CONTROL_PANEL}/dr`;
/** An ARC cluster has endpoints in five regions; the lab keeps three, the first in the failing region. */
const ARC_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
/** The lab zone's hosted zone in the Route 53 stand-in (its control plane; BIND is its name servers). */
const HOSTED_ZONE_ID = 'Z0LABPHOENIX00001';

interface ControlPlaneStage extends ScenarioStage {
  health: Record<'us-east-1' | 'us-east-2', FakeAwsHealthServer>;
  healthName: HealthGlobalName;
  arc: FakeArcEndpoint[];
  route53: FakeRoute53;
  /** How the Route 53 API answered the last path's pre-flight before the fault. */
  route53BeforeFault: string;
  records: FailoverRecordPair;
  /** Which ARC endpoint took each routing-control change, and when (performance.now()). */
  updatedThrough: Array<{ region: string; at: number }>;
  countsAtOnset?: Record<string, number>;
}

/** The stand-ins each drill of this scenario runs, by lab. */
const stages = new Map<string, ControlPlaneStage>();

/** The control-plane UPSERT: the runbook's last DNS path, after the data plane, allowed to fail. */
function lastPathParams(stage: ControlPlaneStage, state: LabState): Record<string, unknown> {
  return {
    provider: 'route53',
    hosted_zone_id: HOSTED_ZONE_ID,
    endpoint: stage.route53.url,
    access_key_id: LAB_AWS_ACCESS_KEY_ID,
    secret_access_key: LAB_AWS_SECRET_ACCESS_KEY,
    name: `app.${state.zone}`,
    type: 'A',
    value: state.appHost.dr,
    ttl: LAB_DNS_TTL_S,
    poll_interval: 0.2,
  };
}

/**
 * The DNS paths in the documented order: the data plane first (ARC routing controls, which us-east-1's
 * outage leaves working), the Route 53 change API only as its fallback (`only_if_failed`): a simple-record
 * UPSERT where failover records serve the name would be the wrong change, so it runs only when the data
 * plane could not move the traffic. In this outage the data plane works, and the change API, which
 * refuses, is never called.
 */
function dnsStage(stage: ControlPlaneStage, state: LabState): Record<string, unknown> {
  return {
    name: 'dns',
    steps: [
      {
        // The data-plane switch: no Route 53 change-API call, which us-east-1's outage would refuse.
        name: 'routing-controls-to-dr',
        type: 'dns',
        timeout: '15s',
        continue_on_error: true,
        params: {
          provider: 'route53_arc',
          cluster_endpoints: stage.arc.map((e) => ({ endpoint: e.url, region: e.region })),
          routing_controls: [
            { arn: DR_CONTROL, state: 'On' },
            { arn: PRIMARY_CONTROL, state: 'Off' },
          ],
          access_key_id: LAB_AWS_ACCESS_KEY_ID,
          secret_access_key: LAB_AWS_SECRET_ACCESS_KEY,
          name: `app.${state.zone}`,
          ttl: LAB_DNS_TTL_S,
        },
      },
      {
        name: 'route53-change-api-last-path',
        type: 'dns',
        timeout: '10s',
        retries: 0,
        only_if_failed: 'routing-controls-to-dr',
        params: lastPathParams(stage, state),
      },
    ],
  };
}

/**
 * Points the controller's Health source at the active-passive pair, found through the global name on the
 * lab's BIND, and its DNS steps at ARC, then Route 53's change API.
 */
function configure(stage: ControlPlaneStage, state: LabState, config: Record<string, unknown>): void {
  const context = config.context as Record<string, unknown>;
  const { endpoint: _single, region: _signing, ...health } = context.aws_health as Record<string, unknown>;
  context.aws_health = {
    ...health,
    endpoints: { 'us-east-1': stage.health['us-east-1'].url, 'us-east-2': stage.health['us-east-2'].url },
    dns_servers: [`${state.dns!.host}:${state.dns!.port}`],
  };
  const runbook = (config.runbooks as Record<string, { stages: Array<{ name: string }> }>).dr_failover;
  runbook.stages = runbook.stages.map((s) => (s.name === 'dns' ? dnsStage(stage, state) : s)) as Array<{
    name: string;
  }>;
}

/** The Route 53 API before the fault: the last path's pre-flight (GetHostedZone, ListResourceRecordSets). */
async function route53BeforeFault(stage: ControlPlaneStage, state: LabState): Promise<string> {
  const checks = await dnsAdapter.preflight(dnsAdapter.schema.parse(lastPathParams(stage, state)), {
    timeoutMs: 5000,
    env: process.env,
  });
  const failed = checks.filter((c) => !c.ok);
  return failed.length
    ? `refused: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`
    : `answered: ${checks.map((c) => c.check).join(', ')}`;
}

async function prepare(state: LabState, progress: Progress): Promise<ScenarioStage> {
  progress(
    'control-plane stand-ins: AWS Health us-east-1 (active) and us-east-2 (passive) behind global.health.amazonaws.com on BIND, an ARC cluster (us-east-1, us-west-2, eu-west-1), the Route 53 API (us-east-1) with failover records on BIND',
  );
  const controls = new Map<string, RoutingControlState>([
    [PRIMARY_CONTROL, 'On'],
    [DR_CONTROL, 'Off'],
  ]);
  const records = new FailoverRecordPair(state, controls, PRIMARY_CONTROL, DR_CONTROL);
  const updatedThrough: ControlPlaneStage['updatedThrough'] = [];
  const route53 = new FakeRoute53(HOSTED_ZONE_ID, `${state.zone}.`, 0);
  for (const [name, address] of [
    ['app', state.appHost.primary],
    ['primary', state.appHost.primary],
    ['dr', state.appHost.dr],
  ])
    route53.records.set(`${name}.${state.zone}. A`, {
      name: `${name}.${state.zone}.`,
      type: 'A',
      ttl: LAB_DNS_TTL_S,
      values: [address],
    });
  const [east, west, , ...arc] = await Promise.all([
    new FakeAwsHealthServer(LAB_AWS_ACCESS_KEY_ID).start(),
    new FakeAwsHealthServer(LAB_AWS_ACCESS_KEY_ID).start(),
    route53.start(),
    ...ARC_REGIONS.map((region) =>
      fakeArcEndpoint(region, controls, () => {
        updatedThrough.push({ region, at: performance.now() });
        records.follow();
      }),
    ),
  ]);
  const healthName = new HealthGlobalName(state, east as FakeAwsHealthServer);
  // AWS moves the global name once the active region fails (in the lab: at its first refusal).
  (east as FakeAwsHealthServer).onRefused = () => healthName.moveToPassive();
  const stage: ControlPlaneStage = {
    health: { 'us-east-1': east as FakeAwsHealthServer, 'us-east-2': west as FakeAwsHealthServer },
    healthName,
    arc: arc as FakeArcEndpoint[],
    route53,
    route53BeforeFault: '',
    records,
    updatedThrough,
    configure: (config) => configure(stage, state, config),
    close: async () => {
      stages.delete(state.dir);
      await Promise.allSettled([east.close(), west.close(), route53.close(), ...arc.map((e) => e.close())]);
    },
  };
  stages.set(state.dir, stage);
  stage.route53BeforeFault = await route53BeforeFault(stage, state);
  progress(`Route 53 API before the fault: ${stage.route53BeforeFault}`);
  return stage;
}

/** How many requests each stand-in had seen, by name, so the report counts those after the fault. */
function requestCounts(stage: ControlPlaneStage): Record<string, number> {
  return {
    'health us-east-1': stage.health['us-east-1'].requests.length,
    'health us-east-2': stage.health['us-east-2'].requests.length,
    ...Object.fromEntries(stage.arc.map((e) => [`arc ${e.region}`, e.state.targets.length])),
    'route53 ChangeResourceRecordSets': stage.route53.callsOf('ChangeResourceRecordSets').length,
  };
}

/** What became of the change-API path after the fault: refused (how, and after the data plane?) or never called. */
function changeApiFinding(session: DrillSession, stage: ControlPlaneStage): string {
  const calls = stage.route53.callsOf('ChangeResourceRecordSets', session.onset);
  if (calls.length === 0)
    return 'never called: the data plane switched traffic, so the fallback (only_if_failed) was skipped as not needed';
  const refused = calls.filter((c) => c.status >= 400);
  const how = [...new Set(refused.map((c) => `HTTP ${c.status} ${c.code ?? ''}`.trim()))].join(', ');
  const dataPlane = stage.updatedThrough[0]?.at;
  const order =
    dataPlane === undefined
      ? 'with no routing control changed before it'
      : dataPlane <= calls[0].at
        ? `${session.since(calls[0].at)} s after onset, after the data plane had set the routing controls (${session.since(dataPlane)} s)`
        : `${session.since(calls[0].at)} s after onset, BEFORE the data plane set the routing controls (${session.since(dataPlane)} s)`;
  return refused.length === calls.length
    ? `attempted as the fallback ${order}: refused ${calls.length}× (${how})`
    : `attempted as the fallback ${order}: accepted after ${refused.length} refusal(s)`;
}

/** Where Health's global name pointed, and whether the client followed it once it moved. */
function healthNameFinding(session: DrillSession, stage: ControlPlaneStage): string {
  const name = stage.healthName;
  if (name.errors.length) return `not moved: ${name.errors.join('; ')}`;
  if (name.movedAt === undefined) return 'health.us-east-1.amazonaws.com throughout (never moved)';
  const after = stage.health['us-east-1'].requests.length - (name.eastRequestsAtMove ?? 0);
  return `health.us-east-1.amazonaws.com, then health.us-east-2.amazonaws.com from ${session.since(name.movedAt)} s after onset (moved after us-east-1 refused); requests to us-east-1 after the move: ${after}`;
}

function findings(session: DrillSession, stage: ControlPlaneStage) {
  const now = requestCounts(stage);
  const before = stage.countsAtOnset ?? {};
  const since = Object.fromEntries(Object.entries(now).map(([k, n]) => [k, n - (before[k] ?? 0)]));
  const health = session.context.lastReport.find((r) => r.source === 'aws_health');
  const lastSaw = session.after().at(-1)?.record;
  const switchedAt = stage.records.switchedAt;
  return {
    traffic_path: stage.updatedThrough.length
      ? `route53_arc data plane: routing controls set through the ${stage.updatedThrough[0].region} cluster endpoint; failover records answered DR ${switchedAt ? `${session.since(switchedAt)} s after onset` : '(never)'}`
      : 'none: no routing control changed',
    route53_change_api: changeApiFinding(session, stage),
    route53_before_fault: stage.route53BeforeFault,
    health_from: health?.ok
      ? (health.detail ?? 'answered')
      : `unavailable: ${health?.detail ?? 'not gathered'}`,
    health_global_name: healthNameFinding(session, stage),
    requests_after_onset: since,
    data_plane_errors: stage.records.errors,
    last_decision: lastSaw ? `${lastSaw.decision.action} (${lastSaw.decision.category})` : null,
  };
}

/**
 * The primary region is lost and its control planes with it: EC2 answers 503, the active AWS Health
 * endpoint (us-east-1) answers 503 ServiceUnavailable, its ARC cluster endpoint is unavailable, and
 * Route 53's change API (us-east-1) answers 503 ServiceUnavailable. The controller must still fail over,
 * switching traffic through ARC routing controls (Route 53's data plane), with Health read from us-east-2;
 * the change API, the runbook's fallback DNS path, is not needed and never called.
 */
export const controlPlaneDown: DrillScenarioModule = {
  countsLoss: true,
  prepare,
  async inject(session) {
    const stage = stages.get(session.state.dir);
    if (!stage) throw new Error('control-plane-down: the scenario was not prepared');
    stage.countsAtOnset = requestCounts(stage);
    const event = ec2IssueEvent(session.state, Date.now() / 1000);
    // Health replicates its events to the passive region; the active one is impaired with the rest.
    stage.health['us-east-2'].setEvents([event]);
    stage.health['us-east-1'].setEvents([event]);
    stage.health['us-east-1'].setMode('unavailable');
    const east = stage.arc.find((e) => e.region === 'us-east-1')!;
    east.state.down = true;
    stage.route53.setMode('unavailable');
    session.progress(
      'FAULT: us-east-1 control planes refuse (EC2 503, Health us-east-1 503, ARC us-east-1 endpoint unavailable, Route 53 API 503); the primary site is lost',
    );
    await regionalOutage.inject(session);
  },
  async watch(session, limits) {
    const outcome = await regionalOutage.watch(session, limits);
    return { ...outcome, findings: findings(session, stages.get(session.state.dir)!) };
  },
};
