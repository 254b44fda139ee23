import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretsManagerStandIn } from '../src/stand-ins/aws/secrets-manager.js';
import { runCli } from './helpers/paths.js';
import { closedPort } from './helpers/servers.js';
import { writeSecretFiles } from './helpers/secret-files.js';

// `phoenix validate` without --offline reads every secret reference through the AWS SDK, here against the
// Secrets Manager stand-in (which refuses a request signed for another region, as the service does).
const CREDS = { AWS_ACCESS_KEY_ID: 'AKIAVALIDATE', AWS_SECRET_ACCESS_KEY: 'secret' };
const VALUES = ['R0UT1NGKEY-VALIDATE', 'API-TOKEN-VALIDATE'];
let sm: Awaited<ReturnType<typeof secretsManagerStandIn>>;
let dir: string;
before(async () => {
  sm = await secretsManagerStandIn('us-east-1', {
    'prod/pagerduty': { value: VALUES[0]!, replicas: ['us-west-2'] },
    'prod/api': { value: VALUES[1]!, replicas: ['us-west-2'] },
  });
  dir = mkdtempSync(join(tmpdir(), 'phoenix-validate-secrets-'));
});
after(async () => {
  await sm.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A main file with secrets in two notification channels; its runbooks file has one in a step. */
const write = (name: string, hookSecret: string, secrets: Record<string, unknown> = {}) =>
  writeSecretFiles(dir, name, {
    secrets,
    notifications: {
      channels: [
        { channel: 'pagerduty', routing_key: '${aws-sm:prod/pagerduty}' },
        { channel: 'webhook', url: hookSecret },
      ],
    },
  });

const env = (endpoint = sm.url) => ({ ...CREDS, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint });

function assertNoValue(output: string): void {
  for (const value of VALUES) assert.ok(!output.includes(value), `a secret value was printed:\n${output}`);
}

test('validate reads every secret reference, in the main file and the runbooks file, and never prints a value', async () => {
  const file = write('readable', '${aws-sm:prod/pagerduty}');
  const before = sm.state.calls;
  const text = await runCli(['validate', file], { env: env() });
  assert.equal(text.code, 0, text.stderr + text.stdout);
  assert.match(text.stdout, /valid \(.*\); environment ready \(2 secrets read\)/);
  assert.ok(sm.state.calls > before, 'the store was asked');
  assertNoValue(text.stdout + text.stderr);
  const json = await runCli(['validate', '--json', file], { env: env() });
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { ready: boolean; secrets_read: number };
  assert.equal(out.ready, true);
  assert.equal(out.secrets_read, 2);
  assertNoValue(json.stdout + json.stderr);
  const asked = sm.state.calls;
  const offline = await runCli(['validate', '--offline', file], { env: env() });
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(offline.stdout, /environment not checked \(--offline\)/);
  assert.equal(sm.state.calls, asked, '--offline asks no store');
});

test('validate names a secret that cannot be read, where it sits and what failed: not found, auth, connection', async () => {
  const missing = write('missing', '${aws-sm:prod/no-such-hook}');
  const notFound = await runCli(['validate', missing], { env: env() });
  assert.equal(notFound.code, 3, notFound.stderr + notFound.stdout);
  assert.match(
    notFound.stderr,
    /notifications\.channels\.1\.url: environment: \$\{aws-sm:prod\/no-such-hook\}: Secrets Manager has no such secret \(not found\)/,
  );
  assert.match(notFound.stdout, /this environment is NOT ready \(1 problem/);
  assertNoValue(notFound.stdout + notFound.stderr);
  const json = JSON.parse((await runCli(['validate', '--json', missing], { env: env() })).stdout) as {
    valid: boolean;
    ready: boolean;
    environment: Array<{ path: string; message: string }>;
  };
  assert.equal(json.valid, true, 'the file itself is valid');
  assert.equal(json.ready, false);
  assert.deepEqual(
    json.environment.map((p) => p.path),
    ['notifications.channels.1.url'],
  );

  // Signed for eu-west-1 (secrets.aws_region), refused by the us-east-1 store: the identity, not the secret.
  const wrongRegion = write('auth', '${aws-sm:prod/pagerduty}', { aws_region: 'eu-west-1' });
  const auth = await runCli(['validate', wrongRegion], { env: env() });
  assert.equal(auth.code, 3, auth.stderr + auth.stdout);
  assert.match(auth.stderr, /refused this identity \(authentication or permission\)/);
  // Both references of the main file, and the one in the runbooks file (named by that file).
  assert.match(
    auth.stderr,
    /notifications\.channels\.0\.routing_key: environment: \$\{aws-sm:prod\/pagerduty\}/,
  );
  assert.match(
    auth.stderr,
    /auth-runbooks\.yaml: dr_failover\.stages\.0\.steps\.0\.params\.env\.TOKEN: environment: \$\{aws-sm:prod\/api\}/,
  );

  const down = await runCli(['validate', missing], { env: env(`http://127.0.0.1:${await closedPort()}`) });
  assert.equal(down.code, 3, down.stderr + down.stdout);
  assert.match(down.stderr, /Secrets Manager could not be reached: the connection failed \(ECONNREFUSED\)/);
  assert.doesNotMatch(down.stderr, /at .*\.js:\d+/, 'no stack trace');
});
