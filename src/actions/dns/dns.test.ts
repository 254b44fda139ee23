import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../../lab/index.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { dnsAdapter } from './dns.js';
import { FakeRoute53 } from '../../stand-ins/aws/route53.js';
import { FakeCloudflare } from '../../stand-ins/cloudflare/dns.js';

let base: string;
let bind: BindServer;
let route53: FakeRoute53;
let cloudflare: FakeCloudflare;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-dns-'));
  [bind, route53, cloudflare] = await Promise.all([
    startBind({
      baseDir: join(base, 'bind'),
      zone: 'shop.phoenix.test',
      records: [
        { name: 'app', type: 'A', value: '10.0.0.1', ttl: 300 },
        { name: 'www', type: 'A', value: '10.0.0.7', ttl: 300 },
      ],
    }),
    new FakeRoute53('Z0123456789ABC', 'example.com.').start(),
    new FakeCloudflare('023e105f4ecef8ad9ca31a8372d0c353', 'example.com', 'cf-token').start(),
  ]);
});

after(async () => {
  await Promise.allSettled([bind?.stop(), route53?.stop(), cloudflare?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

/** An RFC 2136 step against the test's BIND, TTL 30 s. */
const bindStep = (name: string, type: string, value: string) =>
  dnsAdapter.schema.parse({
    provider: 'rfc2136',
    server: bind.host,
    port: bind.port,
    zone: bind.zone,
    tsig: bind.tsig,
    name: `${name}.${bind.zone}`,
    type,
    value,
    ttl: 30,
  });

test('RFC 2136 with TSIG against BIND: after the step, the server answers with the DR address', async () => {
  const params = bindStep('app', 'A', '10.20.0.5');
  const checks = await dnsAdapter.preflight(params, preflightContext());
  assert.ok(
    checks.every((c) => c.ok),
    JSON.stringify(checks),
  );
  const resolver = new Resolver();
  resolver.setServers([`${bind.host}:${bind.port}`]);
  assert.deepEqual(await resolver.resolve4(`app.${bind.zone}`), ['10.0.0.1']);
  const context = stepContext();
  const result = await dnsAdapter.run(params, context);
  assert.equal(result.dnsTtlS, 30);
  // The TSIG secret is on disk only while nsupdate runs.
  assert.equal(existsSync(join(context.workDir, 'tsig.key')), false);
  assert.match(
    result.summary,
    /app\.shop\.phoenix\.test A → 10\.20\.0\.5 \(TTL 30s\), server answers with it/,
  );
  assert.deepEqual(await resolver.resolve4(`app.${bind.zone}`, { ttl: true }), [
    { address: '10.20.0.5', ttl: 30 },
  ]);
  // Repeating the update (a resumed step) leaves one record, not two.
  await dnsAdapter.run(params, stepContext({ resumed: true }));
  assert.deepEqual(await resolver.resolve4(`app.${bind.zone}`), ['10.20.0.5']);
});

test('RFC 2136: a CNAME replacing an A record takes effect (BIND would ignore it beside the A) and is verified', async () => {
  const params = bindStep('www', 'CNAME', 'shop-tm.trafficmanager.net.');
  const result = await dnsAdapter.run(params, stepContext());
  assert.match(result.summary, /server answers with it/);
  const resolver = new Resolver();
  resolver.setServers([`${bind.host}:${bind.port}`]);
  assert.deepEqual(await resolver.resolveCname(`www.${bind.zone}`), ['shop-tm.trafficmanager.net']);
});

test("RFC 2136 with a wrong TSIG secret fails with nsupdate's reason", async () => {
  const params = dnsAdapter.schema.parse({
    provider: 'rfc2136',
    server: bind.host,
    port: bind.port,
    zone: bind.zone,
    tsig: { ...bind.tsig, secret: Buffer.alloc(32, 7).toString('base64') },
    name: `app.${bind.zone}`,
    type: 'A',
    value: '10.99.0.1',
  });
  await assert.rejects(
    dnsAdapter.run(params, stepContext()),
    /nsupdate to 127\.0\.0\.1:\d+ failed: .*(BADSIG|tsig|TSIG|NOTAUTH)/,
  );
});

test('Route 53: UPSERT through the AWS SDK, then waits for INSYNC', async () => {
  const params = dnsAdapter.schema.parse({
    provider: 'route53',
    hosted_zone_id: 'Z0123456789ABC',
    endpoint: route53.url,
    access_key_id: 'AKIAFAKE',
    secret_access_key: 'fake-secret',
    name: 'app.example.com',
    type: 'CNAME',
    value: 'app-dr.eastus2.cloudapp.azure.com',
    ttl: 60,
    poll_interval: 0.05,
  });
  const checks = await dnsAdapter.preflight(params, preflightContext());
  assert.deepEqual(
    checks.map((c) => c.ok),
    [true, true, true, true],
  );
  const ctx = stepContext();
  const result = await dnsAdapter.run(params, ctx);
  assert.equal(result.output?.status, 'INSYNC');
  assert.deepEqual(
    ctx.messages.map((m) => m.split(' ').at(-1)),
    ['PENDING', 'PENDING', 'PENDING', 'INSYNC'],
  );
  assert.deepEqual(route53.records.get('app.example.com. CNAME'), {
    name: 'app.example.com.',
    type: 'CNAME',
    ttl: 60,
    values: ['app-dr.eastus2.cloudapp.azure.com'],
  });
  assert.match(route53.requests.find((r) => r.method === 'POST')!.body, /<Action>UPSERT<\/Action>/);
  const wrongZone = { ...params, hosted_zone_id: 'ZNOPE' };
  await assert.rejects(
    dnsAdapter.run(wrongZone, stepContext()),
    /Route 53 refused the change to app\.example\.com: HTTP 404 NoSuchHostedZone/,
  );
});

test('Cloudflare: updates the record in place (or creates it) and a repeat changes nothing', async () => {
  cloudflare.records.push({
    id: 'rec-old',
    type: 'A',
    name: 'www.example.com',
    content: '198.51.100.1',
    ttl: 300,
    proxied: false,
  });
  const params = dnsAdapter.schema.parse({
    provider: 'cloudflare',
    zone_id: cloudflare.zoneId,
    api_token: 'cf-token',
    api_base: `${cloudflare.url}/client/v4`,
    name: 'www.example.com',
    type: 'A',
    value: '203.0.113.7',
    ttl: 120,
  });
  assert.deepEqual(
    (await dnsAdapter.preflight(params, preflightContext())).map((c) => c.ok),
    [true, true],
  );
  const result = await dnsAdapter.run(params, stepContext());
  assert.match(result.summary, /updated 198\.51\.100\.1 → 203\.0\.113\.7/);
  assert.deepEqual(cloudflare.records, [
    { id: 'rec-old', type: 'A', name: 'www.example.com', content: '203.0.113.7', ttl: 120, proxied: false },
  ]);
  assert.match((await dnsAdapter.run(params, stepContext())).summary, /already set/);
  const badToken = { ...params, api_token: 'wrong' };
  await assert.rejects(
    dnsAdapter.run(badToken, stepContext()),
    /Cloudflare refused GET .*10000 Authentication error/,
  );
});
