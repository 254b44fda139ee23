import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, keepSecretsCurrent, loadConfig, loadConfigWithSecrets } from '../config/index.js';
import { buildPlan } from '../runbook/index.js';
import { secretArn, secretsManagerStandIn } from '../stand-ins/aws/secrets-manager.js';
import { runCli } from '../../test/helpers/paths.js';
import {
  SecretCache,
  secretReader,
  secretRegions,
  secretsOnlyInPrimary,
  secretStoreOptions,
  runbookSecretsOnlyInPrimary,
  withSecretResidency,
  type SecretReference,
} from './index.js';

const CREDS = { accessKeyId: 'AKIASECRETS', secretAccessKey: 'secret' };
const ARN = secretArn;
const secretsManager = secretsManagerStandIn;

describe('secret references in the configuration, read from Secrets Manager', () => {
  let sm: Awaited<ReturnType<typeof secretsManager>>;
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-secrets-'));
  before(async () => {
    sm = await secretsManager('us-east-1', {
      'prod/db': { value: JSON.stringify({ username: 'app', password: 'p@ss' }), replicas: ['us-west-2'] },
      'prod/pagerduty': { value: 'R0UT1NGKEY', replicas: [] },
    });
  });
  after(async () => {
    await sm.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const options = () => ({ aws: { region: 'us-east-1', endpoint: sm.url, credentials: CREDS } });
  const file = (text: string): string => {
    const path = join(dir, `phoenix-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
    return path;
  };
  const yaml = (key: string) => `notifications:
  channels:
    - { channel: pagerduty, routing_key: "${key}" }
`;

  test('a reference is read at start-up, and the value stays cached when the store goes down', async () => {
    const cache = new SecretCache(secretReader(options()));
    const config = await loadConfigWithSecrets(file(yaml('${aws-sm:prod/pagerduty}')), cache);
    const channel = config.raw.notifications!.channels[0] as { routing_key: string };
    assert.equal(channel.routing_key, 'R0UT1NGKEY');
    sm.state.down = true;
    await cache.load([{ store: 'aws-sm', text: '${aws-sm:prod/pagerduty}', secretId: 'prod/pagerduty' }]);
    assert.equal(cache.get('${aws-sm:prod/pagerduty}'), 'R0UT1NGKEY', 'the last value read is kept');
    assert.match(cache.failures.get('${aws-sm:prod/pagerduty}')!, /ServiceUnavailableException/);
    sm.state.down = false;
  });

  test('a secret whose region does not answer is read from its replica: from the configured replica regions, or the ones DescribeSecret named', async () => {
    const secret = { 'prod/token': { value: 'TOKEN-1', replicas: ['us-west-2'], primary: 'us-east-1' } };
    const [east, west] = await Promise.all([
      secretsManager('us-east-1', secret),
      secretsManager('us-west-2', secret),
    ]);
    const endpoints = { 'us-east-1': east.url, 'us-west-2': west.url };
    const ref = (secretId: string): SecretReference => ({
      store: 'aws-sm',
      text: `\${aws-sm:${secretId}}`,
      secretId,
    });
    try {
      east.state.down = true;
      const configured = secretReader({
        aws: { region: 'us-east-1', endpoints, credentials: CREDS, replicaRegions: ['us-west-2'] },
      });
      assert.equal(await configured(ref('prod/token'), AbortSignal.timeout(10_000)), 'TOKEN-1');
      assert.equal(
        await configured(ref(ARN('us-east-1', 'prod/token')), AbortSignal.timeout(10_000)),
        'TOKEN-1',
        'an ARN is read as the replica’s ARN',
      );
      const unconfigured = secretReader({ aws: { region: 'us-east-1', endpoints, credentials: CREDS } });
      await assert.rejects(
        unconfigured(ref('prod/other'), AbortSignal.timeout(10_000)),
        /ServiceUnavailableException/,
      );
      east.state.down = false;
      // A readiness pass (DescribeSecret) learns the replicas; the outage comes after it.
      assert.deepEqual(
        await secretRegions({ region: 'us-east-1', endpoints, credentials: CREDS })(ref('prod/token')),
        ['us-east-1', 'us-west-2'],
      );
      east.state.down = true;
      assert.equal(await unconfigured(ref('prod/token'), AbortSignal.timeout(10_000)), 'TOKEN-1');
      const westCalls = west.state.calls;
      east.state.down = false;
      west.state.down = true;
      assert.equal(await unconfigured(ref('prod/token'), AbortSignal.timeout(10_000)), 'TOKEN-1');
      assert.equal(west.state.calls, westCalls, 'the home region is asked first while it answers');
    } finally {
      await Promise.all([east.close(), west.close()]);
    }
  });

  test('#key picks one key of a JSON secret; a missing key or secret is an error naming the fix', async () => {
    const cache = new SecretCache(secretReader(options()));
    const config = await loadConfigWithSecrets(file(yaml('${aws-sm:prod/db#password}')), cache);
    assert.equal((config.raw.notifications!.channels[0] as { routing_key: string }).routing_key, 'p@ss');
    await assert.rejects(
      loadConfigWithSecrets(file(yaml('${aws-sm:prod/db#token}')), cache),
      (e: ConfigError) => /has no key "token"; keys: username, password/.test(e.message),
    );
    await assert.rejects(
      loadConfigWithSecrets(file(yaml('${aws-sm:prod/nope}')), cache),
      /ResourceNotFoundException.*check the name/,
    );
  });

  test('the refresh `phoenix run` starts picks up a rotated secret: the next run plan uses it', async () => {
    const rotating = { value: 'first-token', replicas: ['us-west-2'] };
    const store = await secretsManager('us-east-1', { 'prod/api': rotating });
    try {
      const cache = new SecretCache(
        secretReader({ aws: { region: 'us-east-1', endpoint: store.url, credentials: CREDS } }),
      );
      const path = file(`secrets: { refresh: 10s }
runbooks:
  dr_failover:
    stages:
      - name: call
        steps:
          - name: tell-api
            type: command
            params: { command: "true", env: { TOKEN: "\${aws-sm:prod/api}" } }
`);
      const config = await loadConfigWithSecrets(path, cache);
      const token = () =>
        (buildPlan(config, 'dr_failover').stages[0]!.steps[0]!.params as { env: { TOKEN: string } }).env
          .TOKEN;
      assert.equal(token(), 'first-token');
      const rounds: string[][] = [];
      const stop = keepSecretsCurrent(config, cache, {
        refreshMs: 50,
        onRefresh: ({ rotated }) => rounds.push(rotated),
      });
      try {
        rotating.value = 'second-token';
        const deadline = Date.now() + 10_000;
        while (token() !== 'second-token' && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal(token(), 'second-token');
        assert.ok(
          rounds.some((r) => r.includes('${aws-sm:prod/api}')),
          JSON.stringify(rounds),
        );
        // A store that stops answering leaves the rotated value in use.
        store.state.down = true;
        const calls = store.state.calls;
        while (store.state.calls < calls + 2 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal(token(), 'second-token');
      } finally {
        stop();
      }
    } finally {
      await store.close();
    }
  });

  test('a runbook that needs a secret held only in the primary region is not ready, and validate warns', async () => {
    const path = file(`topology:
  primary: { cloud: aws, region: us-east-1 }
  dr: { cloud: azure, region: westeurope }
runbooks:
  dr_failover:
    stages:
      - name: page
        steps:
          - { name: pd, type: command, params: { command: "true", env: { KEY: "\${aws-sm:prod/pagerduty}" } } }
  region_failover:
    stages:
      - name: db
        steps:
          - { name: db, type: command, params: { command: "true", env: { PW: "\${aws-sm:prod/db#password}" } } }
`);
    const written = loadConfig(path).raw.runbooks;
    const found = await runbookSecretsOnlyInPrimary(written, 'us-east-1', secretRegions(options().aws));
    assert.deepEqual([...found.keys()], ['dr_failover'], 'prod/db has a us-west-2 replica');
    const ready = withSecretResidency(
      [
        { runbook: 'dr_failover', ok: true, problems: [] as string[] },
        { runbook: 'region_failover', ok: true, problems: [] as string[] },
      ],
      found,
    );
    assert.equal(ready[0]!.ok, false);
    assert.match(ready[0]!.problems[0]!, /prod\/pagerduty\} is held only in us-east-1/);
    assert.equal(ready[1]!.ok, true);
    // `phoenix validate` asks Secrets Manager through the SDK's own settings (here: the stand-in).
    const result = await runCli(['validate', '--json', path], {
      env: {
        // The region comes from the configuration (topology.primary), never from AWS_REGION: the stand-in
        // refuses a request signed for eu-west-1.
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
        AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      },
    });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      valid: boolean;
      warnings: Array<{ path: string; message: string }>;
    };
    assert.equal(out.valid, true);
    // The other warnings are the drill's (command steps without drill behaviour).
    const secrets = out.warnings.filter((w) => /held only in/.test(w.message));
    assert.equal(secrets.length, 1, result.stdout);
    assert.equal(secrets[0]!.path, 'runbooks.dr_failover');
    assert.match(secrets[0]!.message, /prod\/pagerduty.*ReplicateSecretToRegions/);
  });

  test('a name without an ARN is read in secrets.aws_region, else the topology’s AWS site, never AWS_REGION', async () => {
    const ref: SecretReference = {
      store: 'aws-sm',
      text: '${aws-sm:prod/pagerduty}',
      secretId: 'prod/pagerduty',
    };
    const read = (options: ReturnType<typeof secretStoreOptions>) =>
      secretReader({ aws: { ...options.aws, endpoint: sm.url, credentials: CREDS } })(
        ref,
        AbortSignal.timeout(10_000),
      );
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'us-east-1';
    try {
      const azureOnly = {
        primary: { cloud: 'azure', region: 'eastus2' },
        dr: { cloud: 'azure', region: 'westeurope' },
      };
      await assert.rejects(
        read(secretStoreOptions(undefined, azureOnly)),
        /prod\/pagerduty\}: no AWS region to read it in: write the secret's ARN .*or set secrets.aws_region/,
      );
      assert.equal(await read(secretStoreOptions({ aws_region: 'us-east-1' }, azureOnly)), 'R0UT1NGKEY');
      process.env.AWS_REGION = 'eu-west-1';
      const awsPrimary = {
        primary: { cloud: 'aws', region: 'us-east-1' },
        dr: { cloud: 'azure', region: 'westeurope' },
      };
      assert.equal(await read(secretStoreOptions(undefined, awsPrimary)), 'R0UT1NGKEY');
      assert.equal(
        secretStoreOptions(undefined, {
          primary: azureOnly.primary,
          dr: { cloud: 'aws', region: 'us-west-2' },
        }).aws?.region,
        'us-west-2',
      );
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });

  test('validation understands references without reading them, and reports malformed ones', () => {
    assert.doesNotThrow(() => loadConfig(file(yaml('${azure-kv:phoenix-dr/pd-key}'))));
    assert.throws(() => loadConfig(file(yaml('${azure-kv:no_slash}'))), /is not a Key Vault reference/);
    assert.throws(() => loadConfig(file(yaml('${aws-sm:a#b#c}'))), /is not a Secrets Manager reference/);
  });

  test('a readiness warning names a secret held only in the primary region', async () => {
    const refs: SecretReference[] = [
      { store: 'aws-sm', text: '${aws-sm:prod/db#password}', secretId: 'prod/db', key: 'password' },
      { store: 'aws-sm', text: '${aws-sm:prod/pagerduty}', secretId: 'prod/pagerduty' },
      { store: 'azure-kv', text: '${azure-kv:phoenix-dr/pd}', vault: 'phoenix-dr', name: 'pd' },
    ];
    const warnings = await secretsOnlyInPrimary(refs, 'us-east-1', secretRegions(options().aws));
    assert.deepEqual(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /\$\{aws-sm:prod\/pagerduty\} is held only in us-east-1.*ReplicateSecretToRegions/,
    );
  });
});
