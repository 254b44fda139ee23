import { statSync } from 'node:fs';
import { join } from 'node:path';
import { drillTag } from '../shared/drill.js';
import { runProcess } from '../shared/process.js';
import { redact, withClient } from '../../pg/index.js';
import {
  StepError,
  type CleanupResult,
  type StepContext,
  type StepDrill,
  type StepResult,
} from '../types.js';
import { armClient, armError } from './azure.js';
import type { AzurePromoteParams, DatabaseDrillParams, DatabaseParams } from './config.js';
import { advanceSequences } from './cutover.js';
import { requireDumpTools } from './client-tools.js';
import { describeDetached, detachCopiedSubscriptions } from './copy-safety.js';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Where the rehearsal copies from (the DR database) and the server the scratch copy goes on. */
function endpoints(p: DatabaseParams): { source: string; server?: string; drill: DatabaseDrillParams } {
  const drill = (p.action !== 'azure_promote' && 'drill' in p ? p.drill : undefined) ?? {
    pg_dump: 'pg_dump',
    pg_restore: 'pg_restore',
  };
  switch (p.action) {
    case 'cutover':
      return { source: p.subscriber, server: drill.scratch_server ?? p.subscriber, drill };
    case 'promote':
      // A streaming standby is read-only: the copy must go elsewhere.
      return { source: p.standby, server: drill.scratch_server, drill };
    case 'dump_restore':
      return { source: p.source, server: drill.scratch_server ?? p.target, drill };
    case 'azure_promote':
      return { source: '', drill };
    case 'reprotect':
      // The way back's rehearsal: the serving database copied onto the server that will subscribe.
      return { source: p.publisher, server: drill.scratch_server ?? p.subscriber, drill };
  }
}

/** The scratch database of a run: named from the run id, so a resumed drill and its cleanup find it. */
export function scratchDatabase(runId: string): string {
  return `phoenix_${drillTag(runId)}`;
}

function onDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function createScratch(server: string, name: string, ctx: StepContext): Promise<void> {
  await withClient(
    server,
    'scratch server',
    async (c) => {
      // The DR database may default to read-only (the lab's, before cut-over): this session only writes.
      await c.query('SET default_transaction_read_only = off');
      // Left by an attempt cut short: start again from an empty copy.
      await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${ident(name)}`);
    },
    { signal: ctx.signal },
  );
}

/** The copy is open for writes as the real step leaves the DR database: not in recovery, not read-only. */
async function openCopy(
  url: string,
  gap: number,
  ctx: StepContext,
): Promise<{ sequences: number; tables: number }> {
  return withClient(
    url,
    'scratch copy',
    async (c) => {
      const sequences = await advanceSequences(c, gap);
      const { rows } = await c.query(
        `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro,
                (SELECT count(*)::int FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS tables`,
      );
      const r = rows[0] as { recovery: boolean; ro: string; tables: number };
      if (r.recovery || r.ro === 'on') throw new Error('the scratch copy is not writable');
      return { sequences: sequences.length, tables: r.tables };
    },
    { signal: ctx.signal },
  );
}

async function dropScratch(server: string, name: string, ctx: StepContext): Promise<CleanupResult> {
  return withClient(
    server,
    'scratch server',
    async (c) => {
      await c.query('SET default_transaction_read_only = off');
      await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      return {
        summary: `dropped the scratch database ${name} on ${redact(server)}`,
        left: rows.length ? [`database ${name} on ${redact(server)}`] : [],
      };
    },
    { signal: ctx.signal },
  );
}

/**
 * Rehearses on a copy of the DR database (pg_dump of the DR database, without its subscription, restored
 * into a scratch database) and opens the copy as the real step would open the DR database. The replica
 * and its subscription are only read.
 */
export const databaseDrill: StepDrill<DatabaseParams> = {
  missing(p) {
    if (p.action === 'azure_promote')
      return p.drill?.admin_url
        ? undefined
        : `a point-in-time copy of ${p.server} keeps its logical subscriptions, enabled and naming the production publisher's slots, and would consume from them: give drill: { admin_url: <postgresql:// URL of the admin> } so the drill detaches them on the copy before anything else`;
    if (!endpoints(p).server)
      return 'a streaming standby is read-only: give drill: { scratch_server: <postgresql:// URL> } for the scratch copy';
    return undefined;
  },
  describe: (p) =>
    p.action === 'azure_promote'
      ? `restore ${p.server} to a point in time into a scratch server and detach the copy's subscriptions from the production slots first; the replica is only read`
      : `copy the DR database into a scratch database and open it there; the replica is only read`,
  async rehearse(p, ctx) {
    if (p.action === 'azure_promote') return azureRestore(p, ctx);
    const { source, server, drill } = endpoints(p);
    const name = scratchDatabase(ctx.runId);
    const url = onDatabase(server!, name);
    const dumpFile = join(ctx.workDir, 'drill.pgc');
    const started = performance.now();
    await requireDumpTools(drill, source, ctx.env);
    ctx.progress(`pg_dump ${redact(source)} (no subscriptions)`);
    await runProcess(
      drill.pg_dump,
      [
        '--format=custom',
        '--no-owner',
        '--no-privileges',
        '--no-subscriptions',
        '--no-publications',
        `--file=${dumpFile}`,
        `--dbname=${source}`,
      ],
      { signal: ctx.signal },
    );
    await createScratch(server!, name, ctx);
    ctx.progress(`pg_restore into ${name}`);
    await runProcess(drill.pg_restore, ['--no-owner', '--no-privileges', `--dbname=${url}`, dumpFile], {
      signal: ctx.signal,
    });
    // As the cut-over does: sequences past anything the publisher may have handed out.
    const opened = await openCopy(url, p.action === 'cutover' ? p.sequence_gap : 1, ctx);
    const seconds = Math.round((performance.now() - started) / 10) / 100;
    return {
      summary: `drill: copied ${redact(source)} into ${name} on ${redact(server!)} (${statSync(dumpFile).size} bytes, ${opened.tables} tables, ${seconds} s) and opened it for writes`,
      output: {
        scratch_database: name,
        scratch_server: redact(server!),
        bytes: statSync(dumpFile).size,
        seconds,
        ...opened,
      },
    };
  },
  async cleanup(p, ctx) {
    if (p.action === 'azure_promote') return azureRemove(p, ctx);
    const { server } = endpoints(p);
    if (!server) return { summary: 'nothing made', left: [] };
    return dropScratch(server, scratchDatabase(ctx.runId), ctx);
  },
};

/** The tag a drill's scratch server carries: cleanup deletes only a server with its own run's tag. */
const DRILL_TAG = 'cloudphoenix-drill';

/** The scratch server of an Azure rehearsal: named from the run id, so a resumed drill and its cleanup find it. */
export function scratchServerName(p: AzurePromoteParams, runId: string): string {
  return p.drill?.scratch_server ?? `${p.server.toLowerCase().slice(0, 63 - 16)}-${drillTag(runId)}`;
}

const notFound = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;

/**
 * The server whose backups a rehearsal restores: the DR server itself, or, when it is a read replica, its
 * source (its primary): Azure keeps no backups of read replicas and refuses a point-in-time restore of one.
 */
async function restoreSource(p: AzurePromoteParams, ctx: StepContext) {
  const client = armClient(p);
  const server = await client.servers
    .get(p.resource_group, p.server, { abortSignal: ctx.signal })
    .catch((error: unknown) => {
      throw armError(error, `read server ${p.server}`);
    });
  const role = server.replica?.role ?? server.replicationRole ?? 'None';
  if (role !== 'AsyncReplica' && role !== 'GeoAsyncReplica') return { source: server, why: '' };
  const id = server.sourceServerResourceId ?? '';
  const match =
    /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/([^/]+)$/i.exec(id);
  if (!match)
    throw new StepError(
      `drill: ${p.server} is a read replica, and Azure keeps no backups of read replicas, but ARM gives no source server for it (sourceServerResourceId '${id}'); rehearse on its primary instead`,
    );
  const source = await client.servers
    .get(match[1], match[2], { abortSignal: ctx.signal })
    .catch((error: unknown) => {
      throw armError(error, `read ${p.server}'s source server ${match[2]}`);
    });
  return {
    source,
    why: ` (the source of the read replica ${p.server}: Azure keeps no backups of read replicas)`,
  };
}

/**
 * Rehearses an Azure promote by a point-in-time restore into a scratch server (`servers.beginCreate`,
 * createMode PointInTimeRestore, in the restored server's region), tagged with the run's drill tag: of the
 * DR server, or of its source when it is a read replica. The DR server is only read. A resumed drill finds
 * its scratch server and waits for it instead of restoring again.
 */
async function azureRestore(p: AzurePromoteParams, ctx: StepContext): Promise<StepResult> {
  // Nothing is restored that the drill could not then make safe.
  copyAdminUrl(p, p.server);
  const client = armClient(p);
  const name = scratchServerName(p, ctx.runId);
  const tag = drillTag(ctx.runId);
  const { source, why } = await restoreSource(p, ctx);
  const sourceName = source.name ?? p.server;
  const existing = await client.servers
    .get(p.resource_group, name, { abortSignal: ctx.signal })
    .catch((error: unknown) => {
      if (notFound(error)) return undefined;
      throw armError(error, `read server ${name}`);
    });
  if (existing && existing.tags?.[DRILL_TAG] !== tag)
    throw new StepError(
      `drill: server ${name} already exists and is not this drill's (no ${DRILL_TAG}=${tag} tag); set drill.scratch_server to a free name`,
    );
  const pointInTime = new Date(Date.now() - (p.drill?.restore_lag ?? 600) * 1000);
  const started = performance.now();
  const options = { abortSignal: ctx.signal, updateIntervalInMs: p.poll_interval * 1000 };
  let restored = existing;
  if (!existing || existing.state !== 'Ready') {
    ctx.progress(`restoring ${sourceName}${why} at ${pointInTime.toISOString()} into ${name}`);
    restored = await (
      existing
        ? waitReady(p, name, ctx)
        : client.servers.beginCreateOrUpdateAndWait(
            p.resource_group,
            name,
            {
              location: source.location,
              tags: { [DRILL_TAG]: tag },
              createMode: 'PointInTimeRestore',
              sourceServerResourceId: source.id,
              pointInTimeUTC: pointInTime,
            },
            options,
          )
    ).catch((error: unknown) => {
      if (error instanceof StepError) throw error;
      throw armError(error, `restore ${sourceName} into ${name}`);
    });
  }
  const fqdn = restored?.fullyQualifiedDomainName ?? `${name}.postgres.database.azure.com`;
  const detached = await detachCopy(p, fqdn, ctx);
  const seconds = Math.round((performance.now() - started) / 10) / 100;
  return {
    summary: `drill: restored ${sourceName}${why} as of ${pointInTime.toISOString()} into the scratch server ${name} (${seconds} s); ${describeDetached(detached)}; ${p.server} untouched`,
    output: {
      scratch_server_name: name,
      // No database of its own: the restored server holds the DR server's databases by their names.
      scratch_server: scratchUrl(fqdn),
      scratch_database: '',
      point_in_time: pointInTime.toISOString(),
      seconds,
      detached_subscriptions: detached,
    },
  };
}

/** The restored server's own URL: Azure's FQDN on 5432 (a test's stand-in may give host:port). */
function scratchUrl(fqdn: string): string {
  const url = new URL('postgresql://localhost:5432/postgres');
  url.host = fqdn;
  return url.toString();
}

/** drill.admin_url pointed at the copy's host (the copy keeps the source's admin and password). */
function copyAdminUrl(p: AzurePromoteParams, fqdn: string): string {
  if (!p.drill?.admin_url)
    throw new StepError(
      `drill: no drill.admin_url for ${p.server}: a copy's subscriptions could not be detached, so none is restored`,
    );
  let url: URL;
  try {
    url = new URL(p.drill.admin_url);
  } catch {
    throw new StepError(
      `drill.admin_url of ${p.server} is not a postgresql:// URL; give the admin's connection string`,
    );
  }
  // A host without a port keeps the URL's port (WHATWG URL host setter).
  url.host = fqdn;
  return url.toString();
}

/**
 * The first thing done on a restored copy, on a resumed rehearsal too: every subscription it holds is
 * disabled and detached from its slot (src/actions/database/copy-safety.ts). A copy whose apply worker had
 * already received changes from a production slot (the production subscriber was away at that moment)
 * fails the rehearsal, since the production subscriber may now lack them.
 */
async function detachCopy(p: AzurePromoteParams, fqdn: string, ctx: StepContext) {
  ctx.progress(`detaching the subscriptions of the copy ${fqdn} before anything else`);
  const detached = await detachCopiedSubscriptions(copyAdminUrl(p, fqdn), { signal: ctx.signal });
  const streamed = detached.filter((d) => d.streamed);
  if (streamed.length)
    throw new StepError(
      `drill: the restored copy ${fqdn} had already streamed from the production slot(s) ${streamed.map((d) => d.slot ?? d.subscription).join(', ')} before its subscriptions were detached (the production subscriber was not holding them): check that the production subscriber has every change, then run the drill again; the copy is detached now`,
    );
  return detached;
}

/** Reads a scratch server until its restore ends. */
async function waitReady(p: AzurePromoteParams, name: string, ctx: StepContext) {
  const client = armClient(p);
  for (;;) {
    const server = await client.servers.get(p.resource_group, name, { abortSignal: ctx.signal });
    if (server.state === 'Ready') return server;
    await new Promise((r) => setTimeout(r, p.poll_interval * 1000));
    ctx.signal.throwIfAborted();
  }
}

/** Deletes this drill's scratch server and reads it until ARM no longer knows it. */
async function azureRemove(p: AzurePromoteParams, ctx: StepContext): Promise<CleanupResult> {
  const client = armClient(p);
  const name = scratchServerName(p, ctx.runId);
  const read = () =>
    client.servers.get(p.resource_group, name, { abortSignal: ctx.signal }).catch((error: unknown) => {
      if (notFound(error)) return undefined;
      throw armError(error, `read server ${name}`);
    });
  const found = await read();
  if (!found) return { summary: `scratch server ${name} does not exist: nothing to delete`, left: [] };
  if (found.tags?.[DRILL_TAG] !== drillTag(ctx.runId))
    return { summary: `server ${name} is not this drill's: left alone`, left: [] };
  await client.servers
    .beginDeleteAndWait(p.resource_group, name, {
      abortSignal: ctx.signal,
      updateIntervalInMs: p.poll_interval * 1000,
    })
    .catch((error: unknown) => {
      if (!notFound(error)) throw armError(error, `delete server ${name}`);
    });
  const left = await read();
  return {
    summary: `deleted the scratch server ${name}${left ? '' : '; ARM no longer knows it'}`,
    left: left ? [`Azure Flexible Server ${name} (${left.state ?? 'present'})`] : [],
  };
}
