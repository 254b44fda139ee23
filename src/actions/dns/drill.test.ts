import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepContext } from '../shared/test-context.js';
import type { DnsParams } from './config.js';
import { dnsAdapter } from './dns.js';
import { dnsDrill } from './drill.js';
import { FakeArm } from '../../stand-ins/azure/arm-dns.js';
import { FakeRoute53 } from '../../stand-ins/aws/route53.js';
import { FakeCloudflare } from '../../stand-ins/cloudflare/dns.js';

/** Rehearses then cleans up; returns what the provider held in between, per the `held` reader. */
async function rehearseAndClean(params: DnsParams, held: () => unknown) {
  const ctx = stepContext({ runId: 'drill-dns-1' });
  const result = await dnsDrill.rehearse(params, { ...ctx, rehearsed: {} });
  const during = held();
  const cleaned = await dnsDrill.cleanup!(params, ctx);
  const again = await dnsDrill.cleanup!(params, ctx);
  return { result, during, cleaned, again };
}

test('Route 53: the drill writes drill.<name>, the live record is untouched, cleanup deletes it exactly as held and checks it is gone', async () => {
  const route53 = await new FakeRoute53('Z0123456789ABC', 'example.com.', 1).start();
  try {
    const live = {
      name: 'app.example.com.',
      type: 'CNAME',
      ttl: 60,
      values: ['alb.us-east-1.elb.amazonaws.com'],
    };
    route53.records.set('app.example.com. CNAME', live);
    const params = dnsAdapter.schema.parse({
      ...route53.access(),
      name: 'app.example.com',
      type: 'CNAME',
      value: 'shop-tm.trafficmanager.net',
      ttl: 60,
      poll_interval: 0.01,
    });
    const { result, during, cleaned, again } = await rehearseAndClean(params, () =>
      [...route53.records.keys()].sort(),
    );
    assert.match(
      result.summary,
      /^drill: Route 53 drill\.app\.example\.com CNAME → shop-tm\.trafficmanager\.net .*INSYNC/,
    );
    assert.deepEqual(during, ['app.example.com. CNAME', 'drill.app.example.com. CNAME']);
    assert.deepEqual(cleaned, {
      summary:
        'deleted drill.app.example.com CNAME in Route 53 zone Z0123456789ABC; Route 53 no longer lists it',
      left: [],
    });
    assert.deepEqual([...route53.records.values()], [live]);
    assert.match(again.summary, /^found no drill\.app\.example\.com CNAME/);
    const deletes = route53.requests.filter((r) => /<Action>DELETE<\/Action>/.test(r.body));
    assert.equal(deletes.length, 1);
    assert.match(deletes[0].body, /<Name>drill\.app\.example\.com\.<\/Name>/);
  } finally {
    await route53.stop();
  }
});

test('the Route 53 stand-in refuses a DELETE that does not name the record set as it is, as Route 53 does', async () => {
  const route53 = await new FakeRoute53('Z0123456789ABC', 'example.com.', 0).start();
  try {
    route53.records.set('drill.app.example.com. A', {
      name: 'drill.app.example.com.',
      type: 'A',
      ttl: 60,
      values: ['203.0.113.9'],
    });
    const res = await fetch(`${route53.url}/2013-04-01/hostedzone/Z0123456789ABC/rrset/`, {
      method: 'POST',
      headers: {
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIAFAKE/20260101/us-east-1/route53/aws4_request',
      },
      body: '<ChangeBatch><Changes><Change><Action>DELETE</Action><ResourceRecordSet><Name>drill.app.example.com.</Name><Type>A</Type><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>203.0.113.9</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch>',
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /InvalidChangeBatch.*the values provided do not match the current values/);
    assert.equal(route53.records.size, 1);
  } finally {
    await route53.stop();
  }
});

test('Cloudflare: the drill writes drill.<name> and cleanup deletes every record of it; the live records are untouched', async () => {
  const cloudflare = await new FakeCloudflare('cf-zone-1', 'example.com', 'cf-token').start();
  try {
    cloudflare.seed('live1', 'api.example.com', '198.51.100.1');
    const params = dnsAdapter.schema.parse({
      ...cloudflare.access(),
      name: 'api.example.com',
      type: 'A',
      value: ['203.0.113.7', '203.0.113.8'],
      ttl: 60,
    });
    const { during, cleaned, again } = await rehearseAndClean(params, () =>
      cloudflare.records.map((r) => `${r.name} ${r.content}`).sort(),
    );
    assert.deepEqual(during, [
      'api.example.com 198.51.100.1',
      'drill.api.example.com 203.0.113.7',
      'drill.api.example.com 203.0.113.8',
    ]);
    assert.deepEqual(cleaned, {
      summary: 'deleted 2 Cloudflare drill.api.example.com A record(s); Cloudflare no longer lists any',
      left: [],
    });
    assert.deepEqual(
      cloudflare.records.map((r) => r.id),
      ['live1'],
    );
    assert.match(again.summary, /^deleted 0 /);
  } finally {
    await cloudflare.stop();
  }
});

test('Azure DNS: the drill writes the drill record set and cleanup deletes it and reads until ARM no longer has it', async () => {
  const arm = await new FakeArm('00000000-0000-0000-0000-000000000001', 'rg-dr', 'arm-token').start();
  try {
    arm.zones.set('example.com', [{ type: 'A', name: 'app', ttl: 300, body: { TTL: 300 } }]);
    const params = dnsAdapter.schema.parse({
      provider: 'azure_dns',
      subscription_id: '00000000-0000-0000-0000-000000000001',
      resource_group: 'rg-dr',
      access_token: 'arm-token',
      arm_endpoint: arm.url,
      ca_file: arm.caFile,
      zone: 'example.com',
      name: 'app.example.com',
      type: 'A',
      value: '203.0.113.9',
      ttl: 60,
    });
    const { during, cleaned, again } = await rehearseAndClean(params, () =>
      arm.zones.get('example.com')!.map((s) => `${s.name} ${s.type}`),
    );
    assert.deepEqual(during, ['app A', 'drill.app A']);
    assert.deepEqual(cleaned, {
      summary: 'deleted drill.app.example.com A from the Azure DNS zone example.com; ARM no longer has it',
      left: [],
    });
    assert.deepEqual(
      arm.zones.get('example.com')!.map((s) => `${s.name} ${s.type}`),
      ['app A'],
    );
    assert.deepEqual(again.left, []);
    assert.ok(
      arm.requests.some((r) => r.method === 'DELETE' && r.path.endsWith('/dnsZones/example.com/A/drill.app')),
    );
  } finally {
    await arm.stop();
  }
});
