import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/index.js';
import { lintRunbooks, loadRunbooks, PlanError } from '../src/runbook/index.js';
import type { RunbooksConfig } from '../src/config/sections/runbooks.js';
import { runCli } from './helpers/paths.js';
import { closedPort } from './helpers/servers.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-lint-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  return path;
}

const DB = 'postgresql://u@127.0.0.1:1/app';
const fence = { name: 'fence-old-primary', type: 'fence', params: { database: { connection: DB } } };
const cutover = { name: 'open-dr-db', type: 'database', params: { action: 'cutover', subscriber: DB } };
const arc = {
  name: 'arc',
  type: 'dns',
  continue_on_error: true,
  params: {
    provider: 'route53_arc',
    cluster_endpoints: [{ endpoint: 'https://arc.example.com/v1', region: 'us-west-2' }],
    routing_controls: [
      { arn: 'arn:aws:route53-recovery-control::1:controlpanel/a/routingcontrol/b', state: 'On' },
    ],
  },
};
const changeApi = {
  name: 'change-api',
  type: 'dns',
  params: {
    provider: 'route53',
    hosted_zone_id: 'Z1',
    name: 'app.example.com',
    type: 'CNAME',
    value: 'dr.example.com',
  },
};
const stage = (name: string, ...steps: unknown[]) => ({ name, steps });

function lint(stages: unknown[], extra: Record<string, unknown> = {}) {
  const config = parseConfig({
    topology: { primary: { cloud: 'aws', region: 'us-east-1' }, dr: { cloud: 'azure', rpo_budget_s: 60 } },
    runbooks: { dr_failover: { stages }, ...extra },
  });
  return lintRunbooks(config.raw.runbooks as RunbooksConfig, config.topology).map(
    (f) => `${f.rule} ${f.path}`,
  );
}

test('the lab-shaped failover (fence, cut-over, data-plane DNS with change-API fallback) has no lint finding', () => {
  const fallback = { ...changeApi, only_if_failed: 'arc' };
  assert.deepEqual(lint([stage('fence', fence), stage('db', cutover), stage('dns', arc, fallback)]), []);
});

test('lint fence-after-traffic: a fence stage after the DNS stage, or beside it in a parallel stage', () => {
  assert.deepEqual(lint([stage('db', cutover), stage('dns', arc), stage('fence', fence)]), [
    'fence-after-traffic runbooks.dr_failover.stages.2.steps.0',
  ]);
  assert.deepEqual(lint([{ ...stage('both', arc, fence), parallel: true }]), [
    'fence-after-traffic runbooks.dr_failover.stages.0.steps.1',
  ]);
});

test('lint primary-read-during-failover: an S3 → Blob copy or a dump of the primary inside dr_failover', () => {
  const sync = {
    name: 'sync-objects',
    type: 'storage_sync',
    params: {
      source: { bucket: 'b', region: 'us-east-1' },
      destination: { connection_string: 'x', container: 'objects' },
    },
  };
  const back = { ...sync, name: 'back', params: { direction: 'azure_to_s3' } };
  const dump = { name: 'dump', type: 'database', params: { action: 'dump_restore', source: DB, target: DB } };
  assert.deepEqual(lint([stage('fence', fence), stage('copy', sync, back, dump)]), [
    'primary-read-during-failover runbooks.dr_failover.stages.1.steps.0',
    'primary-read-during-failover runbooks.dr_failover.stages.1.steps.2',
  ]);
});

test('lint dns-control-plane-only: Route 53 change API as the path for a us-east-1 primary, not as a fallback', () => {
  assert.deepEqual(lint([stage('fence', fence), stage('dns', changeApi)]), [
    'dns-control-plane-only runbooks.dr_failover.stages.1.steps.0',
  ]);
});

test('lint database-without-rpo-gate: force, an Azure promote, or no budget at all', () => {
  const forced = { ...cutover, params: { ...cutover.params, force: true } };
  assert.deepEqual(lint([stage('fence', fence), stage('db', forced)]), [
    'database-without-rpo-gate runbooks.dr_failover.stages.1.steps.0',
  ]);
  const noBudget = parseConfig({ runbooks: { dr_failover: { stages: [stage('db', cutover)] } } });
  assert.deepEqual(
    lintRunbooks(noBudget.raw.runbooks as RunbooksConfig, noBudget.topology).map((f) => f.rule),
    ['database-without-rpo-gate'],
  );
});

test('lint traffic-stage-not-required: a DNS stage that says required: false, not one that keeps the default', () => {
  const fallback = { ...changeApi, only_if_failed: 'arc' };
  assert.deepEqual(
    lint([stage('fence', fence), stage('db', cutover), { ...stage('dns', arc, fallback), required: false }]),
    ['traffic-stage-not-required runbooks.dr_failover.stages.2.required'],
  );
  assert.deepEqual(
    lint([stage('fence', fence), stage('db', cutover), { ...stage('dns', arc, fallback), required: true }]),
    [],
  );
});

test('a lint rule is silenced only by its name; an unknown name is refused with the rule names', () => {
  const late = [stage('db', cutover), stage('dns', arc), stage('fence', fence)];
  assert.deepEqual(lint(late, { lint: { silence: ['fence-after-traffic'] } }), []);
  assert.throws(
    () => parseConfig({ runbooks: { lint: { silence: ['fence-late'] } } }),
    /runbooks\.lint\.silence\.0: "fence-late" is not allowed; use one of "fence-after-traffic"/,
  );
});

test('the replication mode is checked where the runbooks live, and inferred when it is not written', () => {
  const promote = { name: 'promote-standby', type: 'database', params: { action: 'promote', standby: DB } };
  const runbooksFile = file('promote.yaml', { dr_failover: { stages: [stage('db', promote)] } });
  const config = parseConfig(
    { runbooks: { file: runbooksFile, replication: 'logical' } },
    join(dir, 'main.yaml'),
  );
  assert.throws(
    () => loadRunbooks(config, {}),
    (error: unknown) =>
      error instanceof PlanError &&
      /step promote-standby: runbooks.replication is logical, so the database is opened with action "cutover"/.test(
        error.message,
      ),
  );
  const mixed = {
    dr_failover: { stages: [stage('db', promote)] },
    failback: { stages: [stage('back', cutover)] },
  };
  assert.throws(
    () => parseConfig({ runbooks: mixed }),
    /open databases in different ways .*set runbooks\.replication/,
  );
  assert.doesNotThrow(() => parseConfig({ runbooks: { dr_failover: { stages: [stage('db', promote)] } } }));
});

test('phoenix validate --offline exits 2 naming the promote step in runbooks.file and the lint rule of a late fence', async () => {
  const promote = { name: 'promote-standby', type: 'database', params: { action: 'promote', standby: DB } };
  file('rb-promote.yaml', { dr_failover: { stages: [stage('fence', fence), stage('db', promote)] } });
  const main = file('logical.yaml', { runbooks: { file: 'rb-promote.yaml', replication: 'logical' } });
  file('rb-late.yaml', {
    dr_failover: { stages: [stage('db', cutover), stage('dns', arc), stage('fence', fence)] },
  });
  const late = file('late.yaml', {
    topology: { primary: { cloud: 'aws', region: 'us-east-1' }, dr: { cloud: 'azure', rpo_budget_s: 60 } },
    runbooks: { file: 'rb-late.yaml' },
  });
  const [r1, r2] = await Promise.all([
    runCli(['validate', '--offline', main]),
    runCli(['validate', '--offline', late]),
  ]);
  assert.equal(r1.code, 2, r1.stderr);
  assert.match(
    r1.stderr,
    /rb-promote\.yaml: dr_failover\.stages\.1\.steps\.0\.params\.action: step promote-standby/,
  );
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(
    r2.stderr,
    /stages\.2\.steps\.0: step fence-old-primary fences the old primary after .*lint rule fence-after-traffic/,
  );
});

test('validate --offline checks the file alone; without it an unset variable is an environment problem (exit 3)', async () => {
  const path = file('env.yaml', {
    store: { driver: 'postgres', url: '${PHOENIX_TEST_UNSET_DB_URL}' },
    notifications: { channels: [{ channel: 'slack', webhook_url: '${azure-kv:phoenix-kv/slack-url}' }] },
    server: { trust_proxy: 'loopback' },
    // The vault is on this host and not listening (no test asks the Internet).
    secrets: { key_vault_url: `http://127.0.0.1:${await closedPort()}/{vault}` },
  });
  const env = { PHOENIX_TEST_UNSET_DB_URL: '' };
  const [offline, here, json] = await Promise.all([
    runCli(['validate', '--offline', path], { env }),
    runCli(['validate', path], { env }),
    runCli(['validate', path, '--json'], { env }),
  ]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(offline.stdout, /valid .*environment not checked/);
  assert.equal(here.code, 3, here.stderr);
  assert.match(
    here.stderr,
    /store\.url: environment: environment variable PHOENIX_TEST_UNSET_DB_URL is not set/,
  );
  assert.match(here.stdout, /valid .*this environment is NOT ready/);
  // A refused connection reads as such; on a loaded machine the SDK may still be retrying it when the
  // read's deadline fires, which reads as no answer in time. Either way the vault could not be reached.
  assert.match(
    here.stderr,
    /notifications\.channels\.0\.webhook_url: environment: \$\{azure-kv:phoenix-kv\/slack-url\}: Key Vault could not be reached: (the connection failed \(ECONNREFUSED\)|no answer before the read's deadline \(timed out\))/,
  );
  const result = JSON.parse(json.stdout);
  assert.equal(result.valid, true);
  assert.equal(result.ready, false);
  assert.equal(result.environment[0].path, 'store.url');
});

test('an empty file and a file over the size limit are refused in one line each', async () => {
  const empty = file('empty.yaml', '# nothing but a comment\n');
  const huge = file('huge.yaml', `interval: 30s\n# ${'x'.repeat(1024 * 1024)}\n`);
  const [e, h] = await Promise.all([runCli(['validate', empty]), runCli(['validate', huge])]);
  assert.equal(e.code, 2);
  assert.equal(
    e.stderr.trim(),
    `${empty}: the file is empty (or holds only comments); write the configuration (examples/phoenix.yaml is a commented starting point)`,
  );
  assert.equal(h.code, 2);
  assert.equal(h.stderr.trim().split('\n').length, 1, h.stderr);
  assert.match(h.stderr, /bytes is more than a configuration file holds \(at most 1048576\)/);
});

test('messages name the expected shape: a mapping with its keys, and the forms a union accepts', () => {
  const issues = (doc: unknown) => {
    try {
      parseConfig(doc);
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };
  assert.match(
    issues({ decision: 'evidence' }),
    /decision: expected object, got string "evidence"; write a mapping \{ analyzer, /,
  );
  assert.match(
    issues({ server: { trust_proxy: 'proxy.example.com' } }),
    /server\.trust_proxy: string "proxy\.example\.com" does not fit here; write true or false, or a number, or a list, or an IP address/,
  );
});

test('phoenix validate refuses a self_heal that does not say which site it acts on when the probes follow the serving site, and a site on a failover runbook', async () => {
  const heal = (extra: Record<string, unknown> = {}) => ({
    ...extra,
    stages: [stage('restart', { name: 'restart', type: 'command', params: { command: 'true' } })],
  });
  const probes = {
    sites: { primary: { app_url: 'http://127.0.0.1:1' }, dr: { app_url: 'http://127.0.0.1:2' } },
    signals: { internal_services: { type: 'http', url: '{{active.app_url}}/health' } },
  };
  const ambiguous = file('heal-ambiguous.yaml', { probes, runbooks: { self_heal: heal() } });
  const named = file('heal-named.yaml', { probes, runbooks: { self_heal: heal({ site: 'primary' }) } });
  const failover = file('failover-site.yaml', {
    runbooks: { dr_failover: { site: 'dr', stages: [stage('fence', fence)] } },
  });
  const [a, n, f] = await Promise.all([
    runCli(['validate', '--offline', ambiguous]),
    runCli(['validate', '--offline', named]),
    runCli(['validate', '--offline', failover]),
  ]);
  assert.equal(a.code, 2, a.stderr);
  assert.match(
    a.stderr,
    /runbooks\.self_heal\.site: the probes follow the serving site.*site: primary, or dr/,
  );
  assert.equal(n.code, 0, n.stderr);
  assert.equal(f.code, 2, f.stderr);
  assert.match(f.stderr, /runbooks\.dr_failover\.site: only self_heal names the site it acts on/);
});
