import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig, type PhoenixConfig } from '../config/index.js';
import { labConfig, LAB_SEQUENCE_GAP } from './config.js';
import { LAB_DATABASE } from './names.js';
import {
  ADMIN_ROLE,
  APP_ROLE,
  PUBLICATION,
  replicationConninfo,
  SUBSCRIPTION,
  subscriptionOwnerRole,
} from './managed.js';
import type { LabState, PostgresSite } from './state.js';

/** The reverse direction's publication and subscription (DR publishes, the rebuilt primary subscribes). */
export const FAILBACK_SUBSCRIPTION = 'phoenix_failback';

type Step = Record<string, unknown> & { name: string; params: Record<string, unknown> };

const url = (port: number, role = ADMIN_ROLE) => `postgresql://${role}@127.0.0.1:${port}/${LAB_DATABASE}`;

/** The lab's S3 bucket as a storage_sync location (s3rver: path-style, the lab's keys). */
export function labBucket(state: LabState) {
  const s3 = state.s3!;
  return {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
    force_path_style: true,
  };
}

/** The lab's Azure Blob container (Azurite) as a storage_sync location. */
export function labContainer(state: LabState) {
  return { connection_string: state.azurite!.connectionString, container: state.azurite!.container };
}

/** The lab's S3 bucket and Azure container, for the storage_sync step copying back. */
export function objectsBack(state: LabState): Step {
  return {
    name: 'objects-back',
    type: 'storage_sync',
    params: {
      direction: 'azure_to_s3',
      source: { ...labContainer(state), create_container: false },
      destination: labBucket(state),
    },
  };
}

/** One database step that makes `to` a subscriber of `from`, its subscriptions owned as on the service. */
function reprotectStep(
  name: string,
  from: PostgresSite,
  to: PostgresSite,
  names: { sub: string; retire: string },
): Step {
  return {
    name,
    type: 'database',
    timeout: '120s',
    params: {
      action: 'reprotect',
      publisher: url(from.port),
      publisher_conninfo: replicationConninfo(from.port, LAB_DATABASE),
      publisher_owner: url(from.port, subscriptionOwnerRole(from.major)),
      subscriber: url(to.port),
      subscriber_owner: url(to.port, subscriptionOwnerRole(to.major)),
      publication: names.sub,
      subscription: names.sub,
      retire_subscription: names.retire,
      app_roles: [APP_ROLE],
      wait: '110s',
    },
  };
}

/** The failover runbook's step of this name, with its parameters changed (the dns and verify steps). */
function like(
  config: Record<string, unknown>,
  step: string,
  name: string,
  params: Record<string, unknown>,
): Step {
  const stages = (config.runbooks as { dr_failover: { stages: Array<{ steps: Step[] }> } }).dr_failover
    .stages;
  const found = stages.flatMap((s) => s.steps).find((s) => s.name === step)!;
  return { ...found, name, params: { ...found.params, ...params } };
}

const single = (name: string, step: Step) => ({ name, steps: [step] });

const fenceDatabase = (name: string, port: number): Step => ({
  name,
  type: 'fence',
  timeout: '10s',
  params: { database: { connection: url(port), app_roles: [APP_ROLE] } },
});

/** The lab's two databases: the primary site's and the DR site's. */
const databaseSites = (state: LabState) => ({
  primary: state.postgres!.primary!,
  dr: state.postgres!.standby!,
});

const WAY_BACK_DEFAULTS = { timeout: '60s', retries: 1, backoff: { initial: '1s', factor: 2, max: '5s' } };

/** After a failover: fence the returning primary, copy objects back, subscribe it to DR. */
function reprotectRunbook(state: LabState) {
  const { primary, dr } = databaseSites(state);
  return {
    description: 'after a failover: DR publishes, the rebuilt primary subscribes, objects flow back',
    defaults: WAY_BACK_DEFAULTS,
    stages: [
      single('fence-primary', fenceDatabase('fence-returning-primary', primary.port)),
      // Copies every object DR wrote since the failover, so it grows with the outage; under load (average
      // 18-25 on 2 cores) two 60 s attempts did not finish. The failback's last pass copies only the few since.
      single('objects', { ...objectsBack(state), timeout: '300s' }),
      single(
        'database',
        reprotectStep('primary-subscribes-to-dr', dr, primary, {
          sub: FAILBACK_SUBSCRIPTION,
          retire: SUBSCRIPTION,
        }),
      ),
    ],
  };
}

/**
 * The planned switchover back: a full object pass, fence DR, last object pass (what changed since), cut the primary over once it has confirmed
 * everything DR holds, DNS back, verify, then protect forward again. `base` is the lab's configuration,
 * whose failover dns and verify steps it turns around.
 */
function failbackRunbook(state: LabState, base: Record<string, unknown>) {
  const { primary, dr } = databaseSites(state);
  return {
    description: 'planned switchover back to the primary site, then protect forward again',
    defaults: WAY_BACK_DEFAULTS,
    stages: [
      // A full pass while DR still takes writes: it lists both stores and leaves its mark (the Blob
      // service's time when it began), so the pass inside the write pause checks only blobs written
      // since. Listing both in full inside the pause took 5.6-12 s at load 16-25, growing with the bucket.
      single('objects-before-pause', {
        ...objectsBack(state),
        name: 'objects-back-before-pause',
        timeout: '300s',
      }),
      single('fence-dr', fenceDatabase('fence-dr-db', dr.port)),
      {
        // Both need only the fence and both must end before DNS moves: run together, the pause is the
        // longer of the two, not their sum (under load the object listing alone took seconds).
        name: 'switch',
        parallel: true,
        steps: [
          {
            ...objectsBack(state),
            name: 'last-objects-back',
            params: { ...objectsBack(state).params, since_step: 'objects-back-before-pause' },
          },
          {
            name: 'open-primary',
            type: 'database',
            params: {
              action: 'cutover',
              subscriber: url(primary.port),
              publisher: url(dr.port),
              subscription_owner: url(primary.port, subscriptionOwnerRole(primary.major)),
              subscription: FAILBACK_SUBSCRIPTION,
              require_caught_up: true,
              catch_up: '10s',
              sequence_gap: LAB_SEQUENCE_GAP,
            },
          },
        ],
      },
      single('dns', like(base, 'point-app-at-dr', 'point-app-at-primary', { value: state.appHost.primary })),
      single(
        'verify',
        like(base, 'dr-serves-writes', 'primary-serves-writes', {
          checks: [
            {
              url: `${state.apps!.primary!.url}/healthz`,
              expect_status: [200],
              contains: '"writable":true',
              timeout_ms: 2000,
            },
          ],
        }),
      ),
      single(
        'protect-forward',
        reprotectStep('dr-subscribes-again', primary, dr, {
          sub: PUBLICATION,
          retire: FAILBACK_SUBSCRIPTION,
        }),
      ),
    ],
  };
}

/**
 * The lab's configuration with the way back: `reprotect` (fence the returning primary, copy objects back,
 * subscribe it to DR) and `failback` (fence DR, last object pass, cut the primary over once it has
 * confirmed everything DR holds, DNS back, verify, then protect forward again).
 */
export function wayBackConfig(state: LabState, interval_s: number): PhoenixConfig {
  const base = labConfig(state, { interval_s });
  // The controller's own store: the way back's runs are journaled beside the failover's and move the
  // same site state (docs/lifecycle.md), as `phoenix reprotect` and `phoenix failback` do.
  const doc = {
    ...base,
    runbooks: {
      ...(base.runbooks as Record<string, unknown>),
      reprotect: reprotectRunbook(state),
      failback: failbackRunbook(state, base),
    },
  };
  // Kept beside the lab's own configuration: with --keep, `phoenix plan failback --config DIR/wayback.yaml`.
  const file = join(state.dir, 'wayback.yaml');
  writeFileSync(file, stringify(doc, { lineWidth: 0 }), { mode: 0o600 });
  return parseConfig(doc, file);
}
