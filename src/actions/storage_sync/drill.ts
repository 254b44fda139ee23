import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { drillTag } from '../shared/drill.js';
import { s3Client } from '../shared/s3.js';
import type { CleanupResult, StepContext, StepDrill } from '../types.js';
import type { BackSyncParams, ForwardSyncParams, StorageSyncParams } from './config.js';
import { containerClient, storageSyncAdapter } from './storage_sync.js';

/** Where a drill copies to: a prefix of the destination (container or bucket) named for the run, never the live prefix. */
export function drillPrefix(p: StorageSyncParams, runId: string): string {
  return `phoenix-drill/${drillTag(runId)}/${p.destination.prefix}`;
}

function target(p: StorageSyncParams): string {
  return p.direction === 'azure_to_s3' ? `s3://${p.destination.bucket}` : p.destination.container;
}

/** Copies into a drill prefix of the destination; the cleanup deletes that prefix and lists it empty. */
export const storageSyncDrill: StepDrill<StorageSyncParams> = {
  describe: (p) =>
    p.direction === 'azure_to_s3'
      ? `sync ${p.source.container}/${p.source.prefix} → s3://${p.destination.bucket}/phoenix-drill/<run>/${p.destination.prefix}`
      : `sync s3://${p.source.bucket}/${p.source.prefix} → ${p.destination.container}/phoenix-drill/<run>/${p.destination.prefix}`,
  async rehearse(p, ctx) {
    const prefix = drillPrefix(p, ctx.runId);
    // The container or bucket itself is production's: a drill never creates one it would then have to
    // delete, and never deletes what the live prefix holds.
    const rehearsal: StorageSyncParams =
      p.direction === 'azure_to_s3'
        ? { ...p, delete_removed: false, destination: { ...p.destination, prefix } }
        : { ...p, destination: { ...p.destination, prefix, create_container: false } };
    const result = await storageSyncAdapter.run(rehearsal, ctx);
    return {
      ...result,
      summary: `drill: ${result.summary}`,
      output: { ...result.output, drill_prefix: prefix, drill_target: target(p) },
    };
  },
  cleanup: (p, ctx) => (p.direction === 'azure_to_s3' ? cleanBucket(p, ctx) : cleanContainer(p, ctx)),
};

async function cleanContainer(p: ForwardSyncParams, ctx: StepContext): Promise<CleanupResult> {
  const prefix = drillPrefix(p, ctx.runId);
  const container = containerClient(p.destination);
  if (!(await container.exists({ abortSignal: ctx.signal })))
    return { summary: `${p.destination.container} does not exist: nothing to remove`, left: [] };
  let deleted = 0;
  for await (const blob of container.listBlobsFlat({ prefix, abortSignal: ctx.signal })) {
    await container.deleteBlob(blob.name, { deleteSnapshots: 'include', abortSignal: ctx.signal });
    deleted += 1;
  }
  const left: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix, abortSignal: ctx.signal }))
    left.push(`blob ${p.destination.container}/${blob.name}`);
  return { summary: `deleted ${deleted} blobs under ${p.destination.container}/${prefix}`, left };
}

async function listKeys(p: BackSyncParams, prefix: string, signal: AbortSignal): Promise<string[]> {
  const s3 = s3Client(p.destination);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: p.destination.bucket, Prefix: prefix, ContinuationToken: token }),
      { abortSignal: signal },
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function cleanBucket(p: BackSyncParams, ctx: StepContext): Promise<CleanupResult> {
  const prefix = drillPrefix(p, ctx.runId);
  const s3 = s3Client(p.destination);
  const keys = await listKeys(p, prefix, ctx.signal);
  // DeleteObjects takes at most 1,000 keys a request.
  for (let i = 0; i < keys.length; i += 1000)
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: p.destination.bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
      { abortSignal: ctx.signal },
    );
  const left = (await listKeys(p, prefix, ctx.signal)).map(
    (key) => `object s3://${p.destination.bucket}/${key}`,
  );
  return { summary: `deleted ${keys.length} objects under s3://${p.destination.bucket}/${prefix}`, left };
}
