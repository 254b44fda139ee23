import type pg from 'pg';
import { describeRefused, endSessions, redact, withClient } from '../../pg/index.js';
import { StepError, type StepContext, type StepResult } from '../types.js';
import type { CutoverParams } from './config.js';
import { compareSchemas, describeDrift, subscriptionFormat, type SchemaDrift } from './schema-drift.js';

/** One subscription as the subscriber sees it. */
export interface SubscriptionState {
  /** pg_subscription's oid, as text (pg_stat_subscription, readable by every role, names it). */
  oid: string;
  name: string;
  enabled: boolean;
  slot: string | null;
  /** The apply worker; null once disabled (or while it cannot reach the publisher). */
  pid: number | null;
  /** The last position the subscriber reported applied to its publisher. */
  applied_lsn: string | null;
  /** Seconds since the subscriber last heard from the publisher (change or keepalive). */
  since_contact_s: number | null;
}

/** What a cut-over now would lose. `lag_s: null` means unknown, never zero. */
export interface LogicalMeasure {
  subscription: string;
  lag_s: number | null;
  bytes_behind: number | null;
  how: string;
}

/** A session that writes on a database kept read-only at the database level (ALTER DATABASE … SET). */
async function writable(client: pg.Client): Promise<void> {
  await client.query('SET default_transaction_read_only = off');
}

/** The subscription of the connected database: the named one, or the only one. */
export async function findSubscription(client: pg.Client, name?: string): Promise<SubscriptionState> {
  const { rows } = await client.query<SubscriptionState>(
    `SELECT s.oid::text AS oid, s.subname AS name, s.subenabled AS enabled, s.subslotname AS slot, st.pid,
            st.latest_end_lsn::text AS applied_lsn,
            extract(epoch FROM now() - st.last_msg_receipt_time)::float8 AS since_contact_s
       FROM pg_subscription s
       LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
      WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY s.subname`,
  );
  const found = name ? rows.filter((r) => r.name === name) : rows;
  if (found.length === 1) return found[0];
  const names = rows.map((r) => r.name).join(', ') || 'none';
  throw new StepError(
    name
      ? `no subscription "${name}" in the subscriber's database (it has: ${names}); fix params.subscription`
      : `the subscriber's database has ${rows.length} subscriptions (${names}); name one in params.subscription`,
  );
}

/**
 * The subscription as `findSubscription` reads it on `client`, or through the subscription's owner
 * when the subscriber's role may not read all it needs: PostgreSQL 13 and 14 keep pg_subscription.oid
 * from non-superusers (42501), so its statistics cannot be joined; 15 grants it.
 */
export async function subscriptionOf(
  client: pg.Client,
  p: { subscription?: string; subscription_owner?: string },
  signal?: AbortSignal,
): Promise<SubscriptionState> {
  try {
    return await findSubscription(client, p.subscription);
  } catch (error) {
    if ((error as { code?: string }).code !== '42501' || !p.subscription_owner) throw error;
    return withClient(
      p.subscription_owner,
      'subscription owner',
      (o) => findSubscription(o, p.subscription),
      {
        signal,
      },
    );
  }
}

/** The publisher's view of a slot: WAL bytes its subscriber has not confirmed, and the walsender's replay lag. */
export async function publisherBehind(
  client: pg.Client,
  slot: string,
  target: string,
): Promise<{ bytes: number; lag_s: number | null } | undefined> {
  const { rows } = await client.query(
    `SELECT greatest(0, pg_wal_lsn_diff($2::pg_lsn, confirmed_flush_lsn))::float8 AS bytes,
            (SELECT extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication r WHERE r.pid = s.active_pid) AS lag_s
       FROM pg_replication_slots s WHERE slot_name = $1`,
    [slot, target],
  );
  return rows[0] as { bytes: number; lag_s: number | null } | undefined;
}

/**
 * With the publisher reachable: takes its current WAL position and waits up to `catchUpS` for the
 * subscriber to confirm it (the fence has stopped the writes, so it can). Without it: unknown.
 */
export async function measureLogical(
  p: CutoverParams,
  sub: SubscriptionState,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<LogicalMeasure> {
  const unknown = (why: string): LogicalMeasure => ({
    subscription: sub.name,
    lag_s: null,
    bytes_behind: null,
    how: `${why}; the subscriber last heard from it ${sub.since_contact_s === null ? 'never (no apply worker)' : `${sub.since_contact_s.toFixed(1)}s ago`}`,
  });
  if (!p.publisher) return unknown('no publisher given to compare with');
  if (!sub.slot) return unknown('the subscription has no slot on the publisher');
  try {
    return await withClient(
      p.publisher,
      'publisher',
      async (c) => {
        const target = (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
        const until = Date.now() + p.catch_up * 1000;
        for (;;) {
          const behind = await publisherBehind(c, sub.slot!, target);
          if (!behind) throw new StepError(`the publisher has no slot "${sub.slot}"`);
          if (behind.bytes === 0)
            return { subscription: sub.name, lag_s: 0, bytes_behind: 0, how: `confirmed up to ${target}` };
          if (Date.now() >= until || signal?.aborted)
            return {
              subscription: sub.name,
              lag_s: behind.lag_s,
              bytes_behind: behind.bytes,
              how: `${behind.bytes} WAL bytes short of the publisher's ${target} after waiting ${p.catch_up}s`,
            };
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      { timeoutMs, signal },
    );
  } catch (error) {
    return unknown(`publisher unreachable (${(error as Error).message})`);
  }
}

/** Refuses a cut-over past the budget, or with unknown loss unless the policy says proceed. */
export function checkBudget(p: CutoverParams, m: LogicalMeasure, budget: number | undefined): string {
  if (p.require_caught_up && m.bytes_behind !== 0)
    throw new StepError(
      `switchover refused: the subscriber has not confirmed everything the publisher holds (${m.how}); wait for it to catch up (check pg_stat_subscription and the publisher's slot), then run again`,
    );
  if (m.lag_s === null) {
    if (p.on_unknown_lag === 'refuse' && !p.force)
      throw new StepError(
        `data at risk is unknown (${m.how}); the RPO budget cannot be checked. Set on_unknown_lag: proceed to cut over anyway, or bring the publisher back`,
      );
    return `data at risk unknown (${m.how}); proceeding by policy (on_unknown_lag: ${p.on_unknown_lag}${p.force ? ', force' : ''})`;
  }
  if (budget !== undefined && m.lag_s > budget && !p.force)
    throw new StepError(
      `the subscriber is ${m.lag_s.toFixed(1)}s behind (${m.how}), over the RPO budget of ${budget}s; wait for it, or set force: true to accept the loss`,
    );
  return `data at risk ${m.lag_s.toFixed(1)}s (${m.how}); budget ${budget === undefined ? 'not set' : `${budget}s`}`;
}

/** Disables the subscription and waits until its apply worker has stopped: nothing applies after this. */
async function disableSubscription(
  client: pg.Client,
  sub: SubscriptionState,
  owner: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const name = sub.name;
  const disable = `ALTER SUBSCRIPTION ${ident(name)} DISABLE`;
  if (owner)
    await withClient(owner, 'subscription owner', async (o) => {
      await writable(o);
      await o.query(disable);
    });
  else await client.query(disable);
  const until = Date.now() + 15_000;
  for (;;) {
    const { rows } = await client.query(
      'SELECT count(*)::int AS n FROM pg_stat_subscription WHERE subid = $1::oid AND pid IS NOT NULL',
      [sub.oid],
    );
    if (rows[0].n === 0) return;
    if (Date.now() > until || signal?.aborted)
      throw new StepError(`the apply worker of subscription ${name} did not stop within 15s after DISABLE`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A sequence that feeds a column, and the highest value it or its column held before the cut-over. */
export interface SequenceBase {
  sequence: string;
  base: string;
}

/**
 * Every sequence that feeds a column (serial or identity), with the higher of its own value (kept current
 * by the sequence sync during normal operation) and the highest value in its column. Read before any is
 * advanced, and kept, so that a re-run after a kill advances from the same base, not from the value the
 * killed attempt already set (which would add the gap twice).
 */
export async function sequenceBases(client: pg.Client): Promise<SequenceBase[]> {
  const { rows } = await client.query<{ seq: string; tbl: string; col: string }>(
    `SELECT s.oid::regclass::text AS seq, t.oid::regclass::text AS tbl, quote_ident(a.attname) AS col
       FROM pg_class s
       JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE s.relkind = 'S' ORDER BY 1`,
  );
  const bases: SequenceBase[] = [];
  for (const r of rows) {
    const { rows: got } = await client.query(
      `SELECT greatest((SELECT coalesce(last_value, 0) FROM pg_sequences
                         WHERE format('%I.%I', schemaname, sequencename)::regclass = $1::regclass),
                       (SELECT coalesce(max(${r.col}), 0) FROM ${r.tbl})::bigint)::text AS base`,
      [r.seq],
    );
    bases.push({ sequence: r.seq, base: got[0].base as string });
  }
  return bases;
}

/**
 * Sets each sequence to its base plus the gap. Idempotent: setval() is not transactional, so a kill can
 * land after it took effect and before the caller recorded it; running again sets the same value, and
 * never a lower one than the sequence has now (the app may have taken ids since the database opened).
 */
export async function setSequences(
  client: pg.Client,
  bases: SequenceBase[],
  gap: number,
): Promise<Array<{ sequence: string; value: string }>> {
  const done: Array<{ sequence: string; value: string }> = [];
  for (const { sequence, base } of bases) {
    const { rows } = await client.query(
      `SELECT setval($1::regclass,
                     greatest((SELECT coalesce(last_value, 0) FROM pg_sequences
                                WHERE format('%I.%I', schemaname, sequencename)::regclass = $1::regclass),
                              $2::bigint + $3))::text AS value`,
      [sequence, base, gap],
    );
    done.push({ sequence, value: rows[0].value as string });
  }
  return done;
}

/** Every sequence that feeds a column set past its base by the gap (a scratch copy, run once). */
export async function advanceSequences(
  client: pg.Client,
  gap: number,
): Promise<Array<{ sequence: string; value: string }>> {
  return setSequences(client, await sequenceBases(client), gap);
}

/**
 * Lifts the database-level read-only default (idempotent) and returns the server's time just after it:
 * the sessions that began before it opened read-only, and are the ones to end.
 */
export async function openForWrites(client: pg.Client): Promise<string> {
  const db = (await client.query('SELECT current_database() AS db')).rows[0].db as string;
  await client.query(`ALTER DATABASE ${ident(db)} RESET default_transaction_read_only`);
  return (await client.query('SELECT clock_timestamp()::text AS t')).rows[0].t as string;
}

/**
 * Refuses a cut-over whose subscriber lacks published tables or columns, or holds them with other types:
 * what the publisher has there would be lost (or has stopped the apply). `force` accepts it. Without the
 * publisher the schemas cannot be compared, and the note says so.
 */
export async function schemaDriftGate(
  client: pg.Client,
  p: CutoverParams,
  subscription: string,
  signal?: AbortSignal,
): Promise<{ note: string; drift?: SchemaDrift }> {
  if (!p.publisher) return { note: 'schema drift not checked: no publisher given' };
  let drift: SchemaDrift;
  try {
    const { publications, binary } = await subscriptionFormat(client, subscription);
    drift = await withClient(
      p.publisher,
      'publisher',
      (pub) => compareSchemas(pub, client, publications, { binary }),
      { timeoutMs: 5000, signal },
    );
  } catch (error) {
    return { note: `schema drift not checked (${(error as Error).message})` };
  }
  if (drift.breaking_tables > 0 && !p.force)
    throw new StepError(
      `cut-over refused: ${describeDrift(drift)}. Apply the same migrations on the subscriber (logical replication copies no DDL), or set force: true to cut over without that data`,
    );
  return { note: describeDrift(drift) + (drift.breaking_tables > 0 ? ' (accepted: force)' : ''), drift };
}

interface CutoverState {
  measure?: LogicalMeasure;
  budget_note?: string;
  drift_note?: string;
  drift?: SchemaDrift;
  disabled?: boolean;
  /** Saved before any sequence moves: a re-run advances from these, not from what it finds. */
  sequence_bases?: SequenceBase[];
  sequences?: Array<{ sequence: string; value: string }>;
  /** When the database first opened for writes: sessions begun after it are the app's, writable, kept. */
  opened_at?: string;
}

/**
 * The logical cut-over, journaled phase by phase in the store (the step's state), so a re-run resumes,
 * on this host or on the host of the controller that took the run over.
 */
export async function cutover(p: CutoverParams, ctx: StepContext): Promise<StepResult> {
  const state: CutoverState = (await ctx.state.load<CutoverState>()) ?? {};
  const save = () => ctx.state.save(state);
  const budget = p.max_lag ?? ctx.rpoBudgetS;
  const opened = await withClient(
    p.subscriber,
    'subscriber',
    async (c) => {
      await writable(c);
      const sub = await subscriptionOf(c, p, ctx.signal);
      if (!state.measure) {
        ctx.progress(`measuring what subscription ${sub.name} lacks`);
        const measure = await measureLogical(p, sub, 5000, ctx.signal);
        state.budget_note = checkBudget(p, measure, budget);
        const gate = await schemaDriftGate(c, p, sub.name, ctx.signal);
        state.drift_note = gate.note;
        state.drift = gate.drift;
        state.measure = measure;
        await save();
      }
      if (!state.disabled) {
        if (sub.enabled) await disableSubscription(c, sub, p.subscription_owner, ctx.signal);
        state.disabled = true;
        await save();
      }
      if (!state.sequences) {
        if (!state.sequence_bases) {
          state.sequence_bases = await sequenceBases(c);
          await save();
        }
        state.sequences = await setSequences(c, state.sequence_bases, p.sequence_gap);
        await save();
      }
      const openedAt = await openForWrites(c);
      if (!state.opened_at) {
        state.opened_at = openedAt;
        await save();
      }
      // Only the sessions begun before the first opening (read-only ones): a re-run after a kill spares
      // the app's writable sessions opened since. A session this role may not signal (42501) is reported,
      // not fatal: the reset is committed, and failing would make every retry fail the same way; it stays
      // read-only until it reconnects.
      if (!p.terminate_sessions) return { ended: 0, refused: [] };
      return endSessions(c, [], state.opened_at);
    },
    { signal: ctx.signal },
  );
  const m = state.measure!;
  return {
    summary: `cut over ${redact(p.subscriber)}: subscription ${m.subscription} disabled, ${state.sequences!.length} sequences advanced by ${p.sequence_gap}, open for writes (${opened.ended} sessions ended${opened.refused.length ? `; ${describeRefused(opened.refused)}, so they stay read-only until they reconnect` : ''}); ${state.budget_note}; ${state.drift_note ?? 'schema drift not checked'}`,
    output: {
      subscription: m.subscription,
      data_at_risk_s: m.lag_s ?? 'unknown',
      bytes_behind: m.bytes_behind,
      how: m.how,
      sequences: state.sequences,
      sessions_not_ended: opened.refused,
      schema_drift: state.drift ?? state.drift_note ?? 'not checked',
    },
    dataLossS: m.lag_s ?? undefined,
  };
}
