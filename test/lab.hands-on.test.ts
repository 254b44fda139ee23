import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { query, readLabState, resolveApp, waitUntil, type LabState } from '../src/lab/index.js';
import { isRunning } from '../src/lab/process.js';
import { runCli, startPhoenix, type PhoenixProcess } from './helpers/paths.js';
import { labPids } from './helpers/lab.js';

// One default lab serves the whole tour: building it is the slow part, and every check below
// is about the same two sites (a --replication physical lab has its own test in lab.up).
const root = mkdtempSync(join(tmpdir(), 'phoenix-hands-on-'));
const dir = join(root, 'lab');
let controller: PhoenixProcess | undefined;

after(async () => {
  await controller?.stop();
  await runCli(['lab', 'down', '--dir', dir]);
  rmSync(root, { recursive: true, force: true });
});

interface Status {
  latest: { level: string; score: number; decision: { action: string; reason: string } } | null;
}

/** A write on the primary site reaches the DR site: the row by logical replication, the object by the sync. */
async function assertWritesReachDr(state: LabState): Promise<void> {
  const address = await resolveApp(state);
  assert.equal(address, state.appHost.primary);
  const created = await fetch(`http://${address}:${state.appPort}/items`, {
    method: 'POST',
    body: JSON.stringify({ body: 'first order' }),
  });
  assert.equal(created.status, 201);
  const { id, key } = (await created.json()) as { id: string; key: string };
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
}

/** `lab down` from another process stops every process the lab started and removes its data. */
async function assertDownLeavesNothing(state: LabState): Promise<void> {
  const dataDirs = [state.postgres!.primary!.dataDir, state.postgres!.standby!.dataDir];
  const pids = labPids(state);
  const down = await runCli(['lab', 'down', '--dir', dir]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(
    pids.filter((pid) => isRunning(pid)),
    [],
  );
  for (const dataDir of dataDirs) assert.equal(existsSync(dataDir), false);
  assert.equal(existsSync(dir), false);
  await assert.rejects(
    query(`postgresql://postgres@127.0.0.1:${state.postgres!.primary!.port}/postgres`, 'select 1'),
  );
  const again = await runCli(['lab', 'down', '--dir', dir]);
  assert.equal(again.code, 0, again.stderr);
  const gone = await runCli(['lab', 'status', '--dir', dir, '--json']);
  assert.equal((JSON.parse(gone.stdout) as { exists: boolean }).exists, false);
}

test('lab up builds two sites whose writes reach DR and prints the tour; with its controller running, fault regional-outage forms a DR decision on /api/status, heal brings it back to none, and lab down leaves nothing', async () => {
  const up = await runCli(['lab', 'up', '--dir', dir], { timeoutMs: 180_000 });
  assert.equal(up.code, 0, up.stderr);
  const state = readLabState(dir)!;
  const listed = await runCli(['lab', 'status', '--dir', dir, '--json']);
  const components = (JSON.parse(listed.stdout) as { components: Array<{ name: string; up: boolean }> })
    .components;
  assert.deepEqual(
    components.filter((c) => !c.up).map((c) => c.name),
    [],
  );
  await assertWritesReachDr(state);

  assert.ok(state.configFile && state.dashboardPort);
  assert.match(up.stdout, new RegExp(`phoenix run --config ${state.configFile}`));
  assert.match(up.stdout, /phoenix lab fault regional-outage --dir /);
  const url = `http://127.0.0.1:${state.dashboardPort}`;
  assert.match(up.stdout, new RegExp(`Open the dashboard: ${url}/`));

  controller = startPhoenix(['run', '--config', state.configFile!, '--log-format', 'json']);
  const status = async (): Promise<Status> => (await (await fetch(`${url}/api/status`)).json()) as Status;
  const seen: string[] = [];
  const until = async (test: (s: Status) => boolean, what: string, ms: number) =>
    controller!.waitFor(
      async () => {
        const s = await status().catch(() => undefined);
        if (s?.latest) seen.push(`${s.latest.level}/${s.latest.decision.action}`);
        return Boolean(s && test(s));
      },
      `${what} (seen: ${seen.slice(-6).join(', ')})`,
      ms,
    );
  await until((s) => s.latest?.level === 'none', 'a healthy first cycle', 120_000);
  // The dashboard itself is served.
  assert.match(await (await fetch(`${url}/`)).text(), /<html/i);

  const fault = await runCli(['lab', 'fault', 'regional-outage', '--dir', dir]);
  assert.equal(fault.code, 0, fault.stderr);
  assert.match(fault.stdout, /primary site is down/);
  await until((s) => s.latest?.decision.action === 'dr_failover', 'the DR decision', 90_000);

  // The failover waits for a person at the promote gate; nothing past the fence has run.
  const newestRun = async () => {
    const runs = await runCli(['runs', '--config', state.configFile!, '--json', '--limit', '1']);
    return JSON.parse(runs.stdout.trim().split('\n')[0]) as { run_id: string; status: string };
  };
  await waitUntil(
    async () => (await newestRun()).status === 'waiting_approval',
    30_000,
    'the run to wait for approval',
  );
  const run = await newestRun();

  const healed = await runCli(['lab', 'fault', 'heal', '--dir', dir]);
  assert.equal(healed.code, 0, healed.stderr);
  assert.match(healed.stdout, /healed regional-outage/);
  await until(
    (s) => s.latest?.level === 'none' && s.latest.decision.action === 'none',
    'back to none',
    90_000,
  );
  const aborted = await runCli(['abort', run.run_id, '--config', state.configFile!]);
  assert.equal(aborted.code, 0, aborted.stderr);

  await controller.stop();
  controller = undefined;
  await assertDownLeavesNothing(state);
});
