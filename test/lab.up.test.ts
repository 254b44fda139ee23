import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { query, readLabState, resolveApp, waitUntil, type LabState } from '../src/lab/index.js';
import { isRunning } from '../src/lab/process.js';
import { runCli } from './helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-lab-up-'));
const dir = join(root, 'lab');

after(async () => {
  await runCli(['lab', 'down', '--dir', dir]);
  rmSync(root, { recursive: true, force: true });
});

function pidsOf(state: LabState): number[] {
  return [
    state.s3!.process.pid,
    state.azurite!.process.pid,
    state.sync!.process.pid,
    state.dns!.process.pid,
    state.apps!.primary!.process.pid,
    state.apps!.dr!.process.pid,
    state.feeds!.process.pid,
  ];
}

test('lab up builds two sites whose writes reach the DR site, and lab down from another process leaves nothing', async () => {
  const up = await runCli(['lab', 'up', '--dir', dir, '--json'], { timeoutMs: 180_000 });
  assert.equal(up.code, 0, up.stderr);
  const status = JSON.parse(up.stdout.trim().split('\n').pop()!) as {
    components: Array<{ name: string; up: boolean }>;
  };
  assert.deepEqual(
    status.components.filter((c) => !c.up).map((c) => c.name),
    [],
  );
  const state = readLabState(dir)!;
  assert.equal(await resolveApp(state), state.appHost.primary);

  // A client resolves the app through the lab's DNS, as the drill's writer does.
  const address = await resolveApp(state);
  const created = await fetch(`http://${address}:${state.appPort}/items`, {
    method: 'POST',
    body: JSON.stringify({ body: 'first order' }),
  });
  assert.equal(created.status, 201);
  const { id, key } = (await created.json()) as { id: string; key: string };

  // The row streams to the standby and the object is copied to Azure Blob: the DR app can serve it.
  await waitUntil(
    async () => (await fetch(`${state.apps!.dr!.url}/items/${id}`)).status === 200,
    20_000,
    'the DR app to serve the replicated item',
  );
  const dr = (await (await fetch(`${state.apps!.dr!.url}/items/${id}`)).json()) as {
    body: string;
    object: { site: string };
  };
  assert.equal(dr.body, 'first order');
  assert.equal(dr.object.site, 'primary');
  const [row] = await query<{ n: number }>(
    `postgresql://postgres@127.0.0.1:${state.postgres!.standby!.port}/app`,
    'select count(*)::int as n from items where id = $1',
    [id],
  );
  assert.equal(row.n, 1);
  const blob = BlobServiceClient.fromConnectionString(state.azurite!.connectionString)
    .getContainerClient(state.azurite!.container)
    .getBlobClient(key);
  assert.equal(await blob.exists(), true);

  // By default the DR database is a logical subscriber, read-only to the app until the cut-over.
  assert.equal(state.postgres?.replication, 'logical');
  const drHealth = (await (await fetch(`${state.apps!.dr!.url}/healthz`)).json()) as { writable: boolean };
  assert.equal(drHealth.writable, false);

  const pgPids = [state.postgres!.primary!.dataDir, state.postgres!.standby!.dataDir];
  const pids = pidsOf(state);
  const down = await runCli(['lab', 'down', '--dir', dir]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(
    pids.filter((pid) => isRunning(pid)),
    [],
  );
  for (const dataDir of pgPids) assert.equal(existsSync(dataDir), false);
  assert.equal(existsSync(dir), false);
  await assert.rejects(
    query(`postgresql://postgres@127.0.0.1:${state.postgres!.primary!.port}/postgres`, 'select 1'),
  );

  const again = await runCli(['lab', 'down', '--dir', dir]);
  assert.equal(again.code, 0, again.stderr);
  const after = await runCli(['lab', 'status', '--dir', dir, '--json']);
  assert.equal((JSON.parse(after.stdout) as { exists: boolean }).exists, false);
});

test('lab down cleans up a lab whose processes were already killed (a --replication physical lab)', async () => {
  const otherDir = join(root, 'lab2');
  const up = await runCli(['lab', 'up', '--dir', otherDir, '--replication', 'physical', '--json'], {
    timeoutMs: 180_000,
  });
  assert.equal(up.code, 0, up.stderr);
  const state = readLabState(otherDir)!;
  assert.equal(state.postgres?.replication, 'physical');
  assert.match(up.stdout, /standby, WAL receiver streaming/);
  try {
    process.kill(state.apps!.primary!.process.pid, 'SIGKILL');
    process.kill(state.s3!.process.pid, 'SIGKILL');
    const status = await runCli(['lab', 'status', '--dir', otherDir]);
    assert.match(status.stdout, /DOWN\s+app \(primary\)/);
  } finally {
    const down = await runCli(['lab', 'down', '--dir', otherDir]);
    assert.equal(down.code, 0, down.stderr);
  }
  assert.deepEqual(
    pidsOf(state).filter((pid) => isRunning(pid)),
    [],
  );
  assert.equal(existsSync(otherDir), false);
});
