import { existsSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { AWS_HEALTH_ZONE, startBind } from './bind.js';
import { startCachingResolver } from './resolver.js';
import { daemonArgs } from './daemon-args.js';
import { azuriteBlobMain, startAzurite, startS3Server, S3RVER_CREDENTIALS } from './objectstores.js';
import {
  clusterHandle,
  findPostgresBin,
  postgresBin,
  query,
  startPrimary,
  startStandby,
  type PostgresCluster,
} from './postgres.js';
import { freePort, freePortOn } from './ports.js';
import { isRunning, lastLogLines, processesUsing, spawnDaemon, stopProcess, waitUntil } from './process.js';
import type { AppSettings } from './app.js';
import { ITEMS_SCHEMA } from './items.js';
import { writeLabConfig } from './config.js';
import { LAB_AWS_ACCESS_KEY_ID, LAB_BUCKET, LAB_CONTAINER, LAB_DATABASE, LAB_ZONE } from './names.js';
import { APP_ROLE, createManagedDatabase, createPublication, subscribeStreaming } from './managed.js';
import {
  isOurs,
  readLabState,
  writeLabState,
  type LabAppState,
  type LabState,
  type ProcessRef,
} from './state.js';
import type { ObjectSyncSettings } from './objectsync.js';
import type { FeedSettings, FeedUrls } from './feeds.js';

export const DEFAULT_LAB_DIR = '.phoenix/lab';

/** Reconciliation passes behind the event-driven copies (lost notifications, objects from before). */
export const OBJECT_RECONCILE_MS = 5000;

export type Site = 'primary' | 'dr';
export type Progress = (message: string) => void;

/** GET `url`: its status and body (JSON when it parses), or undefined when it does not answer whole within `timeoutMs`. */
export async function httpStatus(
  url: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

/** Starts (or restarts with another release) one site's sample app and waits until it answers. */
export async function startLabApp(state: LabState, site: Site, release = 'v1'): Promise<LabAppState> {
  const previous = state.apps?.[site];
  if (previous && isOurs(previous.process)) await stopProcess(previous.process.pid);
  const host = state.appHost[site];
  const port = state.appPort;
  if (!port) throw new Error('the lab has no app port');
  const pgState = site === 'primary' ? state.postgres?.primary : state.postgres?.standby;
  if (!pgState) throw new Error(`the lab has no ${site} database`);
  const store: AppSettings['store'] =
    site === 'primary'
      ? {
          kind: 's3',
          endpoint: state.s3!.endpoint,
          region: state.s3!.region,
          accessKeyId: state.s3!.accessKeyId,
          secretAccessKey: state.s3!.secretAccessKey,
          bucket: state.s3!.bucket,
        }
      : {
          kind: 'azure',
          connectionString: state.azurite!.connectionString,
          container: state.azurite!.container,
        };
  const settings: AppSettings = {
    site,
    host,
    port,
    release,
    // The application's own role, not the admin: the fence ends its sessions and revokes its CONNECT.
    databaseUrl: `postgresql://${APP_ROLE}@127.0.0.1:${pgState.port}/${LAB_DATABASE}`,
    store,
  };
  const marker = `--lab=${state.dir} --site=${site}`;
  const logFile = join(state.dir, `app-${site}.log`);
  const daemon = spawnDaemon(process.execPath, daemonArgs('app', marker.split(' ')), {
    logFile,
    env: { ...process.env, LAB_DAEMON_SETTINGS: JSON.stringify(settings) },
  });
  const app: LabAppState = {
    process: { pid: daemon.pid, match: marker },
    host,
    port,
    url: `http://${host}:${port}`,
    release,
    logFile,
  };
  state.apps = { ...state.apps, [site]: app };
  writeLabState(state);
  await waitUntil(
    async () => {
      if (!isRunning(daemon.pid)) throw new Error(`the ${site} app exited: ${lastLogLines(logFile)}`);
      return (await httpStatus(`${app.url}/healthz`, 1000)) !== undefined;
    },
    30_000,
    `the ${site} app to answer`,
  );
  return app;
}

/**
 * Builds the two-site lab in `dir`: PostgreSQL primary + streaming standby, s3rver and Azurite with a
 * sync loop between them, BIND serving app.<zone> → the primary app, and the sample app on both sites.
 * The state file is rewritten after every component, so `labDown` can clean up a half-built lab.
 */
export type LabReplication = 'logical' | 'physical';

/** The PostgreSQL major of each site's server (RDS and Azure offer 13 to 17); unset: Debian's. */
export interface LabPostgresVersions {
  primary?: number;
  dr?: number;
}

/** The server's major version, asked of it. */
export async function serverMajor(url: string): Promise<number> {
  const [{ v }] = await query<{ v: number }>(url, "select current_setting('server_version_num')::int as v");
  return Math.floor(v / 10000);
}

/** Refuses before anything starts: a version the lab cannot run, or a physical standby of another major. */
function checkPostgresVersions(replication: LabReplication, versions: LabPostgresVersions): void {
  for (const v of [versions.primary, versions.dr])
    if (v !== undefined && !(Number.isInteger(v) && v >= 13 && v <= 17))
      throw new Error(
        `PostgreSQL ${v} is not one the lab runs: use 13, 14, 15, 16 or 17 (what RDS and Azure offer)`,
      );
  if (replication === 'physical' && versions.dr !== undefined && versions.dr !== versions.primary)
    throw new Error(
      "a streaming standby runs the primary's major only; give --dr-postgres only with --replication logical",
    );
  for (const v of [versions.primary, versions.dr]) if (v !== undefined) postgresBin(v);
  if (replication === 'physical' && versions.primary !== undefined) {
    if (!existsSync(join(postgresBin(versions.primary), 'pg_basebackup')))
      throw new Error(
        `the build of PostgreSQL ${versions.primary} the lab installs has no pg_basebackup to make a standby with; run it with --replication logical, or install Debian's postgresql-${versions.primary}`,
      );
  }
}

/**
 * The two databases. `logical` (the default) models RDS → Azure Flexible Server: the DR database is a
 * separate cluster subscribed to a publication, the controller's role is not a superuser on either side,
 * and the DR database stays read-only to the app until the cut-over. `physical` keeps a streaming standby.
 */
async function startDatabases(
  state: LabState,
  replication: LabReplication,
  progress: Progress,
  versions: LabPostgresVersions = {},
): Promise<void> {
  const dir = state.dir;
  progress(
    replication === 'logical'
      ? 'PostgreSQL primary (the RDS stand-in) and logical subscriber (the Azure Flexible Server stand-in)'
      : 'PostgreSQL primary',
  );
  // The two clusters of a logical pair are independent: initdb both at once.
  const [primary, dr] = await Promise.all([
    startPrimary({ baseDir: join(dir, 'pg-primary'), version: versions.primary }),
    replication === 'logical'
      ? startPrimary({ baseDir: join(dir, 'pg-standby'), version: versions.dr })
      : undefined,
  ]);
  const site = async (c: PostgresCluster) => ({
    dataDir: c.dataDir,
    port: c.port,
    binDir: c.binDir,
    major: await serverMajor(c.connectionString()),
  });
  state.postgres = {
    binDir: primary.binDir,
    replication,
    primary: await site(primary),
    ...(dr ? { standby: await site(dr) } : {}),
  };
  writeLabState(state);
  await createManagedDatabase(primary, LAB_DATABASE, ITEMS_SCHEMA, {
    replication: replication === 'logical',
  });
  if (!dr) {
    progress('PostgreSQL streaming standby');
    const standby = await startStandby(primary, { baseDir: join(dir, 'pg-standby') });
    state.postgres.standby = await site(standby);
    writeLabState(state);
    return;
  }
  // REPLICATION, as Azure's admin is given it: the way back (reprotect) streams from DR.
  await createManagedDatabase(dr, LAB_DATABASE, ITEMS_SCHEMA, { replication: true });
  await createPublication(primary, LAB_DATABASE);
  await subscribeStreaming(dr, primary, LAB_DATABASE, 60_000);
}

/**
 * The primary's S3 (s3rver) and the DR site's Azure Blob (Azurite). The primary's object store notifies
 * `notifyPort` of every new object, as S3 event notifications do.
 */
async function startObjectStores(state: LabState, notifyPort: number, progress: Progress): Promise<void> {
  progress('S3-compatible object store (s3rver) and Azure Blob storage (Azurite)');
  const s3Dir = join(state.dir, 's3');
  const azuriteDir = join(state.dir, 'azurite');
  await allStarted([
    async () => {
      const s3 = await startS3Server({
        baseDir: s3Dir,
        buckets: [LAB_BUCKET],
        process: 'child',
        notifyUrl: `http://127.0.0.1:${notifyPort}/events`,
      });
      state.s3 = {
        endpoint: s3.endpoint,
        bucket: LAB_BUCKET,
        ...S3RVER_CREDENTIALS,
        process: { pid: s3.pid!, match: s3Dir },
      };
      writeLabState(state);
    },
    async () => {
      const azurite = await startAzurite({ baseDir: azuriteDir });
      state.azurite = {
        blobEndpoint: azurite.blobEndpoint,
        container: LAB_CONTAINER,
        connectionString: azurite.connectionString,
        process: { pid: azurite.pid, match: azuriteDir },
      };
      writeLabState(state);
    },
  ]);
}

/**
 * Starts independent components side by side (the lab is mostly waiting for daemons to listen), and
 * waits for every one to settle before reporting the first failure: the state file then names every
 * process that did start, so the clean-up finds them all.
 */
async function allStarted(tasks: Array<() => Promise<void>>): Promise<void> {
  const results = await Promise.allSettled(tasks.map((task) => task()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The replicator daemon: copies each object it is notified of at once and reconciles by listing every few seconds. */
export async function startObjectSync(
  state: LabState,
  notifyPort: number,
  progress: Progress,
): Promise<void> {
  progress('object replication S3 → Azure Blob (event notifications + reconciliation)');
  const syncSettings: ObjectSyncSettings = {
    s3: { endpoint: state.s3!.endpoint, ...S3RVER_CREDENTIALS, bucket: LAB_BUCKET },
    azure: { connectionString: state.azurite!.connectionString, container: LAB_CONTAINER },
    notifyPort,
    reconcileMs: OBJECT_RECONCILE_MS,
  };
  const syncMarker = `--lab=${state.dir}`;
  const syncLog = join(state.dir, 'sync.log');
  const sync = spawnDaemon(process.execPath, daemonArgs('sync', [syncMarker]), {
    logFile: syncLog,
    env: { ...process.env, LAB_DAEMON_SETTINGS: JSON.stringify(syncSettings) },
  });
  state.sync = { process: { pid: sync.pid, match: `sync ${syncMarker}` }, logFile: syncLog };
  writeLabState(state);
  await waitUntil(
    async () => {
      if (!isRunning(sync.pid)) throw new Error(`the object replication exited: ${lastLogLines(syncLog)}`);
      return (await httpStatus(`http://127.0.0.1:${notifyPort}/`, 500)) !== undefined;
    },
    30_000,
    'the object replication to listen for notifications',
  );
}

/** The provider feeds daemon (AWS Health, EC2, status pages, Loki); its URLs go into the state. */
async function startFeeds(state: LabState, progress: Progress): Promise<void> {
  progress('provider feeds (AWS Health, EC2, Cloudflare and Azure status pages, Loki)');
  const urlsFile = join(state.dir, 'feeds.json');
  const feedSettings: FeedSettings = {
    urlsFile,
    region: state.primaryRegion,
    ec2AccessKeyId: LAB_AWS_ACCESS_KEY_ID,
    appLogs: { primary: state.apps!.primary!.logFile, dr: state.apps!.dr!.logFile },
  };
  const feedsMarker = `--lab=${state.dir}`;
  const feedsLog = join(state.dir, 'feeds.log');
  const feedsDaemon = spawnDaemon(process.execPath, daemonArgs('feeds', [feedsMarker]), {
    logFile: feedsLog,
    env: { ...process.env, LAB_DAEMON_SETTINGS: JSON.stringify(feedSettings) },
  });
  state.feeds = { process: { pid: feedsDaemon.pid, match: `feeds ${feedsMarker}` } };
  writeLabState(state);
  await waitUntil(
    () => {
      if (!isRunning(feedsDaemon.pid))
        throw new Error(`the provider feeds exited: ${lastLogLines(feedsLog)}`);
      return existsSync(urlsFile);
    },
    30_000,
    'the provider feeds',
  );
  state.feeds.urls = JSON.parse(readFileSync(urlsFile, 'utf8')) as FeedUrls;
  writeLabState(state);
}

/**
 * BIND serving the lab zone: app.<zone> on the primary, updated by the failover's dns step; and the
 * caching resolver the lab's clients ask, which keeps BIND's answers for their TTL.
 */
async function startLabDns(state: LabState, progress: Progress): Promise<void> {
  progress(`DNS (BIND) for ${LAB_ZONE}`);
  const dnsDir = join(state.dir, 'dns');
  const bind = await startBind({
    baseDir: dnsDir,
    zone: LAB_ZONE,
    records: [
      { name: 'app', type: 'A', value: state.appHost.primary },
      { name: 'primary', type: 'A', value: state.appHost.primary },
      { name: 'dr', type: 'A', value: state.appHost.dr },
    ],
    zones: [AWS_HEALTH_ZONE],
  });
  state.dns = {
    host: '127.0.0.1',
    port: bind.port,
    zone: LAB_ZONE,
    tsig: bind.tsig,
    process: { pid: bind.pid, match: join(dnsDir, 'named.conf') },
  };
  progress('caching resolver (unbound) for the clients, in front of BIND');
  const resolverDir = join(state.dir, 'resolver');
  const resolver = await startCachingResolver({
    baseDir: resolverDir,
    zone: LAB_ZONE,
    authoritativePort: bind.port,
    probe: `app.${LAB_ZONE}`,
  });
  state.resolver = {
    port: resolver.port,
    process: { pid: resolver.pid, match: join(resolverDir, 'unbound.conf') },
  };
}

/** An empty lab directory; refuses when a lab already lives there. */
function freshLabDir(dir: string): void {
  if (readLabState(dir)) {
    const where = dir === resolve(DEFAULT_LAB_DIR) ? '' : ` --dir ${dir}`;
    throw new Error(
      `a lab already exists in ${dir}; run \`phoenix lab down${where}\` first (or \`phoenix lab status${where}\`)`,
    );
  }
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

export async function labUp(
  options: {
    dir?: string;
    progress?: Progress;
    replication?: LabReplication;
    postgres?: LabPostgresVersions;
  } = {},
): Promise<LabState> {
  checkPostgresVersions(options.replication ?? 'logical', options.postgres ?? {});
  const dir = resolve(options.dir ?? DEFAULT_LAB_DIR);
  const progress = options.progress ?? (() => undefined);
  // A missing Azurite is an install problem: say so before any daemon starts, not halfway through.
  azuriteBlobMain();
  freshLabDir(dir);
  const state: LabState = {
    version: 1,
    dir,
    createdAt: new Date().toISOString(),
    zone: LAB_ZONE,
    primaryRegion: 'us-east-1',
    drRegion: 'westeurope',
    appHost: { primary: '127.0.0.2', dr: '127.0.0.3' },
  };
  writeLabState(state);
  try {
    const notifyPort = await freePort();
    await allStarted([
      () => startDatabases(state, options.replication ?? 'logical', progress, options.postgres),
      () => startObjectStores(state, notifyPort, progress),
      () => startLabDns(state, progress),
    ]);
    state.appPort = await freePortOn([state.appHost.primary, state.appHost.dr]);
    await allStarted([
      () => startObjectSync(state, notifyPort, progress),
      async () => {
        progress('sample app on both sites');
        await allStarted([
          () => startLabApp(state, 'primary').then(() => undefined),
          () => startLabApp(state, 'dr').then(() => undefined),
        ]);
      },
    ]);
    await startFeeds(state, progress);
    // The controller configuration for the hands-on tour: `phoenix run --config` with the dashboard.
    state.dashboardPort = await freePort();
    state.configFile = writeLabConfig(state, { server_listen: `127.0.0.1:${state.dashboardPort}` });
    writeLabState(state);
    return state;
  } catch (error) {
    await labDown({ dir }).catch(() => undefined);
    throw error;
  }
}

/** The programs a lab runs; `down` stops leftovers of these and only reports anything else. */
const LAB_PROGRAMS = new Set([
  'node',
  basename(process.execPath),
  'postgres',
  'named',
  'nsupdate',
  'unbound',
]);

async function stopRef(ref: ProcessRef | undefined): Promise<boolean> {
  if (!ref || !isOurs(ref)) return false;
  await stopProcess(ref.pid);
  return true;
}

/** Stops everything the lab started and removes its directory. Safe to repeat, and after a failed drill. */
export async function labDown(options: { dir?: string } = {}): Promise<{ dir: string; stopped: string[] }> {
  const dir = resolve(options.dir ?? DEFAULT_LAB_DIR);
  const state = readLabState(dir);
  const stopped: string[] = [];
  const failures: string[] = [];
  if (state) {
    // A process `lab fault` froze would not see a SIGTERM: thaw it first.
    for (const pid of state.fault?.frozen ?? []) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone already */
      }
    }
    const steps: Array<[string, () => Promise<boolean>]> = [
      ['app (primary)', () => stopRef(state.apps?.primary?.process)],
      ['app (dr)', () => stopRef(state.apps?.dr?.process)],
      ['object sync', () => stopRef(state.sync?.process)],
      ['provider feeds', () => stopRef(state.feeds?.process)],
      ['dns resolver', () => stopRef(state.resolver?.process)],
      ['dns', () => stopRef(state.dns?.process)],
      ['s3', () => stopRef(state.s3?.process)],
      ['azurite', () => stopRef(state.azurite?.process)],
    ];
    for (const [site, pgState] of [
      ['standby', state.postgres?.standby],
      ['primary', state.postgres?.primary],
    ] as const) {
      if (!pgState || !state.postgres) continue;
      const binDir = pgState.binDir ?? state.postgres.binDir;
      steps.push([
        `postgres (${site})`,
        async () => {
          const pidFile = join(pgState.dataDir, 'postmaster.pid');
          if (!existsSync(pidFile)) return false;
          await clusterHandle(
            pgState.dataDir,
            pgState.port,
            existsSync(binDir) ? binDir : findPostgresBin(),
          ).stop();
          return true;
        },
      ]);
    }
    for (const [name, stop] of steps) {
      try {
        if (await stop()) stopped.push(name);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
  }
  // Anything still running from the lab's directory (a daemon whose pid the state file never got, a
  // PostgreSQL backend that outlived a killed postmaster) is the lab's own program: stop it too.
  const stray = processesUsing(dir);
  for (const leftover of stray.filter((p) => LAB_PROGRAMS.has(p.program))) {
    await stopProcess(leftover.pid, { group: false, graceMs: 2000 }).catch(() => undefined);
    stopped.push(`${leftover.program} (pid ${leftover.pid})`);
  }
  const still = processesUsing(dir);
  if (still.length)
    failures.push(
      `processes still using the lab: ${still.map((p) => `${p.pid} ${p.command.slice(0, 80)}`).join('; ')}`,
    );
  if (failures.length)
    throw new Error(`could not stop ${failures.join('; ')}; the lab directory ${dir} was kept`);
  rmSync(dir, { recursive: true, force: true });
  return { dir, stopped };
}

export interface ComponentStatus {
  name: string;
  up: boolean;
  detail: string;
}

export interface LabStatus {
  dir: string;
  exists: boolean;
  zone?: string;
  dnsAnswer?: string;
  components: ComponentStatus[];
}

/**
 * The app's address as `via` answers: `client`, the caching resolver the lab's clients use (a switch
 * shows up to a TTL late, as users see it); `authoritative`, BIND itself (the switch as soon as made).
 */
export async function resolveApp(
  state: LabState,
  name = `app.${state.zone}`,
  via: 'client' | 'authoritative' = 'authoritative',
): Promise<string | undefined> {
  return (await resolveAppAnswer(state, name, via))?.address;
}

/** resolveApp with the answer's TTL: from the caching resolver, the seconds it will keep serving it. */
export async function resolveAppAnswer(
  state: LabState,
  name = `app.${state.zone}`,
  via: 'client' | 'authoritative' = 'authoritative',
): Promise<{ address: string; ttl: number } | undefined> {
  const port = via === 'client' ? state.resolver?.port : state.dns?.port;
  if (!port) return undefined;
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    return (await resolver.resolve4(name, { ttl: true }))[0];
  } catch {
    return undefined;
  }
}

async function pgStatus(name: string, pgState: { port: number } | undefined): Promise<ComponentStatus> {
  if (!pgState) return { name, up: false, detail: 'not started' };
  try {
    const [row] = await query<{ recovery: boolean; receiver: string | null; subs: number; applying: number }>(
      `postgresql://postgres@127.0.0.1:${pgState.port}/postgres`,
      `select pg_is_in_recovery() as recovery, (select status from pg_stat_wal_receiver) as receiver,
              (select count(*) from pg_subscription where subenabled)::int as subs,
              (select count(*) from pg_stat_subscription where pid is not null and relid is null)::int as applying`,
    );
    const role = row.recovery
      ? `standby, WAL receiver ${row.receiver ?? 'not running'}`
      : row.subs > 0
        ? `logical subscriber, ${row.applying} of ${row.subs} subscriptions applying`
        : 'read-write';
    return { name, up: true, detail: `127.0.0.1:${pgState.port} ${role}` };
  } catch (error) {
    return { name, up: false, detail: `127.0.0.1:${pgState.port} ${(error as Error).message}` };
  }
}

export async function labStatus(options: { dir?: string } = {}): Promise<LabStatus> {
  const dir = resolve(options.dir ?? DEFAULT_LAB_DIR);
  const state = readLabState(dir);
  if (!state) return { dir, exists: false, components: [] };
  const proc = (name: string, ref: ProcessRef | undefined, detail: string): ComponentStatus => ({
    name,
    up: isOurs(ref),
    detail: ref ? `${detail} (pid ${ref.pid})` : 'not started',
  });
  const app = async (site: Site): Promise<ComponentStatus> => {
    const appState = state.apps?.[site];
    if (!appState) return { name: `app (${site})`, up: false, detail: 'not started' };
    const health = await httpStatus(`${appState.url}/healthz`);
    const body = health?.body as { writable?: boolean } | undefined;
    return {
      name: `app (${site})`,
      up: health?.status === 200,
      detail: `${appState.url} release ${appState.release}: ${
        health
          ? `HTTP ${health.status}${body?.writable === undefined ? '' : body.writable ? ' writable' : ' read-only'}`
          : 'no answer'
      }`,
    };
  };
  const dnsAnswer = await resolveApp(state);
  const components: ComponentStatus[] = [
    await pgStatus('postgres (primary)', state.postgres?.primary),
    await pgStatus('postgres (standby)', state.postgres?.standby),
    proc('s3 (primary objects)', state.s3?.process, state.s3?.endpoint ?? ''),
    proc('azurite (dr blobs)', state.azurite?.process, state.azurite?.blobEndpoint ?? ''),
    proc(
      'object sync',
      state.sync?.process,
      `s3 → azure blob on S3 event notifications, reconciled every ${OBJECT_RECONCILE_MS / 1000} s`,
    ),
    await app('primary'),
    await app('dr'),
    {
      name: 'dns',
      up: isOurs(state.dns?.process) && dnsAnswer !== undefined,
      detail: state.dns
        ? `127.0.0.1:${state.dns.port} app.${state.zone} → ${dnsAnswer ?? 'no answer'}`
        : 'not started',
    },
    proc(
      "clients' caching resolver",
      state.resolver?.process,
      state.resolver ? `unbound on 127.0.0.1:${state.resolver.port}, answers kept for their TTL` : '',
    ),
  ];
  if (state.feeds) {
    components.push(
      proc(
        'provider feeds',
        state.feeds.process,
        `aws health ${state.feeds.urls?.awsHealth ?? '?'}, ec2 ${state.feeds.urls?.ec2 ?? '?'}`,
      ),
    );
  }
  return { dir, exists: true, zone: state.zone, dnsAnswer, components };
}
