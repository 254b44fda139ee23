import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LAB_AWS_ACCESS_KEY_ID, LAB_AWS_SECRET_ACCESS_KEY, LAB_DATABASE, LAB_DNS_TTL_S } from './names.js';
import { ADMIN_ROLE, APP_ROLE, subscriptionOwnerRole } from './managed.js';
import type { LabState } from './state.js';

export interface LabConfigOptions {
  /** Controller interval in seconds (5 in the lab). */
  interval_s?: number;
  /** How long an infrastructure failure must last before DR (default 1.5 intervals: three failing cycles). */
  confirm_window_s?: number;
  /**
   * Serve the API and dashboard here (`phoenix lab up` does, for the hands-on tour). The lab listens on
   * loopback only, so anyone on this machine may read and operate it without a token.
   */
  server_listen?: string;
}

const pgUrl = (port: number, db = LAB_DATABASE, role = ADMIN_ROLE) =>
  `postgresql://${role}@127.0.0.1:${port}/${db}`;

/** The lab's writer inserts ids at up to this rate × the RPO budget: the cut-over leaves that much room. */
export const LAB_SEQUENCE_GAP = 100_000;

/** How the DR database is opened: cut over (logical subscriber) or pg_promote (streaming standby). */
function openDrDatabase(state: LabState): Record<string, unknown> {
  const pgState = state.postgres!;
  if (pgState.replication === 'physical')
    return {
      name: 'promote-standby',
      type: 'database',
      params: {
        action: 'promote',
        // pg_promote() is superuser-only by default: self-managed PostgreSQL, where we hold one.
        standby: pgUrl(pgState.standby!.port, 'postgres', 'postgres'),
        primary: pgUrl(pgState.primary!.port, 'postgres', 'postgres'),
        max_lag: '30s',
        wait: '30s',
      },
    };
  return {
    name: 'cut-over-subscriber',
    type: 'database',
    params: {
      action: 'cutover',
      subscriber: pgUrl(pgState.standby!.port),
      publisher: pgUrl(pgState.primary!.port),
      // The DR admin (16+: pg_create_subscription); before 16 stock PostgreSQL wants a superuser.
      subscription_owner: pgUrl(
        pgState.standby!.port,
        LAB_DATABASE,
        subscriptionOwnerRole(pgState.standby!.major),
      ),
      catch_up: '3s',
      // In a lost region the publisher cannot say what it had: the lab accepts that, and the report says unknown.
      on_unknown_lag: 'proceed',
      sequence_gap: LAB_SEQUENCE_GAP,
    },
  };
}

/**
 * Probes declared once for both sites (docs/lifecycle.md, "Probes follow the active site"): each site's
 * addresses under `sites`, the probes aimed at `{{active.*}}` (the site that serves users) and
 * `{{standby.*}}` (the other one). After a failover the controller scores DR and watches the old primary;
 * cross_cloud and aws_cross_region describe the primary site's network and cloud and stay as written.
 */
function labProbes(state: LabState): Record<string, unknown> {
  const feeds = state.feeds!.urls!;
  const pg = state.postgres!;
  return {
    timeout: '3s',
    sites: {
      primary: { app_url: state.apps!.primary!.url, db: pgUrl(pg.primary!.port) },
      dr: { app_url: state.apps!.dr!.url, db: pgUrl(pg.standby!.port) },
    },
    signals: {
      internal_services: {
        type: 'http_checks',
        target_timeout: '2s',
        targets: [
          { name: 'app-health', url: '{{active.app_url}}/healthz', body_match: '"writable":true' },
          { name: 'app-item-read', url: '{{active.app_url}}/items/1', expect_status: [200, 404] },
        ],
      },
      external_uptime: {
        type: 'external_uptime',
        url: '{{active.app_url}}/healthz',
        quorum: 1,
        max_latency: '2s',
      },
      cross_cloud: {
        type: 'tcp',
        host: '127.0.0.1',
        port: pg.standby!.port,
        max_latency: '1s',
      },
      db_replication_lag: {
        type: 'postgres_replication',
        // The serving database publishes; the other one follows (after reprotect: the old primary).
        primary: '{{active.db}}',
        standby: '{{standby.db}}',
        degraded_lag: '5s',
        error_lag: '15s',
      },
      aws_cross_region: {
        type: 'ec2_api',
        region: state.primaryRegion,
        endpoint: feeds.ec2,
        calls: ['DescribeAvailabilityZones'], // the lab's EC2 stand-in answers only this call
        access_key_id: LAB_AWS_ACCESS_KEY_ID,
        secret_access_key: LAB_AWS_SECRET_ACCESS_KEY,
        max_latency: '2s',
      },
      // What would take over: DR while the primary serves; the old primary, to fence and reprotect, after.
      dr_site: { type: 'http', url: '{{standby.app_url}}/healthz', max_latency: '2s' },
    },
  };
}

/** Context from the lab's provider feeds (AWS Health, status pages, Loki) and its recorded changes. */
function labContext(state: LabState): Record<string, unknown> {
  const feeds = state.feeds!.urls!;
  return {
    timeout: '2s',
    aws_health: {
      endpoint: feeds.awsHealth,
      region: 'us-east-1',
      since: '1h',
      // The lab's Health stand-in answers only requests signed with the lab's key, as AWS does.
      access_key_id: LAB_AWS_ACCESS_KEY_ID,
      secret_access_key: LAB_AWS_SECRET_ACCESS_KEY,
    },
    cloudflare: { url: feeds.cloudflare },
    azure_status: { url: feeds.azureStatus },
    loki: { url: feeds.loki, query: '{service="app"} |= "error"', since: '10m', limit: 50 },
    changes: { since: '1h' },
  };
}

/** Fences the old primary database against the app's roles; an unreachable primary does not stop the failover. */
function fencePrimaryStep(state: LabState): Record<string, unknown> {
  return {
    name: 'fence-primary-db',
    type: 'fence',
    continue_on_error: true,
    timeout: '5s',
    retries: 0,
    params: {
      database: { connection: pgUrl(state.postgres!.primary!.port), app_roles: [APP_ROLE] },
    },
  };
}

/** Points app.<zone> at the DR site through BIND. */
function pointAppAtDrStep(state: LabState): Record<string, unknown> {
  const dns = state.dns!;
  return {
    // An RFC 2136 update signed with the lab zone's TSIG key; the step then asks BIND until it
    // answers with the DR address.
    name: 'point-app-at-dr',
    type: 'dns',
    timeout: '15s',
    params: {
      provider: 'rfc2136',
      server: dns.host,
      port: dns.port,
      zone: dns.zone,
      tsig: { name: dns.tsig.name, algorithm: dns.tsig.algorithm, secret: dns.tsig.secret },
      name: `app.${dns.zone}`,
      type: 'A',
      value: state.appHost.dr,
      ttl: LAB_DNS_TTL_S,
      verify: true,
    },
  };
}

/** Checks that the DR app serves writes (in a drill: that it answers). */
function drServesWritesStep(state: LabState): Record<string, unknown> {
  const drApp = state.apps!.dr!;
  return {
    // The verify step resolves names through the system resolver, which does not know the lab
    // zone, so it checks the DR app's own address; the dns step above has already seen BIND
    // answer app.<zone> with that address, and the drill's RTO is measured through BIND.
    name: 'dr-serves-writes',
    type: 'verify',
    timeout: '30s',
    params: {
      checks: [
        {
          url: `${drApp.url}/healthz`,
          expect_status: [200],
          contains: '"writable":true',
          timeout_ms: 2000,
        },
      ],
      consecutive: 2,
      interval: 0.5,
      max_wait: '25s',
      // A drill leaves the DR database read-only (it rehearses on a scratch copy), so the DR
      // app answers, read-only: the drill checks it serves.
      drill: {
        checks: [{ url: `${drApp.url}/healthz`, expect_status: [200], timeout_ms: 2000 }],
      },
    },
  };
}

/** The lab's dr_failover runbook: fence, open the DR database, switch DNS, verify. */
function labFailoverRunbook(state: LabState, options: LabConfigOptions): Record<string, unknown> {
  return {
    description: 'fail the lab over from the primary site to the DR site',
    defaults: { timeout: '30s', retries: 1, backoff: { initial: '1s', factor: 2, max: '5s' } },
    stages: [
      { name: 'fence', steps: [fencePrimaryStep(state)] },
      // Objects are not copied at failover (S3 is in the lost region): the event-driven replicator
      // has kept Azure Blob current all along.
      {
        name: 'promote',
        // In the hands-on lab a person approves the failover on the dashboard (drills pass gates).
        ...(options.server_listen ? { approval: 'required' } : {}),
        steps: [openDrDatabase(state)],
      },
      { name: 'dns', steps: [pointAppAtDrStep(state)] },
      { name: 'verify', steps: [drServesWritesStep(state)] },
    ],
  };
}

/**
 * The controller configuration for a lab: probes aimed at the lab's two sites, context from its provider
 * feeds, and a dr_failover runbook (fence, promote, sync objects, switch DNS, verify through DNS).
 */
export function labConfig(state: LabState, options: LabConfigOptions = {}): Record<string, unknown> {
  const interval = options.interval_s ?? 5;
  return {
    interval: `${interval}s`,
    topology: {
      primary: { cloud: 'aws', region: state.primaryRegion, services: ['EC2', 'RDS', 'S3'] },
      dr: { cloud: 'azure', region: state.drRegion, rpo_budget_s: 30 },
    },
    decision: {
      analyzer: 'evidence',
      // Three failing cycles: the window is 1.5 intervals, not exactly 2, because a window equal to two
      // intervals is missed by timer jitter (the third cycle lands at 9.98 s of 10 s) and costs a cycle.
      confirm_window: `${options.confirm_window_s ?? 1.5 * interval}s`,
      history_window: '10m',
      cooldown: '1h',
    },
    store: { driver: 'sqlite', path: join(state.dir, 'phoenix.db'), retention: '1d' },
    ...(options.server_listen
      ? { server: { enabled: true, listen: options.server_listen, dashboard: true, anonymous: 'operate' } }
      : {}),
    probes: labProbes(state),
    context: labContext(state),
    runbooks: {
      replication: state.postgres!.replication === 'physical' ? 'physical' : 'logical',
      dr_failover: labFailoverRunbook(state, options),
    },
  };
}

/** `adjust` lets a drill scenario change the configuration (its own stand-ins, its DNS path) before it is written. */
export function writeLabConfig(
  state: LabState,
  options: LabConfigOptions = {},
  adjust?: (config: Record<string, unknown>) => void,
): string {
  const file = join(state.dir, 'phoenix.yaml');
  const config = labConfig(state, options);
  adjust?.(config);
  writeFileSync(
    file,
    '# Written by the CloudPhoenix lab for its own controller; regenerated by every drill.\n' +
      stringify(config, { lineWidth: 0 }),
    { mode: 0o600 },
  );
  return file;
}
