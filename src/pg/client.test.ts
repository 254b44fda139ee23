import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgConnectError, redact, withClient } from './index.js';
import { closedPort, tcpServer } from '../../test/helpers/servers.js';
import { waitFor } from '../../test/helpers/ha.js';

const PG_URL = process.env.PHOENIX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function backendAlive(pid: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
  } finally {
    await client.end();
  }
}

test('a refused connection names the server without its password and keeps the driver reason', async () => {
  const port = await closedPort();
  const url = `postgresql://app:s3cret@127.0.0.1:${port}/orders`;
  const error = await withClient(url, 'standby', async () => 'unreachable').then(
    () => assert.fail('connected to a closed port'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PgConnectError);
  assert.match(
    error.message,
    new RegExp(
      `^cannot connect to the standby \\(postgresql://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/orders\\): `,
    ),
  );
  assert.doesNotMatch(error.message, /s3cret/);
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('a server that accepts and never answers is given up after the connect timeout', async () => {
  const silent = await tcpServer();
  try {
    await assert.rejects(
      withClient(`postgresql://127.0.0.1:${silent.port}/x`, 'primary', async () => 'answered', {
        timeoutMs: 200,
      }),
      (e: unknown) => e instanceof PgConnectError && /timeout/i.test(e.message),
    );
  } finally {
    await silent.close();
  }
});

test('the connection is ended when the work fails, and carries the application name', async () => {
  let pid = 0;
  await assert.rejects(
    withClient(
      PG_URL,
      'database',
      async (client) => {
        const row = (
          await client.query('SELECT pg_backend_pid() AS pid, current_setting($1) AS app', [
            'application_name',
          ])
        ).rows[0];
        pid = row.pid;
        assert.equal(row.app, 'phoenix-pg-test');
        throw new Error('work failed');
      },
      { applicationName: 'phoenix-pg-test' },
    ),
    /work failed/,
  );
  assert.ok(pid > 0);
  await waitFor(`backend ${pid} to end`, async () => !(await backendAlive(pid)), 10_000);
});

test('a statement over the query timeout is cancelled by the server', async () => {
  await assert.rejects(
    withClient(PG_URL, 'database', (client) => client.query('SELECT pg_sleep(30)'), { queryTimeoutMs: 300 }),
    /timeout/i,
  );
});

test('aborting ends the connection while its work waits', async () => {
  const controller = new AbortController();
  let pid = 0;
  const running = withClient(
    PG_URL,
    'database',
    async (client) => {
      pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      controller.abort();
      return client.query('SELECT pg_sleep(30)');
    },
    { signal: controller.signal },
  );
  await assert.rejects(running);
  await waitFor(`backend ${pid} to end`, async () => !(await backendAlive(pid)), 10_000);
});

test('redact hides the password of URLs and of key=value connection strings', () => {
  assert.equal(redact('postgresql://u:pw@db:5432/app'), 'postgresql://u:***@db:5432/app');
  assert.equal(redact('postgresql://db/app'), 'postgresql://db/app');
  assert.equal(redact('host=db password=pw user=u'), 'host=db password=*** user=u');
});
