import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { loadRunbooks, lintRunbooks } from '../src/runbook/index.js';
import type { RunbookConfig, RunbooksConfig } from '../src/config/sections/runbooks.js';
import { labConfig } from '../src/lab/config.js';
import { wayBackConfig } from '../src/lab/wayback-config.js';
import type { LabState } from '../src/lab/state.js';
import { runCli } from './helpers/paths.js';

/** The configuration files under examples/ a user starts from (alertmanager.yml is Alertmanager's). */
const EXAMPLES = ['examples/phoenix.yaml', 'examples/probes.yaml'];

test('every example configuration passes phoenix validate --offline, its runbooks file and lint included', async () => {
  const results = await Promise.all(EXAMPLES.map((file) => runCli(['validate', '--offline', file])));
  results.forEach((result, i) => {
    assert.equal(result.code, 0, `${EXAMPLES[i]}:\n${result.stderr}`);
    assert.match(result.stdout, /valid .*environment not checked \(--offline\)/);
    assert.doesNotMatch(result.stderr, /warning/, result.stderr);
  });
});

const steps = (runbook: RunbookConfig | undefined) => (runbook?.stages ?? []).flatMap((stage) => stage.steps);

function exampleRunbooks(): RunbooksConfig {
  return loadRunbooks(loadConfig('examples/phoenix.yaml', {}, { offline: true }), {});
}

test('the example failover cuts over a logical subscriber and reads nothing from the failing region', () => {
  const runbooks = exampleRunbooks();
  assert.equal(runbooks.replication, 'logical');
  const all = (['dr_failover', 'reprotect', 'failback', 'self_heal'] as const).flatMap((name) =>
    steps(runbooks[name]),
  );
  assert.ok(!all.some((s) => s.type === 'database' && s.params?.action === 'promote'), 'no action: promote');
  assert.ok(
    !steps(runbooks.dr_failover).some((s) => s.type === 'storage_sync'),
    'no storage_sync at failover',
  );
  const config = loadConfig('examples/phoenix.yaml', {}, { offline: true });
  assert.deepEqual(lintRunbooks(runbooks, config.topology), []);
});

/** A lab as `phoenix lab up` records it: only what its configuration writers read. */
function fakeLab(): LabState {
  const port = (n: number) => 40000 + n;
  const proc = { pid: 0 } as never;
  return {
    version: 1,
    dir: mkdtempSync(join(tmpdir(), 'phoenix-examples-lab-')),
    createdAt: new Date(0).toISOString(),
    zone: 'lab.test',
    primaryRegion: 'us-east-1',
    drRegion: 'eastus2',
    appHost: { primary: '127.0.0.2', dr: '127.0.0.3' },
    postgres: {
      binDir: '/usr/lib/postgresql/16/bin',
      replication: 'logical',
      primary: { dataDir: 'p', port: port(1) },
      standby: { dataDir: 's', port: port(2) },
    },
    s3: {
      endpoint: `http://127.0.0.1:${port(3)}`,
      bucket: 'lab-objects',
      region: 'us-east-1',
      accessKeyId: 'lab-key',
      secretAccessKey: 'lab-secret',
      process: proc,
    },
    azurite: {
      blobEndpoint: `http://127.0.0.1:${port(4)}/devstoreaccount1`,
      container: 'lab-objects',
      connectionString: 'UseDevelopmentStorage=true',
      process: proc,
    },
    dns: {
      host: '127.0.0.1',
      port: port(5),
      zone: 'lab.test',
      tsig: { name: 'lab-key', algorithm: 'hmac-sha256', secret: 'bGFiLXNlY3JldA==' },
      process: proc,
    },
    apps: {
      primary: { url: `http://127.0.0.2:${port(6)}` } as never,
      dr: { url: `http://127.0.0.3:${port(6)}` } as never,
    },
    feeds: {
      urls: Object.fromEntries(
        ['awsHealth', 'cloudflare', 'azureStatus', 'ec2', 'loki'].map((k, i) => [
          k,
          `http://127.0.0.1:${port(7 + i)}`,
        ]),
      ) as never,
      process: proc,
    },
  };
}

/** A runbook's steps as what they do: type, and the database action or the object copy's direction. */
const shape = (runbook: RunbookConfig | undefined) =>
  steps(runbook).map((s) =>
    s.type === 'database'
      ? `database:${String(s.params?.action)}`
      : s.type === 'storage_sync'
        ? `storage_sync:${String(s.params?.direction ?? 's3_to_azure')}`
        : s.type,
  );

/** True when `inner` appears in `outer` in the same order (other steps may sit between). */
const inOrder = (inner: string[], outer: string[]) => {
  let at = 0;
  for (const item of outer) if (item === inner[at]) at++;
  return at === inner.length;
};

test('the example runbooks do what the lab runbooks do, in the same order (the drills prove those)', () => {
  const lab = fakeLab();
  const forward = parseConfig(labConfig(lab)).raw.runbooks as RunbooksConfig;
  const wayBack = wayBackConfig(lab, 5).raw.runbooks as RunbooksConfig;
  const example = exampleRunbooks();
  const pairs: Array<[string, RunbookConfig | undefined, RunbookConfig | undefined]> = [
    ['dr_failover', forward.dr_failover, example.dr_failover],
    ['reprotect', wayBack.reprotect, example.reprotect],
    ['failback', wayBack.failback, example.failback],
  ];
  for (const [name, labRunbook, exampleRunbook] of pairs) {
    const want = shape(labRunbook);
    assert.ok(want.length > 2, `the lab has a ${name} runbook`);
    assert.ok(
      inOrder(want, shape(exampleRunbook)),
      `examples' ${name} (${shape(exampleRunbook).join(' → ')}) lacks the lab's ${want.join(' → ')}`,
    );
  }
  assert.equal(forward.replication, example.replication);
});

test("the lab's probes declare each site's addresses once and follow the serving site: with DR serving they reach DR's app and database, and watch the old primary as the standby", () => {
  const lab = fakeLab();
  const config = parseConfig(labConfig(lab));
  const primary = config.site_probes?.primary as Record<string, Record<string, unknown>>;
  const dr = config.site_probes?.dr as Record<string, Record<string, unknown>>;
  const app = { primary: lab.apps!.primary!.url, dr: lab.apps!.dr!.url };
  const targets = (signals: Record<string, Record<string, unknown>>) =>
    (signals.internal_services!.targets as Array<{ url: string }>).map((t) => t.url);
  assert.ok(
    targets(primary).every((u) => u.startsWith(app.primary)),
    targets(primary).join(' '),
  );
  assert.ok(
    targets(dr).every((u) => u.startsWith(app.dr)),
    targets(dr).join(' '),
  );
  assert.equal(dr.external_uptime!.url, `${app.dr}/healthz`);
  assert.equal(dr.dr_site!.url, `${app.primary}/healthz`, 'the old primary is the standby');
  assert.match(String(dr.db_replication_lag!.primary), new RegExp(`:${lab.postgres!.standby!.port}/`));
  assert.match(String(dr.db_replication_lag!.standby), new RegExp(`:${lab.postgres!.primary!.port}/`));
  // Only these describe whichever site serves; the rest are not scored while DR serves.
  assert.deepEqual(config.serving_signals, ['external_uptime', 'internal_services']);
});
