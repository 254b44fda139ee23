import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../lab/bind.js';
import { healthApiServer, type HealthApiEvent } from '../stand-ins/aws/health-api.js';
import { activeHealthRegion, AwsHealthGatherer, type AwsHealthSettings } from './aws-health.js';

const CREDS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const NOW = Math.floor(Date.now() / 1000);
const OUTAGE: HealthApiEvent = {
  service: 'EC2',
  region: 'us-east-1',
  eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
  statusCode: 'open',
  startTime: NOW - 300,
  description: 'Increased API error rates in us-east-1',
};

describe('AWS Health through its global name and the us-east-1/us-east-2 pair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-health-'));
  let bind: BindServer;
  let east1: Awaited<ReturnType<typeof healthApiServer>>;
  let east2: Awaited<ReturnType<typeof healthApiServer>>;
  before(async () => {
    // The real global name is a CNAME to the active regional endpoint; BIND serves the same shape here.
    bind = await startBind({
      baseDir: dir,
      zone: 'health.amazonaws.com',
      records: [
        { name: 'global', type: 'CNAME', value: 'health.us-east-1.amazonaws.com.' },
        { name: 'global-moved', type: 'CNAME', value: 'health.us-east-2.amazonaws.com.' },
      ],
    });
    east1 = await healthApiServer('us-east-1', [OUTAGE]);
    east2 = await healthApiServer('us-east-2', [OUTAGE]);
  });
  after(async () => {
    await Promise.all([bind?.stop(), east1?.close(), east2?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = (over: Partial<AwsHealthSettings> = {}): AwsHealthSettings => ({
    endpoints: { 'us-east-1': east1.url, 'us-east-2': east2.url },
    globalName: 'global.health.amazonaws.com',
    dnsServers: [`127.0.0.1:${bind.port}`],
    regions: ['us-east-1'],
    services: ['EC2'],
    details: true,
    since: 3600,
    credentials: CREDS,
    ...over,
  });
  const reset = (): void => {
    east1.state.unavailable = false;
    east2.state.unavailable = false;
    for (const s of [east1.state, east2.state]) s.targets.length = s.serviceFilters.length = 0;
  };

  test('the global name CNAME tells the active region', async () => {
    assert.equal(
      await activeHealthRegion('global.health.amazonaws.com', [`127.0.0.1:${bind.port}`]),
      'us-east-1',
    );
    assert.equal(
      await activeHealthRegion('global-moved.health.amazonaws.com', [`127.0.0.1:${bind.port}`]),
      'us-east-2',
    );
    assert.equal(
      await activeHealthRegion('nothing.health.amazonaws.com', [`127.0.0.1:${bind.port}`]),
      undefined,
    );
  });

  test('a Health outage in the active region switches to the passive one', async () => {
    reset();
    east1.state.unavailable = true;
    const gatherer = new AwsHealthGatherer(settings());
    const feed = await gatherer.gather(NOW, AbortSignal.timeout(10_000));
    gatherer.destroy();
    assert.equal(feed.available, true);
    assert.equal(feed.events?.[0]?.eventTypeCode, 'AWS_EC2_OPERATIONAL_ISSUE');
    assert.equal(feed.events?.[0]?.description, 'Increased API error rates in us-east-1');
    assert.equal(gatherer.answeredFrom, 'us-east-2');
    assert.ok(east1.state.targets.length > 0, 'the active region was asked first');
  });

  test('calls the region the global name points at first, signed for that region', async () => {
    reset();
    const gatherer = new AwsHealthGatherer(settings({ globalName: 'global-moved.health.amazonaws.com' }));
    const feed = await gatherer.gather(NOW, AbortSignal.timeout(10_000));
    gatherer.destroy();
    assert.equal(feed.events?.length, 1);
    assert.equal(gatherer.answeredFrom, 'us-east-2');
    assert.deepEqual(east1.state.targets, []);
  });

  test('both regions down: one error naming each region', async () => {
    reset();
    east1.state.unavailable = east2.state.unavailable = true;
    const gatherer = new AwsHealthGatherer(settings());
    await assert.rejects(gatherer.gather(NOW, AbortSignal.timeout(10_000)), (error: Error) => {
      assert.match(error.message, /us-east-1: ServiceUnavailableException \(HTTP 503\)/);
      assert.match(error.message, /us-east-2: ServiceUnavailableException \(HTTP 503\)/);
      return true;
    });
    gatherer.destroy();
  });

  test('more than 10 services are asked for in batches of at most 10', async () => {
    reset();
    const services = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'EC2'];
    const gatherer = new AwsHealthGatherer(settings({ services, details: false }));
    const feed = await gatherer.gather(NOW, AbortSignal.timeout(10_000));
    gatherer.destroy();
    assert.equal(feed.events?.length, 1, 'the event of the 12th service is found');
    assert.deepEqual(
      east1.state.serviceFilters.map((s) => s?.length),
      [10, 2],
    );
  });

  test('the organization view refused is reported with its fix, and not retried in the other region', async () => {
    reset();
    const gatherer = new AwsHealthGatherer(settings({ organization: true }));
    await assert.rejects(
      gatherer.gather(NOW, AbortSignal.timeout(10_000)),
      /EnableHealthServiceAccessForOrganization/,
    );
    gatherer.destroy();
    assert.deepEqual(east1.state.targets, ['AWSHealth_20160804.DescribeEventsForOrganization']);
    assert.deepEqual(east2.state.targets, []);
  });

  test('the organization view asks an account-specific event’s details with an affected account, a public one’s without', async () => {
    const accountEvent: HealthApiEvent = {
      ...OUTAGE,
      service: 'RDS',
      eventTypeCode: 'AWS_RDS_OPERATIONAL_ISSUE',
      description: 'Your RDS instance orders-prod is impaired',
      accounts: ['111122223333'],
    };
    const org = await healthApiServer('us-east-1', [OUTAGE, accountEvent], true);
    const gatherer = new AwsHealthGatherer(
      settings({
        organization: true,
        services: ['EC2', 'RDS'],
        endpoints: { 'us-east-1': org.url, 'us-east-2': east2.url },
      }),
    );
    const feed = await gatherer.gather(NOW, AbortSignal.timeout(10_000));
    gatherer.destroy();
    await org.close();
    assert.deepEqual(feed.events?.map((e) => [e.service, e.description]).sort(), [
      ['EC2', 'Increased API error rates in us-east-1'],
      ['RDS', 'Your RDS instance orders-prod is impaired'],
    ]);
  });

  test('the organization view reads DescribeEventsForOrganization and its details', async () => {
    const org = await healthApiServer('us-east-1', [OUTAGE], true);
    const gatherer = new AwsHealthGatherer(
      settings({ organization: true, endpoints: { 'us-east-1': org.url, 'us-east-2': east2.url } }),
    );
    const feed = await gatherer.gather(NOW, AbortSignal.timeout(10_000));
    gatherer.destroy();
    await org.close();
    assert.equal(feed.events?.[0]?.description, 'Increased API error rates in us-east-1');
    assert.deepEqual(org.state.targets, [
      'AWSHealth_20160804.DescribeEventsForOrganization',
      'AWSHealth_20160804.DescribeEventDetailsForOrganization',
    ]);
  });
});
