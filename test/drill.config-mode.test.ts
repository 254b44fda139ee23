import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { parse, stringify } from 'yaml';
import { query, readLabState, resolveApp, waitUntil, type LabState } from '../src/lab/index.js';
import { labBucket, labContainer } from '../src/lab/wayback-config.js';
import { openDatabase } from '../src/store/index.js';
import { Journal, type RunReport } from '../src/runbook/index.js';
import { runCli, startPhoenix } from './helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-drill-mode-'));
const dir = join(root, 'lab');

after(async () => {
  await runCli(['lab', 'down', '--dir', dir]);
  rmSync(root, { recursive: true, force: true });
});

const pg = (state: LabState, site: 'primary' | 'standby', db = 'app') =>
  `postgresql://postgres@127.0.0.1:${state.postgres![site]!.port}/${db}`;

/** Everything the drill must leave as it was: live DNS, both object stores, the subscription. */
async function production(state: LabState) {
  const s3 = new S3Client({
    endpoint: state.s3!.endpoint,
    region: state.s3!.region,
    forcePathStyle: true,
    credentials: { accessKeyId: state.s3!.accessKeyId, secretAccessKey: state.s3!.secretAccessKey },
  });
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: state.s3!.bucket }));
  s3.destroy();
  const container = BlobServiceClient.fromConnectionString(
    state.azurite!.connectionString,
  ).getContainerClient(state.azurite!.container);
  const blobs: string[] = [];
  for await (const b of container.listBlobsFlat()) blobs.push(`${b.name} ${b.properties.etag}`);
  const [sub] = await query<{ enabled: boolean; name: string }>(
    pg(state, 'standby'),
    'select subenabled as enabled, subname as name from pg_subscription',
  );
  const scratch = await query<{ datname: string }>(
    pg(state, 'standby', 'postgres'),
    "select datname from pg_database where datname like 'phoenix_drill%'",
  );
  return {
    dns: await resolveApp(state),
    drillRecord: await resolveApp(state, `drill.app.${state.zone}`),
    s3: (listed.Contents ?? []).map((o) => `${o.Key} ${o.ETag}`).sort(),
    blobs: blobs.filter((b) => !b.startsWith('phoenix-drill/')).sort(),
    drillBlobs: blobs.filter((b) => b.startsWith('phoenix-drill/')),
    subscription: sub,
    scratch: scratch.map((r) => r.datname),
  };
}

/** A row written on the primary now reaches the DR database: the subscription still receives. */
async function stillReplicating(state: LabState, body: string): Promise<void> {
  const [row] = await query<{ id: string }>(
    pg(state, 'primary'),
    "insert into items (body, object_key, site) values ($1, '', 'primary') returning id::text as id",
    [body],
  );
  await waitUntil(
    async () =>
      (await query(pg(state, 'standby'), 'select 1 from items where id = $1', [row.id])).length === 1,
    20_000,
    `row ${row.id} to reach the DR database`,
  );
}

/**
 * The lab's runbook, plus an object copy (storage_sync S3 → Blob) and a command step that waits for a
 * file in a drill, so the test can kill the drill mid-run.
 */
function drillConfig(state: LabState, holdFile: string): string {
  const file = state.configFile ?? join(state.dir, 'phoenix.yaml');
  const config = parse(readFileSync(file, 'utf8')) as {
    runbooks: { dr_failover: { stages: Array<Record<string, unknown>> } };
  };
  const stages = config.runbooks.dr_failover.stages;
  stages.splice(2, 0, {
    name: 'storage',
    steps: [
      {
        name: 'copy-objects',
        type: 'storage_sync',
        params: {
          source: labBucket(state),
          destination: labContainer(state),
        },
      },
      {
        name: 'hold',
        type: 'command',
        timeout: '60s',
        params: {
          command: 'false',
          drill: `while [ ! -e '${holdFile}' ]; do sleep 0.1; done`,
        },
      },
    ],
  });
  const out = join(state.dir, 'drill.yaml');
  writeFileSync(out, stringify(config));
  return out;
}

test('phoenix drill --config rehearses the lab runbook, leaves production as it was and cleans up, also after SIGKILL and resume', async () => {
  const up = await runCli(['lab', 'up', '--dir', dir, '--json'], { timeoutMs: 180_000 });
  assert.equal(up.code, 0, up.stderr);
  const state = readLabState(dir)!;
  // Production holds an object, so a copy in the drill has something to copy.
  const created = await fetch(`${state.apps!.primary!.url}/items`, {
    method: 'POST',
    body: JSON.stringify({ body: 'before the drill', object: true }),
  });
  assert.equal(created.status, 201);
  const { key } = (await created.json()) as { key: string };
  const container = BlobServiceClient.fromConnectionString(
    state.azurite!.connectionString,
  ).getContainerClient(state.azurite!.container);
  await waitUntil(() => container.getBlobClient(key).exists(), 20_000, 'the object to reach Blob');
  const holdFile = join(root, 'release');
  writeFileSync(holdFile, '');
  const config = drillConfig(state, holdFile);
  const before = await production(state);
  assert.equal(before.dns, state.appHost.primary);
  assert.equal(before.subscription.enabled, true);

  const drill = await runCli(['drill', '--config', config, '--yes', '--json'], { timeoutMs: 120_000 });
  assert.equal(drill.code, 0, drill.stderr);
  const report = JSON.parse(drill.stdout.trim().split('\n').pop()!) as RunReport;
  assert.equal(report.status, 'succeeded', drill.stderr);
  assert.equal(report.trigger, 'drill');
  for (const step of report.steps) assert.match(step.summary ?? '', /^drill: /, step.name);
  const copy = report.steps.find((s) => s.name === 'copy-objects')!;
  assert.match(copy.summary!, /phoenix-drill\/drill[0-9a-f]+\/: [1-9]\d* copied/);
  assert.equal(report.cleanup?.status, 'succeeded', JSON.stringify(report.cleanup));
  assert.deepEqual(report.cleanup.steps.map((s) => `${s.step} ${s.status}`).sort(), [
    'copy-objects cleaned',
    'cut-over-subscriber cleaned',
    'point-app-at-dr cleaned',
  ]);

  // The evidence report of the drill shows each rehearsal's cleanup.
  const evidence = await runCli(['report', report.run_id, '--config', config, '--format', 'json']);
  assert.equal(evidence.code, 0, evidence.stderr);
  const model = JSON.parse(evidence.stdout) as { kind: string; cleanup: { status: string; detail: string } };
  assert.equal(model.kind, 'drill');
  assert.equal(model.cleanup.status, 'succeeded');
  assert.match(model.cleanup.detail, /dropped the scratch database phoenix_drill[0-9a-f]+/);
  const html = await runCli(['report', report.run_id, '--config', config, '--format', 'html']);
  assert.match(html.stdout, /<h2>Drill cleanup: succeeded<\/h2>/);
  assert.match(html.stdout, /deleted drill\.app\.lab\.phoenix\.test A/);

  const afterDrill = await production(state);
  assert.deepEqual(afterDrill, before);
  assert.equal(afterDrill.drillRecord, undefined);
  assert.deepEqual(afterDrill.scratch, []);
  assert.deepEqual(afterDrill.drillBlobs, []);
  await stillReplicating(state, 'after the drill');

  // Killed while the command step holds (after the database copy and the drill record exist), the
  // drill leaves them behind; resumed, it finishes and removes them.
  rmSync(holdFile);
  const killed = startPhoenix(['drill', '--config', config, '--yes'], { PHOENIX_PLAIN_PROGRESS: '1' });
  await killed.waitFor(() => /step hold: running/.test(killed.output()), 'the hold step to start', 60_000);
  const runId = /run (run-\S+) dr_failover: running/.exec(killed.output())![1];
  killed.child.kill('SIGKILL');
  await killed.exited;
  const midway = await production(state);
  assert.equal(midway.scratch.length, 1, 'the scratch copy exists while the drill is cut short');
  assert.equal(midway.drillRecord, undefined, 'the dns stage comes after hold');
  const db = openDatabase(join(state.dir, 'phoenix.db'));
  assert.equal((await new Journal(db).requireRun(runId)).active, 1);
  db.close();
  writeFileSync(holdFile, '');
  const resumed = await runCli(['drill', '--config', config, '--resume', runId, '--json'], {
    timeoutMs: 120_000,
  });
  assert.equal(resumed.code, 0, resumed.stderr);
  const second = JSON.parse(resumed.stdout.trim().split('\n').pop()!) as RunReport;
  assert.equal(second.status, 'succeeded');
  assert.equal(second.cleanup?.status, 'succeeded', JSON.stringify(second.cleanup));
  assert.deepEqual(await production(state), before);
  await stillReplicating(state, 'after the resumed drill');
  assert.equal(existsSync(join(state.dir, 'phoenix.db')), true);
});
