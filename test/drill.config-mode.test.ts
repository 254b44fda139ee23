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
import { scratchDatabase } from '../src/actions/database/drill.js';
import { FakeDeploymentApi } from '../src/stand-ins/kubernetes/apiserver.js';
import { openDatabase } from '../src/store/index.js';
import { Journal, type RunReport } from '../src/runbook/index.js';
import { runCli, startPhoenix } from './helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-drill-mode-'));
const dir = join(root, 'lab');

let kube: FakeDeploymentApi | undefined;

/** The database URL each drill copy of the app was created with (POSTs to the drill namespace). */
const drillCopies = () =>
  kube!.requests
    .filter((r) => r.method === 'POST' && r.path === '/apis/apps/v1/namespaces/shop-drill/deployments')
    .map(
      (r) =>
        (
          JSON.parse(r.body) as {
            spec: {
              template: { spec: { containers: Array<{ env: Array<{ name: string; value: string }> }> } };
            };
          }
        ).spec.template.spec.containers[0].env.find((e) => e.name === 'DATABASE_URL')!.value,
    );

after(async () => {
  await kube?.stop();
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
 * The lab's runbook, plus an object copy (storage_sync S3 → Blob), a command step that waits for a
 * file in a drill, so the test can kill the drill mid-run, and a Kubernetes scale of the app.
 */
function drillConfig(state: LabState, holdFile: string, kube: FakeDeploymentApi): string {
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
  // After hold: the app's deployment, copied into a drill namespace on the scratch database. Killed
  // during hold, the drill rehearses it only when resumed, from the scratch database in the journal.
  stages.splice(3, 0, {
    name: 'app',
    steps: [
      {
        name: 'scale-app',
        type: 'kubernetes',
        params: {
          action: 'scale',
          namespace: 'shop',
          deployment: 'app',
          replicas: 2,
          cluster: { server: kube.url, token: kube.bearer, insecure_skip_tls_verify: true },
          poll_interval: 0.05,
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
  // The DR cluster's API (no Kubernetes runs here): the app reads the DR database from DATABASE_URL.
  kube = await new FakeDeploymentApi([{ namespace: 'shop', name: 'placeholder', replicas: 1 }], 50).start();
  const live = await fetch(`${kube.url}/apis/apps/v1/namespaces/shop/deployments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kube.bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      metadata: { name: 'app', namespace: 'shop' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: {
            containers: [
              { name: 'app', image: 'app:1', env: [{ name: 'DATABASE_URL', value: pg(state, 'standby') }] },
            ],
          },
        },
      },
    }),
  });
  assert.equal(live.status, 201);
  const config = drillConfig(state, holdFile, kube);
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
    'scale-app cleaned',
  ]);
  // The app's copy ran on the scratch database of this drill, in a namespace since deleted.
  assert.deepEqual(drillCopies(), [
    `postgresql://postgres@127.0.0.1:${state.postgres!.standby!.port}/${scratchDatabase(report.run_id)}`,
  ]);
  assert.equal(kube!.namespaces.has('shop-drill'), false);

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
  // Rehearsed only by the resumed process: the scratch database came from the journal.
  assert.equal(
    drillCopies().at(-1),
    `postgresql://postgres@127.0.0.1:${state.postgres!.standby!.port}/${scratchDatabase(runId)}`,
  );
  assert.equal(kube!.namespaces.has('shop-drill'), false);
  assert.equal(kube!.state('shop', 'app')?.replicas, 1, 'the live deployment is untouched');
  assert.deepEqual(await production(state), before);
  await stillReplicating(state, 'after the resumed drill');
  assert.equal(existsSync(join(state.dir, 'phoenix.db')), true);
});
