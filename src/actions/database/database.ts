import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { endpointCheck } from '../shared/net.js';
import { redact, withClient } from '../../pg/index.js';
import { findExecutable, runProcess } from '../shared/process.js';
import { s3Client } from '../shared/s3.js';
import {
  StepError,
  type PreflightCheck,
  type PreflightContext,
  type StepAdapter,
  type StepContext,
  type StepResult,
} from '../types.js';
import { azurePreflight, azurePromote } from './azure.js';
import {
  databaseParamsSchema,
  type CutoverParams,
  type DatabaseParams,
  type DumpRestoreParams,
  type PromoteParams,
} from './config.js';
import { dumpToolsCheck, requireDumpTools } from './client-tools.js';
import { checkBudget, cutover, measureLogical, subscriptionOf } from './cutover.js';
import { reprotect, reprotectPreflight } from './reprotect.js';
import { checkSchemaDrift, describeDrift } from './schema-drift.js';

/**
 * The published tables' columns on both ends (logical replication copies no DDL). Drift that would lose
 * or break data fails the check; a subscriber-only column passes with a warning. A publisher that does
 * not answer leaves it unknown, which the data-at-risk check already reports.
 */
async function schemaDriftCheck(
  p: { subscriber: string; publisher: string; subscription?: string },
  timeoutMs: number,
): Promise<PreflightCheck> {
  const check = 'schema drift';
  try {
    const drift = await checkSchemaDrift(p, { timeoutMs });
    return {
      check,
      ok: drift.breaking_tables === 0,
      detail: describeDrift(drift),
      ...(drift.warning_tables > 0 && drift.breaking_tables === 0 && { warn: true }),
      drift: { breaking_tables: drift.breaking_tables, warning_tables: drift.warning_tables },
    };
  } catch (error) {
    return { check, ok: true, warn: true, detail: `not compared: ${(error as Error).message}` };
  }
}

export interface LagMeasure {
  in_recovery: boolean;
  /** Seconds of writes the standby is behind, or null when it cannot be measured (primary unreachable). */
  lag_s: number | null;
  bytes_behind: number | null;
  how: string;
}

/**
 * The standby's lag. With the primary reachable: WAL bytes between the primary's current
 * position and the standby's replay position, and if any, the time since the standby's
 * last replayed transaction. Without it (the disaster case) the lag cannot be known.
 */
export async function measureLag(
  standby: string,
  primary: string | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<LagMeasure> {
  const s = await withClient(
    standby,
    'standby',
    async (c) =>
      (
        await c.query(`SELECT pg_is_in_recovery() AS in_recovery,
                              pg_last_wal_replay_lsn()::text AS replay_lsn,
                              EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp()))::float8 AS since_replay`)
      ).rows[0] as { in_recovery: boolean; replay_lsn: string | null; since_replay: number | null },
    { timeoutMs, signal },
  );
  if (!s.in_recovery)
    return { in_recovery: false, lag_s: 0, bytes_behind: 0, how: 'the standby is already a primary' };
  if (!primary)
    return { in_recovery: true, lag_s: null, bytes_behind: null, how: 'no primary given to compare with' };
  try {
    const bytes = await withClient(
      primary,
      'primary',
      async (c) =>
        Number(
          (
            await c.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS bytes', [
              s.replay_lsn,
            ])
          ).rows[0].bytes,
        ),
      { timeoutMs, signal },
    );
    const lag = bytes <= 0 ? 0 : Math.max(0, s.since_replay ?? 0);
    return {
      in_recovery: true,
      lag_s: lag,
      bytes_behind: Math.max(0, bytes),
      how: `${Math.max(0, bytes)} WAL bytes behind the primary`,
    };
  } catch (error) {
    return {
      in_recovery: true,
      lag_s: null,
      bytes_behind: null,
      how: `primary unreachable (${(error as Error).message})`,
    };
  }
}

function lagBudget(p: PromoteParams, rpoBudgetS?: number): number | undefined {
  return p.max_lag ?? rpoBudgetS;
}

/**
 * Refuses a server that is not a standby: a logical subscriber (its failover is `action: cutover`), or a
 * primary this step did not promote (the wrong connection string, or promoted by hand).
 */
async function refuseForeignPrimary(url: string, promotedHere: boolean, signal: AbortSignal): Promise<void> {
  const subscriptions = await withClient(
    url,
    'standby',
    async (c) =>
      (
        await c.query<{ name: string }>(
          `SELECT subname AS name FROM pg_subscription
            WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows.map((r) => r.name),
    { signal },
  );
  if (subscriptions.length)
    throw new StepError(
      `${redact(url)} is not a streaming standby but a logical subscriber (subscription ${subscriptions.join(', ')}): pg_promote() cannot fail it over; use action: cutover with subscription: ${subscriptions[0]}`,
    );
  if (!promotedHere)
    throw new StepError(
      `${redact(url)} is not in recovery and this step did not promote it: it is not a standby (check the standby connection string); if it was promoted by hand, check it holds the data and run the rest of the runbook without this step`,
    );
}

async function promote(p: PromoteParams, ctx: StepContext): Promise<StepResult> {
  const measured = await ctx.state.load<{ lag_before: LagMeasure }>();
  const lag = await measureLag(p.standby, p.primary, 5000, ctx.signal);
  if (!lag.in_recovery) {
    // Not in recovery is "already promoted" only when this step promoted it (an attempt cut short after
    // pg_promote): the lag it measured then still stands. Anything else is a server this step must not
    // report as promoted: a logical subscriber stays subscribed and read-only, and no sequence moves.
    await refuseForeignPrimary(p.standby, measured !== undefined, ctx.signal);
    const earlier = measured!.lag_before;
    return {
      summary: `${redact(p.standby)} is already a primary (promoted by an earlier attempt of this step); nothing to promote`,
      output: { already_primary: true, lag_before: earlier },
      dataLossS: earlier.lag_s ?? undefined,
    };
  }
  const budget = lagBudget(p, ctx.rpoBudgetS);
  if (lag.lag_s !== null && budget !== undefined && lag.lag_s > budget && !p.force) {
    throw new StepError(
      `the standby is ${lag.lag_s.toFixed(1)}s behind (${lag.how}), over the RPO budget of ${budget}s; wait for it to catch up, or set force: true to accept the loss`,
    );
  }
  await ctx.state.save({ lag_before: lag });
  ctx.progress(`promoting (lag ${lag.lag_s === null ? 'unknown' : `${lag.lag_s.toFixed(1)}s`})`);
  const promoted = await withClient(
    p.standby,
    'standby',
    async (c) => {
      const done = (await c.query('SELECT pg_promote(true, $1) AS done', [Math.ceil(p.wait)])).rows[0]
        .done as boolean;
      const after = (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r as boolean;
      return done && !after;
    },
    { signal: ctx.signal },
  );
  if (!promoted) {
    throw new StepError(
      `pg_promote() did not finish within ${p.wait}s on ${redact(p.standby)}; check its log, or raise wait`,
    );
  }
  return {
    summary: `promoted ${redact(p.standby)} (lag ${lag.lag_s === null ? `unknown: ${lag.how}` : `${lag.lag_s.toFixed(1)}s, ${lag.how}`})`,
    output: { promoted: true, lag_before: lag },
    dataLossS: lag.lag_s ?? undefined,
  };
}

interface DumpState {
  dumped?: { size: number };
  uploaded?: { etag: string; size: number };
}

async function dumpRestore(p: DumpRestoreParams, ctx: StepContext): Promise<StepResult> {
  const state: DumpState = (await ctx.state.load<DumpState>()) ?? {};
  const save = () => ctx.state.save(state);
  const s3 = s3Client(p.object_store);
  const key = `${p.object_store.prefix}${p.object_store.key}`;
  const where = `s3://${p.object_store.bucket}/${key}`;
  const dumpFile = join(ctx.workDir, 'dump.pgc');
  try {
    let uploaded = false;
    if (state.uploaded) {
      // An earlier attempt got this far: reuse its dump if the store still holds it.
      const head = await s3
        .send(new HeadObjectCommand({ Bucket: p.object_store.bucket, Key: key }), { abortSignal: ctx.signal })
        .catch(() => undefined);
      uploaded = head?.ETag === state.uploaded.etag;
    }
    if (!uploaded) {
      await requireDumpTools(p, p.source, ctx.env);
      ctx.progress(`pg_dump ${redact(p.source)}`);
      await runProcess(
        p.pg_dump,
        ['--format=custom', '--no-owner', `--file=${dumpFile}`, `--dbname=${p.source}`],
        {
          signal: ctx.signal,
        },
      );
      state.dumped = { size: statSync(dumpFile).size };
      await save();
      ctx.progress(`uploading ${state.dumped.size} bytes to ${where}`);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: p.object_store.bucket,
          Key: key,
          Body: createReadStream(dumpFile),
          ContentLength: state.dumped.size,
        }),
        { abortSignal: ctx.signal },
      );
      state.uploaded = { etag: put.ETag ?? '', size: state.dumped.size };
      await save();
    }
    ctx.progress(`downloading ${where}`);
    const restoreFile = join(ctx.workDir, 'restore.pgc');
    const got = await s3.send(new GetObjectCommand({ Bucket: p.object_store.bucket, Key: key }), {
      abortSignal: ctx.signal,
    });
    await pipeline(got.Body as Readable, createWriteStream(restoreFile));
    ctx.progress(`pg_restore into ${redact(p.target)}`);
    // --clean --if-exists makes a second restore (after a crash) replace, not duplicate.
    await runProcess(
      p.pg_restore,
      ['--clean', '--if-exists', '--no-owner', `--jobs=${p.jobs}`, `--dbname=${p.target}`, restoreFile],
      { signal: ctx.signal },
    );
    return {
      summary: `restored ${redact(p.source)} into ${redact(p.target)} through ${where} (${state.uploaded!.size} bytes)`,
      output: { object: where, bytes: state.uploaded!.size, reused_dump: uploaded },
    };
  } finally {
    s3.destroy();
  }
}

/** The subscriber answers, its subscription streams, and what it lacks now fits the budget (or is unknown). */
async function cutoverPreflight(p: CutoverParams, ctx: PreflightContext): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [await endpointCheck('subscriber', p.subscriber, ctx.timeoutMs)];
  if (!checks[0].ok) return checks;
  try {
    const sub = await withClient(p.subscriber, 'subscriber', (c) => subscriptionOf(c, p), {
      timeoutMs: ctx.timeoutMs,
    });
    checks.push({
      check: 'subscription streaming',
      ok: sub.enabled && sub.pid !== null,
      detail: `${sub.name}: ${sub.enabled ? (sub.pid !== null ? 'apply worker running' : 'no apply worker (publisher unreachable?)') : 'disabled (cut over already?)'}`,
    });
    const measure = await measureLogical({ ...p, catch_up: 0 }, sub, ctx.timeoutMs);
    let detail: string;
    let ok = true;
    try {
      detail = checkBudget(p, measure, p.max_lag ?? ctx.rpoBudgetS);
    } catch (error) {
      ok = false;
      detail = (error as Error).message;
    }
    checks.push({ check: 'data at risk within the RPO budget', ok, detail });
    if (p.publisher) checks.push(await schemaDriftCheck({ ...p, publisher: p.publisher }, ctx.timeoutMs));
  } catch (error) {
    checks.push({ check: 'subscriber answers', ok: false, detail: (error as Error).message });
  }
  return checks;
}

async function preflight(p: DatabaseParams, ctx: PreflightContext): Promise<PreflightCheck[]> {
  if (p.action === 'cutover') return cutoverPreflight(p, ctx);
  if (p.action === 'azure_promote') return azurePreflight(p, ctx.timeoutMs);
  if (p.action === 'reprotect') return reprotectPreflight(p, ctx.timeoutMs);
  if (p.action === 'promote') {
    const checks: PreflightCheck[] = [await endpointCheck('standby', p.standby, ctx.timeoutMs)];
    if (!checks[0].ok) return checks;
    try {
      const lag = await measureLag(p.standby, p.primary, ctx.timeoutMs);
      const budget = lagBudget(p, ctx.rpoBudgetS);
      checks.push({
        check: 'standby in recovery',
        ok: lag.in_recovery,
        detail: lag.in_recovery
          ? 'streaming standby, ready to promote'
          : 'already a primary (promoted earlier?)',
      });
      if (lag.in_recovery) {
        checks.push({
          check: 'replication lag within the RPO budget',
          ok: lag.lag_s === null || budget === undefined || lag.lag_s <= budget,
          detail:
            lag.lag_s === null
              ? `cannot measure: ${lag.how}`
              : `${lag.lag_s.toFixed(1)}s (${lag.how}); budget ${budget === undefined ? 'not set (topology.dr.rpo_budget_s)' : `${budget}s`}`,
        });
      }
    } catch (error) {
      checks.push({ check: 'standby answers', ok: false, detail: (error as Error).message });
    }
    return checks;
  }
  const checks = await Promise.all([
    endpointCheck('source database', p.source, ctx.timeoutMs),
    endpointCheck('target database', p.target, ctx.timeoutMs),
    p.object_store.endpoint
      ? endpointCheck('object store', p.object_store.endpoint, ctx.timeoutMs)
      : Promise.resolve({ check: 'object store', ok: true, detail: `AWS S3 in ${p.object_store.region}` }),
  ]);
  for (const binary of [p.pg_dump, p.pg_restore]) {
    const found = findExecutable(binary, ctx.env);
    checks.push({
      check: `${binary} present`,
      ok: Boolean(found),
      detail: found ?? `${binary} not found; install postgresql-client or give its path`,
    });
  }
  if (checks[0].ok) checks.push(await dumpToolsCheck(p, p.source, ctx.env, ctx.timeoutMs));
  return checks;
}

export const databaseAdapter: StepAdapter<DatabaseParams> = {
  type: 'database',
  schema: databaseParamsSchema,
  describe: (p) => {
    if (p.action === 'cutover')
      return `cut logical subscriber ${redact(p.subscriber)} over: check what it has, disable its subscription, advance sequences, open for writes`;
    if (p.action === 'reprotect')
      return `reprotect: ${redact(p.subscriber)} subscribes to ${p.publication} on ${redact(p.publisher)} (initial copy, then streaming)`;
    if (p.action === 'azure_promote')
      return `promote Azure Flexible Server replica ${p.server} (${p.promote_mode}, ${p.promote_option}) through Azure Resource Manager`;
    return p.action === 'promote'
      ? `promote standby ${redact(p.standby)} after checking its lag`
      : `pg_dump ${redact(p.source)} → s3://${p.object_store.bucket}/${p.object_store.prefix}${p.object_store.key} → pg_restore ${redact(p.target)}`;
  },
  preflight,
  run: (p, ctx) => {
    if (p.action === 'cutover') return cutover(p, ctx);
    if (p.action === 'azure_promote') return azurePromote(p, ctx);
    if (p.action === 'reprotect') return reprotect(p, ctx);
    return p.action === 'promote' ? promote(p, ctx) : dumpRestore(p, ctx);
  },
};
