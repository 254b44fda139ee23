import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type PhoenixConfig } from '../config/index.js';
import { FakeAwsHealthServer } from '../stand-ins/aws/health.js';
import { FakeStatuspageServer } from '../stand-ins/statuspage/status-page.js';
import { FakeLokiServer } from '../stand-ins/loki/query-range.js';
import { ChangeStore, createContextGatherer } from './index.js';

const CREDS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const NOW = Math.floor(Date.now() / 1000);
const EC2_ISSUE = {
  service: 'EC2',
  region: 'us-east-1',
  eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
  eventTypeCategory: 'issue',
  statusCode: 'open',
  startTime: NOW - 600,
} as const;

function configWith(context: Record<string, unknown>): PhoenixConfig {
  return parseConfig({
    topology: {
      primary: { cloud: 'aws', region: 'us-east-1', services: ['EC2', 'EKS', 'RDS'] },
      secondary: { cloud: 'aws', region: 'us-west-2' },
      dr: { cloud: 'azure', region: 'eastus2' },
    },
    context,
  });
}

describe('AWS Health through the SDK against a JSON 1.1 server', () => {
  const fake = new FakeAwsHealthServer();
  before(async () => {
    await fake.start();
  });
  after(async () => {
    await fake.close();
  });
  // Answers the fake gives at once get 5 s (paging 130 events took over 1 s at load 20); the slow
  // mode, which never answers in time, keeps 1 s.
  const gather = async (timeout = '5s'): Promise<unknown> => {
    const config = configWith({ timeout, aws_health: { endpoint: fake.url } });
    return (await createContextGatherer(config, { awsCredentials: CREDS }).gather(NOW)).aws_health;
  };

  test('returns our regions and services only, with descriptions', async () => {
    fake.setMode('ok');
    fake.setEvents([
      { ...EC2_ISSUE, description: 'Increased API error rates' },
      {
        service: 'EC2',
        region: 'eu-west-1',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        statusCode: 'open',
        startTime: NOW - 600,
      },
      {
        service: 'LAMBDA',
        region: 'us-east-1',
        eventTypeCode: 'AWS_LAMBDA_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        statusCode: 'open',
        startTime: NOW - 60,
      },
      {
        service: 'RDS',
        region: 'us-west-2',
        eventTypeCode: 'AWS_RDS_MAINTENANCE_SCHEDULED',
        eventTypeCategory: 'scheduledChange',
        statusCode: 'upcoming',
        startTime: NOW + 3600,
      },
      {
        service: 'EKS',
        region: 'global',
        eventTypeCode: 'AWS_EKS_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        statusCode: 'open',
        startTime: NOW - 30,
      },
      {
        service: 'EC2',
        region: 'us-east-1',
        eventTypeCode: 'AWS_EC2_OLD',
        eventTypeCategory: 'issue',
        statusCode: 'closed',
        startTime: NOW - 9000,
      },
    ]);
    const feed = (await gather()) as { available: boolean; events: Array<Record<string, unknown>> };
    assert.equal(feed.available, true);
    const codes = feed.events.map((e) => `${e.service}@${e.region}`).sort();
    assert.deepEqual(codes, ['EC2@us-east-1', 'EKS@global', 'RDS@us-west-2']);
    const ec2 = feed.events.find((e) => e.service === 'EC2')!;
    assert.equal(ec2.description, 'Increased API error rates');
    assert.equal(ec2.startTime, NOW - 600);
    assert.equal(ec2.eventTypeCategory, 'issue');
    const targets = fake.requests.map((r) => r.headers['x-amz-target']);
    assert.ok(targets.includes('AWSHealth_20160804.DescribeEvents'));
    assert.equal(fake.requests[0].headers['content-type'], 'application/x-amz-json-1.1');
  });

  test('pages through nextToken', async () => {
    fake.setMode('ok');
    fake.setEvents(
      Array.from({ length: 130 }, (_, i) => ({
        service: 'EC2',
        region: 'us-east-1',
        eventTypeCode: `AWS_EC2_ISSUE_${i}`,
        eventTypeCategory: 'issue' as const,
        statusCode: 'open' as const,
        startTime: NOW - i,
      })),
    );
    const feed = (await gather()) as { events: unknown[] };
    assert.equal(feed.events.length, 130);
  });

  test('SubscriptionRequiredException means unavailable: needs a Business support plan', async () => {
    fake.setMode('subscription_required');
    assert.deepEqual(await gather(), {
      available: false,
      detail: 'unavailable: needs a Business support plan',
    });
  });

  for (const mode of ['throttled', 'server_error', 'garbage', 'slow'] as const) {
    test(`${mode} answers leave the feed unavailable with a reason`, async () => {
      fake.setMode(mode);
      const feed = (await gather(mode === 'slow' ? '1s' : '5s')) as { available: boolean; detail: string };
      assert.equal(feed.available, false);
      assert.ok(feed.detail.length > 0 && !feed.detail.includes('\n'), feed.detail);
      if (mode === 'throttled') assert.match(feed.detail, /ThrottlingException/);
      if (mode === 'slow') assert.match(feed.detail, /no answer/);
    });
  }
});

describe('AWS Health credentials from the configuration (the lab key, or ${VAR} references)', () => {
  // The stand-in answers only requests SigV4-signed with this key id, as AWS checks signatures.
  const fake = new FakeAwsHealthServer('AKIALABTEST000001');
  before(async () => {
    await fake.start();
    fake.setEvents([EC2_ISSUE]);
  });
  after(() => fake.close());
  const health = (keys: Record<string, string>) =>
    configWith({ timeout: '1s', aws_health: { endpoint: fake.url, details: false, ...keys } });

  test('access_key_id / secret_access_key sign the Health calls: the events arrive', async () => {
    const config = health({ access_key_id: 'AKIALABTEST000001', secret_access_key: 'lab-secret' });
    const gatherer = createContextGatherer(config);
    const feed = (await gatherer.gather(NOW)).aws_health;
    assert.equal(feed?.available, true, JSON.stringify(feed));
    assert.equal(feed?.events?.length, 1);
    assert.match(gatherer.lastReport.find((r) => r.source === 'aws_health')?.detail ?? '', /answered by/);
  });

  test('another key is refused as AWS refuses it, and the feed says so', async () => {
    const config = health({ access_key_id: 'AKIAOTHER00000000001', secret_access_key: 'other' });
    const feed = (await createContextGatherer(config).gather(NOW)).aws_health;
    assert.equal(feed?.available, false);
    assert.match(feed?.detail ?? '', /UnrecognizedClientException/);
  });

  test('a key id without its secret is a configuration error', () => {
    assert.throws(() => health({ access_key_id: 'AKIALABTEST000001' }), /go together/);
  });
});

describe('Statuspage v2 and RSS status feeds', () => {
  const cloudflare = new FakeStatuspageServer('Cloudflare');
  const azure = new FakeStatuspageServer('Azure');
  before(async () => {
    await cloudflare.start();
    await azure.start();
  });
  after(async () => {
    await cloudflare.close();
    await azure.close();
  });

  test('unresolved incidents, broken components and the Azure RSS feed', async () => {
    cloudflare.setMode('ok');
    cloudflare.setIncidents([
      {
        name: 'Elevated 5xx in North America',
        status: 'investigating',
        impact: 'major',
        components: ['CDN/Cache'],
        started: NOW - 300,
        body: 'We are investigating.',
      },
      {
        name: 'Dashboard slow',
        status: 'identified',
        impact: 'minor',
        components: ['Dashboard'],
        started: NOW - 100,
      },
    ]);
    cloudflare.setComponents([
      { name: 'CDN/Cache', status: 'major_outage' },
      { name: 'DNS', status: 'partial_outage' },
      { name: 'API', status: 'operational' },
    ]);
    azure.setIncidents([
      {
        name: 'Azure Front Door - degraded',
        status: 'investigating',
        impact: 'major',
        started: NOW - 120,
        body: 'Customers may see <b>timeouts</b> & errors',
      },
    ]);
    const config = configWith({
      timeout: '5s',
      cloudflare: { url: cloudflare.url, components: ['CDN', 'DNS'] },
      azure_status: { url: azure.rssUrl, format: 'rss' },
      status_pages: { github: { url: cloudflare.url } },
    });
    const context = await createContextGatherer(config).gather(NOW);
    assert.equal(context.cloudflare?.available, true);
    const names = context.cloudflare!.incidents!.map((i) => i.name);
    assert.deepEqual(names, ['Elevated 5xx in North America', 'DNS: partial outage']);
    const first = context.cloudflare!.incidents![0];
    assert.equal(first.started, NOW - 300);
    assert.equal(first.body, 'We are investigating.');
    assert.equal(context.status_pages?.github.incidents?.length, 3, 'no component filter there');
    assert.equal(context.azure_status?.available, true);
    assert.equal(context.azure_status!.incidents![0].name, 'Azure Front Door - degraded');
    assert.equal(context.azure_status!.incidents![0].body, 'Customers may see <b>timeouts</b> & errors');
    assert.equal(context.azure_status!.incidents![0].started, NOW - 120);
  });

  for (const mode of ['server_error', 'garbage', 'slow'] as const) {
    test(`${mode}: the feed is unavailable, the other feeds are not`, async () => {
      cloudflare.setMode(mode);
      azure.setMode('ok');
      const config = configWith({
        timeout: '1s',
        cloudflare: { url: cloudflare.url },
        azure_status: { url: azure.url },
      });
      const gatherer = createContextGatherer(config);
      const context = await gatherer.gather(NOW);
      assert.equal(context.cloudflare?.available, false);
      assert.ok(context.cloudflare?.detail);
      assert.equal(context.azure_status?.available, true);
      const report = gatherer.lastReport.find((r) => r.source === 'cloudflare')!;
      assert.equal(report.ok, false);
      if (mode === 'server_error') assert.match(report.detail!, /HTTP 503/);
      if (mode === 'garbage') assert.match(report.detail!, /not JSON/);
      if (mode === 'slow') assert.match(report.detail!, /no answer/);
    });
  }

  test('an unreachable page is unavailable with the reason', async () => {
    const config = configWith({ timeout: '1s', cloudflare: { url: 'http://127.0.0.1:9' } });
    const context = await createContextGatherer(config).gather(NOW);
    assert.equal(context.cloudflare?.available, false);
    assert.match(context.cloudflare!.detail!, /cannot reach/);
  });
});

describe('Loki query_range', () => {
  const loki = new FakeLokiServer();
  before(async () => {
    await loki.start();
  });
  after(async () => {
    await loki.close();
  });

  test('newest N error lines, newest last, each and all size-capped', async () => {
    loki.setMode('ok');
    loki.setLines([
      ...Array.from({ length: 30 }, (_, i) => ({
        at: NOW - 100 + i,
        labels: { service_name: 'checkout', level: 'error' },
        line: `error ${i}: NullPointerException at Cart.total`,
      })),
      {
        at: NOW - 5,
        labels: { app: 'payments', detected_level: 'error' },
        line: `error ${'x'.repeat(2000)}`,
      },
      { at: NOW - 4, labels: { app: 'payments' }, line: 'info: all good' },
      { at: NOW - 5000, labels: { app: 'old' }, line: 'error from long ago' },
    ]);
    const config = configWith({
      loki: {
        url: loki.url,
        query: '{namespace="shop"} |= "error"',
        limit: 10,
        max_line_length: 100,
        since: '15m',
      },
    });
    const logs = (await createContextGatherer(config).gather(NOW)).logs!;
    assert.equal(logs.length, 10);
    assert.equal(logs[logs.length - 1].service, 'payments');
    assert.equal(logs[logs.length - 1].level, 'error');
    assert.ok(logs[logs.length - 1].line.length <= 101);
    assert.equal(logs[0].line, 'error 21: NullPointerException at Cart.total');
    assert.ok(!logs.some((l) => l.line.includes('long ago') || l.line.includes('all good')));

    const tight = configWith({
      loki: {
        url: loki.url,
        query: '{app=~".+"} |= "error"',
        max_bytes: 256,
        max_line_length: 100,
        limit: 50,
      },
    });
    const capped = (await createContextGatherer(tight).gather(NOW)).logs!;
    assert.ok(Buffer.byteLength(capped.map((l) => l.line).join('')) <= 256);
    assert.ok(capped.length >= 1);
  });

  for (const mode of ['server_error', 'garbage', 'slow', 'bad_query'] as const) {
    test(`${mode}: no logs and a reason, never a failed gather`, async () => {
      loki.setMode(mode === 'bad_query' ? 'ok' : mode);
      const config = configWith({
        timeout: '1s',
        loki: { url: loki.url, query: mode === 'bad_query' ? 'error' : '{a="b"}' },
      });
      const gatherer = createContextGatherer(config);
      const context = await gatherer.gather(NOW);
      assert.equal(context.logs, undefined);
      const report = gatherer.lastReport.find((r) => r.source === 'loki')!;
      assert.equal(report.ok, false);
      if (mode === 'bad_query') assert.match(report.detail!, /HTTP 400.*parse error/);
    });
  }
});

describe('Kubernetes rollouts and recorded changes', () => {
  let server: Server;
  let dir: string;
  let kubeconfig: string;
  let mode: 'ok' | 'forbidden' | 'garbage' = 'ok';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phoenix-ctx-'));
    server = createServer((req, res) => {
      if (mode === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: 'replicasets.apps is forbidden',
            reason: 'Forbidden',
            code: 403,
          }),
        );
      }
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"kind": "ReplicaSetList", "items": [');
      }
      const rs = (ns: string, name: string, deploy: string, rev: string, created: number, image: string) => ({
        metadata: {
          name,
          namespace: ns,
          creationTimestamp: new Date(created * 1000).toISOString(),
          annotations: { 'deployment.kubernetes.io/revision': rev },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: deploy, uid: 'u1', controller: true },
          ],
        },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: deploy } },
          template: { spec: { containers: [{ name: deploy, image }] } },
        },
      });
      const all = [
        rs('shop', 'checkout-7d9f', 'checkout', '12', NOW - 900, 'registry/checkout:v2.3.1'),
        rs('shop', 'checkout-5b1a', 'checkout', '11', NOW - 86400 * 3, 'registry/checkout:v2.3.0'),
        rs('ops', 'agent-1', 'agent', '2', NOW - 60, 'registry/agent:1.1'),
      ];
      const url = new URL(req.url ?? '/', 'http://x');
      const match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets$/.exec(url.pathname);
      const items =
        url.pathname === '/apis/apps/v1/replicasets'
          ? all
          : match
            ? all.filter((r) => r.metadata.namespace === match[1])
            : undefined;
      if (!items) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'ReplicaSetList',
          apiVersion: 'apps/v1',
          metadata: { resourceVersion: '1' },
          items,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: lab, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: lab, user: { token: "t" } }]
contexts: [{ name: lab, context: { cluster: lab, user: lab } }]
current-context: lab
`,
    );
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('recent rollouts and recorded changes become changes, oldest first; cached per cycle', async () => {
    mode = 'ok';
    const store = ChangeStore.open(join(dir, 'phoenix.db'));
    try {
      await store.record({
        at: NOW - 1200,
        kind: 'config',
        service: 'checkout',
        description: 'feature flag new-cart on',
      });
      await store.record({ at: NOW - 86400, kind: 'deploy', service: 'checkout', description: 'too old' });
      const config = configWith({
        kubernetes: { kubeconfig, namespaces: ['shop'], since: '1h' },
        changes: { since: '6h' },
      });
      const gatherer = createContextGatherer(config, { changes: store });
      const first = gatherer.gather(NOW);
      const again = gatherer.gather(NOW);
      assert.equal(first, again, 'the same cycle reuses one gather');
      const changes = (await first).changes!;
      assert.deepEqual(
        changes.map((c) => [c.kind, c.service, c.at]),
        [
          ['config', 'checkout', NOW - 1200],
          ['deploy', 'checkout', NOW - 900],
        ],
      );
      assert.match(changes[1].description, /shop\/checkout to revision 12 \(registry\/checkout:v2\.3\.1\)/);
    } finally {
      await store.close();
    }
  });

  test('a forbidden or garbled API and a missing kubeconfig are reported, not thrown', async () => {
    for (const m of ['forbidden', 'garbage'] as const) {
      mode = m;
      const gatherer = createContextGatherer(configWith({ kubernetes: { kubeconfig } }));
      const context = await gatherer.gather(NOW);
      assert.equal(context.changes, undefined);
      const report = gatherer.lastReport[0];
      assert.equal(report.ok, false);
      if (m === 'forbidden') assert.match(report.detail!, /HTTP 403/);
    }
    const missing = createContextGatherer(configWith({ kubernetes: { kubeconfig: join(dir, 'nope') } }));
    await missing.gather(NOW);
    assert.match(missing.lastReport[0].detail!, /cannot load the kubeconfig/);
  });
});

test('the context section rejects typos and bad URLs with the path', () => {
  assert.throws(() => configWith({ lokki: {} }), /context\.lokki.*did you mean "loki"/);
  assert.throws(() => configWith({ cloudflare: { url: 'ftp://x' } }), /context\.cloudflare\.url/);
  assert.throws(
    () => configWith({ prometheus: { url: 'http://p', queries: { 'bad name': 'up' } } }),
    /queries/,
  );
});
