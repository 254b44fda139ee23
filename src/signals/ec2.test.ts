import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/index.js';
import type { CrossRegionCheck, Signal } from '../core/index.js';
import { ec2QueryServer } from '../stand-ins/aws/ec2-query.js';
import { closedPort } from '../../test/helpers/servers.js';
import { createSignalSource, startAgentServer, type AgentServer } from './index.js';

const KEY = 'AKIAPROBE';

/** One collection of the `aws_cross_region` signal configured as `probe`. */
async function collectCrossRegion(probe: Record<string, unknown>): Promise<Signal> {
  const config = parseConfig({
    probes: { timeout: '3s', signals: { aws_cross_region: probe } },
    decision: { analyzer: 'threshold' },
  });
  const source = createSignalSource(config);
  try {
    return (await source.collect(Date.now() / 1000)).aws_cross_region!;
  } finally {
    await source.close();
  }
}

describe('ec2_api against a local EC2 Query API that throttles, denies and fails', () => {
  let ec2: Awaited<ReturnType<typeof ec2QueryServer>>;
  before(async () => {
    ec2 = await ec2QueryServer(KEY, 'us-east-1', [
      { name: 'us-east-1a', id: 'use1-az4', state: 'available' },
      { name: 'us-east-1b', id: 'use1-az6', state: 'available' },
      { name: 'us-east-1c', id: 'use1-az1', state: 'available' },
    ]);
  });
  after(() => ec2?.close());

  const probe = (extra: Record<string, unknown> = {}): Promise<Signal> =>
    collectCrossRegion({
      type: 'ec2_api',
      region: 'us-east-1',
      endpoint: ec2.url,
      access_key_id: KEY,
      secret_access_key: 'secret',
      vantage: 'us-west-2',
      dry_run: [{ operation: 'RunInstances', params: { ImageId: 'ami-0abc', InstanceType: 't3.micro' } }],
      ...extra,
    });
  const reset = (): void => {
    Object.assign(ec2.state, { throttle: 0, unavailable: false, hang: false, deny: [] });
    ec2.state.actions.length = 0;
    ec2.state.zones.forEach((z) => (z.state = 'available'));
  };
  const check = (s: Signal, operation: string): CrossRegionCheck | undefined =>
    (s.checks as CrossRegionCheck[]).find((c) => c.operation === operation);

  test('several calls per region, a RunInstances dry run, and one check fact per call', async () => {
    reset();
    const s = await probe();
    assert.equal(s.status, 'ok', String(s.detail));
    assert.deepEqual(
      (s.checks as CrossRegionCheck[]).map((c) => [c.from, c.service, c.operation, c.ok, c.total]),
      [
        ['us-west-2', 'ec2', 'DescribeAvailabilityZones', 1, 1],
        ['us-west-2', 'ec2', 'DescribeInstances', 1, 1],
        ['us-west-2', 'ec2', 'DescribeVolumes', 1, 1],
        ['us-west-2', 'ec2', 'RunInstances(DryRun)', 1, 1],
      ],
    );
    assert.deepEqual(s.zone_states, {
      'use1-az4': 'available',
      'use1-az6': 'available',
      'use1-az1': 'available',
    });
    assert.equal(s.zones_total, 3);
    assert.equal(s.zones_available, 3);
    assert.ok(ec2.state.actions.includes('RunInstances'));
  });

  test('throttling is retried with backoff and, once it passes, the region is ok', async () => {
    reset();
    ec2.state.throttle = 3;
    const s = await probe();
    assert.equal(s.status, 'ok', String(s.detail));
    assert.ok(ec2.state.actions.length >= 4 + 3, 'the throttled calls were made again');
  });

  test('throttling that never passes is reported as throttled, never as the region failing', async () => {
    reset();
    ec2.state.throttle = 1_000_000;
    // 3 s (2.4 s for the calls): with 1 s it failed once in the Node 24 CI run at load 28, passing alone.
    const s = await probe({ timeout: '3s' });
    assert.equal(s.status, 'unknown');
    assert.match(String(s.detail), /RequestLimitExceeded, not counted/);
    assert.equal(check(s, 'DescribeInstances')?.error, 'RequestLimitExceeded');
    assert.ok(
      ec2.state.actions.filter((a) => a === 'DescribeInstances').length > 1,
      'retried inside the deadline',
    );
  });

  test('an IAM policy refusing the dry run is an auth status, not a cloud failure', async () => {
    reset();
    ec2.state.deny = ['RunInstances'];
    const s = await probe();
    assert.equal(s.status, 'ok');
    assert.equal(check(s, 'RunInstances(DryRun)')?.error, 'UnauthorizedOperation');
    assert.match(String(s.detail), /RunInstances\(DryRun\) auth \(UnauthorizedOperation, not counted\)/);
    assert.equal(ec2.state.actions.filter((a) => a === 'RunInstances').length, 1, 'not retried');
  });

  test('wrong credentials: AuthFailure everywhere means no verdict, not an outage', async () => {
    reset();
    const s = await probe({ access_key_id: 'AKIAOTHER' });
    assert.equal(s.status, 'unknown');
    assert.equal(check(s, 'DescribeAvailabilityZones')?.error, 'AuthFailure');
  });

  test('server errors on every call after retries: the region is failing', async () => {
    reset();
    ec2.state.unavailable = true;
    const s = await probe({ timeout: '1s' });
    assert.equal(s.status, 'error');
    assert.equal(check(s, 'DescribeVolumes')?.error, 'Unavailable');
    assert.match(String(s.detail), /DescribeVolumes Unavailable after \d+ attempt/);
  });

  test('no call answering in time is unknown (our own network may be the slow part)', async () => {
    reset();
    ec2.state.hang = true;
    const s = await probe({ timeout: '1s' });
    assert.equal(s.status, 'unknown');
    assert.match(String(s.detail), /no EC2 call answered in time/);
    assert.equal(check(s, 'DescribeAvailabilityZones')?.error, 'timeout');
  });

  test('an impaired zone is named with its zone ID', async () => {
    reset();
    ec2.state.zones[1]!.state = 'impaired';
    const s = await probe();
    assert.equal(s.status, 'degraded');
    assert.match(String(s.detail), /us-east-1b \(use1-az6\) impaired/);
    assert.equal((s.zone_states as Record<string, string>)['use1-az6'], 'impaired');
  });

  test('an endpoint that refuses connections fails every call', async () => {
    const port = await closedPort();
    const s = await probe({ endpoint: `http://127.0.0.1:${port}`, timeout: '1s' });
    assert.equal(s.status, 'error');
    assert.match(String(check(s, 'DescribeAvailabilityZones')?.error), /connection refused/);
  });
});

describe('ec2_api from more than one vantage region', () => {
  const ZONES = [
    { name: 'us-east-1a', id: 'use1-az4', state: 'available' as const },
    { name: 'us-east-1b', id: 'use1-az6', state: 'available' as const },
  ];
  const TOKEN = 'vantage-token';
  // What each vantage region reaches: the controller's path and the agent's path to the same API.
  let here: Awaited<ReturnType<typeof ec2QueryServer>>;
  let there: Awaited<ReturnType<typeof ec2QueryServer>>;
  let agent: AgentServer;
  let closeAgentSource: () => Promise<void>;
  const ec2Probe = (endpoint: string, vantage: string, extra: Record<string, unknown> = {}) => ({
    type: 'ec2_api',
    region: 'us-east-1',
    endpoint,
    access_key_id: KEY,
    secret_access_key: 'secret',
    vantage,
    calls: ['DescribeAvailabilityZones'],
    ...extra,
  });
  before(async () => {
    [here, there] = await Promise.all([
      ec2QueryServer(KEY, 'us-east-1', structuredClone(ZONES)),
      ec2QueryServer(KEY, 'us-east-1', structuredClone(ZONES)),
    ]);
    const agentSource = createSignalSource(
      parseConfig({
        probes: { timeout: '2s', signals: { aws_cross_region: ec2Probe(there.url, 'eu-west-1') } },
        decision: { analyzer: 'threshold' },
      }),
    );
    closeAgentSource = () => agentSource.close();
    agent = await startAgentServer({ name: 'eu-west-1', source: agentSource, token: TOKEN });
  });
  after(async () => {
    await agent?.close();
    await closeAgentSource?.();
    await Promise.all([here?.close(), there?.close()]);
  });

  const probe = (agentUrl = agent.url): Promise<Signal> =>
    collectCrossRegion(
      ec2Probe(here.url, 'us-west-2', { agents: [{ name: 'eu-west-1', url: agentUrl, token: TOKEN }] }),
    );

  test('one vantage seeing the API fail is degraded, not the region failing; each vantage reported', async () => {
    here.state.unavailable = true;
    there.state.unavailable = false;
    const s = await probe();
    assert.equal(s.status, 'degraded', String(s.detail));
    assert.deepEqual(s.vantage_points, { 'us-west-2': 'error', 'eu-west-1': 'ok' });
    assert.match(
      String(s.detail),
      /1 of 2 vantage points see the EC2 API fail \(quorum 2\): not the region failing/,
    );
    assert.deepEqual(
      (s.checks as CrossRegionCheck[]).map((c) => [c.from, c.operation, c.ok]),
      [
        ['us-west-2', 'DescribeAvailabilityZones', 0],
        ['eu-west-1', 'DescribeAvailabilityZones', 1],
      ],
    );
    assert.deepEqual(s.zone_states, { 'use1-az4': 'available', 'use1-az6': 'available' });
  });

  test('every vantage seeing it fail is the region failing', async () => {
    here.state.unavailable = true;
    there.state.unavailable = true;
    const s = await probe();
    assert.equal(s.status, 'error', String(s.detail));
    assert.deepEqual(s.vantage_points, { 'us-west-2': 'error', 'eu-west-1': 'error' });
  });

  test('an agent that cannot be reached is no vote: the one failing vantage stays short of the quorum', async () => {
    here.state.unavailable = true;
    const s = await probe(`http://127.0.0.1:${await closedPort()}`);
    assert.equal(s.status, 'degraded', String(s.detail));
    assert.deepEqual(s.vantage_points, { 'us-west-2': 'error', 'eu-west-1': 'unknown' });
    assert.match(String(s.detail), /eu-west-1: agent unreachable/);
    here.state.unavailable = false;
  });
});
