import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startPrimary,
  startStandby,
  findPostgresBin,
  query,
  type PostgresCluster,
} from '../src/lab/index.js';
import { isRunning } from '../src/lab/process.js';
import { readFileSync } from 'node:fs';

const baseDir = mkdtempSync(join(tmpdir(), 'phoenix-lab-pg-'));
const clusters: PostgresCluster[] = [];

after(async () => {
  for (const cluster of clusters) await cluster.stop().catch(() => undefined);
  rmSync(baseDir, { recursive: true, force: true });
});

function postmasterPid(cluster: PostgresCluster): number {
  return Number(readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

test('finds the newest installed PostgreSQL bin directory', () => {
  const bin = findPostgresBin();
  assert.ok(existsSync(join(bin, 'initdb')));
});

test('a standby streams what the primary commits, is promoted after the primary is killed, and stops cleanly', async () => {
  const primary = await startPrimary({ baseDir: join(baseDir, 'primary') });
  clusters.push(primary);
  assert.equal(primary.host, '127.0.0.1');
  await query(primary.connectionString(), 'create table items (id serial primary key, body text not null)');
  const standby = await startStandby(primary, { baseDir: join(baseDir, 'standby') });
  clusters.push(standby);
  assert.notEqual(standby.port, primary.port);

  const [inRecovery] = await query<{ r: boolean }>(
    standby.connectionString(),
    'select pg_is_in_recovery() as r',
  );
  assert.equal(inRecovery.r, true);
  const senders = await query<{ state: string }>(
    primary.connectionString(),
    'select state from pg_stat_replication',
  );
  assert.deepEqual(
    senders.map((s) => s.state),
    ['streaming'],
  );

  await query(primary.connectionString(), "insert into items (body) values ('one'), ('two')");
  const [{ lsn }] = await query<{ lsn: string }>(
    primary.connectionString(),
    'select pg_current_wal_lsn()::text as lsn',
  );
  for (let i = 0; i < 100; i++) {
    const [{ caught }] = await query<{ caught: boolean }>(
      standby.connectionString(),
      'select pg_last_wal_replay_lsn() >= $1::pg_lsn as caught',
      [lsn],
    );
    if (caught) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const replicated = await query<{ body: string }>(
    standby.connectionString(),
    'select body from items order by id',
  );
  assert.deepEqual(
    replicated.map((r) => r.body),
    ['one', 'two'],
  );

  const primaryPid = postmasterPid(primary);
  await primary.kill();
  assert.equal(isRunning(primaryPid), false);
  await assert.rejects(query(primary.connectionString(), 'select 1'));
  await primary.kill(); // idempotent

  await query(standby.connectionString(), 'select pg_promote(true, 30)');
  await query(standby.connectionString(), "insert into items (body) values ('after failover')");
  const [{ n }] = await query<{ n: number }>(
    standby.connectionString(),
    'select count(*)::int as n from items',
  );
  assert.equal(n, 3);

  const standbyPid = postmasterPid(standby);
  await standby.stop();
  await standby.stop();
  assert.equal(isRunning(standbyPid), false);
  assert.equal(existsSync(join(standby.dataDir, 'postmaster.pid')), false);
});
