import type pg from 'pg';
import { redact, withClient } from '../../pg/index.js';
import { StepError } from '../types.js';
import { ident } from './cutover.js';

/**
 * A physical copy of a logical subscriber (an Azure point-in-time restore, a base backup) holds the
 * subscriber's catalogs as they were: every subscription, enabled, with its connection and the name of
 * its slot on the production publisher. Azure documents nothing that changes this on a restored server
 * (its restore docs list what is not carried over: server parameters, firewall rules; subscriptions are
 * not among them), and PostgreSQL starts the apply workers of enabled subscriptions once recovery ends.
 * Such a worker connects to the publisher and asks for the production slot: while the production
 * subscriber streams, the slot is held and the copy is refused ("replication slot … is active"), but in
 * any moment the production worker is away (a restart, a network blip) the copy takes the slot and
 * consumes changes the production subscriber then never receives (a logical slot never goes back).
 * And a DROP SUBSCRIPTION on the copy would drop the production slot itself.
 *
 * So before anything else touches a copy, every subscription on it is disabled and detached from its
 * slot (`ALTER SUBSCRIPTION … DISABLE`, `… SET (slot_name = NONE)`: PostgreSQL's documented way to
 * disassociate a subscription from a slot it must not touch, sql-dropsubscription / sql-altersubscription),
 * its apply worker waited out, and the result read back; a copy that cannot be made safe is refused.
 */

export interface DetachedSubscription {
  database: string;
  subscription: string;
  /** The production slot the copy's subscription named. */
  slot: string | null;
  /** An apply worker of the copy had received changes from the publisher: it held the production slot. */
  streamed: boolean;
}

interface Found {
  database: string;
  subscription: string;
  enabled: boolean;
  slot: string | null;
}

function onDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Every subscription of the cluster (pg_subscription is shared), read through the columns PUBLIC may read. */
async function subscriptions(client: pg.Client): Promise<Found[]> {
  const { rows } = await client.query<Found>(
    `SELECT d.datname AS database, s.subname AS subscription, s.subenabled AS enabled, s.subslotname AS slot
       FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid ORDER BY 1, 2`,
  );
  return rows;
}

/** Apply workers running now, by subscription name, and whether they received anything. */
async function workers(client: pg.Client): Promise<Map<string, { running: boolean; streamed: boolean }>> {
  const { rows } = await client.query<{ subname: string; running: boolean; streamed: boolean }>(
    `SELECT subname, bool_or(pid IS NOT NULL) AS running, bool_or(received_lsn IS NOT NULL) AS streamed
       FROM pg_stat_subscription GROUP BY subname`,
  );
  return new Map(rows.map((r) => [r.subname, r]));
}

/**
 * Disables every subscription on the copy at `url` (any database of it; the role must own the
 * subscriptions, as the Azure admin does) and detaches it from its slot, then checks that none is
 * enabled, none names a slot and no apply worker runs. Throws a StepError when the copy cannot be made
 * safe, naming what is left.
 */
export async function detachCopiedSubscriptions(
  url: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<DetachedSubscription[]> {
  const where = redact(url);
  const refuse = (why: string) =>
    new StepError(
      `drill refused: the restored copy ${where} ${why}; its subscriptions would consume from the production publisher's slot. Delete the copy (phoenix drill cleanup) and check the role in drill.admin_url owns the subscriptions`,
    );
  return withClient(
    url,
    'restored copy',
    async (c) => {
      const found = await subscriptions(c);
      const seen = await workers(c);
      const done: DetachedSubscription[] = [];
      for (const s of found) {
        try {
          await withClient(
            onDatabase(url, s.database),
            'restored copy',
            async (d) => {
              // The copy may keep the DR database's read-only default: this session changes catalogs only.
              await d.query('SET default_transaction_read_only = off');
              if (s.enabled) await d.query(`ALTER SUBSCRIPTION ${ident(s.subscription)} DISABLE`);
              if (s.slot !== null)
                await d.query(`ALTER SUBSCRIPTION ${ident(s.subscription)} SET (slot_name = NONE)`);
            },
            options,
          );
        } catch (error) {
          throw refuse(
            `holds subscription ${s.subscription} (database ${s.database}, slot ${s.slot ?? 'none'}) that could not be detached (${(error as Error).message})`,
          );
        }
        done.push({
          database: s.database,
          subscription: s.subscription,
          slot: s.slot,
          streamed: seen.get(s.subscription)?.streamed ?? false,
        });
      }
      // DISABLE takes effect when the apply worker next reads its subscription: wait it out.
      const until = Date.now() + (options.timeoutMs ?? 15_000);
      for (;;) {
        const left = (await subscriptions(c)).filter((s) => s.enabled || s.slot !== null);
        const running = [...(await workers(c)).entries()].filter(([, w]) => w.running).map(([n]) => n);
        if (left.length === 0 && running.length === 0) return done;
        if (Date.now() > until || options.signal?.aborted)
          throw refuse(
            `still has ${[...left.map((s) => `subscription ${s.subscription} ${s.enabled ? 'enabled' : `naming slot ${s.slot}`}`), ...running.map((n) => `an apply worker of ${n}`)].join(', ')}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    options,
  );
}

/** One line for the rehearsal's summary; a copy that streamed is what the operator must look at. */
export function describeDetached(detached: DetachedSubscription[]): string {
  if (!detached.length) return 'the copy holds no subscription';
  const streamed = detached.filter((d) => d.streamed);
  return (
    `detached ${detached.length} subscription(s) on the copy before anything else (disabled, slot_name = NONE: ${detached.map((d) => `${d.subscription} → ${d.slot ?? 'no slot'}`).join(', ')})` +
    (streamed.length
      ? `; WARNING: before that, the copy's apply worker of ${streamed.map((d) => d.subscription).join(', ')} had received changes from the production slot: check that the production subscriber holds them`
      : '')
  );
}
