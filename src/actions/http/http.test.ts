import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthCheckAdapter } from '../health_check/health_check.js';
import { notifyAdapter } from '../notify/notify.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { verifyAdapter } from '../verify/verify.js';
import { httpAdapter } from './http.js';

// One local server plays Jenkins, Slack, PagerDuty, a generic webhook, the failing primary and the DR site.
let server: Server;
let base: string;
const received: Array<{ path: string; headers: Record<string, unknown>; body: string }> = [];
let drHealthyAfter = 0;
let drCalls = 0;
let primaryHealthy = false;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path === '/dr/healthz') {
        drCalls += 1;
        res
          .writeHead(drCalls > drHealthyAfter ? 200 : 503)
          .end(drCalls > drHealthyAfter ? 'ok: eastus2' : 'starting');
        return;
      }
      if (path === '/primary/healthz') {
        res.writeHead(primaryHealthy ? 200 : 502).end(primaryHealthy ? 'ok' : 'bad gateway');
        return;
      }
      received.push({ path, headers: req.headers, body });
      if (path.startsWith('/job/')) {
        if (req.headers.authorization !== `Basic ${Buffer.from('ci:token').toString('base64')}`)
          return void res.writeHead(401).end('Unauthorized');
        return void res.writeHead(201, { location: '/queue/item/7/' }).end();
      }
      if (path === '/v2/enqueue') {
        const event = JSON.parse(body) as { routing_key?: string };
        if (!event.routing_key)
          return void res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(
              '{"status":"invalid event","message":"Event object is invalid","errors":["\'routing_key\' is missing or blank"]}',
            );
        return void res.writeHead(202, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            status: 'success',
            message: 'Event processed',
            dedup_key: (JSON.parse(body) as { dedup_key: string }).dedup_key,
          }),
        );
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

test('http starts a Jenkins job once per step: a resumed step does not start a second build', async () => {
  const params = httpAdapter.schema.parse({
    url: `${base}/job/dr-deploy/buildWithParameters?RUN={{run_id}}`,
    basic_auth: { username: 'ci', password: 'token' },
    body: { run: '{{run_id}}', stage: '{{stage}}' },
  });
  assert.equal((await httpAdapter.preflight(params, preflightContext()))[0].ok, true);
  const ctx = stepContext({ runId: 'run-42', stage: 'deploy' });
  const result = await httpAdapter.run(params, ctx);
  assert.match(result.summary, /answered 201/);
  const calls = received.filter((r) => r.path.startsWith('/job/'));
  assert.equal(calls.length, 1);
  assert.deepEqual(JSON.parse(calls[0].body), { run: 'run-42', stage: 'deploy' });
  assert.equal(calls[0].headers['idempotency-key'], 'run-42/step/1');
  const again = await httpAdapter.run(params, { ...ctx, attempt: 2, resumed: true });
  assert.match(again.summary, /not sent again/);
  assert.equal(received.filter((r) => r.path.startsWith('/job/')).length, 1);
  // Killed between the answer and the save that keeps it: sent again under the same key, for the
  // receiver to drop.
  await ctx.state.save({});
  await httpAdapter.run(params, { ...ctx, attempt: 3, resumed: true });
  const resent = received.filter((r) => r.path.startsWith('/job/'));
  assert.deepEqual(
    resent.map((r) => r.headers['idempotency-key']),
    ['run-42/step/1', 'run-42/step/1'],
  );
  const unauthorized = httpAdapter.schema.parse({ url: `${base}/job/dr-deploy/build` });
  await assert.rejects(httpAdapter.run(unauthorized, stepContext()), /answered HTTP 401: Unauthorized/);
});

test('notify speaks Slack webhooks, PagerDuty Events v2 and a generic webhook; a repeat carries the same keys', async () => {
  const ctx = stepContext({ runId: 'run-7', runbook: 'dr_failover' });
  await notifyAdapter.run(
    notifyAdapter.schema.parse({
      channel: 'slack',
      webhook_url: `${base}/services/T/B/X`,
      message: 'DR failover {{run_id}} started',
    }),
    ctx,
  );
  const pagerduty = () =>
    notifyAdapter.schema.parse({
      channel: 'pagerduty',
      routing_key: 'R0UTING',
      url: `${base}/v2/enqueue`,
      message: 'failing over ({{runbook}})',
    });
  await notifyAdapter.run(pagerduty(), ctx);
  await notifyAdapter.run(
    notifyAdapter.schema.parse({ channel: 'webhook', url: `${base}/hooks/dr`, message: 'done' }),
    ctx,
  );
  const slack = received.find((r) => r.path === '/services/T/B/X')!;
  assert.deepEqual(JSON.parse(slack.body), { text: 'DR failover run-7 started' });
  const pd = JSON.parse(received.find((r) => r.path === '/v2/enqueue')!.body) as Record<string, unknown>;
  assert.equal(pd.routing_key, 'R0UTING');
  assert.equal(pd.event_action, 'trigger');
  assert.equal(pd.dedup_key, 'cloudphoenix-run-7');
  assert.deepEqual((pd.payload as Record<string, unknown>).summary, 'failing over (dr_failover)');
  assert.equal((pd.payload as Record<string, unknown>).severity, 'critical');
  const hook = JSON.parse(received.find((r) => r.path === '/hooks/dr')!.body) as Record<string, unknown>;
  assert.equal(hook.run_id, 'run-7');
  assert.equal(hook.message, 'done');
  // Resumed after a crash, the step sends again: PagerDuty folds it into the same incident, the
  // webhook's receiver sees the same Idempotency-Key.
  await notifyAdapter.run(
    notifyAdapter.schema.parse({ channel: 'webhook', url: `${base}/hooks/dr`, message: 'done' }),
    { ...ctx, attempt: 2, resumed: true },
  );
  assert.deepEqual(
    received.filter((r) => r.path === '/hooks/dr').map((r) => r.headers['idempotency-key']),
    ['run-7/step/1', 'run-7/step/1'],
  );
  await notifyAdapter.run(pagerduty(), { ...ctx, attempt: 2, resumed: true });
  assert.deepEqual(
    received
      .filter((r) => r.path === '/v2/enqueue')
      .map((r) => (JSON.parse(r.body) as { dedup_key: string }).dedup_key),
    ['cloudphoenix-run-7', 'cloudphoenix-run-7'],
  );
  // A blank key (an unset variable) is refused by PagerDuty; the step says so.
  const blank = notifyAdapter.schema.parse({
    channel: 'pagerduty',
    routing_key: ' ',
    url: `${base}/v2/enqueue`,
    message: 'x',
  });
  await assert.rejects(
    notifyAdapter.run(Object.assign(blank, { routing_key: '' }), ctx),
    /pagerduty answered HTTP 400/,
  );
});

test('verify waits until the DR site passes its checks several times in a row, or fails at max_wait', async () => {
  drHealthyAfter = 3;
  drCalls = 0;
  const params = verifyAdapter.schema.parse({
    checks: [{ url: `${base}/dr/healthz`, contains: 'eastus2' }],
    consecutive: 2,
    interval: 0.05,
  });
  const ctx = stepContext();
  const result = await verifyAdapter.run(params, ctx);
  assert.match(result.summary, /DR site healthy/);
  assert.equal(result.output?.rounds, 5);
  assert.ok(ctx.messages.some((m) => /not yet: .*HTTP 503/.test(m)));
  drHealthyAfter = 1_000_000;
  const never = verifyAdapter.schema.parse({
    checks: [{ url: `${base}/dr/healthz` }],
    interval: 0.05,
    max_wait: 0.3,
  });
  await assert.rejects(verifyAdapter.run(never, stepContext()), /not healthy within 0\.3s: .*HTTP 503/);
});

test('health_check confirms a still-failing primary, and ends the run when the incident cleared', async () => {
  const params = healthCheckAdapter.schema.parse({
    checks: [{ url: `${base}/primary/healthz` }],
    tries: 2,
    interval: 0.05,
  });
  primaryHealthy = false;
  const holds = await healthCheckAdapter.run(params, stepContext());
  assert.equal(holds.endRun, undefined);
  assert.match(holds.summary, /incident confirmed: .*HTTP 502/);
  primaryHealthy = true;
  const cleared = await healthCheckAdapter.run(params, stepContext());
  assert.deepEqual(cleared.endRun, { reason: 'the incident cleared before the failover started' });
});
