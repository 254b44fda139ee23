import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LAB_AWS_ACCESS_KEY_ID, LAB_AWS_SECRET_ACCESS_KEY, LAB_DATABASE } from './lab.js';
import type { LabState } from './state.js';

export interface LabConfigOptions {
  /** Controller interval in seconds (5 in the lab). */
  interval_s?: number;
  /** How long an infrastructure failure must last before DR. */
  confirm_window_s?: number;
}

const pgUrl = (port: number, db = LAB_DATABASE) => `postgresql://postgres@127.0.0.1:${port}/${db}`;

/**
 * The controller configuration for a lab: probes aimed at the lab's two sites, context from its provider
 * feeds, and a dr_failover runbook (fence, promote, sync objects, switch DNS, verify through DNS).
 */
export function labConfig(state: LabState, options: LabConfigOptions = {}): Record<string, unknown> {
  const primaryApp = state.apps!.primary!;
  const drApp = state.apps!.dr!;
  const feeds = state.feeds!.urls!;
  const dns = state.dns!;
  const interval = options.interval_s ?? 5;
  return {
    interval: `${interval}s`,
    topology: {
      primary: { cloud: 'aws', region: state.primaryRegion, services: ['EC2', 'RDS', 'S3'] },
      dr: { cloud: 'azure', region: state.drRegion, rpo_budget_s: 30 },
    },
    decision: {
      analyzer: 'evidence',
      confirm_window: `${options.confirm_window_s ?? 2 * interval}s`,
      history_window: '10m',
      cooldown: '1h',
    },
    store: { driver: 'sqlite', path: join(state.dir, 'phoenix.db'), retention: '1d' },
    probes: {
      timeout: '3s',
      signals: {
        internal_services: {
          type: 'http_checks',
          target_timeout: '2s',
          targets: [
            { name: 'app-health', url: `${primaryApp.url}/healthz`, body_match: '"writable":true' },
            { name: 'app-item-read', url: `${primaryApp.url}/items/1`, expect_status: [200, 404] },
          ],
        },
        external_uptime: {
          type: 'external_uptime',
          url: `${primaryApp.url}/healthz`,
          quorum: 1,
          max_latency: '2s',
        },
        cross_cloud: {
          type: 'tcp',
          host: '127.0.0.1',
          port: state.postgres!.standby!.port,
          max_latency: '1s',
        },
        db_replication_lag: {
          type: 'postgres_replication',
          primary: pgUrl(state.postgres!.primary!.port, 'postgres'),
          standby: pgUrl(state.postgres!.standby!.port, 'postgres'),
          degraded_lag: '5s',
          error_lag: '15s',
        },
        aws_cross_region: {
          type: 'ec2_api',
          region: state.primaryRegion,
          endpoint: feeds.ec2,
          access_key_id: LAB_AWS_ACCESS_KEY_ID,
          secret_access_key: LAB_AWS_SECRET_ACCESS_KEY,
          max_latency: '2s',
        },
        dr_site: { type: 'http', url: `${drApp.url}/healthz`, max_latency: '2s' },
      },
    },
    context: {
      timeout: '2s',
      aws_health: { endpoint: feeds.awsHealth, region: 'us-east-1', since: '1h' },
      cloudflare: { url: feeds.cloudflare },
      azure_status: { url: feeds.azureStatus },
      loki: { url: feeds.loki, query: '{service="app"} |= "error"', since: '10m', limit: 50 },
      changes: { since: '1h' },
    },
    runbooks: {
      dr_failover: {
        description: 'fail the lab over from the primary site to the DR site',
        defaults: { timeout: '30s', retries: 1, backoff: { initial: '1s', factor: 2, max: '5s' } },
        stages: [
          {
            name: 'fence',
            steps: [
              {
                name: 'fence-primary-db',
                type: 'fence',
                continue_on_error: true,
                timeout: '5s',
                retries: 0,
                params: { database: { connection: pgUrl(state.postgres!.primary!.port, 'postgres') } },
              },
            ],
          },
          {
            name: 'promote',
            steps: [
              {
                name: 'promote-standby',
                type: 'database',
                params: {
                  action: 'promote',
                  standby: pgUrl(state.postgres!.standby!.port, 'postgres'),
                  primary: pgUrl(state.postgres!.primary!.port, 'postgres'),
                  max_lag: '30s',
                  wait: '30s',
                },
              },
            ],
          },
          {
            name: 'storage_sync',
            steps: [
              {
                name: 'sync-remaining-objects',
                type: 'storage_sync',
                continue_on_error: true,
                timeout: '15s',
                retries: 0,
                params: {
                  source: {
                    endpoint: state.s3!.endpoint,
                    region: state.s3!.region,
                    bucket: state.s3!.bucket,
                    access_key_id: state.s3!.accessKeyId,
                    secret_access_key: state.s3!.secretAccessKey,
                    force_path_style: true,
                  },
                  destination: {
                    connection_string: state.azurite!.connectionString,
                    container: state.azurite!.container,
                  },
                },
              },
            ],
          },
          {
            name: 'dns',
            steps: [
              {
                // An RFC 2136 update signed with the zone's TSIG key, sent by BIND's own nsupdate.
                name: 'point-app-at-dr',
                type: 'command',
                params: {
                  command: 'nsupdate',
                  args: [
                    '-y',
                    `${dns.tsig.algorithm}:${dns.tsig.name}:${dns.tsig.secret}`,
                    nsupdateFile(state),
                  ],
                },
              },
            ],
          },
          {
            name: 'verify',
            steps: [
              {
                name: 'dr-serves-through-dns',
                type: 'command',
                timeout: '30s',
                params: { command: process.execPath, args: ['-e', verifyScript(state)] },
              },
            ],
          },
        ],
      },
    },
  };
}

function nsupdateFile(state: LabState): string {
  return join(state.dir, 'dns', 'switch-to-dr.nsupdate');
}

/** Resolves app.<zone> through the lab DNS and asks that address for a writable health answer, for up to 25 s. */
function verifyScript(state: LabState): string {
  return `const { Resolver } = require('node:dns/promises');
const r = new Resolver({ timeout: 1000, tries: 1 }); r.setServers(['127.0.0.1:${state.dns!.port}']);
(async () => { const end = Date.now() + 25000; let last = '';
  while (Date.now() < end) {
    try { const [ip] = await r.resolve4('app.${state.zone}');
      const res = await fetch('http://' + ip + ':${state.appPort}/healthz', { signal: AbortSignal.timeout(2000) });
      const body = await res.json(); last = ip + ' ' + res.status + ' ' + JSON.stringify(body);
      if (res.ok && body.writable) { console.log('app.${state.zone} -> ' + ip + ' serves writes'); return; }
    } catch (e) { last = String(e); }
    await new Promise((s) => setTimeout(s, 500)); }
  console.error('DR not serving through DNS: ' + last); process.exit(1); })();`;
}

export function writeLabConfig(state: LabState, options: LabConfigOptions = {}): string {
  const dns = state.dns!;
  writeFileSync(
    nsupdateFile(state),
    [
      `server 127.0.0.1 ${dns.port}`,
      `zone ${dns.zone}`,
      `update delete app.${dns.zone} A`,
      `update add app.${dns.zone} 5 A ${state.appHost.dr}`,
      'send',
      '',
    ].join('\n'),
  );
  const file = join(state.dir, 'phoenix.yaml');
  writeFileSync(
    file,
    '# Written by the CloudPhoenix lab for its own controller; regenerated by every drill.\n' +
      stringify(labConfig(state, options), { lineWidth: 0 }),
    { mode: 0o600 },
  );
  return file;
}
