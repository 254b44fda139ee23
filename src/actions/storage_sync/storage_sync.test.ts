import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startAzurite, startS3Server, type AzuriteServer, type S3Server } from '../../lab/index.js';
import { s3Client } from '../shared/s3.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { blockSizeFor, containerClient, MAX_BLOCKS, storageSyncAdapter } from './storage_sync.js';
import { backSyncParamsSchema, forwardSyncParamsSchema } from './config.js';

let base: string;
let s3: S3Server;
let azurite: AzuriteServer;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-sync-'));
  [s3, azurite] = await Promise.all([
    startS3Server({ baseDir: join(base, 's3') }),
    startAzurite({ baseDir: join(base, 'azurite') }),
  ]);
});

after(async () => {
  await Promise.allSettled([s3?.stop(), azurite?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

test('S3 → Azure Blob: copies everything once, then only what changed or is missing', async () => {
  const source = {
    bucket: 'app-objects',
    prefix: 'uploads/',
    endpoint: s3.endpoint,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
  };
  const client = s3Client({ ...source, region: 'us-east-1', force_path_style: true });
  await client.send(new CreateBucketCommand({ Bucket: 'app-objects' }));
  for (let i = 0; i < 25; i++) {
    await client.send(
      new PutObjectCommand({
        Bucket: 'app-objects',
        Key: `uploads/file-${i}.txt`,
        Body: `content ${i}`.repeat(i + 1),
        ContentType: 'text/plain',
      }),
    );
  }
  await client.send(
    new PutObjectCommand({ Bucket: 'app-objects', Key: 'elsewhere/skip.txt', Body: 'not under the prefix' }),
  );
  const params = forwardSyncParamsSchema.parse({
    source,
    destination: { connection_string: azurite.connectionString, container: 'dr-objects', prefix: 'mirror/' },
    concurrency: 4,
  });
  const before = await storageSyncAdapter.preflight(params, preflightContext());
  assert.deepEqual(
    before.map((c) => [c.check, c.ok]),
    [
      ['source bucket readable', true],
      ['destination container reachable', true],
    ],
    JSON.stringify(before),
  );

  const ctx = stepContext();
  const first = await storageSyncAdapter.run(params, ctx);
  assert.deepEqual(first.output, { total: 25, copied: 25, skipped: 0, bytes: first.output!.bytes });
  assert.match(ctx.messages.at(-1)!, /25\/25 objects/);
  const container = containerClient(params.destination);
  const blob = container.getBlockBlobClient('mirror/file-7.txt');
  assert.equal((await blob.downloadToBuffer()).toString(), 'content 7'.repeat(8));
  const props = await blob.getProperties();
  assert.match(props.metadata!.sourceetag, /^[0-9a-f]{32}$/);
  assert.equal(props.contentType, 'text/plain');

  const second = await storageSyncAdapter.run(params, stepContext());
  assert.deepEqual(second.output, { total: 25, copied: 0, skipped: 25, bytes: 0 });

  // A changed object, a new one, and two blobs a cut-short earlier run never wrote.
  await client.send(
    new PutObjectCommand({ Bucket: 'app-objects', Key: 'uploads/file-3.txt', Body: 'changed' }),
  );
  await client.send(new PutObjectCommand({ Bucket: 'app-objects', Key: 'uploads/new.txt', Body: 'new' }));
  await container.getBlockBlobClient('mirror/file-10.txt').delete();
  await container.getBlockBlobClient('mirror/file-11.txt').delete();
  const third = await storageSyncAdapter.run(params, stepContext({ resumed: true }));
  assert.equal(third.output!.copied, 4);
  assert.equal(third.output!.skipped, 22);
  assert.equal(
    (await container.getBlockBlobClient('mirror/file-3.txt').downloadToBuffer()).toString(),
    'changed',
  );
  client.destroy();
});

test("a wrong source credential fails pre-flight and the step with the server's reason", async () => {
  const params = forwardSyncParamsSchema.parse({
    source: {
      bucket: 'missing-bucket',
      endpoint: s3.endpoint,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
    },
    destination: { connection_string: azurite.connectionString, container: 'dr-objects' },
  });
  const checks = await storageSyncAdapter.preflight(params, preflightContext());
  assert.equal(checks[0].ok, false);
  assert.match(checks[0].detail, /s3:\/\/missing-bucket: HTTP 404/);
  await assert.rejects(
    storageSyncAdapter.run(params, stepContext()),
    /listing s3:\/\/missing-bucket\/: HTTP 404 NoSuchBucket/,
  );
});

test('blocks are sized so that any S3 object (up to 5 TiB) fits in 50,000 blocks of whole MiB', () => {
  const mib = 1 << 20;
  for (const size of [0, 1, 4 * mib * 50_000, 4 * mib * 50_000 + 1, 200 * 1024 * mib * 1024, 5 * 1024 ** 4]) {
    const block = blockSizeFor(size);
    assert.ok(block >= 4 * mib && block % mib === 0, `block ${block} for ${size}`);
    assert.ok(Math.ceil(size / block) <= MAX_BLOCKS, `${size} bytes in blocks of ${block}`);
  }
  assert.equal(blockSizeFor(100 * mib), 4 * mib);
});

test('Azure Blob → S3 (the way back): copies what DR wrote and what changed, once; deletes only when asked', async () => {
  const destination = {
    bucket: 'back-objects',
    endpoint: s3.endpoint,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
  };
  const client = s3Client({ ...destination, prefix: '', region: 'us-east-1', force_path_style: true });
  await client.send(new CreateBucketCommand({ Bucket: 'back-objects' }));
  await client.send(
    new PutObjectCommand({ Bucket: 'back-objects', Key: 'only-on-primary.txt', Body: 'old' }),
  );
  const container = containerClient({
    connection_string: azurite.connectionString,
    container: 'dr-written',
    prefix: '',
    create_container: true,
  });
  await container.createIfNotExists();
  for (let i = 0; i < 5; i++) await container.getBlockBlobClient(`dr-${i}.txt`).upload(`dr ${i}`, 4);
  const params = backSyncParamsSchema.parse({
    direction: 'azure_to_s3',
    source: { connection_string: azurite.connectionString, container: 'dr-written' },
    destination,
  });
  assert.ok((await storageSyncAdapter.preflight(params, preflightContext())).every((c) => c.ok));
  const first = await storageSyncAdapter.run(params, stepContext());
  assert.deepEqual(first.output, { total: 5, copied: 5, skipped: 0, deleted: 0, bytes: 20 });
  const again = await storageSyncAdapter.run(params, stepContext());
  assert.equal(again.output?.copied, 0, again.summary);
  await container.getBlockBlobClient('dr-2.txt').upload('changed', 7);
  const changed = await storageSyncAdapter.run(
    backSyncParamsSchema.parse({ ...params, delete_removed: true }),
    stepContext(),
  );
  assert.deepEqual(changed.output, { total: 5, copied: 1, skipped: 4, deleted: 1, bytes: 7 });
  const got = await client.send(new GetObjectCommand({ Bucket: 'back-objects', Key: 'dr-2.txt' }));
  assert.equal(await got.Body!.transformToString(), 'changed');
  client.destroy();
});
