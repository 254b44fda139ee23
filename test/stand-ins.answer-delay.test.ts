// The kill-anywhere benchmark's most adversarial instant: the service has applied a write and its answer
// has not reached the controller. With `answerDelayMs`, each stand-in (and BIND behind the relay) must
// hold that state: the change is visible while the caller still waits, then the answer arrives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRoute53 } from '../src/stand-ins/aws/route53.js';
import { fakeArcEndpoint } from '../src/stand-ins/aws/arc.js';
import { FakeCloudflare } from '../src/stand-ins/cloudflare/dns.js';
import { FakeArm } from '../src/stand-ins/azure/arm-dns.js';
import { FakeDeploymentApi } from '../src/stand-ins/kubernetes/apiserver.js';
import { pagerDutyEventsServer } from '../src/stand-ins/pagerduty/events-api.js';
import { startBind, waitUntil, type BindServer } from '../src/lab/index.js';
import { DnsDelayRelay } from '../bench/dns-delay-relay.js';

const DELAY = 600;
const baseDir = mkdtempSync(join(tmpdir(), 'phoenix-answer-delay-'));
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(baseDir, { recursive: true, force: true });
});

/**
 * Sends a write and checks the stand-in's state shows it while the answer is still held: `applied` is
 * waited for (an event, not a sleep) and must hold before the answer comes; the answer then arrives no
 * sooner than the delay after the request left.
 */
async function appliedBeforeAnswered(
  send: () => Promise<number>,
  applied: () => boolean | Promise<boolean>,
  expectStatus: number,
): Promise<void> {
  const sentAt = performance.now();
  let answeredAt: number | undefined;
  const answer = send().then((status) => {
    answeredAt = performance.now();
    return status;
  });
  await waitUntil(applied, 10_000, 'the write to be applied', 5);
  assert.equal(answeredAt, undefined, 'the answer arrived before the held delay, with the change applied');
  assert.equal(await answer, expectStatus);
  assert.ok(answeredAt! - sentAt >= DELAY - 20, `answered after ${answeredAt! - sentAt} ms`);
}

const post = (url: string, body: string, headers: Record<string, string>, method = 'POST') =>
  fetch(url, { method, body, headers }).then(async (r) => (await r.arrayBuffer(), r.status));

test('with an answer delay, Route 53, ARC, Cloudflare, ARM, Kubernetes and PagerDuty stand-ins apply a write, then answer it', async () => {
  const route53 = await new FakeRoute53('ZDELAY', 'example.com.', 0).start();
  cleanups.push(() => route53.close());
  route53.answerDelayMs = DELAY;
  const auth = 'AWS4-HMAC-SHA256 Credential=AKIAFAKE/20260101/us-east-1/route53/aws4_request, Signature=x';
  await appliedBeforeAnswered(
    () =>
      post(
        `${route53.url}/2013-04-01/hostedzone/ZDELAY/rrset/`,
        '<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>app.example.com.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>203.0.113.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>',
        { authorization: auth },
      ),
    () => [...route53.records.values()].some((r) => r.values.includes('203.0.113.1')),
    200,
  );

  const controls = new Map([['arn:dr', 'Off' as const]]) as Map<string, 'On' | 'Off'>;
  const arc = await fakeArcEndpoint('us-east-1', controls, undefined, { answerDelayMs: DELAY });
  cleanups.push(() => arc.close());
  await appliedBeforeAnswered(
    () =>
      post(arc.url, JSON.stringify({ RoutingControlArn: 'arn:dr', RoutingControlState: 'On' }), {
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAFAKE/20260101/us-east-1/route53-recovery-cluster/aws4_request, Signature=x',
        'x-amz-target': 'ToggleCustomerAPI.UpdateRoutingControlState',
      }),
    () => controls.get('arn:dr') === 'On',
    200,
  );

  const cloudflare = await new FakeCloudflare('cfz', 'example.com', 'tok').start();
  cleanups.push(() => cloudflare.stop());
  cloudflare.answerDelayMs = DELAY;
  await appliedBeforeAnswered(
    () =>
      post(
        `${cloudflare.url}/client/v4/zones/cfz/dns_records`,
        JSON.stringify({ type: 'A', name: 'www.example.com', content: '203.0.113.2', ttl: 60 }),
        { authorization: 'Bearer tok', 'content-type': 'application/json' },
      ),
    () => cloudflare.records.some((r) => r.content === '203.0.113.2'),
    200,
  );

  const arm = await new FakeArm('sub', 'rg', 'arm-tok').start();
  cleanups.push(() => arm.stop());
  arm.answerDelayMs = DELAY;
  arm.zones.set('example.com', []);
  const ca = readFileSync(arm.caFile);
  await appliedBeforeAnswered(
    () =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${arm.url}/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/dnsZones/example.com/A/app?api-version=2018-05-01`,
          { method: 'PUT', ca, headers: { authorization: 'Bearer arm-tok' } },
          (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)),
        );
        req.on('error', reject);
        req.end(JSON.stringify({ properties: { TTL: 60, ARecords: [{ ipv4Address: '203.0.113.3' }] } }));
      }),
    () => (arm.zones.get('example.com') ?? []).some((set) => set.name === 'app'),
    201,
  );

  const kube = await new FakeDeploymentApi([{ namespace: 'shop', name: 'web', replicas: 0 }]).start();
  cleanups.push(() => kube.stop());
  kube.answerDelayMs = DELAY;
  await appliedBeforeAnswered(
    () =>
      post(
        `${kube.url}/apis/apps/v1/namespaces/shop/deployments/web/scale`,
        JSON.stringify({ spec: { replicas: 3 } }),
        { authorization: 'Bearer fake-token', 'content-type': 'application/json' },
        'PUT',
      ),
    () => kube.state('shop', 'web')?.replicas === 3,
    200,
  );

  const pagerduty = await pagerDutyEventsServer({ answerDelayMs: DELAY });
  cleanups.push(() => pagerduty.close());
  await appliedBeforeAnswered(
    () =>
      post(
        pagerduty.url,
        JSON.stringify({
          routing_key: 'R',
          event_action: 'trigger',
          dedup_key: 'k1',
          payload: { summary: 's', source: 'src', severity: 'critical' },
        }),
        { 'content-type': 'application/json' },
      ),
    () => pagerduty.alerts.has('k1'),
    202,
  );
});

test('without an answer delay, a stand-in answers a write as soon as it applied it', async () => {
  const cloudflare = await new FakeCloudflare('cfz', 'example.com', 'tok').start();
  cleanups.push(() => cloudflare.stop());
  const sentAt = performance.now();
  const status = await post(
    `${cloudflare.url}/client/v4/zones/cfz/dns_records`,
    JSON.stringify({ type: 'A', name: 'www.example.com', content: '203.0.113.2', ttl: 60 }),
    { authorization: 'Bearer tok', 'content-type': 'application/json' },
  );
  assert.equal(status, 200);
  assert.ok(performance.now() - sentAt < DELAY, 'a stand-in without a delay held its answer');
});

test('the DNS relay forwards a TSIG-signed update to BIND at once and holds BIND’s reply', async () => {
  const bind: BindServer = await startBind({
    baseDir: join(baseDir, 'bind'),
    zone: 'delay.test',
    records: [{ name: 'app', type: 'A', value: '127.0.0.2' }],
  });
  cleanups.push(() => bind.stop());
  const relay = await new DnsDelayRelay(bind.host, bind.port, DELAY).start();
  cleanups.push(() => relay.stop());
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${bind.port}`]);
  const answer = () => resolver.resolve4('app.delay.test').catch(() => [] as string[]);

  // Queries through the relay are not held.
  const viaRelay = new Resolver({ timeout: 1000, tries: 1 });
  viaRelay.setServers([`127.0.0.1:${relay.port}`]);
  assert.deepEqual(await viaRelay.resolve4('app.delay.test'), ['127.0.0.2']);

  await appliedBeforeAnswered(
    () =>
      new Promise<number>((resolve) => {
        const child = execFile(
          'nsupdate',
          ['-y', `${bind.tsig.algorithm}:${bind.tsig.name}:${bind.tsig.secret}`, '-t', '10'],
          (error) => resolve(error ? 1 : 0),
        );
        child.stdin!.end(
          [
            `server 127.0.0.1 ${relay.port}`,
            'zone delay.test',
            'update delete app.delay.test A',
            'update add app.delay.test 5 A 127.0.0.7',
            'send',
            '',
          ].join('\n'),
        );
      }),
    // BIND is asked directly, so the relay's hold cannot hide the change.
    async () => (await answer()).includes('127.0.0.7'),
    0,
  );
  assert.equal(relay.updates, 1);
});
