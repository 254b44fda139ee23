import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { query, startPrimary, startStandby, waitUntil, type PostgresCluster } from '../../lab/index.js';
import { restartCluster } from '../../lab/postgres.js';
import {
  ADMIN_ROLE,
  APP_ROLE,
  createManagedDatabase,
  createPublication,
  roleUrl,
  subscribeStreaming,
} from '../../lab/managed.js';
import { detachCopiedSubscriptions } from './copy-safety.js';

// A physical copy of a logical subscriber, as an Azure point-in-time restore makes one: a base backup of
// the subscriber's data directory (pg_basebackup, Debian's PostgreSQL), recovered and then promoted, which
// ends recovery and lets PostgreSQL start the apply workers of the copied, still enabled, subscription.
const DB = 'shop';
const SLOT = `phoenix_dr_${DB}`;
let base: string;
let publisher: PostgresCluster;
let subscriber: PostgresCluster;
const copies: PostgresCluster[] = [];

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-copy-safety-'));
  [publisher, subscriber] = await Promise.all([
    startPrimary({ baseDir: join(base, 'pub') }),
    startPrimary({ baseDir: join(base, 'sub') }),
  ]);
  const schema = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';
  await createManagedDatabase(publisher, DB, schema, { replication: true });
  await createManagedDatabase(subscriber, DB, schema, { replication: false });
  await createPublication(publisher, DB);
  await subscribeStreaming(subscriber, publisher, DB, 30_000);
});

after(async () => {
  await Promise.allSettled([publisher?.stop(), subscriber?.stop(), ...copies.map((c) => c.stop())]);
  rmSync(base, { recursive: true, force: true });
});

/** A statement on the copy's database, read-only by default as the DR database is before a cut-over. */
async function writable(cluster: PostgresCluster, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: cluster.connectionString(DB) });
  await client.connect();
  try {
    await client.query('SET default_transaction_read_only = off');
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const write = (note: string) =>
  query(roleUrl(publisher, APP_ROLE, DB), 'INSERT INTO orders (note) VALUES ($1)', [note]);
const has = async (cluster: PostgresCluster, note: string) =>
  (await query(cluster.connectionString(DB), 'SELECT 1 FROM orders WHERE note = $1', [note])).length === 1;
const copyState = async (copy: PostgresCluster) =>
  (
    await query<{ enabled: boolean; slot: string | null; workers: number }>(
      copy.connectionString(DB),
      `SELECT s.subenabled AS enabled, s.subslotname AS slot,
              (SELECT count(*)::int FROM pg_stat_subscription WHERE pid IS NOT NULL) AS workers
         FROM pg_subscription s`,
    )
  )[0];
const slotOnPublisher = async () =>
  (
    await query<{ active: boolean }>(
      publisher.connectionString(DB),
      'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
      [SLOT],
    )
  )[0];

/** A base backup of the subscriber, promoted: the copy's subscription is enabled and names the production slot. */
async function copyOfSubscriber(name: string): Promise<PostgresCluster> {
  const copy = await startStandby(subscriber, { baseDir: join(base, name) });
  copies.push(copy);
  await query(copy.connectionString(), 'SELECT pg_promote(true, 60)');
  return copy;
}

test('a copy of a subscriber detached before anything else never consumes from the production slot, even while the slot is free, and dropping its subscription leaves the slot alone', async () => {
  const copy = await copyOfSubscriber('copy-a');
  const copied = await copyState(copy);
  assert.equal(copied.enabled, true, 'the copy keeps the subscription enabled');
  assert.equal(copied.slot, SLOT, 'and the production slot name');

  // As the drill's first act on the copy, as the role that owns the subscription (PostgreSQL 15: a superuser).
  const detached = await detachCopiedSubscriptions(copy.connectionString(DB));
  assert.deepEqual(
    detached.map((d) => [d.database, d.subscription, d.slot]),
    [[DB, 'phoenix_dr', SLOT]],
  );
  assert.deepEqual(await copyState(copy), { enabled: false, slot: null, workers: 0 });

  // The dangerous moment: the production subscriber is away, so nothing holds the slot.
  await subscriber.stop();
  await waitUntil(
    async () => (await slotOnPublisher())?.active === false,
    30_000,
    'the slot to be free',
    100,
  );
  await write('while the production subscriber was away');
  // Dropping the copy's subscription (what a cleanup might do) does not drop the production slot.
  await writable(copy, 'DROP SUBSCRIPTION phoenix_dr');
  assert.ok(await slotOnPublisher(), 'the production slot is still there');

  // The production subscriber comes back and receives everything: the copy consumed nothing.
  subscriber = await restartCluster(subscriber.dataDir, subscriber.port, subscriber.binDir);
  await waitUntil(
    () => has(subscriber, 'while the production subscriber was away'),
    30_000,
    'the production subscriber to receive the row written while it was away',
    100,
  );
  assert.equal(await has(copy, 'while the production subscriber was away'), false);
});

test('without the step, a copy started while the slot is free takes it and consumes; the step then says so', async () => {
  // A copy made while the production subscriber streams, promoted once it is away.
  const copy = await startStandby(subscriber, { baseDir: join(base, 'copy-b') });
  copies.push(copy);
  await subscriber.stop();
  await waitUntil(
    async () => (await slotOnPublisher())?.active === false,
    30_000,
    'the slot to be free',
    100,
  );
  await query(copy.connectionString(), 'SELECT pg_promote(true, 60)');
  await write('taken by the copy');
  await waitUntil(
    () => has(copy, 'taken by the copy'),
    30_000,
    'the copy to consume from the production slot',
    100,
  );

  const detached = await detachCopiedSubscriptions(copy.connectionString(DB));
  assert.deepEqual(
    detached.map((d) => d.streamed),
    [true],
    'the step reports that the copy had streamed from the production slot',
  );
  assert.deepEqual(await copyState(copy), { enabled: false, slot: null, workers: 0 });

  // What the copy consumed never reaches the production subscriber: the harm the step exists to prevent.
  subscriber = await restartCluster(subscriber.dataDir, subscriber.port, subscriber.binDir);
  await write('after the copy was detached');
  await waitUntil(
    () => has(subscriber, 'after the copy was detached'),
    30_000,
    'the production subscriber to stream again',
    100,
  );
  assert.equal(await has(subscriber, 'taken by the copy'), false);
});

test('a copy whose subscriptions the role may not alter is refused, naming what is left', async () => {
  const copy = copies[1];
  await writable(copy, "ALTER SUBSCRIPTION phoenix_dr SET (slot_name = 'elsewhere')");
  await assert.rejects(
    detachCopiedSubscriptions(roleUrl(copy, ADMIN_ROLE, DB)),
    /drill refused: the restored copy .* holds subscription phoenix_dr \(database shop, slot elsewhere\) that could not be detached \(must be owner of subscription phoenix_dr\)/,
  );
});
