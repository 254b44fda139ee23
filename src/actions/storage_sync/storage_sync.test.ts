import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startAzurite, startS3Server, type AzuriteServer, type S3Server } from '../../lab/index.js';
import { s3Client } from '../shared/s3.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { blockSizeFor, containerClient, MAX_BLOCKS, storageSyncAdapter } from './storage_sync.js';
import { MARK_MARGIN_MS } from './reverse.js';
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
  assert.deepEqual(first.output, {
    total: 5,
    copied: 5,
    skipped: 0,
    deleted: 0,
    bytes: 20,
    examined: 5,
    mode: 'full',
  });
  const again = await storageSyncAdapter.run(params, stepContext());
  assert.equal(again.output?.copied, 0, again.summary);
  await container.getBlockBlobClient('dr-2.txt').upload('changed', 7);
  const changed = await storageSyncAdapter.run(
    backSyncParamsSchema.parse({ ...params, delete_removed: true }),
    stepContext(),
  );
  assert.deepEqual(changed.output, {
    total: 5,
    copied: 1,
    skipped: 4,
    deleted: 1,
    bytes: 7,
    examined: 5,
    mode: 'full',
  });
  const got = await client.send(new GetObjectCommand({ Bucket: 'back-objects', Key: 'dr-2.txt' }));
  assert.equal(await got.Body!.transformToString(), 'changed');
  client.destroy();
});

test("an object's headers and user metadata survive the trip to DR and back; a blob with no MD5 is copied back once", async () => {
  const bucket = 'assets';
  const creds = {
    endpoint: s3.endpoint,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
  };
  const client = s3Client({ ...creds, bucket, prefix: '', region: 'us-east-1', force_path_style: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const headers = {
    ContentType: 'application/javascript',
    ContentEncoding: 'gzip',
    CacheControl: 'public, max-age=31536000, immutable',
    ContentDisposition: 'inline; filename="app.js"',
  };
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'app.js',
      Body: gzipSync('console.log("served from DR")'),
      ...headers,
      Metadata: { 'build-id': '42', owner: 'web' },
    }),
  );
  const container = { connection_string: azurite.connectionString, container: 'dr-assets' };
  await storageSyncAdapter.run(
    forwardSyncParamsSchema.parse({ source: { ...creds, bucket }, destination: container }),
    stepContext(),
  );
  const blobs = containerClient({ ...container, prefix: '', create_container: true });
  const copied = await blobs.getBlobClient('app.js').getProperties();
  assert.deepEqual(
    [copied.contentType, copied.contentEncoding, copied.cacheControl, copied.contentDisposition],
    Object.values(headers),
  );
  // What DR writes during the outage, staged in blocks as large uploads are: Azure keeps no MD5 of a
  // block list unless the client sends one (Azurite computes one; setting the headers without it clears it).
  const upload = blobs.getBlockBlobClient('dr-upload.bin');
  // Over the size the way back copies from memory: it streams this one.
  const big = 9 * 1024 * 1024;
  await upload.uploadData(Buffer.alloc(big, 7), { blockSize: 4 * 1024 * 1024 });
  await upload.setHTTPHeaders({ blobContentType: 'application/octet-stream', blobCacheControl: 'no-store' });
  assert.equal((await blobs.getBlobClient('dr-upload.bin').getProperties()).contentMD5, undefined);
  const back = backSyncParamsSchema.parse({
    direction: 'azure_to_s3',
    source: container,
    destination: { ...creds, bucket: 'assets-back' },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'assets-back' }));
  const first = await storageSyncAdapter.run(back, stepContext());
  assert.equal(first.output?.copied, 2, first.summary);
  const returned = await client.send(new GetObjectCommand({ Bucket: 'assets-back', Key: 'app.js' }));
  assert.deepEqual(
    [returned.ContentType, returned.ContentEncoding, returned.CacheControl, returned.ContentDisposition],
    Object.values(headers),
  );
  assert.deepEqual(returned.Metadata, { 'build-id': '42', owner: 'web' });
  assert.equal(
    gunzipSync(await returned.Body!.transformToByteArray()).toString(),
    'console.log("served from DR")',
  );
  const uploaded = await client.send(new GetObjectCommand({ Bucket: 'assets-back', Key: 'dr-upload.bin' }));
  assert.equal(uploaded.CacheControl, 'no-store');
  assert.equal((await uploaded.Body!.transformToByteArray()).length, big);
  // The next pass finds both in S3 already, MD5 or not.
  const second = await storageSyncAdapter.run(back, stepContext());
  assert.deepEqual([second.output?.copied, second.output?.skipped], [0, 2], second.summary);
  client.destroy();
});

/** A pass-through in front of s3rver that counts requests by kind (ListObjectsV2, HEAD, PUT). */
async function countingProxy(target: string) {
  const counts = { list: 0, head: 0, put: 0, other: 0 };
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.searchParams.get('list-type') === '2') counts.list++;
    else if (req.method === 'HEAD') counts.head++;
    else if (req.method === 'PUT') counts.put++;
    else counts.other++;
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    reset: () => Object.assign(counts, { list: 0, head: 0, put: 0, other: 0 }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('the way back continuing from an earlier pass of the run lists no S3 and copies only blobs written since, an overwritten one included', async () => {
  const proxy = await countingProxy(s3.endpoint);
  try {
    const destination = {
      bucket: 'since-objects',
      endpoint: proxy.endpoint,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
    };
    const client = s3Client({ ...destination, prefix: '', region: 'us-east-1', force_path_style: true });
    await client.send(new CreateBucketCommand({ Bucket: 'since-objects' }));
    const container = containerClient({
      connection_string: azurite.connectionString,
      container: 'since-written',
      prefix: '',
      create_container: true,
    });
    await container.createIfNotExists();
    // Waits on the Blob service's own clock (its Date header), which Last-Modified and the mark use.
    const serviceTimeReaches = async (at: number) => {
      for (;;) {
        const date = (await container.getProperties()).date;
        if (date && date.getTime() >= at) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    for (let i = 0; i < 30; i++) await container.getBlockBlobClient(`dr-${i}.txt`).upload(`dr ${i}`, 4);
    const written = (await container.getProperties()).date!.getTime();
    // Past the margin the continuing pass re-checks, so that the 30 count as older than the mark.
    await serviceTimeReaches(written + MARK_MARGIN_MS + 1000);
    const source = { connection_string: azurite.connectionString, container: 'since-written' };
    const full = backSyncParamsSchema.parse({ direction: 'azure_to_s3', source, destination });
    const last = backSyncParamsSchema.parse({ ...full, since_step: 'before-pause' });
    // Both steps of one run share its store (same run id and work directory), as in the engine.
    const runId = 'run-since';
    const workDir = mkdtempSync(join(tmpdir(), 'phoenix-step-'));
    const first = await storageSyncAdapter.run(full, stepContext({ runId, workDir, step: 'before-pause' }));
    assert.equal(first.output?.copied, 30, first.summary);
    // Last-Modified has whole seconds: the changes land in a later second than the mark, as in a
    // failback where the fence comes between the two passes.
    await serviceTimeReaches((await container.getProperties()).date!.getTime() + 1000);
    await container.getBlockBlobClient('dr-7.txt').upload('overwritten, same name', 22);
    await container.getBlockBlobClient('dr-new.txt').upload('new', 3);
    proxy.reset();
    const since = await storageSyncAdapter.run(last, stepContext({ runId, workDir, step: 'last-pass' }));
    assert.equal(since.output?.mode, 'since', since.summary);
    assert.equal(proxy.counts.list, 0, 'S3 was listed');
    assert.deepEqual(
      [since.output?.examined, since.output?.copied, since.output?.total],
      [2, 2, 31],
      since.summary,
    );
    assert.deepEqual([proxy.counts.head, proxy.counts.put], [2, 2], JSON.stringify(proxy.counts));
    const got = await client.send(new GetObjectCommand({ Bucket: 'since-objects', Key: 'dr-7.txt' }));
    assert.equal(await got.Body!.transformToString(), 'overwritten, same name');
    const added = await client.send(new GetObjectCommand({ Bucket: 'since-objects', Key: 'dr-new.txt' }));
    assert.equal(await added.Body!.transformToString(), 'new');

    // Without the earlier pass's mark (another run), the same step is a full pass: it lists S3.
    proxy.reset();
    const alone = await storageSyncAdapter.run(last, stepContext({ runId: 'run-other', step: 'last-pass' }));
    assert.equal(alone.output?.mode, 'full', alone.summary);
    assert.ok(proxy.counts.list >= 1, JSON.stringify(proxy.counts));
    assert.equal(alone.output?.copied, 0, alone.summary);
    client.destroy();
  } finally {
    await proxy.close();
  }
});

test('a pass continuing from an earlier one cannot also delete (deleted blobs are not listed)', () => {
  assert.throws(
    () =>
      backSyncParamsSchema.parse({
        direction: 'azure_to_s3',
        source: { connection_string: 'UseDevelopmentStorage=true', container: 'abc' },
        destination: { bucket: 'b' },
        since_step: 'before',
        delete_removed: true,
      }),
    /since_step cannot find deleted blobs/,
  );
});
