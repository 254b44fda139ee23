import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  PriorRequestNotComplete,
  Route53Client,
  type Route53ServiceException,
} from '@aws-sdk/client-route-53';
import { FakeRoute53 } from './route53.js';

const ZONE = 'Z0123456789ABC';

describe('the Route 53 stand-in, through @aws-sdk/client-route-53', () => {
  const route53 = new FakeRoute53(ZONE, 'lab.example.', 0);
  const client = (maxAttempts: number) =>
    new Route53Client({
      region: 'us-east-1',
      endpoint: route53.url,
      credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake-secret' },
      maxAttempts,
    });
  const upsert = (value: string) =>
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'app.lab.example.',
              Type: 'A',
              TTL: 5,
              ResourceRecords: [{ Value: value }],
            },
          },
        ],
      },
    });
  /** The error a call ends with, and how many ChangeResourceRecordSets calls the SDK made for it. */
  const refusal = async (maxAttempts: number) => {
    const before = route53.callsOf('ChangeResourceRecordSets').length;
    const c = client(maxAttempts);
    try {
      await c.send(upsert('127.0.0.3'));
    } catch (error) {
      return {
        error: error as Route53ServiceException,
        calls: route53.callsOf('ChangeResourceRecordSets').length - before,
      };
    } finally {
      c.destroy();
    }
    assert.fail('the change was accepted');
  };

  before(() => route53.start());
  after(() => route53.stop());

  test('answers normally while its control plane is up: the change is accepted, then INSYNC', async () => {
    const c = client(1);
    const change = await c.send(upsert('127.0.0.2'));
    assert.equal(change.ChangeInfo?.Status, 'PENDING');
    const got = await c.send(new GetChangeCommand({ Id: change.ChangeInfo!.Id! }));
    assert.equal(got.ChangeInfo?.Status, 'INSYNC');
    c.destroy();
    assert.deepEqual(route53.records.get('app.lab.example. A')?.values, ['127.0.0.2']);
  });

  test('control plane down: HTTP 503 ServiceUnavailable, a server fault the SDK retries, and nothing changes', async () => {
    route53.setMode('unavailable');
    try {
      const once = await refusal(1);
      assert.equal(once.error.name, 'ServiceUnavailable');
      assert.equal(once.error.$metadata.httpStatusCode, 503);
      assert.equal(once.error.$fault, 'server');
      assert.match(once.error.message, /temporary failure of the server/);
      const retried = await refusal(3);
      assert.equal(retried.error.name, 'ServiceUnavailable');
      assert.equal(retried.calls, 3, 'the SDK retries a 503 up to maxAttempts');
    } finally {
      route53.setMode('ok');
    }
    assert.deepEqual(route53.records.get('app.lab.example. A')?.values, ['127.0.0.2']);
  });

  test('throttled: HTTP 400 Throttling "Rate exceeded", a client fault the SDK still retries', async () => {
    route53.setMode('throttled');
    try {
      const { error, calls } = await refusal(2);
      assert.equal(error.name, 'Throttling');
      assert.equal(error.message, 'Rate exceeded');
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.equal(error.$fault, 'client');
      assert.equal(calls, 2, 'throttling is retried');
    } finally {
      route53.setMode('ok');
    }
  });

  test('a change still being processed: PriorRequestNotComplete, the modeled exception', async () => {
    route53.setMode('prior_request');
    try {
      const { error, calls } = await refusal(1);
      assert.ok(error instanceof PriorRequestNotComplete, `${error.name} is not PriorRequestNotComplete`);
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.equal(calls, 1);
    } finally {
      route53.setMode('ok');
    }
  });

  test('the admin endpoint sets the mode a drill needs, and refuses an unknown one', async () => {
    const set = (mode: string) =>
      fetch(`${route53.url}/_admin/state`, { method: 'POST', body: JSON.stringify({ mode }) });
    assert.equal((await set('unavailable')).status, 200);
    assert.equal(route53.controlPlaneDown, true);
    const bad = await set('sideways');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /unknown mode sideways/);
    assert.equal((await set('ok')).status, 200);
    assert.equal(route53.controlPlaneDown, false);
  });
});
