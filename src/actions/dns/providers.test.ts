import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { dnsAdapter } from './dns.js';
import { FakeRoute53 } from '../../stand-ins/aws/route53.js';
import { FakeCloudflare } from '../../stand-ins/cloudflare/dns.js';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { TrafficManagerManagementClient } from '@azure/arm-trafficmanager';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { fakeArcEndpoint } from '../../stand-ins/aws/arc.js';
import { FakeArm } from '../../stand-ins/azure/arm-dns.js';

const SUB = '00000000-0000-0000-0000-000000000001';

/** Trusts the ARM stand-in's self-signed certificate, as the step does with `ca_file`. */
function trustArmCa(caFile: string): PipelinePolicy {
  const agent = new Agent({ ca: readFileSync(caFile) });
  return { name: 'test-ca', sendRequest: (request, next) => next(Object.assign(request, { agent })) };
}

describe('Azure Traffic Manager and Azure DNS through the ARM SDKs', () => {
  const arm = new FakeArm(SUB, 'rg-dr', 'arm-token');
  before(async () => {
    await arm.start();
    arm.profiles.set('shop-tm', {
      fqdn: 'shop-tm.trafficmanager.net',
      ttl: 30,
      endpoints: [
        {
          name: 'aws-primary',
          target: 'alb.us-east-1.elb.amazonaws.com',
          endpointStatus: 'Enabled',
          priority: 1,
        },
        {
          // An Azure endpoint (the DR site's public IP) beside the external AWS one: each is addressed under its type.
          name: 'azure-dr',
          type: 'AzureEndpoints',
          target: 'shop-dr.eastus2.cloudapp.azure.com',
          endpointStatus: 'Disabled',
          priority: 2,
        },
      ],
    });
    arm.zones.set('example.com', [{ type: 'A', name: 'www', ttl: 300, body: {} }]);
  });
  after(() => arm.stop());
  const access = () => ({
    subscription_id: SUB,
    resource_group: 'rg-dr',
    access_token: 'arm-token',
    arm_endpoint: arm.url,
    ca_file: arm.caFile,
  });

  test('Traffic Manager: the DR endpoint is enabled, then the primary disabled; a repeat changes nothing', async () => {
    const params = dnsAdapter.schema.parse({
      provider: 'azure_traffic_manager',
      ...access(),
      profile: 'shop-tm',
      enable: ['azure-dr'],
      disable: ['aws-primary'],
    });
    assert.deepEqual(
      (await dnsAdapter.preflight(params, preflightContext())).map((c) => c.ok),
      [true, true],
    );
    const result = await dnsAdapter.run(params, stepContext());
    assert.equal(result.dnsTtlS, 30);
    assert.match(result.summary, /shop-tm\.trafficmanager\.net.*azure-dr Enabled, aws-primary Disabled/);
    assert.deepEqual(
      arm.profiles.get('shop-tm')!.endpoints.map((e) => [e.name, e.endpointStatus]),
      [
        ['aws-primary', 'Disabled'],
        ['azure-dr', 'Enabled'],
      ],
    );
    const patches = arm.requests.filter((r) => r.method === 'PATCH').map((r) => r.path.split('/').pop());
    assert.deepEqual(patches, ['azure-dr', 'aws-primary'], 'enable before disable');
    assert.match((await dnsAdapter.run(params, stepContext())).summary, /azure-dr already Enabled/);
  });

  test('Traffic Manager: a missing endpoint fails the pre-flight, a wrong token the step, with ARM reasons', async () => {
    const params = dnsAdapter.schema.parse({
      provider: 'azure_traffic_manager',
      ...access(),
      profile: 'shop-tm',
      enable: ['azure-drr'],
    });
    const checks = await dnsAdapter.preflight(params, preflightContext());
    assert.equal(checks[1]?.ok, false);
    assert.match(checks[1]!.detail, /not in shop-tm: azure-drr/);
    await assert.rejects(
      dnsAdapter.run(
        dnsAdapter.schema.parse({
          provider: 'azure_traffic_manager',
          ...access(),
          access_token: 'stale',
          profile: 'shop-tm',
          enable: ['azure-dr'],
        }),
        stepContext(),
      ),
      /Traffic Manager profile shop-tm is not readable: HTTP 401 AuthenticationFailed/,
    );
  });

  test('Traffic Manager priority routing: the DR endpoint takes priority 1 without two endpoints ever sharing one', async () => {
    arm.profiles.set('prio-tm', {
      fqdn: 'prio-tm.trafficmanager.net',
      ttl: 30,
      endpoints: [
        { name: 'aws-primary', target: 'alb.example', endpointStatus: 'Enabled', priority: 1 },
        { name: 'azure-dr', target: 'dr.example', endpointStatus: 'Enabled', priority: 2 },
        { name: 'spare', target: 'spare.example', endpointStatus: 'Enabled', priority: 3 },
      ],
    });
    const flip = (priorities: Record<string, number>) =>
      dnsAdapter.schema.parse({
        provider: 'azure_traffic_manager',
        ...access(),
        profile: 'prio-tm',
        priorities,
      });
    const client = new TrafficManagerManagementClient(
      { getToken: async () => ({ token: 'arm-token', expiresOnTimestamp: Date.now() + 60_000 }) },
      SUB,
      { endpoint: arm.url, additionalPolicies: [{ position: 'perCall', policy: trustArmCa(arm.caFile) }] },
    );
    // What ARM refuses, the stand-in refuses: a priority another endpoint holds, and one out of range.
    await assert.rejects(
      client.endpoints.update('rg-dr', 'prio-tm', 'ExternalEndpoints', 'azure-dr', { priority: 1 }),
      /already used by endpoint 'aws-primary'/,
    );
    await assert.rejects(
      client.endpoints.update('rg-dr', 'prio-tm', 'ExternalEndpoints', 'azure-dr', { priority: 1001 }),
      /between 1 and 1000/,
    );
    const before = arm.requests.length;
    const result = await dnsAdapter.run(flip({ 'azure-dr': 1, 'aws-primary': 2 }), stepContext());
    assert.match(result.summary, /azure-dr priority 1, aws-primary priority 2/);
    assert.deepEqual(
      arm.profiles.get('prio-tm')!.endpoints.map((e) => [e.name, e.priority]),
      [
        ['aws-primary', 2],
        ['azure-dr', 1],
        ['spare', 3],
      ],
    );
    const patches = arm.requests
      .slice(before)
      .filter((r) => r.method === 'PATCH')
      .map(
        (r) =>
          `${r.path.split('/').pop()}=${(JSON.parse(r.body) as { properties: { priority: number } }).properties.priority}`,
      );
    assert.deepEqual(patches, ['aws-primary=1000', 'azure-dr=1', 'aws-primary=2'], 'moved aside first');
    const again = arm.requests.length;
    assert.match(
      (await dnsAdapter.run(flip({ 'azure-dr': 1, 'aws-primary': 2 }), stepContext())).summary,
      /already priority 1/,
    );
    assert.equal(
      arm.requests.slice(again).filter((r) => r.method === 'PATCH').length,
      0,
      'a repeat changes nothing',
    );
    // A wanted priority held by an endpoint the step does not name is an error naming the fix.
    await assert.rejects(
      dnsAdapter.run(flip({ 'azure-dr': 3 }), stepContext()),
      /priority 3 is held by endpoint spare, not named in priorities; give it a priority too/,
    );
    assert.throws(() => flip({ 'azure-dr': 1, 'aws-primary': 1 }), /unique within a profile/);
  });

  test('Azure DNS: sets a record; refuses a CNAME at the apex and a CNAME beside an A record', async () => {
    const set = (name: string, type: string, value: string) =>
      dnsAdapter.run(
        dnsAdapter.schema.parse({
          provider: 'azure_dns',
          ...access(),
          zone: 'example.com',
          name,
          type,
          value,
          ttl: 60,
        }),
        stepContext(),
      );
    await set('app.example.com', 'A', '203.0.113.9');
    assert.deepEqual(arm.zones.get('example.com')!.find((s) => s.name === 'app')?.body, {
      TTL: 60,
      ARecords: [{ ipv4Address: '203.0.113.9' }],
    });
    await assert.rejects(
      set('example.com', 'CNAME', 'shop-tm.trafficmanager.net'),
      /HTTP 400 BadRequest.*zone apex/,
    );
    await assert.rejects(
      set('www.example.com', 'CNAME', 'shop-tm.trafficmanager.net'),
      /HTTP 409 Conflict.*conflicting A/,
    );
  });

  test('Azure DNS: the pre-flight finds an apex CNAME and a CNAME beside an A record before a failover needs them', async () => {
    const check = async (name: string, type: string) => {
      const params = dnsAdapter.schema.parse({
        provider: 'azure_dns',
        ...access(),
        zone: 'example.com',
        name,
        type,
        value: 'shop-tm.trafficmanager.net',
      });
      return (await dnsAdapter.preflight(params, preflightContext())).find(
        (c) => c.check === 'no record the change conflicts with',
      );
    };
    const apex = await check('example.com', 'CNAME');
    assert.equal(apex?.ok, false);
    assert.match(apex!.detail, /apex of example\.com/);
    const beside = await check('www.example.com', 'CNAME');
    assert.equal(beside?.ok, false);
    assert.match(beside!.detail, /www holds A; Azure DNS refuses a CNAME beside it/);
    assert.equal((await check('fresh.example.com', 'CNAME'))?.ok, true);
  });
});

describe('Route 53 during a us-east-1 control-plane outage', () => {
  const ARN = 'arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/';
  const controls = new Map<string, 'On' | 'Off'>([
    [`${ARN}primary`, 'On'],
    [`${ARN}dr`, 'Off'],
  ]);
  let east: Awaited<ReturnType<typeof fakeArcEndpoint>>;
  let west: Awaited<ReturnType<typeof fakeArcEndpoint>>;
  const route53 = new FakeRoute53('Z0123456789ABC', 'example.com.', 0);
  before(async () => {
    [east, west] = await Promise.all([
      fakeArcEndpoint('us-east-1', controls),
      fakeArcEndpoint('us-west-2', controls),
    ]);
    await route53.start();
    route53.records.set('app.example.com. A', {
      name: 'app.example.com.',
      type: 'A',
      ttl: 0,
      values: [],
      alias: 'primary-alb-123.us-east-1.elb.amazonaws.com.',
    });
  });
  after(() => Promise.all([east.close(), west.close(), route53.stop()]));

  const upsert = (over: Record<string, unknown>) =>
    dnsAdapter.schema.parse({
      provider: 'route53',
      hosted_zone_id: 'Z0123456789ABC',
      endpoint: route53.url,
      access_key_id: 'AKIAFAKE',
      secret_access_key: 'fake-secret',
      type: 'CNAME',
      value: 'shop-tm.trafficmanager.net',
      ttl: 60,
      poll_interval: 0.01,
      name: 'app.example.com',
      ...over,
    });

  test('ARC routing controls switch through the next cluster endpoint while one is down and the change API fails', async () => {
    route53.controlPlaneDown = true;
    east.state.down = true;
    await assert.rejects(
      dnsAdapter.run(upsert({ name: 'new.example.com' }), stepContext()),
      /ServiceUnavailable/,
    );
    const params = dnsAdapter.schema.parse({
      provider: 'route53_arc',
      cluster_endpoints: [
        { endpoint: east.url, region: 'us-east-1' },
        { endpoint: west.url, region: 'us-west-2' },
      ],
      routing_controls: [
        { arn: `${ARN}dr`, state: 'On' },
        { arn: `${ARN}primary`, state: 'Off' },
      ],
      access_key_id: 'AKIAFAKE',
      secret_access_key: 'fake-secret',
      name: 'app.example.com',
    });
    const result = await dnsAdapter.run(params, stepContext());
    assert.match(result.summary, /dr=On, primary=Off .*through http:\/\/127\.0\.0\.1/);
    assert.equal(result.output?.endpoint, west.url);
    assert.deepEqual([...controls.values()], ['Off', 'On']);
    assert.ok(east.state.targets.length > 0, 'the first endpoint was tried first');
    route53.controlPlaneDown = false;
    east.state.down = false;
  });

  test('ARC switches both routing controls in one transaction: a safety rule of at least one On holds, and no moment has both or neither On', async () => {
    const panel = 'arn:aws:route53-recovery-control::111122223333:controlpanel/rules/routingcontrol/';
    const rulesControls = new Map<string, 'On' | 'Off'>([
      [`${panel}primary`, 'On'],
      [`${panel}dr`, 'Off'],
    ]);
    const history: Array<Record<string, 'On' | 'Off'>> = [];
    const safetyRules = [
      {
        arn: 'arn:aws:route53-recovery-control::111122223333:controlpanel/rules/safetyrule/at-least-one',
        asserted: [`${panel}primary`, `${panel}dr`],
        type: 'ATLEAST' as const,
        threshold: 1,
      },
    ];
    const endpoint = await fakeArcEndpoint('us-west-2', rulesControls, undefined, { safetyRules, history });
    try {
      const params = dnsAdapter.schema.parse({
        provider: 'route53_arc',
        cluster_endpoints: [{ endpoint: endpoint.url, region: 'us-west-2' }],
        // Primary first: one call per control would switch it Off alone, which the rule refuses.
        routing_controls: [
          { arn: `${panel}primary`, state: 'Off' },
          { arn: `${panel}dr`, state: 'On' },
        ],
        access_key_id: 'AKIAFAKE',
        secret_access_key: 'fake-secret',
      });
      await dnsAdapter.run(params, stepContext());
      assert.deepEqual(Object.fromEntries(rulesControls), {
        [`${panel}primary`]: 'Off',
        [`${panel}dr`]: 'On',
      });
      assert.deepEqual(
        history,
        [{ [`${panel}primary`]: 'Off', [`${panel}dr`]: 'On' }],
        'one transaction, no window',
      );
      assert.equal(
        endpoint.state.targets.filter((t) => t.startsWith('ToggleCustomerAPI.Update')).length,
        1,
        'one update call for the whole change',
      );
      const drOff = [{ arn: `${panel}dr`, state: 'Off' }];
      const allOff = dnsAdapter.schema.parse({ ...params, routing_controls: drOff });
      await assert.rejects(
        dnsAdapter.run(allOff, stepContext()),
        /ARC refused the change at us-west-2: HTTP 409 ConflictException.*safetyrule\/at-least-one.*safety_rules_to_override/,
      );
      await dnsAdapter.run(
        dnsAdapter.schema.parse({
          ...params,
          routing_controls: drOff,
          safety_rules_to_override: [safetyRules[0].arn],
        }),
        stepContext(),
      );
      assert.equal(rulesControls.get(`${panel}dr`), 'Off', 'break glass: the named rule is overridden');
    } finally {
      await endpoint.close();
    }
  });

  test('the ARC stand-in refuses a transaction that leaves its assertion rule unmet (ConflictException), unless the rule is overridden', async () => {
    const { Route53RecoveryClusterClient, UpdateRoutingControlStatesCommand } =
      await import('@aws-sdk/client-route53-recovery-cluster');
    const panel = 'arn:aws:route53-recovery-control::111122223333:controlpanel/x/routingcontrol/';
    const rule = 'arn:aws:route53-recovery-control::111122223333:controlpanel/x/safetyrule/one';
    const states = new Map<string, 'On' | 'Off'>([
      [`${panel}a`, 'On'],
      [`${panel}b`, 'Off'],
    ]);
    const endpoint = await fakeArcEndpoint('us-west-2', states, undefined, {
      safetyRules: [{ arn: rule, asserted: [`${panel}a`, `${panel}b`], type: 'ATLEAST', threshold: 1 }],
    });
    const client = new Route53RecoveryClusterClient({
      region: 'us-west-2',
      endpoint: endpoint.url,
      credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake-secret' },
      maxAttempts: 1,
    });
    try {
      const allOff = [{ RoutingControlArn: `${panel}a`, RoutingControlState: 'Off' as const }];
      await assert.rejects(
        client.send(new UpdateRoutingControlStatesCommand({ UpdateRoutingControlStateEntries: allOff })),
        (e: Error & { resourceId?: string }) => e.name === 'ConflictException' && e.resourceId === rule,
      );
      assert.equal(states.get(`${panel}a`), 'On', 'nothing applied');
      await client.send(
        new UpdateRoutingControlStatesCommand({
          UpdateRoutingControlStateEntries: allOff,
          SafetyRulesToOverride: [rule],
        }),
      );
      assert.equal(states.get(`${panel}a`), 'Off');
    } finally {
      client.destroy();
      await endpoint.close();
    }
  });

  test('the pre-flight catches a CNAME beside an alias A record and a CNAME at the apex before a failover needs them', async () => {
    const conflict = await dnsAdapter.preflight(upsert({}), preflightContext());
    const check = conflict.find((c) => c.check === 'no record the change conflicts with')!;
    assert.equal(check.ok, false);
    assert.match(check.detail, /holds A alias to primary-alb-123/);
    const apex = await dnsAdapter.preflight(upsert({ name: 'example.com' }), preflightContext());
    assert.equal(apex.find((c) => c.check === 'no CNAME at the zone apex')?.ok, false);
  });

  test('the fallback beside failover records: a simple UPSERT is caught by the pre-flight, and set_identifier changes the PRIMARY record keeping its policy and health check', async () => {
    const failoverRecord = (setIdentifier: string, failover: 'PRIMARY' | 'SECONDARY', values: string[]) => ({
      name: 'shop.example.com.',
      type: 'A',
      ttl: 60,
      values,
      setIdentifier,
      failover,
      healthCheckId: `hc-${setIdentifier}`,
    });
    route53.records.set(
      'shop.example.com. A primary',
      failoverRecord('primary', 'PRIMARY', ['198.51.100.10']),
    );
    route53.records.set('shop.example.com. A dr', failoverRecord('dr', 'SECONDARY', ['203.0.113.20']));
    try {
      const simple = upsert({ name: 'shop.example.com', type: 'A', value: '203.0.113.20' });
      const checks = await dnsAdapter.preflight(simple, preflightContext());
      const check = checks.find((c) => c.check === 'record set the change can replace');
      assert.equal(check?.ok, false, JSON.stringify(checks));
      assert.match(
        check!.detail,
        /served by routed records \(SetIdentifier primary: Failover PRIMARY, dr: Failover SECONDARY\).*set_identifier/,
      );
      await assert.rejects(
        dnsAdapter.run(simple, stepContext()),
        /cannot be created as other RRSets exist with the same name and type/,
      );
      const routed = upsert({
        name: 'shop.example.com',
        type: 'A',
        value: '203.0.113.20',
        set_identifier: 'primary',
      });
      assert.equal(
        (await dnsAdapter.preflight(routed, preflightContext())).find(
          (c) => c.check === 'record set the change can replace',
        )?.ok,
        true,
      );
      await dnsAdapter.run(routed, stepContext());
      assert.deepEqual(route53.records.get('shop.example.com. A primary'), {
        ...failoverRecord('primary', 'PRIMARY', ['203.0.113.20']),
      });
      assert.deepEqual(route53.records.get('shop.example.com. A dr')?.values, ['203.0.113.20']);
      const missing = upsert({
        name: 'shop.example.com',
        type: 'A',
        value: '203.0.113.20',
        set_identifier: 'nope',
      });
      await assert.rejects(
        dnsAdapter.run(missing, stepContext()),
        /no record set shop\.example\.com\. A with SetIdentifier nope/,
      );
    } finally {
      route53.records.delete('shop.example.com. A primary');
      route53.records.delete('shop.example.com. A dr');
    }
  });

  test('the Route 53 stand-in refuses what Route 53 refuses: the conflict, the apex CNAME, a non-us-east-1 signature', async () => {
    await assert.rejects(
      dnsAdapter.run(upsert({}), stepContext()),
      /InvalidChangeBatch.*conflicting RRSet of type A with the same DNS name/,
    );
    await assert.rejects(
      dnsAdapter.run(upsert({ name: 'example.com' }), stepContext()),
      /not permitted at apex/,
    );
    await assert.rejects(
      dnsAdapter.run(upsert({ name: 'new.example.com', region: 'eu-west-1' }), stepContext()),
      /SignatureDoesNotMatch/,
    );
  });
});

test('Cloudflare: every matching record is updated and extras deleted; TTLs Cloudflare refuses fail validation', async () => {
  const cloudflare = await new FakeCloudflare(
    '023e105f4ecef8ad9ca31a8372d0c353',
    'example.com',
    'cf-token',
  ).start();
  try {
    for (const [id, content] of [
      ['r1', '198.51.100.1'],
      ['r2', '198.51.100.2'],
      ['r3', '198.51.100.3'],
    ])
      cloudflare.records.push({ id, type: 'A', name: 'api.example.com', content, ttl: 300, proxied: false });
    const params = dnsAdapter.schema.parse({
      provider: 'cloudflare',
      zone_id: cloudflare.zoneId,
      api_token: 'cf-token',
      api_base: `${cloudflare.url}/client/v4`,
      name: 'api.example.com',
      type: 'A',
      value: ['203.0.113.7', '203.0.113.8'],
      ttl: 60,
    });
    await dnsAdapter.run(params, stepContext());
    assert.deepEqual(cloudflare.records.map((r) => [r.content, r.ttl]).sort(), [
      ['203.0.113.7', 60],
      ['203.0.113.8', 60],
    ]);
    assert.match((await dnsAdapter.run(params, stepContext())).summary, /already set/);
    assert.throws(
      () => dnsAdapter.schema.parse({ ...params, ttl: 30 }),
      /Cloudflare accepts ttl 1 \(automatic\) or 60-86400/,
    );
    assert.doesNotThrow(() => dnsAdapter.schema.parse({ ...params, ttl: 30, enterprise: true }));
    assert.doesNotThrow(() => dnsAdapter.schema.parse({ ...params, ttl: 1 }));
  } finally {
    await cloudflare.stop();
  }
});
