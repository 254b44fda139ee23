import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretsManagerStandIn } from '../src/stand-ins/aws/secrets-manager.js';
import { FakeLlmServer } from '../src/stand-ins/llm/model-apis.js';
import { startPhoenix } from './helpers/paths.js';
import { httpServer } from './helpers/servers.js';
import { writeSecretFiles } from './helpers/secret-files.js';

// `phoenix run` started while Secrets Manager does not answer: what was built from the secrets at start (the
// notification channels, the LLM client) must pick them up once they are readable, without a restart.
const CREDS = { AWS_ACCESS_KEY_ID: 'AKIALATE', AWS_SECRET_ACCESS_KEY: 'secret' };
let sm: Awaited<ReturnType<typeof secretsManagerStandIn>>;
let dir: string;
/** On-call's webhook receiver, whose address is itself a secret (prod/oncall). */
let receiver: Awaited<ReturnType<typeof httpServer>>;
const notes: Array<Record<string, unknown>> = [];
/** What the stand-in serves; a test rotates a value by changing it here. */
const SECRETS: Record<string, { value: string; replicas: string[] }> = {};
before(async () => {
  receiver = await httpServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += String(c)));
    req.on('end', () => {
      notes.push(JSON.parse(raw) as Record<string, unknown>);
      res.end('{}');
    });
  });
  Object.assign(SECRETS, {
    'prod/oncall': { value: `${receiver.url}/oncall`, replicas: [] },
    'prod/api': { value: 'API-TOKEN-LATE', replicas: [] },
    'prod/llm': { value: 'sk-LLMKEY', replicas: [] },
    'prod/llm-capped': { value: 'sk-BEFORE', replicas: [] },
    'prod/probe-token': { value: 'PROBE-ONE', replicas: [] },
  });
  sm = await secretsManagerStandIn('us-east-1', SECRETS);
  dir = mkdtempSync(join(tmpdir(), 'phoenix-secrets-late-'));
});
after(async () => {
  await sm.close();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ ...CREDS, AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url });
const writeFiles = (name: string, main: Record<string, unknown>) => writeSecretFiles(dir, name, main);

test('phoenix run started without its secrets: once they are readable, the notification channel and the LLM use them without a restart', async () => {
  const llm = await new FakeLlmServer().start();
  const file = writeFiles('late', {
    interval: 0.2,
    server: { listen: '127.0.0.1:0', anonymous: 'read' },
    probes: { signals: {} },
    // Every level reaches the model, so every cycle consults it.
    decision: { analyzer: 'llm' },
    scoring: { levels: { self_heal: 0, region_failover: 0, dr_failover: 0 } },
    llm: { provider: 'openai', api_key: '${aws-sm:prod/llm}', base_url: `${llm.url}/v1` },
    notifications: { channels: [{ channel: 'webhook', url: '${aws-sm:prod/oncall}' }] },
  });
  sm.state.down = true;
  const phoenix = startPhoenix(['run', '--config', file, '--log-format', 'json'], env());
  try {
    await phoenix.waitFor(() => phoenix.stdout().includes('"controller started"'), 'the controller to start');
    const callsWhileDown = sm.state.calls;
    await phoenix.waitFor(() => sm.state.calls > callsWhileDown, 'a retry on a later cycle');
    assert.equal(llm.requests.length, 0, 'the model is not called with the reference as its key');
    assert.equal(notes.length, 0, 'nothing reached the receiver: its address was not readable');
    sm.state.down = false;
    await phoenix.waitFor(() => notes.length > 0, 'a notification delivered to the receiver read late');
    await phoenix.waitFor(() => llm.requests.length > 0, 'the model consulted with the key read late');
    const keys = llm.requests.map((r) => String(r.headers.authorization));
    assert.ok(
      keys.every((k) => k === 'Bearer sk-LLMKEY'),
      keys.join(', '),
    );
    assert.doesNotMatch(phoenix.output(), /sk-LLMKEY/, 'the value is never logged');
    assert.equal(await phoenix.stop(), 0, phoenix.output());
  } finally {
    sm.state.down = false;
    await phoenix.stop();
    await llm.close();
  }
});

test('the LLM call cap (llm.max_calls_per_hour) holds across the analyzer rebuilt for a rotated key, and across a restart', async () => {
  const llm = await new FakeLlmServer().start();
  const file = writeFiles('capped', {
    interval: 0.2,
    server: { listen: '127.0.0.1:0', anonymous: 'read' },
    store: { path: join(dir, 'capped.db') },
    probes: { signals: {} },
    // Every level reaches the model, so every cycle would consult it.
    decision: { analyzer: 'llm' },
    scoring: { levels: { self_heal: 0, region_failover: 0, dr_failover: 0 } },
    secrets: { refresh: '10s' },
    llm: {
      provider: 'openai',
      api_key: '${aws-sm:prod/llm-capped}',
      base_url: `${llm.url}/v1`,
      max_calls_per_hour: 2,
    },
  });
  const cycles = (p: ReturnType<typeof startPhoenix>) => p.stdout().split('"cycle: score').length - 1;
  let phoenix = startPhoenix(['run', '--config', file, '--log-format', 'json'], env());
  try {
    await phoenix.waitFor(() => llm.requests.length >= 2, 'the model consulted up to its cap');
    let seen = cycles(phoenix);
    await phoenix.waitFor(() => cycles(phoenix) >= seen + 3, 'three more cycles');
    assert.equal(llm.requests.length, 2, 'the cap holds');
    // The key rotates: the analyzer is built again with it. The calls of the last hour still count.
    SECRETS['prod/llm-capped']!.value = 'sk-AFTER';
    await phoenix.waitFor(() => phoenix.stdout().includes('secrets rotated'), 'the rotation read', 30_000);
    seen = cycles(phoenix);
    await phoenix.waitFor(() => cycles(phoenix) >= seen + 5, 'five cycles with the rebuilt analyzer');
    assert.equal(llm.requests.length, 2, 'a rebuilt analyzer starts with the calls already made');
    assert.equal(await phoenix.stop(), 0, phoenix.output());
    // A restart on the same store: the calls made within the hour are in it.
    phoenix = startPhoenix(['run', '--config', file, '--log-format', 'json'], env());
    await phoenix.waitFor(() => cycles(phoenix) >= 5, 'five cycles after the restart');
    assert.equal(llm.requests.length, 2, 'a restarted controller starts with the calls already made');
    assert.equal(await phoenix.stop(), 0, phoenix.output());
  } finally {
    await phoenix.stop();
    await llm.close();
  }
});

test('phoenix run started without its secrets: the probes use a token once it is readable, and the rotated one after a rotation, without a restart', async () => {
  // The app's health endpoint wants the token in its Authorization header (the probe's `headers`).
  const seen: string[] = [];
  const app = await httpServer((req, res) => {
    seen.push(String(req.headers.authorization));
    res.end('ok');
  });
  const file = writeFiles('probes', {
    interval: 0.2,
    server: { listen: '127.0.0.1:0', anonymous: 'read' },
    store: { path: join(dir, 'probes.db') },
    secrets: { refresh: '10s' },
    probes: {
      timeout: '2s',
      signals: {
        internal_services: {
          type: 'http',
          url: `${app.url}/healthz`,
          headers: { authorization: 'Bearer ${aws-sm:prod/probe-token}' },
        },
      },
    },
  });
  sm.state.down = true;
  const phoenix = startPhoenix(['run', '--config', file, '--log-format', 'json'], env());
  try {
    await phoenix.waitFor(() => phoenix.stdout().includes('"controller started"'), 'the controller to start');
    const callsWhileDown = sm.state.calls;
    await phoenix.waitFor(() => sm.state.calls > callsWhileDown, 'a retry on a later cycle');
    assert.ok(
      !seen.some((h) => h.includes('PROBE-ONE')),
      'the token was not readable: it cannot have been sent',
    );
    sm.state.down = false;
    await phoenix.waitFor(() => seen.includes('Bearer PROBE-ONE'), 'a probe with the token read late');
    SECRETS['prod/probe-token']!.value = 'PROBE-TWO';
    await phoenix.waitFor(() => phoenix.stdout().includes('secrets rotated'), 'the rotation read', 30_000);
    await phoenix.waitFor(() => seen.includes('Bearer PROBE-TWO'), 'a probe with the rotated token');
    const count = seen.length;
    await phoenix.waitFor(() => seen.length >= count + 3, 'three more probes');
    assert.ok(
      seen.slice(seen.length - 3).every((h) => h === 'Bearer PROBE-TWO'),
      `the old token is no longer sent: ${seen.filter((h, i) => h !== seen[i - 1]).join(', ')}`,
    );
    assert.doesNotMatch(phoenix.output(), /PROBE-ONE|PROBE-TWO/, 'the values are never logged');
    assert.equal(await phoenix.stop(), 0, phoenix.output());
  } finally {
    sm.state.down = false;
    await phoenix.stop();
    await app.close();
  }
});
