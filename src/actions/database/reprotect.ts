import type pg from 'pg';
import { describeRefused, endSessions, redact, withClient, type EndedSessions } from '../../pg/index.js';
import { endpointCheck } from '../shared/net.js';
import { StepError, type PreflightCheck, type StepContext, type StepResult } from '../types.js';
import type { ReprotectParams } from './config.js';
import { ident } from './cutover.js';

/** What a reprotect has done, journaled in the step's work directory after each phase. */
interface ReprotectState {
  /** The retired subscription's slot on the subscriber side, read before the subscription was dropped. */
  retired_slot?: string | null;
  retired?: boolean;
  backup_schema?: string;
  subscribed?: boolean;
  /** Sessions on the subscriber this role was refused to end (reported in the summary). */
  sessions_not_ended?: EndedSessions['refused'];
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A session that may write on a database kept read-only by ALTER DATABASE … SET. */
async function session<T>(url: string, label: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, label, async (c) => {
    await c.query('SET default_transaction_read_only = off');
    return work(c);
  });
}

/** The slot a subscription of this name uses in this database: one per (subscription, database). */
export function slotName(subscription: string, database: string): string {
  return `${subscription}_${database}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

async function currentDatabase(c: pg.Client): Promise<string> {
  return (await c.query('SELECT current_database() AS db')).rows[0].db as string;
}

async function subscriptionRow(
  c: pg.Client,
  name: string,
): Promise<{ enabled: boolean; slot: string | null } | undefined> {
  const { rows } = await c.query(
    `SELECT subenabled AS enabled, subslotname AS slot FROM pg_subscription
      WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  return rows[0] as { enabled: boolean; slot: string | null } | undefined;
}

/** Drops a replication slot nobody streams from; a slot still in use is an error naming it. */
async function dropIdleSlot(c: pg.Client, slot: string, where: string): Promise<boolean> {
  const { rows } = await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  if (rows.length === 0) return false;
  if (rows[0].active)
    throw new StepError(
      `replication slot ${slot} on the ${where} is still in use by a walsender; stop the subscriber that streams from it, then run again`,
    );
  await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
  return true;
}

/**
 * The subscription that replicated the other way is dropped on the publisher (it must have been cut over:
 * disabled), and its slot on the subscriber's side too, which otherwise keeps WAL there for ever.
 */
async function retireOldDirection(p: ReprotectParams, state: ReprotectState, save: () => Promise<void>) {
  if (!p.retire_subscription || state.retired) return;
  const name = p.retire_subscription;
  await session(p.publisher_owner ?? p.publisher, 'publisher', async (c) => {
    const old = await subscriptionRow(c, name);
    if (!old) return;
    if (old.enabled)
      throw new StepError(
        `subscription ${name} on the publisher is still enabled: that database has not been cut over, so nothing may replicate into the other side yet; run the failover (or failback) cut-over first`,
      );
    if (state.retired_slot === undefined) {
      state.retired_slot = old.slot;
      await save();
    }
    // Without its slot the drop does not try to reach the other side (where the slot is dropped below).
    if (old.slot) await c.query(`ALTER SUBSCRIPTION ${ident(name)} SET (slot_name = NONE)`);
    await c.query(`DROP SUBSCRIPTION ${ident(name)}`);
  });
  if (state.retired_slot)
    await session(p.subscriber_owner ?? p.subscriber, 'subscriber', (c) =>
      dropIdleSlot(c, state.retired_slot!, 'subscriber'),
    );
  state.retired = true;
  await save();
}

/**
 * The subscriber becomes read-only to the app, its sessions end, and it may connect (to read) again. A
 * session this role may not signal (42501: on RDS and Azure the provider's own, rdsadmin or azuresu) is
 * left and reported: failing here would fail every retry the same way, after the SET had committed.
 */
async function keepSubscriberReadOnly(c: pg.Client, p: ReprotectParams): Promise<EndedSessions> {
  const db = await currentDatabase(c);
  await c.query(`ALTER DATABASE ${ident(db)} SET default_transaction_read_only = on`);
  const ended = await endSessions(c, p.app_roles);
  await c.query(
    `GRANT CONNECT ON DATABASE ${ident(db)} TO ${['PUBLIC', ...p.app_roles.map(ident)].join(', ')}`,
  );
  return ended;
}

/** The tables to replicate, as quoted qualified names, in a stable order. */
async function replicatedTables(c: pg.Client, schemas: string[]): Promise<string[]> {
  const { rows } = await c.query<{ t: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname = ANY($1::text[]) ORDER BY 1`,
    [schemas],
  );
  if (rows.length === 0)
    throw new StepError(
      `no tables in schemas ${schemas.join(', ')} on the publisher; create the schema there first`,
    );
  return rows.map((r) => r.t);
}

/** The publication on the serving database, created or completed with tables added since. */
async function ensurePublication(p: ReprotectParams): Promise<string[]> {
  return session(p.publisher, 'publisher', async (c) => {
    const tables = await replicatedTables(c, p.schemas);
    const exists = (await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [p.publication]))
      .rowCount;
    if (!exists) {
      await c.query(`CREATE PUBLICATION ${ident(p.publication)} FOR TABLE ${tables.join(', ')}`);
      return tables;
    }
    const { rows } = await c.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_publication_tables WHERE pubname = $1`,
      [p.publication],
    );
    const have = new Set(rows.map((r) => r.t));
    const missing = tables.filter((t) => !have.has(t));
    if (missing.length)
      await c.query(`ALTER PUBLICATION ${ident(p.publication)} ADD TABLE ${missing.join(', ')}`);
    return tables;
  });
}

/** Copies the subscriber's rows aside (once per reprotect: a resumed run keeps the first copy). */
async function keepOldRows(c: pg.Client, tables: string[], schema: string): Promise<void> {
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
  for (const table of tables) {
    const aside = ident(table.replace(/"/g, '').replace('.', '__'));
    await c.query(`CREATE TABLE IF NOT EXISTS ${ident(schema)}.${aside} AS TABLE ${table}`);
  }
}

function stamp(now = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, '').replace(/\..*$/, '').toLowerCase();
}

/**
 * Empties the subscriber's tables and subscribes with an initial copy. Not atomic (CREATE SUBSCRIPTION
 * cannot run in a transaction), so each piece is safe to repeat: the tables are emptied only while no
 * subscription exists, and a slot left on the publisher by a CREATE SUBSCRIPTION cut short is dropped.
 */
async function subscribe(
  p: ReprotectParams,
  tables: string[],
  state: ReprotectState,
  save: () => Promise<void>,
): Promise<'created' | 'existed'> {
  const owner = p.subscriber_owner ?? p.subscriber;
  const existing = await session(owner, 'subscriber', (c) => subscriptionRow(c, p.subscription));
  if (existing && !existing.enabled)
    throw new StepError(
      `a disabled subscription ${p.subscription} exists on the subscriber (left by an earlier cut-over); retire it first (retire_subscription on the other side's reprotect) or drop it`,
    );
  if (existing) return 'existed';
  const db = await session(p.subscriber, 'subscriber', async (c) => {
    state.sessions_not_ended = (await keepSubscriberReadOnly(c, p)).refused;
    if (p.keep_old_rows) {
      state.backup_schema ??= `phoenix_before_${p.subscription}_${stamp()}`;
      await save();
      await keepOldRows(c, tables, state.backup_schema);
    }
    await c.query(`TRUNCATE ${tables.join(', ')}`);
    return currentDatabase(c);
  });
  const slot = slotName(p.subscription, db);
  await session(p.publisher, 'publisher', (c) => dropIdleSlot(c, slot, 'publisher'));
  const conninfo = p.publisher_conninfo ?? p.publisher;
  await session(owner, 'subscriber', (c) =>
    c.query(
      `CREATE SUBSCRIPTION ${ident(p.subscription)} CONNECTION ${literal(conninfo)} PUBLICATION ${ident(p.publication)}
         WITH (copy_data = true, slot_name = ${literal(slot)})`,
    ),
  );
  state.subscribed = true;
  await save();
  return 'created';
}

interface CopyProgress {
  pending: number;
  running: boolean;
  /** Copy and apply errors so far (pg_stat_subscription_stats, PostgreSQL 15+), cumulative; null before 15. */
  errors: number | null;
}

/** New errors (over the count when the wait began) that mean the copy is failing, not a passing blip. */
const FAILING_ERRORS = 3;

async function copyProgress(c: pg.Client, subscription: string): Promise<CopyProgress> {
  const v15 = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num) >= 150000;
  // The view only exists from PostgreSQL 15 (RDS and Azure offer 13 and 14 too).
  const errors = v15
    ? 'coalesce((SELECT sync_error_count + apply_error_count FROM pg_stat_subscription_stats x WHERE x.subid = s.oid), 0)::int'
    : 'NULL::int';
  const { rows } = await c.query(
    `SELECT (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate <> 'r')::int AS pending,
            EXISTS (SELECT 1 FROM pg_stat_subscription st WHERE st.subid = s.oid AND st.relid IS NULL AND st.pid IS NOT NULL) AS running,
            ${errors} AS errors
       FROM pg_subscription s
      WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [subscription],
  );
  if (!rows[0]) throw new StepError(`subscription ${subscription} disappeared from the subscriber`);
  return rows[0] as CopyProgress;
}

/**
 * Waits until every table is copied and the apply worker streams. The error counters are cumulative (a
 * disconnect last week still counts), so only errors since the wait began matter, and PostgreSQL retries
 * a failed worker by itself: the step gives up early only when they keep coming.
 */
async function waitStreaming(p: ReprotectParams, ctx: StepContext): Promise<void> {
  await withClient(
    p.subscriber_owner ?? p.subscriber,
    'subscriber',
    async (c) => {
      const until = Date.now() + p.wait * 1000;
      const before = (await copyProgress(c, p.subscription)).errors ?? 0;
      let reported = -1;
      for (;;) {
        const now = await copyProgress(c, p.subscription);
        if (now.pending === 0 && now.running) return;
        const fresh = now.errors === null ? 0 : now.errors - before;
        if (fresh >= FAILING_ERRORS)
          throw new StepError(
            `subscription ${p.subscription} failed ${fresh} times since reprotect began (pg_stat_subscription_stats); the subscriber's log names why (a table missing or with other columns: create the same schema on both sides), then run again`,
          );
        if (now.pending !== reported) ctx.progress(`initial copy: ${now.pending} tables still copying`);
        reported = now.pending;
        if (Date.now() > until || ctx.signal.aborted)
          throw new StepError(
            `initial copy not finished after ${p.wait}s (${now.pending} tables still copying${now.running ? '' : ', no apply worker'}${fresh > 0 ? `, ${fresh} copy/apply errors` : ''}); the subscriber's log names any error; run again to keep waiting: the copy goes on in PostgreSQL`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    { signal: ctx.signal },
  );
}

/** Reverses (or restores) logical replication; each phase is journaled and checked against the databases. */
export async function reprotect(p: ReprotectParams, ctx: StepContext): Promise<StepResult> {
  const state: ReprotectState = (await ctx.state.load<ReprotectState>()) ?? {};
  const save = () => ctx.state.save(state);
  ctx.progress(
    p.retire_subscription ? `retiring subscription ${p.retire_subscription}` : 'checking the publisher',
  );
  await retireOldDirection(p, state, save);
  const tables = await ensurePublication(p);
  ctx.progress(`publication ${p.publication}: ${tables.length} tables; subscribing`);
  const how = await subscribe(p, tables, state, save);
  await waitStreaming(p, ctx);
  return {
    summary: `${redact(p.subscriber)} subscribes to ${p.publication} on ${redact(p.publisher)} (${how === 'created' ? 'initial copy done' : 'subscription found, copy done'}); streaming${state.backup_schema ? `; its earlier rows kept in schema ${state.backup_schema}` : ''}${state.sessions_not_ended?.length ? `; ${describeRefused(state.sessions_not_ended)}` : ''}`,
    output: {
      publication: p.publication,
      subscription: p.subscription,
      tables,
      retired_slot: state.retired_slot ?? null,
      old_rows_schema: state.backup_schema ?? null,
      sessions_not_ended: state.sessions_not_ended ?? [],
    },
  };
}

/** The publisher's role may stream (REPLICATION, or rds_replication on RDS) and its WAL carries logical decoding. */
async function publisherChecks(c: pg.Client): Promise<PreflightCheck[]> {
  const may = (
    await c
      .query(
        `SELECT rolreplication OR rolsuper OR pg_has_role(current_user, 'rds_replication', 'member') AS may
           FROM pg_roles WHERE rolname = current_user`,
      )
      .catch(() =>
        c.query('SELECT rolreplication OR rolsuper AS may FROM pg_roles WHERE rolname = current_user'),
      )
  ).rows[0].may as boolean;
  const walLevel = (await c.query('SHOW wal_level')).rows[0].wal_level as string;
  return [
    {
      check: 'publisher role may stream',
      ok: may,
      detail: may
        ? 'REPLICATION (or rds_replication)'
        : 'the role lacks REPLICATION: ALTER ROLE … WITH REPLICATION (Azure), GRANT rds_replication (RDS)',
    },
    {
      check: 'publisher wal_level is logical',
      ok: walLevel === 'logical',
      detail:
        walLevel === 'logical'
          ? 'wal_level = logical'
          : `wal_level = ${walLevel}: a subscription cannot decode it; set wal_level = logical (RDS: rds.logical_replication = 1 in the parameter group; Azure: the wal_level server parameter) and restart the server`,
    },
  ];
}

/** Both databases answer, the publisher's role may stream and its wal_level is logical. */
export async function reprotectPreflight(p: ReprotectParams, timeoutMs: number): Promise<PreflightCheck[]> {
  const checks = await Promise.all([
    endpointCheck('publisher (serving database)', p.publisher, timeoutMs),
    endpointCheck('subscriber (database to protect with)', p.subscriber, timeoutMs),
  ]);
  if (!checks[0].ok) return checks;
  try {
    checks.push(...(await withClient(p.publisher, 'publisher', publisherChecks, { timeoutMs })));
  } catch (error) {
    checks.push({ check: 'publisher answers', ok: false, detail: (error as Error).message });
  }
  return checks;
}
