import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAwsHealthServer } from '../src/stand-ins/aws/health.js';
import { FakeStatuspageServer } from '../src/stand-ins/statuspage/status-page.js';
import { runCli } from './helpers/paths.js';

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDTEST',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
};

describe('phoenix change and phoenix analyze', () => {
  const health = new FakeAwsHealthServer();
  const cloudflare = new FakeStatuspageServer('Cloudflare');
  let dir: string;
  let configFile: string;
  before(async () => {
    await health.start();
    await cloudflare.start();
    dir = mkdtempSync(join(tmpdir(), 'phoenix-analyze-'));
    configFile = join(dir, 'phoenix.yaml');
    writeFileSync(
      configFile,
      `topology:
  primary: { cloud: aws, region: us-east-1, services: [EC2, EKS] }
  dr: { cloud: azure, region: eastus2 }
store: { path: ${join(dir, 'phoenix.db')} }
context:
  timeout: 2s
  aws_health: { endpoint: ${health.url} }
  cloudflare: { url: ${cloudflare.url} }
  changes: { since: 1h }
`,
    );
  });
  after(async () => {
    await health.close();
    await cloudflare.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a recorded deploy and the live feeds show up in the analysis; a dead feed is reported, not fatal', async () => {
    const recorded = await runCli([
      'change',
      '--config',
      configFile,
      '--kind',
      'deploy',
      '--service',
      'checkout',
      '--description',
      'checkout v2.3.1',
      '--json',
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.equal(JSON.parse(recorded.stdout).service, 'checkout');

    const now = Date.now() / 1000;
    health.setEvents([
      {
        service: 'EC2',
        region: 'us-east-1',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        statusCode: 'open',
        startTime: now - 300,
        description: 'Increased API error rates',
      },
    ]);
    cloudflare.setMode('server_error');
    const analyzed = await runCli(['analyze', '--config', configFile, '--json'], { env: AWS_ENV });
    assert.equal(analyzed.code, 0, analyzed.stderr);
    const out = JSON.parse(analyzed.stdout) as {
      context: {
        aws_health: { events: unknown[] };
        cloudflare: { available: boolean; detail: string };
        changes: Array<{ description: string }>;
      };
      sources: Array<{ source: string; ok: boolean }>;
      decision: { action: string };
    };
    assert.equal(out.context.aws_health.events.length, 1);
    assert.equal(out.context.cloudflare.available, false);
    assert.match(out.context.cloudflare.detail, /HTTP 503/);
    assert.deepEqual(
      out.context.changes.map((c) => c.description),
      ['checkout v2.3.1'],
    );
    assert.deepEqual(
      out.sources.map((s) => [s.source, s.ok]),
      [
        ['aws_health', true],
        ['changes', true],
        ['cloudflare', false],
      ],
    );
    assert.ok(out.decision.action);

    const human = await runCli(['analyze', '--config', configFile], { env: AWS_ENV });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /aws_health +1 events/);
    assert.match(human.stdout, /cloudflare +unavailable: HTTP 503/);
    assert.match(human.stdout, /deploy checkout: checkout v2\.3\.1/);
    assert.match(human.stdout, /decision: /);
  });

  test('a bad kind or time is a one-line error with exit 2', async () => {
    const badKind = await runCli([
      'change',
      '--config',
      configFile,
      '--kind',
      'rollout',
      '--description',
      'x',
    ]);
    assert.equal(badKind.code, 2);
    assert.match(badKind.stderr, /--kind "rollout" is not known; use one of deploy, config/);
    assert.equal(badKind.stderr.trim().split('\n').length, 1);
    const badAt = await runCli([
      'change',
      '--config',
      configFile,
      '--kind',
      'config',
      '--description',
      'x',
      '--at',
      'yesterday',
    ]);
    assert.equal(badAt.code, 2);
    assert.match(badAt.stderr, /not a time/);
  });
});
