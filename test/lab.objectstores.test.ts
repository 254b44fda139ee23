import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  azuriteBlobMain,
  startS3Server,
  startAzurite,
  type S3Server,
  type AzuriteServer,
} from '../src/lab/index.js';
import { isRunning } from '../src/lab/process.js';

const baseDir = mkdtempSync(join(tmpdir(), 'phoenix-lab-objects-'));
const servers: Array<S3Server | AzuriteServer> = [];

after(async () => {
  for (const server of servers) await server.stop().catch(() => undefined);
  rmSync(baseDir, { recursive: true, force: true });
});

async function putAndGetS3(server: S3Server, bucket: string): Promise<string> {
  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'items/1.json', Body: '{"id":1}' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'items/1.json' }));
    return await got.Body!.transformToString();
  } finally {
    s3.destroy();
  }
}

test('s3rver stores and returns an object through the AWS SDK, in-process and as its own process', async () => {
  const inProcess = await startS3Server({ baseDir: join(baseDir, 's3-a'), buckets: ['primary'] });
  servers.push(inProcess);
  assert.match(inProcess.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await putAndGetS3(inProcess, 'primary'), '{"id":1}');
  await inProcess.stop();
  await inProcess.stop();

  const child = await startS3Server({
    baseDir: join(baseDir, 's3-b'),
    buckets: ['primary'],
    process: 'child',
  });
  servers.push(child);
  assert.equal(await putAndGetS3(child, 'primary'), '{"id":1}');
  await child.stop();
  assert.equal(isRunning(child.pid!), false);
});

test('Azurite stores and returns a blob through the Azure SDK, and stops without a trace', async () => {
  const azurite = await startAzurite({ baseDir: join(baseDir, 'azurite') });
  servers.push(azurite);
  assert.equal(azurite.accountName, 'devstoreaccount1');
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const container = service.getContainerClient('dr-objects');
  await container.create();
  await container.getBlockBlobClient('items/1.json').upload('{"id":1}', 8);
  const body = await container.getBlobClient('items/1.json').downloadToBuffer();
  assert.equal(body.toString(), '{"id":1}');
  await azurite.stop();
  await azurite.stop();
  assert.equal(isRunning(azurite.pid), false);
});

test('without Azurite installed, the lab names the fix (npm ci / npm install azurite) instead of a resolution error', () => {
  assert.ok(existsSync(azuriteBlobMain()), 'Azurite resolves from this install');
  const notInstalled = (): string => {
    throw Object.assign(new Error("Cannot find module 'azurite/package.json'"), { code: 'MODULE_NOT_FOUND' });
  };
  assert.throws(
    () => azuriteBlobMain(notInstalled),
    (error: Error) =>
      /Azurite .* is not installed/.test(error.message) &&
      error.message.includes('npm install azurite') &&
      !error.message.includes('Cannot find module'),
  );
});
