import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, parseConfig } from './index.js';

function issuesOf(document: unknown): string[] {
  try {
    parseConfig(document);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected the configuration to be rejected');
}

const probes = (sites: unknown, signals?: unknown) => ({
  probes: {
    ...(sites === undefined ? {} : { sites }),
    signals: signals ?? {
      internal_services: { type: 'http_checks', targets: [{ url: '{{active.app_url}}/healthz' }] },
      db_replication_lag: {
        type: 'postgres_replication',
        primary: '{{active.db}}',
        standby: '{{standby.db}}',
        error_lag: '15s',
      },
    },
  },
});

const both = {
  primary: { app_url: 'https://app.aws.example.com', db: 'postgresql://app@db.aws.example.com/app' },
  dr: { app_url: 'https://app.azure.example.com', db: 'postgresql://app@db.azure.example.com/app' },
};

test('probes declared once expand per serving site: active is the serving site, standby the other one', () => {
  const config = parseConfig(probes(both));
  const primary = config.site_probes?.primary;
  const dr = config.site_probes?.dr;
  assert.ok(primary && dr);
  assert.equal(primary.internal_services!.targets![0]!.url, 'https://app.aws.example.com/healthz');
  assert.equal(dr.internal_services!.targets![0]!.url, 'https://app.azure.example.com/healthz');
  assert.equal(dr.db_replication_lag!.primary, both.dr.db, 'DR serves: it is the replication primary');
  assert.equal(dr.db_replication_lag!.standby, both.primary.db, 'the old primary is the standby');
  assert.equal(dr.db_replication_lag!.error_lag, 15, 'each expansion is validated and parsed (durations)');
  // What the rest of the program reads as the probes is the primary's expansion.
  assert.deepEqual(config.raw.probes?.signals, primary);
  assert.equal(config.site_probes?.secondary, undefined, 'no secondary in the topology');
});

test('probes without placeholders stay one set (site_probes absent)', () => {
  const config = parseConfig(
    probes(both, { dr_site: { type: 'http', url: 'https://app.azure.example.com/healthz' } }),
  );
  assert.equal(config.site_probes, undefined);
});

test('a placeholder without probes.sites says what to declare', () => {
  assert.deepEqual(issuesOf(probes(undefined)), [
    "probes.signals.internal_services.targets.0.url: {{active.app_url}} needs the sites' values: declare probes.sites.primary.app_url and probes.sites.dr.app_url (and secondary when the topology has one)",
  ]);
});

test('a key one site does not declare is named with the site and the probe that needs it', () => {
  const issues = issuesOf(probes({ primary: both.primary, dr: { app_url: both.dr.app_url } }));
  assert.deepEqual(issues, [
    'probes.sites.dr.db: probes.signals.db_replication_lag.standby names {{standby.db}}, which probes.sites.dr does not declare; add db: <value on dr>',
  ]);
});

test('a missing site, an unknown placeholder, an unknown site and a bad expanded value are reported', () => {
  assert.match(
    issuesOf(probes({ primary: both.primary })).join('\n'),
    /^probes\.sites\.dr: the probes use site placeholders/,
  );
  assert.match(
    issuesOf(probes(both, { dr_site: { type: 'http', url: '{{serving.app_url}}/healthz' } })).join('\n'),
    /probes\.signals\.dr_site\.url: "\{\{serving\.app_url\}\}" is not a site placeholder; write \{\{active\.<key>\}\}/,
  );
  assert.match(
    issuesOf(probes({ ...both, azure: { app_url: 'x' } })).join('\n'),
    /probes\.sites\.azure: unknown key "azure"/,
  );
  assert.match(
    issuesOf(probes({ primary: both.primary, dr: { ...both.dr, app_url: 'not a url' } })).join('\n'),
    /probes\.signals\.internal_services\.targets\.0\.url: with dr serving \(probes\.sites\.dr\): /,
  );
});

test('with a secondary region in the topology, its values are required and it gets its own expansion', () => {
  const topology = {
    primary: { cloud: 'aws', region: 'us-east-1' },
    secondary: { cloud: 'aws', region: 'us-west-2' },
    dr: { cloud: 'azure', region: 'eastus2' },
  };
  assert.match(
    issuesOf({ topology, ...probes(both) }).join('\n'),
    /probes\.sites\.secondary: the probes use site placeholders and secondary can serve or stand by \(the topology has a secondary region\)/,
  );
  const secondary = {
    app_url: 'https://app.usw2.example.com',
    db: 'postgresql://app@db.usw2.example.com/app',
  };
  const config = parseConfig({ topology, ...probes({ ...both, secondary }) });
  const expanded = config.site_probes?.secondary;
  assert.equal(expanded?.internal_services!.targets![0]!.url, 'https://app.usw2.example.com/healthz');
  assert.equal(expanded?.db_replication_lag!.standby, both.primary.db, 'the old primary stands by');
});

test("docs/lifecycle.md's example of probes that follow the site is valid and expands for both sites", () => {
  const text = readFileSync('docs/lifecycle.md', 'utf8');
  const section = text.slice(text.indexOf('## Probes follow the active site'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the section has a YAML example');
  const config = parseConfig(parse(yaml));
  assert.equal(config.site_probes?.dr?.dr_site?.url, 'https://app.us-east-1.example.com/healthz');
  assert.equal(config.site_probes?.primary?.dr_site?.url, 'https://app.eastus2.example.net/healthz');
});
