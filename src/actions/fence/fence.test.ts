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

test('a session the role may not signal (42501) fails only the terminate layer, after every other session is ended', async () => {
  // A superuser's session (RDS's rdsadmin, Azure's azuresu): pg_terminate_backend raises 42501 for it.
  const [superuser, app] = [primary.connectionString(DB), roleUrl(primary, APP_ROLE, DB)].map(
    (url) => new pg.Client({ connectionString: url }),
  );
  for (const c of [superuser, app]) {
    c.on('error', () => undefined);
    await c.connect();
  }
  const appEnded = new Promise((resolve) => app.once('end', resolve));
  try {
    const named = fenceAdapter.schema.parse({
      database: { connection: roleUrl(primary, ADMIN_ROLE, DB), app_roles: [APP_ROLE, 'postgres'] },
    });
    const result = await fenceAdapter.run(named, stepContext());
    await appEnded;
    assert.match(
      result.summary,
      /held: read_only, revoke_connect; failed: terminate_sessions \(ended 1; 1 session\(s\) of postgres could not be ended/,
    );
    // Unnamed roles: the provider's superuser sessions are named, and the layer holds.
    const every = fenceAdapter.schema.parse({ database: { connection: roleUrl(primary, ADMIN_ROLE, DB) } });
    const held = await fenceAdapter.run(every, stepContext());
    const layers = held.output?.layers as Array<{ layer: string; ok: boolean; detail: string }>;
    assert.match(
      layers.find((l) => l.layer === 'terminate_sessions')!.detail,
      /0 application sessions ended; 1 session\(s\) of postgres could not be ended/,
    );
  } finally {
    await superuser.end();
    await unfenceDatabase(roleUrl(primary, ADMIN_ROLE, DB), [APP_ROLE]);
  }
});
