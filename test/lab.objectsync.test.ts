import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  freePort,
  ObjectSync,
  S3RVER_CREDENTIALS,
  startAzurite,
  startS3Server,
  waitUntil,
  type AzuriteServer,
  type S3Server,
} from '../src/lab/index.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-objectsync-'));
const cleanups: Array<() => Promise<void> | void> = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(root, { recursive: true, force: true });
});

function s3Client(server: S3Server): S3Client {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  cleanups.push(() => client.destroy());
  return client;
}

async function blobText(azurite: AzuriteServer, key: string): Promise<string> {
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('replica')
    .getBlobClient(key);
  return (await blob.downloadToBuffer()).toString();
}

async function blobExists(azurite: AzuriteServer, key: string): Promise<boolean> {
  return BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('replica')
    .getBlobClient(key)
    .exists();
}

test('an S3 event notification copies the new object to Azure Blob without waiting for a listing pass', async () => {
  const notifyPort = await freePort();
  const [s3, azurite] = await Promise.all([
    startS3Server({
      baseDir: join(root, 's3'),
      buckets: ['primary'],
      process: 'child',
      notifyUrl: `http://127.0.0.1:${notifyPort}/events`,
    }),
    startAzurite({ baseDir: join(root, 'azurite') }),
  ]);
  cleanups.push(
    () => s3.stop(),
    () => azurite.stop(),
  );
  const client = s3Client(s3);

  // An object stored before the replicator ran has no notification it could receive.
  await client.send(new PutObjectCommand({ Bucket: 'primary', Key: 'items/old.json', Body: '{"id":0}' }));

  const sync = new ObjectSync({
    s3: { endpoint: s3.endpoint, ...S3RVER_CREDENTIALS, bucket: 'primary' },
    azure: { connectionString: azurite.connectionString, container: 'replica' },
  });
  const copies: Array<{ key: string; lag_ms: number } | Error> = [];
  const receiver = await sync.listen(notifyPort, (copy) => copies.push(copy));
  cleanups.push(() => {
    receiver.closeAllConnections();
    receiver.close();
    sync.close();
  });

  // No reconciliation pass runs in this test: only the notification can bring the object over.
  await client.send(new PutObjectCommand({ Bucket: 'primary', Key: 'items/a b+1.json', Body: '{"id":1}' }));
  await waitUntil(() => copies.length > 0, 10_000, 'the notification to copy the object');
  assert.ok(!(copies[0] instanceof Error), String(copies[0]));
  assert.equal((copies[0] as { key: string }).key, 'items/a b+1.json');
  assert.equal(await blobExists(azurite, 'items/a b+1.json'), true);
  assert.equal(await blobExists(azurite, 'items/old.json'), false);

  // The reconciliation pass catches what no notification announced, and skips what is already copied.
  assert.deepEqual(await sync.syncOnce(), { copied: 1, deleted: 0, total: 2 });
  assert.equal(await blobExists(azurite, 'items/old.json'), true);
  assert.deepEqual(await sync.syncOnce(), { copied: 0, deleted: 0, total: 2 });

  // An overwrite is a new version: its notification copies it again (the old sync copied a key once).
  const before = copies.length;
  await client.send(
    new PutObjectCommand({ Bucket: 'primary', Key: 'items/a b+1.json', Body: '{"id":1,"v":2}' }),
  );
  await waitUntil(() => copies.length > before, 10_000, 'the overwrite to be copied');
  assert.equal(await blobText(azurite, 'items/a b+1.json'), '{"id":1,"v":2}');
  // A delete removes the blob, by its notification or, failing that, by the next pass.
  await client.send(new DeleteObjectCommand({ Bucket: 'primary', Key: 'items/old.json' }));
  await waitUntil(
    async () => !(await blobExists(azurite, 'items/old.json')),
    10_000,
    'the delete to reach Blob',
  );
  assert.deepEqual(await sync.syncOnce(), { copied: 0, deleted: 0, total: 1 });
});
