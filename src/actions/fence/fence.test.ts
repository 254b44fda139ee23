import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPrimary, query, type PostgresCluster } from '../../lab/index.js';
import { ADMIN_ROLE, APP_ROLE, createManagedDatabase, roleUrl } from '../../lab/managed.js';
import { stepContext } from '../shared/test-context.js';
import { fenceAdapter, unfenceDatabase } from './fence.js';

// The old primary as on RDS: the controller's role owns the database but is not a superuser.
const DB = 'shop';
let base: string;
let primary: PostgresCluster;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-fence-'));
  primary = await startPrimary({ baseDir: join(base, 'primary') });
  await createManagedDatabase(primary, DB, 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)', {
    replication: false,
  });
});

after(async () => {
  await primary?.stop();
  rmSync(base, { recursive: true, force: true });
});

test("as a non-superuser, ALTER SYSTEM gets PostgreSQL's own refusal and is recorded as a failed layer", async () => {
  const params = fenceAdapter.schema.parse({
    database: {
      connection: roleUrl(primary, ADMIN_ROLE, DB),
      read_only: 'alter_system',
      revoke_connect: false,
    },
  });
  const result = await fenceAdapter.run(params, stepContext());
  const layers = result.output?.layers as Array<{ layer: string; ok: boolean; detail: string }>;
  const readOnly = layers.find((l) => l.layer === 'read_only')!;
  assert.equal(readOnly.ok, false);
  assert.match(readOnly.detail, /permission denied to set parameter "default_transaction_read_only"/);
  assert.match(result.summary, /failed: read_only/);
});

test('the managed-service fence: app sessions ended, reconnects refused, new sessions read-only; twice is harmless; unfence lifts it', async () => {
  const app = new pg.Client({ connectionString: roleUrl(primary, APP_ROLE, DB) });
  app.on('error', () => undefined);
  await app.connect();
  const ended = new Promise((resolve) => app.once('end', resolve));
  const params = fenceAdapter.schema.parse({
    database: { connection: roleUrl(primary, ADMIN_ROLE, DB), app_roles: [APP_ROLE] },
  });
  const first = await fenceAdapter.run(params, stepContext());
  assert.match(first.summary, /held: read_only, revoke_connect, terminate_sessions$/);
  await ended;
  await assert.rejects(app.query("INSERT INTO orders (note) VALUES ('split brain')"));
  await assert.rejects(
    query(roleUrl(primary, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('split brain')"),
    /permission denied for database "shop"/,
  );
  // A role that may still connect (the owner) starts read-only by default.
  await assert.rejects(
    query(roleUrl(primary, ADMIN_ROLE, DB), "INSERT INTO orders (note) VALUES ('split brain')"),
    /read-only transaction/,
  );
  const second = await fenceAdapter.run(params, stepContext());
  assert.match(second.summary, /held: read_only, revoke_connect, terminate_sessions$/);

  await unfenceDatabase(roleUrl(primary, ADMIN_ROLE, DB), [APP_ROLE]);
  await query(roleUrl(primary, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('back')");
});

test('a primary that does not answer: every database layer is recorded as failed and the step fails', async () => {
  const params = fenceAdapter.schema.parse({
    database: { connection: 'postgresql://phoenix_admin@127.0.0.1:1/shop' },
  });
  await assert.rejects(
    fenceAdapter.run(params, stepContext()),
    /no layer held; failed: read_only \(cannot connect/,
  );
});
