import type pg from 'pg';
import { withClient } from '../../pg/index.js';
import type { CutoverParams } from './config.js';
import { findSubscription, publisherBehind, type SubscriptionState } from './cutover.js';

/**
 * Whether a planned switchover back (failback) could start now, measured from both ends: the rebuilt
 * primary (the subscriber) must stream with its initial copy done, and the serving database (the
 * publisher) must see it within `catch_up` of everything it holds. `lag_s: null` is unknown, never zero.
 */
export interface SwitchoverReadiness {
  ready: boolean;
  reasons: string[];
  subscription: string | null;
  /** WAL bytes the publisher holds that the subscriber has not confirmed. */
  bytes_behind: number | null;
  lag_s: number | null;
  tables_copying: number | null;
}

async function tablesCopying(c: pg.Client, subscription: string): Promise<number> {
  const { rows } = await c.query(
    `SELECT count(*)::int AS n FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
      WHERE s.subname = $1 AND r.srsubstate <> 'r'
        AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [subscription],
  );
  return rows[0].n as number;
}

/** The subscriber's side: its subscription, whether it streams, and how many tables are still copying. */
async function subscriberSide(
  p: CutoverParams,
  timeoutMs: number,
): Promise<{ sub: SubscriptionState; copying: number }> {
  // As the subscription's owner: before PostgreSQL 15 pg_subscription.oid is a superuser's to read.
  return withClient(
    p.subscription_owner ?? p.subscriber,
    'rebuilt primary (subscriber)',
    async (c) => {
      const sub = await findSubscription(c, p.subscription);
      return { sub, copying: await tablesCopying(c, sub.name) };
    },
    { timeoutMs },
  );
}

export function notReady(reason: string, extra: Partial<SwitchoverReadiness> = {}): SwitchoverReadiness {
  return {
    ready: false,
    reasons: [reason],
    subscription: null,
    bytes_behind: null,
    lag_s: null,
    tables_copying: null,
    ...extra,
  };
}

export async function switchoverReadiness(p: CutoverParams, timeoutMs = 5000): Promise<SwitchoverReadiness> {
  let side: { sub: SubscriptionState; copying: number };
  try {
    side = await subscriberSide(p, timeoutMs);
  } catch (error) {
    return notReady(`the rebuilt primary: ${(error as Error).message} (run the reprotect runbook first)`);
  }
  const { sub, copying } = side;
  const known = { subscription: sub.name, tables_copying: copying };
  const reasons: string[] = [];
  if (!sub.enabled)
    reasons.push(`subscription ${sub.name} is disabled (cut over already, or not reprotected)`);
  else if (sub.pid === null)
    reasons.push(`subscription ${sub.name} has no apply worker (publisher unreachable?)`);
  if (copying > 0) reasons.push(`initial copy: ${copying} tables still copying`);
  if (!p.publisher || !sub.slot)
    return notReady(`no publisher to compare with (params.publisher of the failback cut-over)`, known);
  let behind: { bytes: number; lag_s: number | null } | undefined;
  try {
    behind = await withClient(
      p.publisher,
      'serving database (publisher)',
      async (c) => {
        const target = (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
        return publisherBehind(c, sub.slot!, target);
      },
      { timeoutMs },
    );
  } catch (error) {
    return notReady((error as Error).message, known);
  }
  if (!behind) return notReady(`the publisher has no slot ${sub.slot}`, known);
  const bytes = Number(behind.bytes);
  // Idle walsenders report no replay lag; then the time since the subscriber last heard stands in.
  const lag = bytes === 0 ? 0 : (behind.lag_s ?? sub.since_contact_s);
  if (lag === null) reasons.push(`${bytes} WAL bytes behind, lag unknown`);
  else if (lag > p.catch_up)
    reasons.push(
      `${bytes} WAL bytes and ${lag.toFixed(1)}s behind the serving database, more than the cut-over waits (catch_up ${p.catch_up}s)`,
    );
  return {
    ready: reasons.length === 0,
    reasons: reasons.length ? reasons : [`streaming, ${bytes} WAL bytes (${(lag ?? 0).toFixed(1)}s) behind`],
    ...known,
    bytes_behind: bytes,
    lag_s: lag,
  };
}
