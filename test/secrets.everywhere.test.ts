import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigWithSecrets } from '../src/config/index.js';
import { buildPlan } from '../src/runbook/index.js';
import { SecretCache, secretReader } from '../src/secrets/index.js';
import { secretsManagerStandIn } from '../src/stand-ins/aws/secrets-manager.js';
import { FakeLlmServer } from '../src/stand-ins/llm/model-apis.js';
import { runCli, startPhoenix } from './helpers/paths.js';
import { closedPort } from './helpers/servers.js';
import { writeSecretFiles } from './helpers/secret-files.js';

const CREDS = { accessKeyId: 'AKIAEVERYWHERE', secretAccessKey: 'secret' };
let sm: Awaited<ReturnType<typeof secretsManagerStandIn>>;
let dir: string;
before(async () => {
  sm = await secretsManagerStandIn('us-east-1', {
    'prod/api': { value: 'API-TOKEN-1', replicas: [] },
    'prod/llm': { value: 'sk-LLMKEY', replicas: [] },
    'prod/hook': { value: 'https://hooks.example.test/T0/B0/x', replicas: [] },
    'prod/replicated': { value: 'R', replicas: ['us-west-2'] },
  });
  dir = mkdtempSync(join(tmpdir(), 'phoenix-secrets-everywhere-'));
});
after(async () => {
  await sm.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The SDK's own endpoint and credential variables point it at the stand-in; the region is the config's. */
const env = () => ({
  AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
  AWS_REGION: 'eu-west-1',
});

/** A main file whose runbooks live in their own file: dr_failover needs a secret, region_failover none. */
const writeFiles = (name: string, main: Record<string, unknown> = {}) => writeSecretFiles(dir, name, main);

test('a reference inside runbooks.file is resolved when the plan is built, and a URL field takes one', async () => {
  const file = writeFiles('plan', {
    notifications: { channels: [{ channel: 'slack', webhook_url: '${aws-sm:prod/hook}' }] },
  });
  const cache = new SecretCache(
    secretReader({ aws: { region: 'us-east-1', endpoint: sm.url, credentials: CREDS } }),
  );
  const config = await loadConfigWithSecrets(file, cache);
  const params = buildPlan(config, 'dr_failover').stages[0]!.steps[0]!.params as { env: { TOKEN: string } };
  assert.equal(params.env.TOKEN, 'API-TOKEN-1');
  const channel = config.raw.notifications!.channels[0] as { webhook_url: string };
  assert.equal(channel.webhook_url, 'https://hooks.example.test/T0/B0/x');
  const offline = await runCli(['validate', '--offline', file]);
  assert.equal(offline.code, 0, offline.stderr);
});

test('plan and failover --dry-run read the secrets; an unreadable one refuses only the runbook that needs it', async () => {
  const file = writeFiles('cli');
  const ok = await runCli(['plan', 'dr_failover', '--config', file, '--json'], { env: env() });
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  sm.state.down = true;
  try {
    const refused = await runCli(['failover', '--dry-run', '--config', file], { env: env() });
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /dr_failover needs \$\{aws-sm:prod\/api\}, which could not be read: .*ServiceUnavailableException/,
    );
    assert.doesNotMatch(refused.stderr, /at .*\.js:\d+/, 'no stack trace');
    const other = await runCli(['plan', 'region_failover', '--config', file], { env: env() });
    assert.equal(other.code, 0, other.stderr + other.stdout);
    assert.match(other.stderr, /warning: \$\{aws-sm:prod\/api\}.*refused until it can be read/);
  } finally {
    sm.state.down = false;
  }
});

test('phoenix score calls the LLM with the key read from Secrets Manager, never the reference', async () => {
  const llm = await new FakeLlmServer().start();
  try {
    const file = writeFiles('score', {
      decision: { analyzer: 'llm' },
      server: { enabled: false },
      llm: { provider: 'openai', api_key: '${aws-sm:prod/llm}', base_url: `${llm.url}/v1` },
      scoring: { levels: { self_heal: 0, region_failover: 0, dr_failover: 0 } },
    });
    const scored = await runCli(['score', '--config', file, '--json'], { env: env() });
    assert.equal(scored.code, 0, scored.stderr);
    const keys = llm.requests.map((r) => String(r.headers.authorization));
    assert.ok(keys.length > 0, `the model was consulted: ${scored.stdout}`);
    assert.ok(
      keys.every((k) => k === 'Bearer sk-LLMKEY'),
      keys.join(', '),
    );
    const calls = llm.requests.length;
    sm.state.down = true;
    try {
      const unread = await runCli(['score', '--config', file, '--json'], { env: env() });
      assert.equal(unread.code, 0, unread.stderr);
      assert.equal(llm.requests.length, calls, 'the model is not called with the reference as its key');
      assert.match(unread.stdout, /llm.api_key holds \$\{aws-sm:prod\/llm\}, which could not be read/);
    } finally {
      sm.state.down = false;
    }
  } finally {
    await llm.close();
  }
});

test('phoenix run starts while a secret is unreadable, reports the runbook it blocks, and is ready once it reads it', async () => {
  const file = writeFiles('run', {
    interval: 0.2,
    decision: { analyzer: 'threshold' },
    server: { listen: '127.0.0.1:0', anonymous: 'read' },
    probes: { signals: {} },
  });
  sm.state.down = true;
  const phoenix = startPhoenix(['run', '--config', file, '--log-format', 'json'], env());
  try {
    let url = '';
    await phoenix.waitFor(() => {
      url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(phoenix.stdout())?.[1] ?? '';
      return Boolean(url);
    }, 'the API to listen');
    const status = async () =>
      (await (await fetch(`${url}/api/status`)).json()) as {
        runbook_readiness: null | {
          ready: boolean;
          runbooks: Array<{ runbook: string; ok: boolean; problems: string[] }>;
        };
      };
    let readiness = (await status()).runbook_readiness;
    await phoenix.waitFor(async () => {
      readiness = (await status()).runbook_readiness;
      return readiness !== null;
    }, 'a first readiness pass');
    const dr = readiness!.runbooks.find((r) => r.runbook === 'dr_failover')!;
    assert.equal(dr.ok, false);
    assert.match(dr.problems.join('\n'), /dr_failover needs \$\{aws-sm:prod\/api\}, which could not be read/);
    assert.equal(readiness!.runbooks.find((r) => r.runbook === 'region_failover')!.ok, true);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /phoenix_runbook_ready\{runbook="dr_failover"\} 0/);
    const warned = phoenix
      .stdout()
      .split('\n')
      .find((l) => l.includes('starting without some secrets'));
    assert.match(String(warned), /"blocks":\{"\$\{aws-sm:prod\/api\}":\["dr_failover"\]\}/);
    const callsWhileDown = sm.state.calls;
    await phoenix.waitFor(() => sm.state.calls > callsWhileDown, 'a retry on a later cycle');
    sm.state.down = false;
    await phoenix.waitFor(async () => (await status()).runbook_readiness?.ready === true, 'readiness');
    assert.match(
      await (await fetch(`${url}/metrics`)).text(),
      /phoenix_runbook_ready\{runbook="dr_failover"\} 1/,
    );
    assert.equal(await phoenix.stop(), 0, phoenix.output());
  } finally {
    sm.state.down = false;
    await phoenix.stop();
  }
});

test('validate warns when a secret the DR failover needs (in runbooks.file) is held only in the primary region', async () => {
  // The Key Vault is on this host, and not listening: validate reads it, and says it cannot be reached.
  const vault = `http://127.0.0.1:${await closedPort()}/{vault}`;
  const file = writeFiles('residency', { secrets: { key_vault_url: vault } });
  const warned = await runCli(['validate', '--json', file], { env: env() });
  assert.equal(warned.code, 0, warned.stderr);
  const out = JSON.parse(warned.stdout) as { warnings?: Array<{ path: string; message: string }> };
  const held = (out.warnings ?? []).filter((w) => /held only in/.test(w.message));
  assert.equal(held.length, 1, warned.stdout);
  assert.equal(held[0]!.path, 'runbooks.dr_failover');
  assert.match(
    held[0]!.message,
    /\$\{aws-sm:prod\/api\} is held only in us-east-1.*ReplicateSecretToRegions/,
  );
  // A replica in another region, or a Key Vault copy, is readable during the outage: no warning.
  const runbooks = join(dir, 'residency-runbooks.yaml');
  writeFileSync(
    runbooks,
    stringify({
      dr_failover: {
        stages: [
          {
            name: 'call',
            steps: [
              {
                name: 'tell-api',
                type: 'command',
                params: {
                  command: 'true',
                  env: { A: '${aws-sm:prod/replicated}', B: '${azure-kv:phoenix-dr/api-token}' },
                },
              },
            ],
          },
        ],
      },
    }),
  );
  const clean = await runCli(['validate', '--json', file], { env: env() });
  assert.doesNotMatch(clean.stdout, /held only in/);
  const result = JSON.parse(clean.stdout) as { ready: boolean; environment: Array<{ message: string }> };
  assert.equal(clean.code, 3, clean.stderr);
  assert.equal(result.ready, false);
  assert.deepEqual(
    result.environment.map((p) =>
      p.message.replace(/(reached: the connection failed \(ECONNREFUSED\)).*/, '$1'),
    ),
    [
      '${azure-kv:phoenix-dr/api-token}: Key Vault could not be reached: the connection failed (ECONNREFUSED)',
    ],
  );
});
